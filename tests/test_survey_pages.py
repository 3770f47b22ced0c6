"""Needs surveys in the browser: publishing through the /admin form (with its CSRF
token), voting on the survey's page and changing a vote as the survey allows, a closed
or withdrawn survey, and the results drawn as an SVG chart with a text table (only from
five voters on); one vote per person per series; who manages surveys in /admin; the
page in every language."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node import uris
from node.models import Account, Neighbourhood, OrganisationArea, Survey, SurveyVote
from node.services import neighbourhoods, survey_votes, surveys
from node.timeutil import utcnow
from tests import factories
from tests.webclient import Browser, browser

NEW = f"{uris.ADMIN_SURVEYS}/new"
WAIT = "Results appear once at least 5 people have voted."


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
    *hoods: Neighbourhood,
    multiple: bool = False,
    changeable: bool = True,
    author: Account | None = None,
    organisation_id: int | None = None,
) -> Survey:
    """A survey for `hoods` (one series), loaded as its page loads it: the first hood's."""
    admin = await Account.get_or_none(username="admin") or await factories.admin()
    [survey, *_] = await surveys.publish_survey(
        author or admin,
        neighbourhood_ids=[hood.id for hood in hoods],
        organisation_id=organisation_id,
        language="en",
        question={"en": "What do you need?", "fr": "De quoi avez-vous besoin ?"},
        options=[{"en": "Groceries", "fr": "Courses"}, {"en": "Transport"}, {"en": "Company"}],
        multiple=multiple,
        changeable=changeable,
        closes_at=utcnow() + timedelta(days=7),
    )
    first = await Survey.get(series=survey.series, neighbourhood_id=hoods[0].id)
    return await surveys.get_survey(str(first.id))


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
    assert 'type="radio" name="option" value="2" checked' in after.text
    # One voter: no results yet (the page is in French), only the voter's own choice.
    assert '<strong lang="en">Company</strong>' in after.text
    assert "<svg" not in after.text and "<table>" not in after.text


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
    assert "Closed on" in page.text and 'name="option"' not in page.text and WAIT in page.text
    refused = await vote(web, survey, "0")
    assert refused.status_code == 409 and "closed" in refused.text
    assert await choices(survey) == []
    assert uris.survey(survey.id) not in (await web.get(uris.neighbourhood("jette"))).text


async def test_visitors_see_results_as_a_chart_and_a_table(world: dict[str, Any]) -> None:
    web = world["web"]
    survey = await publish(world["hood"])
    for n, option in enumerate((0, 0, 2, 1)):
        voter = await factories.account(f"voter{n}")
        await survey_votes.vote_local(voter, survey, [option])
    # Four voters: nothing of the results, not even how many voted (seen logged in, as
    # anonymous visitors' pages are kept a few seconds).
    await web.log_in_as(world["connector"])
    early = (await web.get(uris.survey(survey.id))).text
    web.log_out_locally()
    assert WAIT in early
    for hidden in ("<svg", "<table>", "4 people", "votes (", "%</td>"):
        assert hidden not in early, hidden
    await survey_votes.vote_local(await factories.account("voter4"), survey, [0])
    page = await web.get(uris.survey(survey.id))
    assert page.status_code == 200
    text = page.text
    assert '<svg class="survey-chart" role="img"' in text and WAIT not in text
    assert '<title id="chart-title">' in text and '<desc id="chart-desc">' in text
    assert "5 people voted." in text and "Groceries: 3 votes (60%)" in text
    assert "<table>" in text and "<td>60%</td>" in text and "<td>20%</td>" in text
    assert 'name="option"' not in text and f"/login?next={uris.survey(survey.id)}" in text
    # An anonymous vote goes to the log-in page and counts nothing.
    response = await vote(web, survey, "1")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert len(await choices(survey)) == 5


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


async def test_one_vote_per_person_per_series_and_the_page_says_where(
    world: dict[str, Any],
) -> None:
    web, jette = world["web"], world["hood"]
    laeken = await factories.neighbourhood("laeken")
    here = await publish(jette, laeken)
    there = await Survey.get(series=here.series, neighbourhood_id=laeken.id)
    resident = await factories.account("resident", languages=["en"], home_neighbourhood=jette)
    await web.log_in_as(resident)
    page = await web.get(uris.survey(there.id))
    assert page.status_code == 200 and 'name="option"' not in page.text
    link = f'<a href="{uris.survey(here.id)}">Jette</a>'
    assert f"you can vote on it in {link}." in page.text
    refused = await vote(web, there, "0")
    assert refused.status_code == 409
    assert "You can answer this survey only once, in one neighbourhood." in refused.text
    assert link in refused.text and await choices(there) == []
    assert (await vote(web, here, "1")).status_code == 303
    assert await choices(here) == [(resident.id, 1)]

    # Without a copy at home: the first copy voted on is the one.
    wanderer = await factories.account("wanderer", languages=["en"])
    await web.log_in_as(wanderer)
    assert (await vote(web, there, "2")).status_code == 303
    page = await web.get(uris.survey(here.id))
    there_link = f'<a href="{uris.survey(there.id)}">Laeken</a>'
    assert f"You have already voted on this survey in {there_link}" in page.text
    assert 'name="option"' not in page.text
    assert (await vote(web, here, "0")).status_code == 409
    assert await choices(here) == [(resident.id, 1)]


async def test_the_page_names_the_organisation_it_was_published_for(
    world: dict[str, Any],
) -> None:
    web, hood = world["web"], world["hood"]
    worker = await factories.account("worker")
    org = await factories.organisation("buurthuis", staff=[worker])
    await OrganisationArea.create(organisation=org, neighbourhood=hood)
    survey = await publish(hood, author=worker, organisation_id=org.id)
    page = await web.get(uris.survey(survey.id))
    assert f'Published for <a href="{uris.organisation("buurthuis")}">Buurthuis</a>' in page.text
    plain = await publish(hood)
    assert "Published for" not in (await web.get(uris.survey(plain.id))).text


async def test_a_hand_made_form_with_more_options_is_refused_whole(
    world: dict[str, Any],
) -> None:
    web, hood = world["web"], world["hood"]
    await web.log_in_as(world["admin"])
    many = {f"option_{i}_en": f"Answer {i}" for i in range(50)}
    response = await web.submit(NEW, form(hood, **many), page=NEW)
    assert response.status_code == 400
    assert 'id="options-error">Give at most 10 options<' in response.text
    # The eleventh row alone, and a row numbered past any form, are refused the same way.
    eleven = {f"option_{i}_en": f"Answer {i}" for i in range(11)}
    far = {"option_99999999999999_en": "Far away"}
    for fields in (eleven, far):
        refused = await web.submit(NEW, form(hood, **fields), page=NEW)
        assert refused.status_code == 400 and 'id="options-error"' in refused.text
    assert await Survey.all().count() == 0
    # Ten rows are what the form has: published with all ten.
    ten = {f"option_{i}_en": f"Answer {i}" for i in range(10)}
    assert (await web.submit(NEW, form(hood, **ten), page=NEW)).status_code == 303
    assert len((await Survey.get(neighbourhood_id=hood.id)).options) == 10


async def test_admin_list_shows_staff_their_organisations_surveys(world: dict[str, Any]) -> None:
    web, hood = world["web"], world["hood"]
    author, colleague = (
        await factories.account("author"),
        await factories.account("colleague", languages=["en"]),
    )
    org = await factories.organisation("buurthuis", staff=[author, colleague])
    coordinator = await factories.coordinator_of(org, "coordinator")
    await OrganisationArea.create(organisation=org, neighbourhood=hood)
    ours = await publish(hood, author=author, organisation_id=org.id)
    by_admin = await publish(hood)
    withdraw_button = f'name="survey" value="{ours.id}"'

    await web.log_in_as(colleague)
    listing = await web.get(uris.ADMIN_SURVEYS)
    assert listing.status_code == 200 and uris.survey(ours.id) in listing.text
    assert "Published for Buurthuis" in listing.text
    assert uris.survey(by_admin.id) not in listing.text and withdraw_button not in listing.text
    refused = await web.submit(f"{uris.ADMIN_SURVEYS}/withdraw", {"survey": str(ours.id)}, page="/")
    assert refused.status_code == 403

    # The neighbourhood's connector sees both, withdraws neither.
    await web.log_in_as(world["connector"])
    listing = await web.get(uris.ADMIN_SURVEYS)
    assert uris.survey(ours.id) in listing.text and uris.survey(by_admin.id) in listing.text
    assert "Withdraw" not in listing.text
    refused = await web.submit(f"{uris.ADMIN_SURVEYS}/withdraw", {"survey": str(ours.id)}, page="/")
    assert refused.status_code == 403
    assert not await Survey.filter(withdrawn_at__isnull=False).exists()

    await web.log_in_as(coordinator)
    listing = await web.get(uris.ADMIN_SURVEYS)
    assert withdraw_button in listing.text
    done = await web.submit(f"{uris.ADMIN_SURVEYS}/withdraw", {"survey": str(ours.id)}, page="/")
    assert done.status_code == 303
    assert [s.id for s in await Survey.filter(withdrawn_at__isnull=False)] == [ours.id]


@pytest.mark.parametrize("language", ["en", "fr", "nl"])
async def test_every_part_of_the_page_renders_in_each_language(
    world: dict[str, Any], language: str
) -> None:
    """Every string of the page, through the translations: a stray "%" in a translated
    string with no placeholder would break the page, not just one word."""
    web, jette = world["web"], world["hood"]
    laeken = await factories.neighbourhood("laeken")
    worker = await factories.account("worker")
    org = await factories.organisation("buurthuis", staff=[worker])
    await OrganisationArea.create(organisation=org, neighbourhood=jette)
    await OrganisationArea.create(organisation=org, neighbourhood=laeken)
    survey = await publish(jette, laeken, multiple=True, author=worker, organisation_id=org.id)
    other = await Survey.get(series=survey.series, neighbourhood_id=laeken.id)
    resident = await factories.account("resident", languages=[language], home_neighbourhood=jette)
    await survey_votes.vote_local(resident, survey, [0, 2])
    pages = [await web.get(uris.survey(survey.id), headers={"accept-language": language})]
    for n in range(4):
        await survey_votes.vote_local(await factories.account(f"voter{n}"), survey, [n % 3])
    await web.log_in_as(resident)
    pages += [await web.get(uris.survey(survey.id)), await web.get(uris.survey(other.id))]
    pages.append(await vote(web, other, "0"))
    await Survey.filter(id=survey.id).update(closes_at=utcnow() - timedelta(minutes=1))
    pages.append(await web.get(uris.survey(survey.id)))
    assert [page.status_code for page in pages] == [200, 200, 200, 409, 200]
    assert all(f'<html lang="{language}"' in page.text for page in pages)
    assert "<svg" not in pages[0].text and "<svg" in pages[1].text and "<svg" in pages[4].text
