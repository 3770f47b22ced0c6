"""/admin/needs and /admin/needs.csv: the page draws its charts as SVG with tables beside
them, the CSV holds the service's figures (suppressed cells empty), each viewer sees only
their scope, and a bad filter answers 400 with the reason, never 500."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admin.csv_download import safe_cell
from node.models import Account, HelpPost, Neighbourhood, Organisation
from node.services import needs, needs_access, neighbourhoods
from node.services.needs import parse_filter
from node.states import PostStatus
from node.timeutil import utcnow
from tests import factories
from tests.test_needs_figures import post_row
from tests.webclient import Browser, browser

PAGE, CSV = "/admin/needs", "/admin/needs.csv"


class World:
    admin: Account
    connector: Account
    staff: Account
    outsider: Account
    resident: Account
    org: Organisation
    hood: Neighbourhood
    other_hood: Neighbourhood


async def seed() -> World:
    w = World()
    w.hood = await factories.neighbourhood("kuregem")
    w.other_hood = await factories.neighbourhood("dieleghem")
    w.admin = await factories.admin(languages=["en"])  # the page in English, as asserted
    w.connector = await factories.account("connie")
    await neighbourhoods.add_connector(w.hood, w.connector, by=w.admin)
    w.org = await factories.organisation("buurthuis")
    w.staff = await factories.coordinator_of(w.org, "karim")
    w.outsider = await factories.coordinator_of(await factories.organisation("andere-vzw"), "olga")
    w.resident = await factories.account("greet")
    author = await factories.account("poster")
    now = utcnow().replace(microsecond=0)
    rows = []
    for index in range(40):
        at = now - timedelta(days=3 + index * 5, hours=index)
        rows.append(
            post_row(
                author,
                w.hood if index % 3 else w.other_hood,
                at,
                offer_after=600 * (index + 1),
                match_after=3600 * (index + 1) if index % 2 else None,
                status=(PostStatus.DONE, PostStatus.EXPIRED, PostStatus.OPEN)[index % 3],
                category=("transport", "meals")[index % 2],
                kind="request" if index % 4 else "offer",
                organisation_id=w.org.id if index < 12 else None,
            )
        )
    rows.append(post_row(author, w.hood, now - timedelta(days=1), category="paperwork"))
    await HelpPost.bulk_create(rows)
    return w


@pytest.fixture
async def world(database: str) -> World:
    return await seed()


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database) as client:
        yield client


async def test_the_page_draws_charts_and_tables_and_hides_small_counts(
    world: World, web: Browser
) -> None:
    await web.log_in_as(world.admin)
    response = await web.get(PAGE)
    assert response.status_code == 200
    html = response.text
    assert html.count("<svg") == 2 and "<title" in html and "<desc" in html
    assert "<table" in html and "Median time to a first offer" in html
    assert "&lt;5" in html  # the one paperwork request
    assert "<script" not in html
    assert 'href="/admin/needs.csv"' in html


async def test_the_csv_holds_the_services_figures(world: World, web: Browser) -> None:
    await web.log_in_as(world.admin)
    response = await web.get(CSV, params={"kind": "request"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment; filename=" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    chosen = parse_filter({"kind": "request"}, today=utcnow().date())
    expected = await needs.figures(needs_access.Scope(needs_access.NODE), chosen)
    assert len(rows) == len(expected.cells) > 0
    for row, cell in zip(rows, expected.cells, strict=True):
        assert (row["month"], row["neighbourhood"], row["category"], row["kind"]) == (
            cell.month,
            cell.neighbourhood,
            cell.category,
            "request",
        )
        for name in needs.COUNTS:
            value = getattr(cell.figure, name)
            assert row[name] == ("" if value is None else str(value))
        median = cell.figure.median_to_first_offer
        assert (row["median_seconds_to_first_offer"] == "") == (median is None)
        if median is not None:
            assert float(row["median_seconds_to_first_offer"]) == median
        assert bool(row["note"]) == bool(cell.figure.suppressed)
        for value in row.values():  # counts under five never reach the file
            assert (
                not value.isdigit() or int(value) == 0 or int(value) >= 5 or value == row["month"]
            )


async def test_each_viewer_gets_their_scope_or_a_refusal(world: World, web: Browser) -> None:
    anonymous = await web.get(PAGE)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
    for account, path, params, status in (
        (world.resident, PAGE, {}, 403),
        (world.resident, CSV, {}, 403),
        (world.outsider, PAGE, {"organisation": "buurthuis"}, 403),
        (world.outsider, CSV, {"organisation": "buurthuis"}, 403),
        (world.connector, PAGE, {"neighbourhood": "dieleghem"}, 403),
        (world.admin, PAGE, {"organisation": "no-such-org"}, 404),
        (world.connector, PAGE, {}, 200),
        (world.staff, CSV, {}, 200),
        (world.outsider, PAGE, {}, 200),  # their own organisation, with nothing in it
        (world.admin, CSV, {"organisation": "buurthuis"}, 200),
    ):
        web.log_out_locally()
        await web.log_in_as(account)
        response = await web.get(path, params=params)
        assert response.status_code == status, (account.username, path, params)

    web.log_out_locally()
    await web.log_in_as(world.staff)
    staff_rows = list(csv.DictReader(io.StringIO((await web.get(CSV)).text.lstrip("\ufeff"))))
    scope = await needs_access.scope_for(world.staff)
    chosen = parse_filter({}, today=utcnow().date())
    assert len(staff_rows) == len((await needs.figures(scope, chosen)).cells)
    assert (
        await needs.figures(scope, chosen)
    ).total.posted == 10  # 12 of the organisation, rounded to five


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-13"}, "Give a month as YYYY-MM"),
        ({"from": "2026-05", "to": "2026-01"}, "The first month comes after the last one"),
        ({"from": "2001-01", "to": "2026-01"}, "Choose at most 60 months"),
        ({"category": "=cmd"}, "Choose a category from the list"),
        ({"kind": "both"}, "Choose requests, offers or both"),
        ({"neighbourhood": "nowhere"}, "Choose neighbourhoods from the list"),
    ],
)
async def test_a_bad_filter_answers_400_with_the_reason(
    world: World, web: Browser, params: dict[str, str], message: str
) -> None:
    await web.log_in_as(world.admin)
    page = await web.get(PAGE, params=params)
    assert page.status_code == 400 and message in page.text
    export = await web.get(CSV, params=params)
    assert export.status_code == 400 and message in export.text


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.lists(
        st.tuples(
            st.sampled_from(["from", "to", "category", "kind", "neighbourhood", "organisation"]),
            st.text(max_size=30),
        ),
        max_size=5,
    ),
    path=st.sampled_from([PAGE, CSV]),
)
async def test_any_query_answers_without_a_server_error(
    database: str, params: list[tuple[str, str]], path: str
) -> None:
    admin = await Account.get_or_none(username="admin") or await factories.admin()
    async with browser(database) as web:
        await web.log_in_as(admin)
        response = await web.get(path, params=params)
    assert response.status_code in (200, 400, 404)


def test_a_csv_cell_never_starts_a_formula() -> None:
    for text in ("=HYPERLINK(1)", "+1", "-1+2", "@SUM(A1)"):
        assert safe_cell(text) == "'" + text
    assert safe_cell(-5) == -5  # numbers stay numbers
    assert safe_cell(None) == ""
