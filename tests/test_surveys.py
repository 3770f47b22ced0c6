"""Publishing and withdrawing needs surveys: the rules of a survey's texts, options and
closing date, who may publish where, and that a refused survey stores nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.errors import Conflict, InvalidFields, NotFound, PermissionDenied
from node.models import Account, Event, Neighbourhood, OrganisationArea, Survey
from node.services import neighbourhoods, organisations, survey_votes, surveys
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
