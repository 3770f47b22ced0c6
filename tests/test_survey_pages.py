"""Needs surveys in the browser: publishing through the /admin form (with its CSRF
token), voting on the survey's page and changing a vote as the survey allows, a closed
or withdrawn survey, and the results drawn as an SVG chart with a text table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node import uris
from node.models import Account, Neighbourhood, Survey, SurveyVote
from node.services import neighbourhoods, survey_votes, surveys
from node.timeutil import utcnow
from tests import factories
from tests.webclient import Browser, browser

NEW = f"{uris.ADMIN_SURVEYS}/new"


def form(hood: Neighbourhood, **changes: str) -> dict[str, str]:
    values = {
        "language": "en",
        "question_en": "What help would you need most this winter?",
        "question_nl": "Welke hulp heb je deze winter het meest nodig?",
        "option_0_en": "Groceries",
        "option_0_nl": "Boodschappen",
        "option_1_en": "Transport",
        "option_2_en": "Company",
        "multiple": "no",
        "changeable": "yes",
        "closes_at": (utcnow() + timedelta(days=10)).date().isoformat(),
        "neighbourhood": str(hood.id),
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value != "-"}


async def publish(
    hood: Neighbourhood, *, multiple: bool = False, changeable: bool = True
) -> Survey:
    admin = await Account.get_or_none(username="admin") or await factories.admin()
    [survey] = await surveys.publish_survey(
        admin,
        neighbourhood_ids=[hood.id],
        language="en",
        question={"en": "What do you need?", "fr": "De quoi avez-vous besoin ?"},
        options=[{"en": "Groceries", "fr": "Courses"}, {"en": "Transport"}, {"en": "Company"}],
        multiple=multiple,
        changeable=changeable,
        closes_at=utcnow() + timedelta(days=7),
    )
    return await surveys.get_survey(str(survey.id))


@pytest.fixture
async def world(database: str) -> AsyncIterator[dict[str, Any]]:
    await factories.node_row()
    hood = await factories.neighbourhood("jette")
    admin = await factories.admin(languages=["en"])
    connector = await factories.account("connie", languages=["en"])
    await neighbourhoods.add_connector(hood, connector, by=admin)
    async with browser(database) as web:
        yield {"web": web, "hood": hood, "admin": admin, "connector": connector}


async def vote(web: Browser, survey: Survey, *options: str) -> Any:
    page = uris.survey(survey.id)
    return await web.submit(f"{page}/vote", [("option", o) for o in options], page="/")


async def choices(survey: Survey) -> list[tuple[int, int]]:
    return sorted(await SurveyVote.filter(survey_id=survey.id).values_list("account_id", "option"))


async def test_an_admin_publishes_through_the_form(world: dict[str, Any]) -> None:
    web, hood = world["web"], world["hood"]
    await web.log_in_as(world["admin"])
    page = await web.get(NEW)
    assert page.status_code == 200 and 'name="option_9_fr"' in page.text
    response = await web.submit(NEW, form(hood), page=NEW)
    assert response.status_code == 303
    assert response.headers["location"] == f"{uris.ADMIN_SURVEYS}?done=survey"
    survey = await Survey.get(neighbourhood_id=hood.id)
    assert survey.options == [
        {"en": "Groceries", "nl": "Boodschappen"},
        {"en": "Transport"},
        {"en": "Company"},
    ]
    assert survey.question["nl"].startswith("Welke") and not survey.multiple and survey.changeable
    listing = await web.get(response.headers["location"])
    assert "The survey is published." in listing.text
    assert uris.survey(survey.id) in listing.text
    # Residents find it on the neighbourhood's page.
    assert uris.survey(survey.id) in (await web.get(uris.neighbourhood(hood.slug))).text


async def test_a_bad_form_is_answered_field_by_field_and_stores_nothing(
    world: dict[str, Any],
) -> None:
    web, hood = world["web"], world["hood"]
    await web.log_in_as(world["admin"])
    bad = form(hood, option_1_en="-", option_2_en="-", question_en="-", closes_at="2020-01-01")
    response = await web.submit(NEW, bad, page=NEW)
    assert response.status_code == 400
    assert 'id="question_en-error"' in response.text and 'id="closes_at-error"' in response.text
    assert 'id="options-error"' in response.text
    for odd in ({"closes_at": "soon"}, {"closes_time": "25:99"}, {"neighbourhood": "abc"}):
        assert (await web.submit(NEW, form(hood, **odd), page=NEW)).status_code == 400
    assert await Survey.all().count() == 0


async def test_a_connector_reaches_surveys_and_publishes_only_at_home(
    world: dict[str, Any],
) -> None:
    web, hood = world["web"], world["hood"]
    elsewhere = await factories.neighbourhood("laeken")
    await web.log_in_as(world["connector"])
    entry = await web.get("/admin/")
    assert entry.status_code == 303 and entry.headers["location"] == uris.ADMIN_SURVEYS
    listing = await web.get(uris.ADMIN_SURVEYS)
    assert listing.status_code == 200 and f'href="{NEW}"' in listing.text
    assert f'href="{NEW}"' in (await web.get(uris.neighbourhood(hood.slug))).text
    page = await web.get(NEW)
    assert page.status_code == 200 and "Laeken" not in page.text
    refused = await web.submit(NEW, form(hood, neighbourhood=str(elsewhere.id)), page=NEW)
    assert refused.status_code == 403 and await Survey.all().count() == 0
    done = await web.submit(NEW, form(hood, all_neighbourhoods="yes", neighbourhood="-"), page=NEW)
    assert done.status_code == 303
    assert await Survey.filter(neighbourhood_id=hood.id, author_id=world["connector"].id).exists()
    assert not await Survey.filter(neighbourhood_id=elsewhere.id).exists()


async def test_residents_without_a_role_stay_out_of_survey_admin(world: dict[str, Any]) -> None:
    web = world["web"]
    await web.log_in_as(await factories.account("resident"))
    assert (await web.get(uris.ADMIN_SURVEYS)).status_code == 403
    assert (await web.get(NEW)).status_code == 403
    refused = await web.submit(NEW, form(world["hood"]), page="/")
    assert refused.status_code == 403 and await Survey.all().count() == 0


async def test_a_resident_votes_and_changes_the_vote(world: dict[str, Any]) -> None:
    web, hood = world["web"], world["hood"]
    survey = await publish(hood)
    resident = await factories.account("resident", languages=["fr"])
    await web.log_in_as(resident)
    page = await web.get(uris.survey(survey.id))
    assert page.status_code == 200
    assert "De quoi avez-vous besoin ?" in page.text and 'type="radio"' in page.text
    assert "Courses" in page.text and "Transport" in page.text  # lead language as fallback
    assert (await vote(web, survey, "0")).status_code == 303
    assert await choices(survey) == [(resident.id, 0)]
    assert (await vote(web, survey, "2")).status_code == 303
    assert await choices(survey) == [(resident.id, 2)]
    after = await web.get(uris.survey(survey.id))
    assert "<svg" in after.text and 'type="radio" name="option" value="2" checked' in after.text


async def test_a_vote_that_may_not_change_is_kept(world: dict[str, Any]) -> None:
    web = world["web"]
    survey = await publish(world["hood"], changeable=False)
    resident = await factories.account("resident", languages=["en"])
    await web.log_in_as(resident)
    assert (await vote(web, survey, "1")).status_code == 303
    refused = await vote(web, survey, "0")
    assert refused.status_code == 409 and "cannot be changed" in refused.text
    assert await choices(survey) == [(resident.id, 1)]
    page = await web.get(uris.survey(survey.id))
    assert 'name="option"' not in page.text and "You voted:" in page.text


async def test_multiple_choice_takes_several_and_single_choice_one(world: dict[str, Any]) -> None:
    web = world["web"]
    several = await publish(world["hood"], multiple=True)
    single = await publish(world["hood"])
    resident = await factories.account("resident", languages=["en"])
    await web.log_in_as(resident)
    assert 'type="checkbox" name="option"' in (await web.get(uris.survey(several.id))).text
    assert (await vote(web, several, "0", "2")).status_code == 303
    assert await choices(several) == [(resident.id, 0), (resident.id, 2)]
    for options in (("0", "1"), (), ("7",), ("abc",), ("-1",), ("9" * 40,)):
        response = await vote(web, single, *options)
        assert response.status_code == 400, options
        assert 'class="problem"' in response.text
    assert await choices(single) == []


async def test_a_closed_survey_refuses_votes(world: dict[str, Any]) -> None:
    web = world["web"]
    survey = await publish(world["hood"])
    await Survey.filter(id=survey.id).update(closes_at=utcnow() - timedelta(minutes=1))
    await web.log_in_as(await factories.account("resident", languages=["en"]))
    page = await web.get(uris.survey(survey.id))
    assert "Closed on" in page.text and 'name="option"' not in page.text and "<svg" in page.text
    refused = await vote(web, survey, "0")
    assert refused.status_code == 409 and "closed" in refused.text
    assert await choices(survey) == []
    assert uris.survey(survey.id) not in (await web.get(uris.neighbourhood("jette"))).text


async def test_visitors_see_results_as_a_chart_and_a_table(world: dict[str, Any]) -> None:
    web = world["web"]
    survey = await publish(world["hood"])
    for n, option in enumerate((0, 0, 2)):
        voter = await factories.account(f"voter{n}")
        await survey_votes.vote_local(voter, survey, [option])
    page = await web.get(uris.survey(survey.id))
    assert page.status_code == 200
    text = page.text
    assert '<svg class="survey-chart" role="img"' in text
    assert '<title id="chart-title">' in text and '<desc id="chart-desc">' in text
    assert "3 people voted." in text and "Groceries: 2 votes (67%)" in text
    assert "<table>" in text and "<td>67%</td>" in text
    assert 'name="option"' not in text and f"/login?next={uris.survey(survey.id)}" in text
    # An anonymous vote goes to the log-in page and counts nothing.
    response = await vote(web, survey, "1")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert len(await choices(survey)) == 3


async def test_unknown_odd_and_withdrawn_surveys(world: dict[str, Any]) -> None:
    web = world["web"]
    survey = await publish(world["hood"])
    for odd in (str(survey.id).upper(), survey.id.hex, "00000000-0000-0000-0000-000000000000"):
        assert (await web.get(f"/surveys/{odd}")).status_code == 404
    await web.log_in_as(world["admin"])
    withdrawn = await web.submit(
        f"{uris.ADMIN_SURVEYS}/withdraw", {"survey": str(survey.id)}, page="/"
    )
    assert withdrawn.status_code == 303
    assert (await web.get(uris.survey(survey.id))).status_code == 410
    assert (await vote(web, survey, "0")).status_code == 410
    again = await web.submit(f"{uris.ADMIN_SURVEYS}/withdraw", {"survey": str(survey.id)}, page="/")
    assert again.status_code == 409
    assert await choices(survey) == []


FIELD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "1", "2", "10", "-1", "yes", "no", "en", "fr", "xx", "x" * 400]),
    st.dates().map(date.isoformat),
)


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    changes=st.dictionaries(
        st.sampled_from(
            [
                "language",
                "question_en",
                "option_0_en",
                "option_1_en",
                "option_3_fr",
                "multiple",
                "closes_at",
                "closes_time",
                "neighbourhood",
                "all_neighbourhoods",
                "organisation",
            ]
        ),
        FIELD_TEXT,
        max_size=5,
    ),
    votes=st.lists(FIELD_TEXT, max_size=4),
)
async def test_any_form_gets_a_clear_answer_and_refusals_store_nothing(
    world: dict[str, Any], changes: dict[str, str], votes: list[str]
) -> None:
    web, hood = world["web"], world["hood"]
    await web.log_in_as(world["connector"])
    before = await Survey.all().count()
    response = await web.submit(NEW, form(hood, **changes), page="/")
    assert response.status_code in (303, 400, 403), response.status_code
    assert await Survey.all().count() == before + (1 if response.status_code == 303 else 0)
    survey = await Survey.filter(neighbourhood_id=hood.id).order_by("-created_at").first()
    if survey is None:
        return
    earlier = await choices(survey)
    answer = await vote(web, survey, *votes)
    assert answer.status_code in (303, 400, 409), answer.status_code
    if answer.status_code != 303:
        assert await choices(survey) == earlier
