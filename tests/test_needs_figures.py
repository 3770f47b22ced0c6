"""The needs figures (node.services.needs): exact medians computed in SQL agree with
`statistics.median`, small counts are suppressed everywhere, and each viewer sees only
the posts of their scope. On SQLite and on PostgreSQL."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.errors import InvalidInput, NotFound, PermissionDenied
from node.models import Account, HelpPost, Neighbourhood, Survey, SurveyVote
from node.services import needs, needs_access, needs_rollup, neighbourhoods
from node.services.needs import NeedsFilter, _figure, parse_filter
from node.services.needs_privacy import shown
from node.services.needs_rollup import Tally
from node.states import PostStatus
from tests import factories

MONTH = date(2025, 3, 1)
START = datetime(2025, 3, 1, tzinfo=UTC)
MARCH = NeedsFilter(MONTH, MONTH)
DB_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def post_row(
    author: Account,
    hood: Neighbourhood,
    at: datetime,
    *,
    offer_after: int | None = None,
    match_after: int | None = None,
    status: PostStatus = PostStatus.OPEN,
    category: str = "transport",
    kind: str = "request",
    organisation_id: int | None = None,
    hidden: bool = False,
) -> HelpPost:
    """A post with chosen times, written straight to the table (the services stamp
    the real clock, and the figures are about times)."""
    return HelpPost(
        kind=kind,
        title="Help",
        language="nl",
        category=category,
        neighbourhood_id=hood.id,
        author_id=author.id,
        organisation_id=organisation_id,
        status=status,
        expires_at=at + timedelta(days=30),
        created_at=at,
        status_changed_at=at,
        first_offer_at=None if offer_after is None else at + timedelta(seconds=offer_after),
        matched_at=None if match_after is None else at + timedelta(seconds=match_after),
        hidden_at=at if hidden else None,
    )


async def world() -> tuple[Account, Neighbourhood]:
    return await factories.account("poster"), await factories.neighbourhood("kuregem")


def expected_median(values: list[int]) -> float | None:
    return statistics.median(values) if len(values) >= 5 else None


delays = st.lists(st.integers(min_value=0, max_value=90 * 86400), max_size=12)


@DB_SETTINGS
@given(transport=delays, meals=delays, seconds=st.lists(st.integers(0, 30 * 86400), max_size=24))
async def test_medians_equal_statistics_median_of_the_same_posts(
    database: str, transport: list[int], meals: list[int], seconds: list[int]
) -> None:
    await HelpPost.all().delete()
    author = await Account.get_or_none(username="poster")
    hood = await Neighbourhood.get_or_none(slug="kuregem")
    if author is None or hood is None:
        author, hood = await world()
    rows, at = [], iter(seconds + [0] * 24)
    for category, offers in (("transport", transport), ("meals", meals)):
        for index, delay in enumerate(offers):
            # Every other post is matched too, a little later than its first offer.
            match = delay + 60 if index % 2 == 0 else None
            when = START + timedelta(seconds=next(at))
            rows.append(
                post_row(
                    author, hood, when, offer_after=delay, match_after=match, category=category
                )
            )
        # Posts never offered help count as posted, and add nothing to the medians.
        rows.append(post_row(author, hood, START + timedelta(days=2), category=category))
    await HelpPost.bulk_create(rows)

    result = await needs.figures(needs_access.Scope(needs_access.NODE), MARCH)
    by_category = dict(result.categories)
    cells = {cell.category: cell.figure for cell in result.cells}
    for category, offers in (("transport", transport), ("meals", meals)):
        matches = [d + 60 for i, d in enumerate(offers) if i % 2 == 0]
        for figure in (by_category[category], cells[category]):
            assert figure.median_to_first_offer == expected_median(offers)
            assert figure.median_to_match == expected_median(matches)
            assert figure.posted == shown(len(offers) + 1)
    everything = transport + meals
    all_matches = [d + 60 for i, d in enumerate(transport) if i % 2 == 0] + [
        d + 60 for i, d in enumerate(meals) if i % 2 == 0
    ]
    for figure in (result.total, dict(result.months)["2025-03"]):
        assert figure.median_to_first_offer == expected_median(everything)
        assert figure.median_to_match == expected_median(all_matches)


raw_counts = st.builds(
    Tally,
    posted=st.integers(0, 40),
    matched=st.integers(0, 40),
    done=st.integers(0, 40),
    expired=st.integers(0, 40),
    withdrawn=st.integers(0, 40),
    closed=st.integers(0, 40),
    unmatched=st.integers(0, 40),
)


@given(raw=raw_counts, n_offer=st.integers(0, 12), n_match=st.integers(0, 12))
def test_no_figure_from_one_to_four_posts_ever_leaves_the_service(
    raw: Tally, n_offer: int, n_match: int
) -> None:
    raw.offer_waits, raw.match_waits = [3600] * n_offer, [7200] * n_match
    figure = _figure(raw)
    for name in needs.COUNTS:
        value, true = getattr(figure, name), getattr(raw, name)
        assert value in (None, 0) or (value >= 5 and value % 5 == 0)
        if true == 0 or true >= 5:
            assert value is not None and abs(value - true) <= 2  # rounded to the nearest 5
        else:
            assert value is None
        assert (name in figure.suppressed) == (value is None)
    assert (figure.median_to_first_offer is None) == (n_offer < 5)
    assert (figure.median_to_match is None) == (n_match < 5)
    assert ("median_to_match" in figure.suppressed) == (0 < n_match < 5)
    assert (figure.unmatched_share is None) == (raw.closed < 5)
    if figure.unmatched_share is not None:
        assert abs(figure.unmatched_share - raw.unmatched / raw.closed) <= 0.05 + 1e-9


async def test_counts_shares_and_top_categories_of_a_month(database: str) -> None:
    author, hood = await world()
    day = START + timedelta(days=3)
    rows = [post_row(author, hood, day, status=PostStatus.DONE, match_after=10) for _ in range(6)]
    rows += [post_row(author, hood, day, status=PostStatus.EXPIRED) for _ in range(5)]
    rows += [post_row(author, hood, day, status=PostStatus.WITHDRAWN) for _ in range(2)]
    rows += [post_row(author, hood, day, category="meals") for _ in range(3)]
    rows += [post_row(author, hood, day, hidden=True) for _ in range(7)]  # moderated away
    rows += [post_row(author, hood, START - timedelta(seconds=1)) for _ in range(9)]  # February
    await HelpPost.bulk_create(rows)

    result = await needs.figures(needs_access.Scope(needs_access.NODE), MARCH)
    transport = dict(result.categories)["transport"]
    assert (transport.posted, transport.matched, transport.done) == (shown(13), shown(6), shown(6))
    assert (transport.expired, transport.withdrawn) == (5, None)
    assert transport.suppressed == {"withdrawn"}  # no offers at all: nothing to suppress
    assert transport.median_to_first_offer is None
    assert transport.unmatched_share == 0.5  # 7 of 13, to ten percent
    assert transport.median_to_match == 10
    meals = dict(result.categories)["meals"]
    assert meals.posted is None and "posted" in meals.suppressed
    assert result.top_categories == [("transport", 15)]  # 13, rounded; meals has too few to rank
    assert [month for month, _ in result.months] == ["2025-03"]
    assert result.total.posted == 15  # 16, rounded to five


@DB_SETTINGS
@given(votes=st.lists(st.integers(0, 2), max_size=9))
async def test_survey_answers_are_shown_only_from_five_voters(
    database: str, votes: list[int]
) -> None:
    await SurveyVote.all().delete()
    await Survey.all().delete()
    hood = await Neighbourhood.get_or_none(slug="kuregem") or await factories.neighbourhood(
        "kuregem"
    )
    survey = await Survey.create(
        neighbourhood=hood,
        language="en",
        question={"en": "What do you need most?"},
        options=[{"en": "Shopping"}, {"en": "Company"}, {"en": "Paperwork"}],
        closes_at=START + timedelta(days=10),
        created_at=START,
    )
    for index, option in enumerate(votes):
        voter = await Account.get_or_none(username=f"voter{index}") or await factories.account(
            f"voter{index}"
        )
        await SurveyVote.create(survey=survey, option=option, account=voter)
    scope = needs_access.Scope(needs_access.NODE)
    [found] = await needs.surveys(scope, MARCH, None)
    counts = [votes.count(option) for option in range(3)]
    if len(votes) >= 5:
        assert found.counts == tuple(shown(c) for c in counts)
        assert found.voters == shown(len(votes))
    elif votes:
        assert found.counts == (None, None, None)
        assert found.voters is None
    else:
        assert found.counts == (0, 0, 0)


async def test_each_viewer_sees_the_posts_of_their_scope(database: str) -> None:
    author, hood = await world()
    other_hood = await factories.neighbourhood("dieleghem")
    admin = await factories.admin()
    connector = await factories.account("connie")
    await neighbourhoods.add_connector(hood, connector, by=admin)
    org = await factories.organisation("buurthuis")
    staff = await factories.coordinator_of(org, "karim")
    other_org = await factories.organisation("andere-vzw")
    outsider = await factories.coordinator_of(other_org, "olga")
    resident = await factories.account("greet")
    day = START + timedelta(days=1)
    rows = [post_row(author, hood, day) for _ in range(5)]
    # Multiples of five: counts are rounded to five, and these tell the scopes apart.
    rows += [post_row(author, other_hood, day) for _ in range(10)]
    rows += [post_row(author, other_hood, day, organisation_id=org.id) for _ in range(15)]
    await HelpPost.bulk_create(rows)

    async def posted(account: Account, org_slug: str = "", hoods: tuple[str, ...] = ()) -> int:
        scope = await needs_access.scope_for(account, org_slug)
        return (await needs.figures(scope, NeedsFilter(MONTH, MONTH, hoods))).total.posted

    assert await posted(admin) == 30
    assert await posted(admin, "buurthuis") == 15
    assert await posted(admin, hoods=("dieleghem",)) == 25
    assert await posted(connector) == 5
    assert await posted(staff) == 15
    assert await posted(staff, "buurthuis", ("kuregem",)) == 0
    with pytest.raises(PermissionDenied):
        await posted(connector, hoods=("dieleghem",))
    with pytest.raises(PermissionDenied):
        await posted(outsider, "buurthuis")
    with pytest.raises(PermissionDenied):
        await needs_access.scope_for(resident)
    with pytest.raises(PermissionDenied):
        await needs_access.scope_for(None)
    with pytest.raises(NotFound):
        await needs_access.scope_for(admin, "no-such-org")
    with pytest.raises(InvalidInput):
        await posted(admin, hoods=("nowhere",))
    assert [s.kind for s in await needs_access.choices(staff)] == ["organisation"]
    assert await needs_access.choices(resident) == []


@given(
    values=st.dictionaries(
        st.sampled_from(["from", "to", "category", "kind"]), st.text(max_size=12), max_size=4
    ),
    hoods=st.lists(st.text(max_size=50), max_size=3),
)
def test_any_query_is_a_filter_or_a_named_bad_field(
    values: dict[str, str], hoods: list[str]
) -> None:
    try:
        chosen = parse_filter(values, hoods, today=date(2026, 12, 4))
    except InvalidInput as exc:
        assert exc.field in ("from", "to", "category", "kind", "neighbourhood")
        return
    assert 1 <= len(chosen.months) <= needs.MAX_MONTHS
    assert chosen.start < chosen.end


def test_the_default_range_is_the_last_twelve_months() -> None:
    chosen = parse_filter({}, today=date(2026, 12, 4))
    assert chosen.months[0] == "2026-01" and chosen.months[-1] == "2026-12"
    assert len(parse_filter({"to": "2026-02"}, today=date(2026, 12, 4)).months) == 12
    assert parse_filter({"from": "2024-11", "to": "2025-02"}, today=date(2026, 1, 1)).months == [
        "2024-11",
        "2024-12",
        "2025-01",
        "2025-02",
    ]


async def test_the_figures_follow_every_change_of_the_posts(database: str) -> None:
    """The monthly rows are brought up to date on every read: new posts, a status
    change, a hidden post, even posts deleted behind the node's back."""
    author, hood = await world()
    node_scope = needs_access.Scope(needs_access.NODE)
    await HelpPost.bulk_create([post_row(author, hood, START) for _ in range(5)])
    assert (await needs.figures(node_scope, MARCH)).total.posted == 5
    assert await needs_rollup.refresh() == 0  # nothing changed since
    await HelpPost.bulk_create([post_row(author, hood, START) for _ in range(5)])
    assert (await needs.figures(node_scope, MARCH)).total.posted == 10
    first = await HelpPost.filter(neighbourhood=hood).first()
    assert first is not None
    first.status = PostStatus.DONE
    await first.save(update_fields=["status", "updated_at"])
    assert (await needs.figures(node_scope, MARCH)).total.done is None  # 1: suppressed
    four = await HelpPost.filter(status=PostStatus.OPEN).limit(4).values_list("id", flat=True)
    await HelpPost.filter(id__in=four).update(status=PostStatus.DONE, updated_at=datetime.now(UTC))
    figures = await needs.figures(node_scope, MARCH)
    assert (figures.total.posted, figures.total.done) == (10, 5)
    # Posts that vanish leave no trace in updated_at: the count check rebuilds.
    await HelpPost.filter(status=PostStatus.OPEN).delete()
    assert (await needs.figures(node_scope, MARCH)).total.posted == 5
