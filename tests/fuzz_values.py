"""What the no-500 fuzz test types into forms and URLs, and how it sees stored data.

Values: arbitrary Unicode (NUL, right-to-left marks, emoji, digits of other scripts),
huge strings, numbers of every shape, and dates and times in and out of range. Each
field of a form keeps what the page offered, picks one of its options, gets one of
these, is left out, or is sent several times; unknown fields are added too.

`snapshot` writes out every row of every table, so a refused form that wrote anything is
caught, whatever table it wrote to.
"""

from __future__ import annotations

from datetime import date, datetime, time

from hypothesis import strategies as st
from tortoise import connections

from tests.fuzz_routes import Field, HtmlForm

# Text as browsers send it: any character UTF-8 can carry (lone surrogates cannot be
# encoded, so no browser sends them).
UNICODE = st.text(st.characters(codec="utf-8"), max_size=40)
NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\u202eevil",  # right-to-left override
        "\u200b",
        "🧹🏠",
        "👩‍👩‍👧",
        "²",  # str.isdigit() says yes, int() says no
        "١٢",  # Arabic-Indic digits
        "１２",  # full-width digits
        "Ⅻ",
        "-0",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "../../etc/passwd",
        "%00",
        "\r\n\r\n",
        "@a@b",
        "https://example.invalid/x",
        "None",
    ]
)


class Huge(str):
    """A long value that shows itself short in reports."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} characters: {self[:8]!r}…>"


def short_repr(text: str) -> str:
    """`text`, shown short in reports when it is long (hypothesis prints what failed)."""
    return Huge(text) if len(text) > 200 else text


PIECES = st.sampled_from(["a", "é", "9", "😀", " ", "a-"])
HUGE = st.builds(lambda piece, times: Huge(piece * times), PIECES, st.integers(1_000, 120_000))
# In a URL, as much as servers take in a request line (uvicorn: 16 KiB in all).
LONG = st.builds(lambda piece, times: Huge(piece * times), PIECES, st.integers(300, 2_000))
# Just longer than a name's column (usernames 30, slugs 40, domains 255).
MEDIUM = st.builds(lambda piece, times: short_repr(piece * times), PIECES, st.integers(25, 300))
# Numbers that pass a careless check: digits `int` cannot read, ids beyond what a
# column holds, more digits than `int` converts.
TRICKY_NUMBERS = st.sampled_from(
    ["²", "١٢", "１２", "0", "-1", str(2**31), str(2**31 - 1), str(2**63), "9" * 19, "9" * 5000]
)
NUMBERS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.integers(-(10**40), 10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        ["nan", "NaN", "inf", "-inf", "1e999", "0x10", "1_000", "00001", " 5 ", "5.0", "2**64"]
    ),
    TRICKY_NUMBERS,
)
DATES = st.one_of(
    st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
    st.sampled_from(
        [
            "0000-01-01",
            "0001-01-01",
            "0001-01-01T00:00",
            "9999-12-31",
            "10000-01-01",
            "99999-12-31",
            "2026-02-30",
            "2026-13-01",
            "-2026-01-01",
            "2026-1-1",
            "20261231",
            "1899-12-31",
            "2201-01-01",
        ]
    ),
)
TIMES = st.one_of(
    st.times().map(time.isoformat),
    st.sampled_from(["24:00", "24:61", "23:60", "-1:00", "12:30:99", "1230", "T12", "23:59+14:00"]),
)
DATETIMES = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1)).map(lambda d: d.isoformat(timespec="minutes")),
    st.builds(lambda d, t: f"{d}T{t}", DATES, TIMES),
    st.sampled_from(
        ["9999-12-31T23:59", "0001-01-01T00:00", "10000-01-01T00:00", "2026-02-30T12:00"]
    ),
)
ANY = st.one_of(UNICODE, NASTY, MEDIUM, HUGE, NUMBERS, DATES, TIMES, DATETIMES)
IN_URL = st.one_of(UNICODE, NASTY, MEDIUM, LONG, NUMBERS, DATES, TIMES, DATETIMES)
BY_KIND = {"number": NUMBERS, "date": DATES, "time": TIMES, "datetime-local": DATETIMES}


def value_for(item: Field) -> st.SearchStrategy[str]:
    """A value for one field: one of its options, something of its type, or anything."""
    choices = [st.just(item.value)]
    if item.options:
        choices.append(st.sampled_from(item.options))
    if item.kind in BY_KIND:
        choices.append(BY_KIND[item.kind])
    if item.value.isdigit():  # an id or a count: numbers of every shape
        choices.append(NUMBERS)
    choices.append(ANY)
    return st.one_of(choices)


def _pairs_for(item: Field) -> st.SearchStrategy[list[tuple[str, str]]]:
    values = value_for(item)
    return st.one_of(
        # As the page left it (several times as likely: deeper checks need valid fields).
        st.just([(item.name, item.value or (item.options or [""])[0])]),
        values.map(lambda value: [(item.name, value)]),
        values.map(lambda value: [(item.name, value)]),
        st.just([]),  # left out
        st.lists(values, min_size=2, max_size=3).map(lambda vs: [(item.name, v) for v in vs]),
    )


@st.composite
def form_pairs(draw: st.DrawFn, form: HtmlForm) -> list[tuple[str, str]]:
    """The fields of one submission of `form` (without the CSRF token)."""
    pairs: list[tuple[str, str]] = []
    for item in form.fields:
        if item.name == "csrf_token" or item.kind == "file":
            continue
        pairs.extend(draw(_pairs_for(item)))
    extra = draw(st.lists(st.tuples(st.one_of(NASTY, UNICODE), ANY), max_size=2))
    return pairs + extra


def blind_pairs(names: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Fields for a route no page shows a form for: known names, any names, any values."""
    name = st.one_of(st.sampled_from(names), UNICODE) if names else UNICODE
    return st.lists(st.tuples(name, ANY), max_size=6)


FILES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,  # a PNG signature and nothing sensible
            b"\xff\xd8\xff\xe0" + b"\x00" * 40,  # a JPEG start
            b"domain,severity\nexample.com,suspend\n",
            b"#domain,#severity\n" + b"a" * 300 + b",suspend\n",
            "\ufeffdomain\nbücher.example\n".encode(),
        ]
    ),
)

# Tables whose rows are bookkeeping of attempts, written on purpose when a form is
# refused: failed log-ins and rate-limit events (that is how limits count), and used
# single-use tokens (a token spent by a refused attempt stays spent, or it could be
# replayed). Everything else, the audit log and the event queue included, must not move
# when a form is refused.
BOOKKEEPING = frozenset({"login_failures", "rate_events", "used_tokens"})
# Rows that record what a page showed, not what a form did: a refused form is answered
# with its page again, and when that page shows a post's private address, the post's
# trail says who saw it (once a day), as for any other view of the page.
SHOWN = {"audit_entries": ("action", frozenset({"post.address_seen"}))}


async def _tables() -> list[str]:
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        key = "name"
    else:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        key = "tablename"
    return sorted(row[key] for row in await conn.execute_query_dict(sql))


Snapshot = dict[str, frozenset[str]]


async def snapshot() -> Snapshot:
    """{table: every row, written out} for every table but bookkeeping ones."""
    conn = connections.get("default")
    found: Snapshot = {}
    for table in await _tables():
        if table in BOOKKEEPING:
            continue
        rows = await conn.execute_query_dict(f'SELECT * FROM "{table}"')
        if table in SHOWN:
            column, values = SHOWN[table]
            rows = [row for row in rows if row[column] not in values]
        found[table] = frozenset(repr(sorted(row.items())) for row in rows)
    return found


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    """Each table whose rows differ, with how many came and went and one that came."""
    changes = []
    for table in sorted(before.keys() | after.keys()):
        old, new = before.get(table, frozenset()), after.get(table, frozenset())
        if old != new:
            came = sorted(new - old)
            example = f", e.g. {came[0][:300]}" if came else ""
            changes.append(f"{table} (+{len(new - old)} -{len(old - new)} rows{example})")
    return changes
