"""Publishing and withdrawing needs surveys: the rules of a survey's texts, options and
closing date, who may publish where, and that a refused survey stores nothing; who sees
and withdraws surveys; one vote per person per series; counts shown only from five
voters on."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.errors import Conflict, InvalidFields, NotFound, PermissionDenied
from node.models import (
    Account,
    Event,
    Neighbourhood,
    OrganisationArea,
    RemoteActor,
    Survey,
    SurveyVote,
)
from node.services import neighbourhoods, organisations, survey_votes, surveys
from node.services.survey_votes import RemoteVote, Tally, VotesElsewhere
from node.timeutil import utcnow
from tests import factories

OPTIONS = [{"nl": "Boodschappen", "fr": "Courses"}, {"nl": "Vervoer"}, {"nl": "Gezelschap"}]


def fields(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "language": "nl",
        "question": {"nl": "Welke hulp heb je deze winter nodig?", "fr": "Quelle aide cet hiver ?"},
        "options": OPTIONS,
        "multiple": False,
        "changeable": True,
        "closes_at": utcnow() + timedelta(days=14),
    }
    values.update(changes)
    return values


async def published_events() -> list[str]:
    rows = await Event.filter(kind="SurveyPublished").values_list("payload", flat=True)
    return sorted(row["survey_id"] for row in rows)


async def test_an_admin_publishes_one_survey_per_neighbourhood_in_one_series(
    database: str,
) -> None:
    admin = await factories.admin()
    one, two = await factories.neighbourhood("jette"), await factories.neighbourhood("laeken")
    made = await surveys.publish_survey(admin, neighbourhood_ids=[one.id, two.id], **fields())
    assert sorted(s.neighbourhood_id for s in made) == sorted([one.id, two.id])
    assert len({s.series for s in made}) == 1
    stored = await Survey.get(neighbourhood_id=one.id)
    assert stored.question["fr"] == "Quelle aide cet hiver ?"
    assert stored.options == OPTIONS and stored.author_id == admin.id
    assert await published_events() == sorted(str(s.id) for s in made)
    assert [s.id for s in await surveys.open_surveys(one)] == [stored.id]


async def test_all_means_every_neighbourhood_the_author_may_publish_in(database: str) -> None:
    admin = await factories.admin()
    hoods = [await factories.neighbourhood() for _ in range(3)]
    await neighbourhoods.set_archived(hoods[2], True, admin)
    made = await surveys.publish_survey(admin, neighbourhood_ids=surveys.ALL, **fields())
    assert {s.neighbourhood_id for s in made} == {hoods[0].id, hoods[1].id}


async def test_a_connector_publishes_only_in_their_neighbourhoods(database: str) -> None:
    admin = await factories.admin()
    mine, other = await factories.neighbourhood(), await factories.neighbourhood()
    connector = await factories.account("connie")
    await neighbourhoods.add_connector(mine, connector, by=admin)
    with pytest.raises(PermissionDenied):
        await surveys.publish_survey(connector, neighbourhood_ids=[mine.id, other.id], **fields())
    assert await Survey.all().count() == 0
    made = await surveys.publish_survey(connector, neighbourhood_ids=surveys.ALL, **fields())
    assert [s.neighbourhood_id for s in made] == [mine.id]
    # An archived neighbourhood takes no survey, from its connector either.
    await neighbourhoods.set_archived(mine, True, admin)
    with pytest.raises(PermissionDenied):
        await surveys.publish_survey(connector, neighbourhood_ids=[mine.id], **fields())


async def test_staff_publish_for_their_organisation_in_its_areas(database: str) -> None:
    inside, outside = await factories.neighbourhood(), await factories.neighbourhood()
    worker = await factories.account("worker")
    org = await factories.organisation("buurthuis", staff=[worker])
    await OrganisationArea.create(organisation=org, neighbourhood=inside)
    stranger_org = await factories.organisation("andere")
    resident = await factories.account("resident")
    # Without the organisation, as a resident, or for another organisation: refused.
    for author, org_id in ((worker, None), (resident, None), (worker, stranger_org.id)):
        with pytest.raises(PermissionDenied):
            await surveys.publish_survey(
                author, neighbourhood_ids=[inside.id], organisation_id=org_id, **fields()
            )
    with pytest.raises(PermissionDenied):
        await surveys.publish_survey(
            worker, neighbourhood_ids=[outside.id], organisation_id=org.id, **fields()
        )
    [made] = await surveys.publish_survey(
        worker, neighbourhood_ids=[inside.id], organisation_id=org.id, **fields()
    )
    assert made.organisation_id == org.id
    assert await surveys.may_publish_anywhere(worker)
    assert not await surveys.may_publish_anywhere(resident)
    hoods, orgs = await surveys.publish_choices(worker)
    assert [h.id for h in hoods] == [inside.id] and [o.id for o in orgs] == [org.id]


async def test_a_suspended_or_removed_author_may_not_publish(database: str) -> None:
    hood = await factories.neighbourhood()
    admin = await factories.admin()
    admin.is_active = False
    with pytest.raises(PermissionDenied):
        await surveys.publish_survey(admin, neighbourhood_ids=[hood.id], **fields())
    worker = await factories.account()
    org = await factories.organisation(staff=[worker])
    await OrganisationArea.create(organisation=org, neighbourhood=hood)
    await organisations.remove_staff(org, worker, by=await factories.admin("boss"))
    with pytest.raises(PermissionDenied):
        await surveys.publish_survey(
            worker, neighbourhood_ids=[hood.id], organisation_id=org.id, **fields()
        )
    assert await Survey.all().count() == 0


def _error_fields(exc: InvalidFields) -> set[str]:
    return {error.field for error in exc.errors}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"question": {"fr": "Seulement en français"}}, "question_nl"),
        ({"question": {"nl": "x" * 301}}, "question_nl"),
        ({"question": {"nl": "Vraag", "fr": "y" * 301}}, "question_fr"),
        ({"question": {"nl": "Vraag", "de": "Frage"}}, "question_de"),
        ({"options": []}, "options"),
        ({"options": [{"nl": "Enige"}]}, "options"),
        ({"options": [{"nl": f"Optie {i}"} for i in range(11)]}, "options"),
        ({"options": [{"nl": f"Optie {i}"} for i in range(50)]}, "options"),
        ({"options": [{"nl": "Vervoer"}, {"nl": "x" * 10_000}]}, "option_1_nl"),
        ({"options": [{"nl": "Vervoer"}, {"nl": "Eten", "en": "f" * 101}]}, "option_1_en"),
        ({"options": [{"nl": "Vervoer"}, {"fr": "Courses"}]}, "option_1_nl"),
        ({"options": [{"nl": "Vervoer"}, {"nl": " VERVOER "}]}, "option_1_nl"),
        ({"language": "xx"}, "language"),
        ({"closes_at": None}, "closes_at"),
        ({"closes_at": utcnow() - timedelta(days=1)}, "closes_at"),
        ({"closes_at": utcnow() + timedelta(minutes=30)}, "closes_at"),
        ({"closes_at": utcnow() + timedelta(days=91)}, "closes_at"),
        ({"closes_at": datetime(2027, 1, 1, 12, 0)}, "closes_at"),  # no time zone
    ],
)
async def test_bad_surveys_are_refused_field_by_field_and_store_nothing(
    database: str, changes: dict[str, Any], field: str
) -> None:
    admin = await factories.admin()
    hood = await factories.neighbourhood()
    with pytest.raises(InvalidFields) as caught:
        await surveys.publish_survey(admin, neighbourhood_ids=[hood.id], **fields(**changes))
    assert field in _error_fields(caught.value)
    assert await Survey.all().count() == 0
    assert await published_events() == []


async def test_every_bad_field_is_reported_at_once(database: str) -> None:
    admin = await factories.admin()
    hood = await factories.neighbourhood()
    bad = fields(question={}, options=[], closes_at=None)
    with pytest.raises(InvalidFields) as caught:
        await surveys.publish_survey(admin, neighbourhood_ids=[hood.id + 99], **bad)
    assert _error_fields(caught.value) == {"question_nl", "options", "closes_at", "neighbourhoods"}


async def test_unknown_archived_or_no_neighbourhoods_are_refused(database: str) -> None:
    admin = await factories.admin()
    hood = await factories.neighbourhood()
    archived = await factories.neighbourhood()
    await neighbourhoods.set_archived(archived, True, admin)
    for ids in ([], [hood.id, 999_999], [archived.id], [0]):
        with pytest.raises(InvalidFields) as caught:
            await surveys.publish_survey(admin, neighbourhood_ids=ids, **fields())
        assert _error_fields(caught.value) == {"neighbourhoods"}
    with pytest.raises(InvalidFields) as caught:
        await surveys.publish_survey(
            admin, neighbourhood_ids=[hood.id], organisation_id=424242, **fields()
        )
    assert _error_fields(caught.value) == {"organisation"}
    assert await Survey.all().count() == 0


async def test_rows_left_empty_are_no_options_and_labels_are_cleaned(database: str) -> None:
    admin = await factories.admin()
    hood = await factories.neighbourhood()
    rows = [{"nl": " Vervoer\n", "fr": ""}, {"nl": "", "fr": "  "}, {"nl": "Eten", "en": "Food"}]
    [made] = await surveys.publish_survey(
        admin, neighbourhood_ids=[hood.id], **fields(options=rows)
    )
    assert made.options == [{"nl": "Vervoer"}, {"nl": "Eten", "en": "Food"}]


LABEL = st.one_of(st.text(max_size=120), st.sampled_from(["Eten", "eten", " ", "x" * 101]))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    labels=st.lists(LABEL, max_size=14),
    question=st.text(max_size=320),
    days=st.floats(min_value=-5, max_value=100, allow_nan=False),
)
async def test_any_survey_is_published_whole_or_refused_with_nothing_stored(
    database: str, labels: list[str], question: str, days: float
) -> None:
    admin = await Account.get_or_none(username="admin") or await factories.admin()
    hood = await Neighbourhood.get_or_none(slug="kuregem") or await factories.neighbourhood(
        "kuregem"
    )
    before = await Survey.all().count()
    announced = len(await published_events())
    bad = fields(
        question={"nl": question},
        options=[{"nl": label} for label in labels],
        closes_at=utcnow() + timedelta(days=days),
    )
    try:
        made = await surveys.publish_survey(admin, neighbourhood_ids=[hood.id], **bad)
    except InvalidFields:
        assert await Survey.all().count() == before
        assert len(await published_events()) == announced
        return
    assert len(made) == 1 and await Survey.all().count() == before + 1
    assert len(await published_events()) == announced + 1
    [survey] = made
    lead = [option["nl"] for option in survey.options]
    assert 2 <= len(lead) <= 10 and len({label.casefold() for label in lead}) == len(lead)
    assert all(0 < len(label) <= 100 for label in lead)
    assert 0 < len(survey.question["nl"]) <= 300
    assert 1 / 24 <= days <= 90


async def test_the_author_or_an_admin_withdraws_a_survey_once(database: str) -> None:
    admin = await factories.admin()
    hood = await factories.neighbourhood()
    connector = await factories.account("connie")
    await neighbourhoods.add_connector(hood, connector, by=admin)
    [survey] = await surveys.publish_survey(connector, neighbourhood_ids=[hood.id], **fields())
    resident = await factories.account("resident")
    other_connector = await factories.account("otto")
    await neighbourhoods.add_connector(hood, other_connector, by=admin)
    for stranger in (resident, other_connector, await factories.moderator()):
        with pytest.raises(PermissionDenied):
            await surveys.withdraw_survey(stranger, survey)
    assert [s.id for s in await surveys.manageable_surveys(connector)] == [survey.id]
    # Another connector of the neighbourhood sees it, but may not withdraw it.
    assert [s.id for s in await surveys.manageable_surveys(other_connector)] == [survey.id]
    assert await surveys.withdrawable_ids(other_connector, [survey]) == set()
    assert await surveys.manageable_surveys(resident) == []
    assert [s.id for s in await surveys.manageable_surveys(admin)] == [survey.id]
    await surveys.withdraw_survey(connector, survey)
    with pytest.raises(Conflict):
        await surveys.withdraw_survey(admin, survey)
    [event] = await Event.filter(kind="SurveyWithdrawn").values_list("payload", flat=True)
    assert event == {"survey_id": str(survey.id), "neighbourhood_id": hood.id}
    stored = await Survey.get(id=survey.id)
    assert stored.withdrawn_at is not None
    assert await surveys.open_surveys(hood) == []
    assert not survey_votes.is_open(stored)


async def test_surveys_are_found_only_by_their_canonical_id(database: str) -> None:
    admin = await factories.admin()
    hood = await factories.neighbourhood()
    [survey] = await surveys.publish_survey(admin, neighbourhood_ids=[hood.id], **fields())
    assert (await surveys.get_survey(str(survey.id))).id == survey.id
    for spelling in (str(survey.id).upper(), survey.id.hex, f"{{{survey.id}}}", "", "x" * 80):
        with pytest.raises(NotFound):
            await surveys.get_survey(spelling)


async def test_staff_see_their_organisations_surveys_and_coordinators_withdraw_them(
    database: str,
) -> None:
    admin = await factories.admin()
    hood, elsewhere = await factories.neighbourhood(), await factories.neighbourhood()
    author, colleague = await factories.account("author"), await factories.account("colleague")
    org = await factories.organisation("buurthuis", staff=[author, colleague])
    coordinator = await factories.coordinator_of(org, "coordinator")
    await OrganisationArea.create(organisation=org, neighbourhood=hood)
    outsider = await factories.account("outsider")
    other_org = await factories.organisation("andere", staff=[outsider])
    connector = await factories.account("connie")
    await neighbourhoods.add_connector(hood, connector, by=admin)
    [ours] = await surveys.publish_survey(
        author, neighbourhood_ids=[hood.id], organisation_id=org.id, **fields()
    )
    [by_admin] = await surveys.publish_survey(admin, neighbourhood_ids=[hood.id], **fields())
    [not_here] = await surveys.publish_survey(admin, neighbourhood_ids=[elsewhere.id], **fields())

    async def seen(account: Account) -> set[Any]:
        return {s.id for s in await surveys.manageable_surveys(account)}

    assert await seen(colleague) == {ours.id} == await seen(coordinator)
    assert await seen(connector) == {ours.id, by_admin.id}
    assert await seen(admin) == {ours.id, by_admin.id, not_here.id}
    assert await seen(outsider) == set() and other_org.id != org.id
    rows = await surveys.manageable_surveys(admin)
    assert await surveys.withdrawable_ids(coordinator, rows) == {ours.id}
    assert await surveys.withdrawable_ids(colleague, rows) == set()
    assert await surveys.withdrawable_ids(connector, rows) == set()
    assert await surveys.withdrawable_ids(admin, rows) == {s.id for s in rows}
    for refused in (colleague, connector, outsider):
        with pytest.raises(PermissionDenied):
            await surveys.withdraw_survey(refused, ours)
    assert await Survey.filter(withdrawn_at__isnull=False).count() == 0
    await surveys.withdraw_survey(coordinator, ours)
    assert (await Survey.get(id=ours.id)).withdrawn_at is not None
    # A coordinator who is suspended withdraws nothing more.
    coordinator.is_active = False
    assert not await surveys.can_withdraw(coordinator, by_admin)


async def series(*hoods: Neighbourhood, **changes: Any) -> list[Survey]:
    """One survey for `hoods`, in their order."""
    admin = await Account.get_or_none(username="admin") or await factories.admin()
    made = await surveys.publish_survey(
        admin, neighbourhood_ids=[h.id for h in hoods], **fields(**changes)
    )
    by_hood = {s.neighbourhood_id: s for s in made}
    return [by_hood[h.id] for h in hoods]


async def votes_of(account: Account) -> list[tuple[Any, int]]:
    return sorted(await SurveyVote.filter(account_id=account.id).values_list("survey_id", "option"))


async def test_an_account_votes_on_its_home_neighbourhoods_copy_only(database: str) -> None:
    home, other = await factories.neighbourhood("jette"), await factories.neighbourhood("laeken")
    at_home, away = await series(home, other)
    resident = await factories.account("resident", home_neighbourhood=home)
    assert await survey_votes.vote_elsewhere(resident, at_home) is None
    where = await survey_votes.vote_elsewhere(resident, away)
    assert where is not None and where.survey.id == at_home.id and not where.voted
    assert where.survey.neighbourhood.slug == "jette"
    with pytest.raises(VotesElsewhere) as caught:
        await survey_votes.vote_local(resident, away, [0])
    assert caught.value.elsewhere.survey.id == at_home.id
    assert await votes_of(resident) == []
    assert await survey_votes.vote_local(resident, at_home, [1]) == [1]
    assert await votes_of(resident) == [(at_home.id, 1)]
    # Withdrawn at home: the copies left are open to whoever has not voted on them.
    newcomer = await factories.account("newcomer", home_neighbourhood=home)
    await surveys.withdraw_survey(await Account.get(username="admin"), at_home)
    assert await survey_votes.vote_elsewhere(newcomer, away) is None
    assert await survey_votes.vote_local(newcomer, away, [2]) == [2]


async def test_without_a_home_copy_an_account_votes_on_one_copy(database: str) -> None:
    one, two, home = [await factories.neighbourhood() for _ in range(3)]
    first, second = await series(one, two)
    resident = await factories.account("resident", home_neighbourhood=home)
    assert await survey_votes.vote_local(resident, second, [0]) == [0]
    with pytest.raises(VotesElsewhere) as caught:
        await survey_votes.vote_local(resident, first, [1])
    assert caught.value.elsewhere.survey.id == second.id and caught.value.elsewhere.voted
    # The vote where it is may still change (the survey allows it).
    assert await survey_votes.vote_local(resident, second, [2]) == [2]
    assert await votes_of(resident) == [(second.id, 2)]
    # Another series is another survey: a vote there is counted.
    [third] = await series(one)
    assert await survey_votes.vote_local(resident, third, [1]) == [1]


async def test_two_votes_at_once_on_two_copies_count_once(database: str) -> None:
    one, two = await factories.neighbourhood(), await factories.neighbourhood()
    copies = await series(one, two)
    resident = await factories.account("resident")
    results = await asyncio.gather(
        *(survey_votes.vote_local(resident, copy, [0]) for copy in copies),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["VotesElsewhere", "list"]
    assert len(await votes_of(resident)) == 1


async def remote_actor(name: str) -> RemoteActor:
    return await RemoteActor.create(
        uri=f"https://m.example/users/{name}",
        domain="m.example",
        inbox=f"https://m.example/users/{name}/inbox",
        key_id=f"https://m.example/users/{name}#main-key",
        public_key_pem="",
        fetched_at=utcnow(),
    )


async def test_a_remote_actor_votes_on_one_copy_of_a_series(database: str) -> None:
    one, two = await factories.neighbourhood(), await factories.neighbourhood()
    first, second = await series(one, two, multiple=True)
    alice = await remote_actor("alice")
    note = "https://m.example/users/alice#votes/"
    assert await survey_votes.vote_remote(alice, first, "Vervoer", note + "1") == RemoteVote.COUNTED
    # Another option of the same (multiple-choice) copy still counts; another copy not.
    assert await survey_votes.vote_remote(alice, first, "Gezelschap", note + "2") == "counted"
    for n, label in enumerate(("Vervoer", "Boodschappen"), start=3):
        outcome = await survey_votes.vote_remote(alice, second, label, f"{note}{n}")
        assert outcome == RemoteVote.ALREADY_VOTED
    assert await SurveyVote.filter(survey_id=second.id).count() == 0
    bob = await remote_actor("bob")
    outcome = await survey_votes.vote_remote(bob, second, "Vervoer", "https://m.example/b#v/1")
    assert outcome == RemoteVote.COUNTED


@given(
    counts=st.lists(st.integers(min_value=0, max_value=50), min_size=2, max_size=10),
    voters=st.integers(min_value=0, max_value=60),
)
def test_counts_are_published_only_from_five_voters(counts: list[int], voters: int) -> None:
    tally = Tally(tuple(counts), voters)
    public = survey_votes.public_tally(tally)
    assert survey_votes.results_shown(tally) == (voters >= 5)
    if voters >= 5:
        assert public == tally
    else:
        assert public == Tally((0,) * len(counts), 0)
