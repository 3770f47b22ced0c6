"""The needs figures a node publishes (`/needs.json`) and the check partners' ones pass.

Seeded posts give exactly the expected cells on SQLite and PostgreSQL (months in UTC,
suppression, old posts left out); nothing personal appears in the document; NodeInfo
links it; and the validator refuses every malformed partner document with
InvalidFigures and nothing else.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.needs_fetch import Figures, InvalidFigures, own_figures, parse_figures
from node.config import Settings
from node.models import HelpPost, Visibility
from node.services import needs_aggregate
from node.states import PostStatus
from tests import factories
from tests.federation_fixtures import BASE, serving

NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
SECRET_WORDS = (
    "Geheime zetel van mevrouw Janssens",  # a title
    "Mijn buurvrouw met dementie",  # a description
    "zeldajanssens",  # a username
    "Zelda Janssens",  # a display name
    "Stille Hulp vzw",  # an organisation's name
    "stille-hulp",  # its slug
    "Cliënt K.",  # an on-behalf label
    "Kerkstraat 12",  # a private address
    "near the bakery",  # an area hint
)


def _settings(database: str) -> Settings:
    return Settings(database_url=database, base_url=BASE)


async def _seed() -> None:
    """Hood "centrum": 7 transport requests in March 2026 (one hidden, which does not
    count, one for
    followers only, one posted as an organisation for a client; two at the month's
    edge in other time zones), 5 of them matched and done, 2 expired; hood "noord":
    3 garden offers in February; one request of 2022, out of range."""
    centrum = await factories.neighbourhood("centrum", commune="Jette", country="BE")
    noord = await factories.neighbourhood("noord", commune="Ganshoren")
    author = await factories.account("zeldajanssens")
    author.display_name = "Zelda Janssens"
    await author.save()
    org = await factories.organisation("stille-hulp", staff=[author])
    org.name = "Stille Hulp vzw"
    await org.save()
    created = [
        datetime(2026, 3, 2, 9, tzinfo=UTC),
        datetime(2026, 3, 10, 9, tzinfo=UTC),
        datetime(2026, 3, 15, 9, tzinfo=UTC),
        datetime(2026, 3, 20, 9, tzinfo=UTC),
        datetime(2026, 3, 25, 9, tzinfo=UTC),
        datetime(2026, 3, 31, 23, 30, tzinfo=UTC),
        # 00:30 on 1 April in Brussels is still March in UTC.
        datetime(2026, 4, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))),
    ]
    ids = []
    for index, at in enumerate(created):
        extra: dict[str, Any] = {}
        if index == 0:
            extra = {
                "organisation": "stille-hulp",
                "on_behalf_label": "Cliënt K.",
                "client_consent": True,
            }
        post = await factories.post(
            author,
            centrum,
            title="Geheime zetel van mevrouw Janssens",
            description="Mijn buurvrouw met dementie",
            private_location="Kerkstraat 12",
            area_hint="near the bakery",
            **extra,
        )
        await HelpPost.filter(id=post.id).update(created_at=at)
        ids.append(post.id)
    await HelpPost.filter(id__in=ids[:5]).update(matched_at=NOW, status=PostStatus.DONE)
    await HelpPost.filter(id__in=ids[5:]).update(status=PostStatus.EXPIRED)
    await HelpPost.filter(id=ids[1]).update(hidden_at=NOW, hidden_reason="spam")
    await HelpPost.filter(id=ids[2]).update(visibility=Visibility.FOLLOWERS)
    for day in (1, 2, 3):
        post = await factories.post(author, noord, kind="offer", category="garden")
        await HelpPost.filter(id=post.id).update(created_at=datetime(2026, 2, day, tzinfo=UTC))
    old = await factories.post(author, centrum)
    await HelpPost.filter(id=old.id).update(created_at=datetime(2022, 1, 5, tzinfo=UTC))


EXPECTED_CELLS = [
    {
        "neighbourhood": f"{BASE}/n/centrum",
        "category": "transport",
        "month": "2026-03",
        "kind": "request",
        "posted": 5,  # 6 not hidden, rounded to five
        "matched": None,  # 4 not hidden: suppressed
        "done": None,
        "expired": None,  # 2: suppressed
    },
    {
        "neighbourhood": f"{BASE}/n/noord",
        "category": "garden",
        "month": "2026-02",
        "kind": "offer",
        "posted": None,  # 3: suppressed
        "matched": 0,
        "done": 0,
        "expired": 0,
    },
]


async def test_cells_count_every_post_per_hood_category_month_and_kind(database: str) -> None:
    await _seed()
    document = await needs_aggregate.build(_settings(database), NOW)
    assert document["version"] == 1
    assert document["node"] == BASE
    assert document["generated"] == "2026-12-04T18:00:00Z"
    assert document["suppressedBelow"] == 5
    assert document["cells"] == EXPECTED_CELLS
    assert document["neighbourhoods"] == [
        {"id": f"{BASE}/n/centrum", "name": "Centrum", "commune": "Jette", "country": "BE"},
        {"id": f"{BASE}/n/noord", "name": "Noord", "commune": "Ganshoren", "country": "BE"},
    ]
    # What the node publishes passes the check partners apply to it.
    assert isinstance(parse_figures(orjson.loads(orjson.dumps(document)), BASE), Figures)
    assert own_figures(document).cells[0].posted == 5  # 6 not hidden, rounded


async def test_a_suppressed_count_never_shows_and_zero_cells_are_left_out(database: str) -> None:
    hood = await factories.neighbourhood("klein")
    author = await factories.account()
    for _ in range(4):
        await factories.post(author, hood, category="meals")
    document = await needs_aggregate.build(_settings(database))
    [cell] = document["cells"]
    assert cell["posted"] is None and cell["category"] == "meals"
    assert all(cell[k] == 0 for k in ("matched", "done", "expired"))
    # A fifth post makes the count publishable.
    await factories.post(author, hood, category="meals")
    [cell] = (await needs_aggregate.build(_settings(database)))["cells"]
    assert cell["posted"] == 5


def test_the_counted_months_are_the_last_36() -> None:
    months = needs_aggregate.month_range(NOW)
    assert len(months) == 36 and months[0] == "2024-01" and months[-1] == "2026-12"
    assert needs_aggregate.first_month(NOW) == datetime(2024, 1, 1, tzinfo=UTC)
    january = needs_aggregate.month_range(datetime(2027, 1, 31, tzinfo=UTC))
    assert january[0] == "2024-02" and january[-1] == "2027-01"


async def test_needs_json_is_public_figures_without_personal_data(database: str) -> None:
    await _seed()
    async with serving(database) as node:
        response = await node.client.get("/needs.json")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.headers["cache-control"] == "public, max-age=300"
        text = response.content.decode()
        for word in SECRET_WORDS:
            assert word not in text, word
        document = response.json()
        assert {k for c in document["cells"] for k in c} == {
            "neighbourhood", "category", "month", "kind", "posted", "matched", "done", "expired"
        }  # fmt: skip
        assert {k for h in document["neighbourhoods"] for k in h} == {
            "id",
            "name",
            "commune",
            "country",
        }
        # The same figures as the service gives (the clock here is within 36 months).
        seeded = [c for c in document["cells"] if c["month"] in ("2026-02", "2026-03")]
        assert seeded == EXPECTED_CELLS


async def test_nodeinfo_links_the_needs_figures(database: str) -> None:
    async with serving(database) as node:
        for version in ("2.0", "2.1"):
            info = (await node.client.get(f"/nodeinfo/{version}")).json()
            assert info["metadata"]["needsData"] == f"{BASE}/needs.json"


# --- the partner documents' check ------------------------------------------------------

ORIGIN = "https://partner.example"


def valid_document() -> dict[str, Any]:
    return {
        "version": 1,
        "node": ORIGIN,
        "generated": "2026-12-04T18:00:00Z",
        "suppressedBelow": 5,
        "neighbourhoods": [
            {"id": f"{ORIGIN}/n/zuid", "name": "Zuid", "commune": "Jette", "country": "BE"}
        ],
        "cells": [
            {
                "neighbourhood": f"{ORIGIN}/n/zuid",
                "category": "transport",
                "month": "2026-11",
                "kind": "request",
                "posted": 12,
                "matched": 5,
                "done": None,
                "expired": 0,
            }
        ],
    }


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
FUZZ = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _check(document: object) -> Figures | None:
    """Only InvalidFigures may come out; anything accepted keeps the rules."""
    try:
        figures = parse_figures(document, ORIGIN)
    except InvalidFigures:
        return None
    for cell in figures.cells:
        for value in (cell.posted, cell.matched, cell.done, cell.expired):
            assert value is None or value == 0 or value >= 5
        assert cell.neighbourhood in figures.neighbourhoods
    assert all(h.startswith(ORIGIN + "/") for h in figures.neighbourhoods)
    return figures


def test_a_valid_document_is_accepted() -> None:
    figures = parse_figures(valid_document(), ORIGIN)
    assert (
        figures.cells[0].posted == 12 and figures.neighbourhoods[f"{ORIGIN}/n/zuid"].name == "Zuid"
    )
    # Unknown properties are ignored; an unknown category stays as its slug.
    document = valid_document()
    document["extra"] = {"anything": [1, 2]}
    document["cells"][0]["category"] = "snow-shovelling"
    assert parse_figures(document, ORIGIN).cells[0].category == "snow-shovelling"


@FUZZ
@given(JSON)
def test_any_json_is_refused_cleanly(document: object) -> None:
    assert _check(document) is None  # random JSON is never a valid document


def _is_month(text: str) -> bool:
    return re.fullmatch(r"(20[0-9]{2}|2100)-(0[1-9]|1[0-2])", text) is not None


# (path in the document, bad values for it)
BAD_VALUES: list[tuple[tuple[Any, ...], st.SearchStrategy[Any]]] = [
    (("version",), st.one_of(st.integers().filter(lambda n: n != 1), st.just(True), st.just("1"))),
    (
        ("node",),
        st.sampled_from(
            ["https://other.example", "partner.example", "ftp://partner.example", None, 1]
        ),
    ),
    (("generated",), st.sampled_from(["yesterday", "", 20261204, None, "2026-13-01"])),
    (("suppressedBelow",), st.one_of(st.integers(max_value=4), st.just(None), st.just(5.0))),
    (("neighbourhoods",), st.sampled_from([None, {}, "zuid", [1]])),
    (
        ("neighbourhoods", 0, "id"),
        st.sampled_from(["https://evil.example/n/zuid", "/n/zuid", None, "x" * 600]),
    ),
    (("neighbourhoods", 0, "name"), st.sampled_from(["", "  ", None, 3, "x" * 201, "a\x00b"])),
    (("neighbourhoods", 0, "country"), st.sampled_from(["be", "BEL", 32, None])),
    (("cells",), st.sampled_from([None, {}, "cells", [[]]])),
    (("cells", 0, "neighbourhood"), st.sampled_from([f"{ORIGIN}/n/noord", None, 1])),
    (("cells", 0, "category"), st.sampled_from(["", "Transport", "a b", "x" * 41, None, "../x"])),
    (("cells", 0, "month"), st.from_regex(r"\A[0-9-]{0,9}\Z").filter(lambda m: not _is_month(m))),
    (("cells", 0, "kind"), st.sampled_from(["requests", "", None, "Offer"])),
    (
        ("cells", 0, "posted"),
        st.one_of(
            st.integers(1, 4),
            st.integers(max_value=-1),
            st.booleans(),
            st.floats(),
            st.text(max_size=3),
            st.integers(min_value=10**9 + 1),
        ),
    ),
    (
        ("cells", 0, "matched"),
        st.one_of(st.integers(1, 4), st.integers(13, 10**6), st.just(True), st.just("5")),
    ),
    (("cells", 0, "done"), st.one_of(st.integers(1, 4), st.just([]), st.just({}))),
]


@FUZZ
@given(st.sampled_from(BAD_VALUES).flatmap(lambda pair: st.tuples(st.just(pair[0]), pair[1])))
def test_each_malformed_field_is_refused(bad: tuple[tuple[Any, ...], Any]) -> None:
    path, value = bad
    document = copy.deepcopy(valid_document())
    target: Any = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(InvalidFigures):
        parse_figures(document, ORIGIN)


def test_repeated_cells_and_small_counts_are_refused() -> None:
    document = valid_document()
    document["cells"].append(dict(document["cells"][0]))
    with pytest.raises(InvalidFigures, match="repeated"):
        parse_figures(document, ORIGIN)
    document = valid_document()
    document["neighbourhoods"].append(dict(document["neighbourhoods"][0]))
    with pytest.raises(InvalidFigures, match="twice"):
        parse_figures(document, ORIGIN)
