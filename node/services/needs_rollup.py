"""Keeps the needs figures per month (`NeedsMonth`) in step with the posts.

Sorting a year of posts for exact medians on every view of /admin/needs is too slow on a
node with a hundred thousand posts, and a cache would show stale figures. So each month
keeps its counts and its sorted waits (seconds to the first offer, to the first match)
per neighbourhood, category, kind and organisation, and every read first brings them up
to date: the months of the posts changed since the last refresh (`help_posts.updated_at`,
which every change of a post touches) are counted again, in the same transaction as the
read, so the page always shows the posts as they are. A count of all posts against the
rows' total catches what leaves no trace in `updated_at` (posts deleted, a restored
database) and rebuilds everything, as on the very first read.

One refresh runs at a time: PostgreSQL takes a transaction-scoped advisory lock; SQLite
writes one transaction at a time anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from tortoise import connections

from node import db
from node.models import NeedsMonth
from node.raw_sql import Dialect, dialect
from node.states import PostStatus
from node.timeutil import utcnow

# The rows of every post whatever its organisation (what the node and its connectors
# read): half the rows to read on each view of a node's figures.
ANY_ORGANISATION = -1
LOCK_KEY = 7_220_613  # the advisory lock of this refresh (any constant of our own)
_BATCH = 2_000


@dataclass(slots=True)
class Tally:
    """Counts and waits of one group of posts."""

    posted: int = 0
    matched: int = 0
    done: int = 0
    expired: int = 0
    withdrawn: int = 0
    closed: int = 0
    unmatched: int = 0
    hidden: int = 0
    offer_waits: list[int] = field(default_factory=list)
    match_waits: list[int] = field(default_factory=list)

    def add_post(self, status: str, offer_s: int | None, match_s: int | None) -> None:
        self.posted += 1
        self.matched += match_s is not None
        self.done += status == PostStatus.DONE
        self.expired += status == PostStatus.EXPIRED
        self.withdrawn += status == PostStatus.WITHDRAWN
        if status != PostStatus.OPEN:
            self.closed += 1
            self.unmatched += match_s is None
        if offer_s is not None:
            self.offer_waits.append(offer_s)
        if match_s is not None:
            self.match_waits.append(match_s)

    def merge(self, other: Tally) -> None:
        # Spelled out: this runs for every row of a year's figures on each view.
        self.posted += other.posted
        self.matched += other.matched
        self.done += other.done
        self.expired += other.expired
        self.withdrawn += other.withdrawn
        self.closed += other.closed
        self.unmatched += other.unmatched
        self.offer_waits += other.offer_waits
        self.match_waits += other.match_waits


Key = tuple[str, int, str, str, int]  # month, neighbourhood, category, kind, organisation


async def _months_changed_since(d: Dialect, since: datetime | None) -> set[str]:
    client = connections.get("default")
    sql = f"SELECT DISTINCT {d.month('created_at')} AS month FROM help_posts"  # noqa: S608
    params: list[object] = []
    if since is not None:
        sql += f" WHERE updated_at > {d.mark(1)}"
        params.append(d.timestamp(since))
    return {row["month"] for row in await client.execute_query_dict(sql, params)}


def _bounds(month: str) -> tuple[datetime, datetime]:
    year, number = int(month[:4]), int(month[5:7])
    after = (year + 1, 1) if number == 12 else (year, number + 1)
    return datetime(year, number, 1, tzinfo=UTC), datetime(*after, 1, tzinfo=UTC)


async def _count(months: Sequence[str] | None, d: Dialect) -> dict[Key, Tally]:
    """Tally the posts of `months` (None: of every month); hidden ones only as such."""
    client = connections.get("default")
    where, params = "1 = 1", []
    if months is not None:
        # A range of created_at the index serves, a day wider on each side for times
        # stored with another offset than UTC; the month itself is checked on each row.
        start, end = _bounds(min(months))[0], _bounds(max(months))[1]
        where = f"created_at >= {d.mark(1)} AND created_at < {d.mark(2)}"
        params = [d.timestamp(start - timedelta(days=1)), d.timestamp(end + timedelta(days=1))]
    sql = (
        f"SELECT {d.month('created_at')} AS month, neighbourhood_id, category, kind,"  # noqa: S608
        f" organisation_id, status, {d.seconds('first_offer_at', 'created_at')} AS offer_s,"
        f" {d.seconds('matched_at', 'created_at')} AS match_s, hidden_at IS NOT NULL AS hid"
        f" FROM help_posts WHERE {where}"
    )
    wanted = None if months is None else set(months)
    tallies: dict[Key, Tally] = {}
    _, rows = await client.execute_query(sql, params)
    for row in rows:
        month, hood, category, kind, org, status, offer_s, match_s, hid = tuple(row)
        if wanted is not None and month not in wanted:
            continue
        for key in (
            (month, hood, category, kind, org or 0),
            (month, hood, category, kind, ANY_ORGANISATION),
        ):
            tally = tallies.get(key)
            if tally is None:
                tally = tallies[key] = Tally()
            if hid:
                tally.hidden += 1
            else:
                tally.add_post(status, offer_s, match_s)
    return tallies


_COLUMNS = (
    "month, neighbourhood_id, category, kind, organisation_id, posted, matched, done,"
    " expired, withdrawn, closed, unmatched, hidden, offer_waits, match_waits, refreshed_at"
)


async def _store(
    d: Dialect, months: Iterable[str] | None, tallies: dict[Key, Tally], at: datetime
) -> None:
    if months is None:
        await NeedsMonth.all().delete()
    else:
        await NeedsMonth.filter(month__in=list(months)).delete()
    stamp = d.stored(at)
    rows = [
        [
            *key,
            *(t.posted, t.matched, t.done, t.expired, t.withdrawn, t.closed, t.unmatched),
            t.hidden,
            orjson.dumps(sorted(t.offer_waits)).decode(),
            orjson.dumps(sorted(t.match_waits)).decode(),
            stamp,
        ]
        for key, t in tallies.items()
    ]
    if not rows:
        return
    marks = ", ".join(d.mark(i + 1) for i in range(len(rows[0])))
    # Plain parameters, not model objects: a busy month is hundreds of rows per view.
    sql = f"INSERT INTO needs_months ({_COLUMNS}) VALUES ({marks})"  # noqa: S608
    client = connections.get("default")
    for start in range(0, len(rows), _BATCH):
        await client.execute_many(sql, rows[start : start + _BATCH])


async def _in_step() -> bool:
    """Whether the rows count every post (nothing deleted behind them): a COUNT(*) the
    database answers from its smallest index."""
    client = connections.get("default")
    posts = await client.execute_query_dict("SELECT COUNT(*) AS n FROM help_posts")
    rows = await client.execute_query_dict(
        f"SELECT SUM(posted + hidden) AS n FROM needs_months"  # noqa: S608
        f" WHERE organisation_id = {ANY_ORGANISATION}"
    )
    return int(posts[0]["n"] or 0) == int(rows[0]["n"] or 0)


async def refresh() -> int:
    """Bring the rows up to date; returns how many months were counted again (-1: all)."""
    d = dialect()
    async with db.atomic():
        if d.name == "postgres":
            await connections.get("default").execute_query(
                f"SELECT pg_advisory_xact_lock({LOCK_KEY})"
            )
        started = utcnow()
        latest = await NeedsMonth.all().order_by("-refreshed_at").first()
        months = await _months_changed_since(d, latest.refreshed_at if latest else None)
        if latest is not None and months:
            await _store(d, months, await _count(sorted(months), d), started)
        if latest is None or not await _in_step():
            await _store(d, None, await _count(None, d), started)
            return -1
        return len(months)


def _waits(value: Any) -> list[int]:
    return orjson.loads(value) if isinstance(value, str | bytes) else list(value or [])


async def read(
    first: str,
    last: str,
    *,
    neighbourhood_ids: Sequence[int] | None = None,
    organisation_id: int | None = None,
    category: str = "",
    kind: str = "",
) -> list[tuple[Key, Tally]]:
    """The rows of the months `first` to `last` (YYYY-MM, both included), narrowed: one
    organisation's posts, or (`organisation_id` None) every post."""
    d = dialect()
    clauses, params = [], []

    def add(template: str, *values: object) -> None:
        marks = [d.mark(len(params) + i + 1) for i in range(len(values))]
        params.extend(values)
        clauses.append(template.format(*marks))

    add("month >= {} AND month <= {}", first, last)
    if neighbourhood_ids is not None:
        if not neighbourhood_ids:
            return []
        add(
            f"neighbourhood_id IN ({', '.join('{}' for _ in neighbourhood_ids)})",
            *neighbourhood_ids,
        )
    add("organisation_id = {}", ANY_ORGANISATION if organisation_id is None else organisation_id)
    if category:
        add("category = {}", category)
    if kind:
        add("kind = {}", kind)
    sql = (
        "SELECT month, neighbourhood_id, category, kind, organisation_id, posted, matched,"  # noqa: S608
        " done, expired, withdrawn, closed, unmatched, offer_waits, match_waits"
        f" FROM needs_months WHERE {' AND '.join(clauses)}"
    )
    found = []
    _, rows = await connections.get("default").execute_query(sql, params)
    for row in rows:
        month, hood, category, kind, org, *counts, offer_waits, match_waits = tuple(row)
        tally = Tally(*(int(c) for c in counts))
        tally.offer_waits = _waits(offer_waits)
        tally.match_waits = _waits(match_waits)
        found.append(((month, hood, category, kind, org), tally))
    return found
