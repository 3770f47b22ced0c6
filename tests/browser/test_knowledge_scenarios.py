"""What neighbours know besides their requests, end to end in a real browser (issue 13).

Scenarios on the demo node: the services that may help, shown on the compose form's
preview; a helper pointing a request to a service and its author closing the request
with "This solved it"; the category's guide before a person's first offer; a connector
publishing a needs survey that residents answer (its chart appears from the fifth
voter on); the needs figures with their charts. Each checks the node's database as well
as the page. Then axe-core on the new pages, and screenshots of /services, a survey and
/admin/needs in every language (test-artefacts/screenshots/, see conftest.py).
"""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from node.services.survey_votes import RESULTS_FROM
from tests.browser.conftest import (
    LANGUAGES,
    WIDTHS,
    Visit,
    axe_violations,
    click_and_wait,
    describe_violations,
    screenshot,
)
from tests.browser.test_scenarios import fill_request, fresh_username, publish, sign_up
from tests.nodes import NodeProcess

pytestmark = pytest.mark.slow

# The demo's free bulky-waste pick-up of the commune (categories transport and cleaning,
# every neighbourhood).
BULKY_WASTE = "Free bulky-waste pick-up at home"
GUIDE_BOX = re.compile(r"I have read the guide")
BLOCKING = ("serious", "critical")
# The node takes 5 sign-ups an hour from one address, and test_scenarios.py signs up 3
# people on the same demo node: these scenarios sign up one, the others are demo people.
AUTHOR = "tom"  # has not offered or asked for help in the demo
POINTING = "greet"
COMPOSER = "priya"
VOTERS = ("jan", "tom", "priya", "nadia", "youssef")  # as many as RESULTS_FROM
CHOSEN_BAR = "#6a3d9a"  # the survey chart's colour for the reader's own answer


def service_id(node: NodeProcess, english_name: str) -> str:
    [(found,)] = node.query(
        "SELECT id FROM services WHERE json_extract(name, '$.en') = ?", english_name
    )
    return str(found)


def post_status(node: NodeProcess, post_id: str) -> str:
    [(status,)] = node.query("SELECT status FROM help_posts WHERE id = ?", post_id)
    return str(status)


def offers_by(node: NodeProcess, post_id: str, username: str) -> list[tuple[str, str]]:
    rows = node.query(
        "SELECT r.kind, r.offer_status FROM responses r JOIN accounts a ON a.id = r.author_id"
        " WHERE r.post_id = ? AND a.username = ? AND r.kind = 'offer'",
        post_id,
        username,
    )
    return [tuple(row) for row in rows]


def preview_and_publish(page: Page) -> str:
    """Preview (which shows the services that may help), then publish: the post's id."""
    assert click_and_wait(page, page.locator("button[name=action][value=preview]")) == 200
    expect(page.locator("section.preview")).to_be_visible()
    return publish(page)


def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical WCAG A/AA violation on the page."""
    blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
    assert not blocking, f"{page.url}:\n" + describe_violations(blocking)


def display_name(node: NodeProcess, username: str) -> str:
    [(name,)] = node.query("SELECT display_name FROM accounts WHERE username = ?", username)
    return str(name)


def request_by(visit: Any, author: str, title: str) -> tuple[Visit, str]:
    """`author` publishes a transport request in Jette Centre: (their tab, the post's id).
    The tab bypasses the page's CSP, so that axe can check it."""
    tab = visit("en", 1280, user=author, bypass_csp=True)
    tab.goto("/new?kind=request")
    fill_request(
        tab.page,
        title=title,
        description="Une vieille armoire doit partir au parc à conteneurs.",
        language="fr",
    )
    return tab, preview_and_publish(tab.page)


# --- (a) the services that may help, before a request is published ------------------------


def test_the_preview_of_a_request_names_the_services_that_may_help(
    visit: Any, node: NodeProcess
) -> None:
    title = f"Une armoire à emporter {secrets.token_hex(3)}"
    tab = visit("en", 1280, user=COMPOSER, bypass_csp=True)  # for axe
    tab.goto("/new?kind=request")
    page = tab.page
    fill_request(page, title=title, description="Elle est lourde.", language="fr")
    assert click_and_wait(page, page.locator("button[name=action][value=preview]")) == 200
    expect(page.locator("section.preview")).to_be_visible()

    hint = page.locator("section.services-hint")
    expect(hint.locator("h2")).to_have_text("Services that may help")
    link = hint.get_by_role("link", name=BULKY_WASTE)
    expect(link).to_have_attribute("href", f"/services/{service_id(node, BULKY_WASTE)}")
    expect(page.locator("#title")).to_have_value(title)  # the form is kept for Publish
    [(count,)] = node.query("SELECT count(*) FROM help_posts WHERE title = ?", title)
    assert count == 0, "the preview saved the post"
    screenshot(page, "scenario-compose-services-hint")
    assert_accessible(page)

    # The hint leads to the service's page in the directory.
    assert click_and_wait(page, link) == 200
    expect(page.locator("main h1")).to_have_text(BULKY_WASTE)
    expect(page.locator("dl.service-facts")).to_contain_text("Free")


# --- (b) pointing a request to a service; the author closes it with it ------------------


def test_a_helper_points_to_a_service_and_it_solves_the_request(
    visit: Any, node: NodeProcess
) -> None:
    title = f"Débarrasser une armoire {secrets.token_hex(3)}"
    mine, post_id = request_by(visit, AUTHOR, title)
    service = service_id(node, BULKY_WASTE)

    helper_name, helper = display_name(node, POINTING), POINTING
    theirs = visit("en", 1280, user=helper)
    theirs.goto(f"/r/{post_id}")
    form = theirs.page.locator("section.point-service form")
    expect(form).to_have_attribute("action", f"/r/{post_id}/comment")
    form.locator("#service").select_option(service)
    note = "La commune l'enlève gratuitement, il suffit d'appeler."
    form.locator("#pointer_note").fill(note)
    assert click_and_wait(theirs.page, form.get_by_role("button")) == 200
    assert "done=pointed" in theirs.page.url, theirs.page.url
    assert node.query(
        "SELECT r.kind, r.service_id, r.body FROM responses r"
        " JOIN accounts a ON a.id = r.author_id WHERE r.post_id = ? AND a.username = ?",
        post_id,
        helper,
    ) == [("service", service, note)]
    pointer = theirs.page.locator("article.response-service")
    expect(pointer).to_contain_text(f"{helper_name} pointed to a service: {BULKY_WASTE}")
    expect(pointer.get_by_role("button", name="This solved it")).to_have_count(0)

    # The author sees the pointer, how to reach the service, and closes the request.
    mine.goto(f"/r/{post_id}")
    page = mine.page
    pointer = page.locator("article.response-service", has_text=helper_name)
    expect(pointer.get_by_role("link", name=BULKY_WASTE)).to_have_attribute(
        "href", f"/services/{service}"
    )
    expect(pointer.locator(".service-contact")).to_contain_text("0800 00 000")
    expect(pointer).to_contain_text(note)
    screenshot(page, "scenario-request-service-pointer")
    assert_accessible(page)  # with the "This solved it" button
    assert click_and_wait(page, pointer.get_by_role("button", name="This solved it")) == 200
    assert "done=solved" in page.url, page.url
    status = page.locator("article.post-page .meta .status")
    expect(status).to_have_class(re.compile(r"\bstatus-done\b"))
    expect(status).to_have_text("Done")
    assert post_status(node, post_id) == "done"
    # A done request takes no more pointers nor offers.
    theirs.goto(f"/r/{post_id}")
    expect(theirs.page.locator("section.point-service")).to_have_count(0)
    expect(theirs.page.locator("#offer_body")).to_have_count(0)


# --- (c) the category's guide before a first offer ----------------------------------------


def test_a_first_offer_in_a_category_waits_for_its_guide(visit: Any, node: NodeProcess) -> None:
    mine, first_post = request_by(visit, AUTHOR, f"Porter un frigo {secrets.token_hex(3)}")
    mine.goto("/new?kind=request")
    fill_request(
        mine.page,
        title=f"Porter un lave-linge {secrets.token_hex(3)}",
        description="Du 2e étage au rez-de-chaussée.",
        language="fr",
    )
    second_post = preview_and_publish(mine.page)

    helper_name, helper = "Henk V.", fresh_username("henk")
    theirs = visit("en", 1280)
    sign_up(theirs, helper_name, helper, "en")
    theirs.goto(f"/r/{first_post}")
    page = theirs.page
    guide = page.locator("details.guide")
    expect(guide).to_have_attribute("open", "")  # shown open before the first offer
    expect(guide.locator("summary")).to_contain_text("Before you help")
    expect(guide.locator("ul.guide-points li").first).to_be_visible()
    box = page.get_by_label(GUIDE_BOX)
    expect(box).not_to_be_checked()
    expect(box).to_have_attribute("required", "")
    page.locator("#offer_body").fill("Samedi matin, avec un ami.")
    offer_button = page.get_by_role("button", name="I can help")

    # The browser does not send the form while the box is not ticked ...
    offer_button.click()
    assert page.evaluate("document.querySelector('input[name=read_guide]').validity.valueMissing")
    assert offers_by(node, first_post, helper) == []
    # ... nor does the node take it (a browser that ignores `required`): 400, nothing stored.
    page.evaluate("document.querySelector('input[name=read_guide]').removeAttribute('required')")
    assert click_and_wait(page, offer_button) == 400
    error = page.locator("#read_guide-error")
    expect(error).to_have_text("Please read the guide and confirm it before your first offer.")
    expect(page.get_by_label(GUIDE_BOX)).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#offer_body")).to_have_value("Samedi matin, avec un ami.")
    assert offers_by(node, first_post, helper) == []
    screenshot(page, "scenario-offer-guide-missing")

    page.get_by_label(GUIDE_BOX).check()
    assert click_and_wait(page, offer_button) == 200
    assert "done=offered" in page.url, page.url
    assert offers_by(node, first_post, helper) == [("offer", "offered")]

    # The author sees it as their first help in the neighbourhood.
    mine.goto(f"/r/{first_post}")
    offer = mine.page.locator("article.response-offer", has_text=helper_name)
    expect(offer.locator(".tag.first-time")).to_have_text(
        "first time helping in this neighbourhood"
    )

    # A second offer in the same category: the guide stays closed and asks nothing.
    theirs.goto(f"/r/{second_post}")
    expect(page.locator("details.guide")).not_to_have_attribute("open", "")
    expect(page.locator("input[name=read_guide]")).to_have_count(0)
    assert click_and_wait(page, page.get_by_role("button", name="I can help")) == 200
    assert offers_by(node, second_post, helper) == [("offer", "offered")]

    # The author withdraws both (the lists in the screenshots stay as seeded).
    for post_id in (first_post, second_post):
        mine.goto(f"/r/{post_id}")
        withdraw = mine.page.locator(
            f"form[action='/r/{post_id}/status']:has(input[value=withdrawn]) button"
        )
        assert click_and_wait(mine.page, withdraw) == 200
        assert post_status(node, post_id) == "withdrawn"


# --- (d) a connector's survey, answered by a resident ------------------------------------


def test_a_connector_publishes_a_survey_and_a_resident_answers_it(
    visit: Any, node: NodeProcess
) -> None:
    question = f"Which day suits a neighbourhood clean-up? ({secrets.token_hex(3)})"
    answers = ("Saturday morning", "Sunday afternoon", "A weekday evening")
    [(hood_id,)] = node.query("SELECT id FROM neighbourhoods WHERE slug = 'jette-centre'")

    connector = visit("en", 1280, user="marleen")
    connector.goto("/admin/surveys")
    page = connector.page
    assert click_and_wait(page, page.get_by_role("link", name="New survey")) == 200
    page.locator("#language").select_option("en")
    page.locator("#question_en").fill(question)
    for i, answer in enumerate(answers):
        page.locator(f"#option_{i}_en").fill(answer)
    page.locator("#closes_at").fill((date.today() + timedelta(days=7)).isoformat())
    page.locator(f"input[name=neighbourhood][value='{hood_id}']").check()
    publish_button = page.get_by_role("button", name="Publish the survey")
    assert click_and_wait(page, publish_button) == 200
    errors = page.locator("p.error, .form-errors").all_inner_texts()
    assert page.url.endswith("/admin/surveys?done=survey"), f"{page.url}: {errors}"
    expect(page.locator("p.notice[role=status]")).to_have_text("The survey is published.")
    rows = node.query(
        "SELECT s.id, n.slug, a.username FROM surveys s"
        " JOIN neighbourhoods n ON n.id = s.neighbourhood_id"
        " JOIN accounts a ON a.id = s.author_id WHERE json_extract(s.question, '$.en') = ?",
        question,
    )
    assert [row[1:] for row in rows] == [("jette-centre", "marleen")]
    survey = str(rows[0][0])
    expect(page.get_by_role("link", name=question)).to_have_attribute("href", f"/surveys/{survey}")

    # Residents vote; the counts stay hidden until RESULTS_FROM people have voted.
    votes = dict(zip(VOTERS, (1, 1, 0, 1, 2), strict=True))
    for number, (resident, choice) in enumerate(votes.items(), start=1):
        tab = visit("en", 1280, user=resident)
        tab.goto(f"/surveys/{survey}")
        page = tab.page
        expect(page.locator("main h1")).to_have_text(question)
        if number < RESULTS_FROM:
            expect(page.locator("svg.survey-chart")).to_have_count(0)
            expect(page.locator("section[aria-labelledby=results-heading]")).to_contain_text(
                f"Results appear once at least {RESULTS_FROM} people have voted."
            )
        page.get_by_role("radio", name=answers[choice]).check()
        assert click_and_wait(page, page.get_by_role("button", name="Vote")) == 200
        expect(page.locator("p.notice[role=status]")).to_be_visible()
        assert node.query(
            "SELECT v.option FROM survey_votes v JOIN accounts a ON a.id = v.account_id"
            " WHERE v.survey_id = ? AND a.username = ?",
            survey,
            resident,
        ) == [(choice,)]

    # The last voter's page: the chart shows every vote, their own answer's bar marked.
    chart = page.locator("svg.survey-chart")
    desc = chart.locator("desc")
    expect(desc).to_contain_text(f"{len(votes)} people voted")
    expect(desc).to_contain_text(f"{answers[1]}: 3 votes (60%)")
    expect(desc).to_contain_text(f"{answers[2]}: 1 vote (20%)")
    bars = chart.locator("g")
    expect(bars).to_have_count(len(answers))
    for i, shown in enumerate(("1 (20%)", "3 (60%)", "1 (20%)")):
        expect(bars.nth(i).locator("rect")).to_have_count(2)  # the track and the votes
        expect(bars.nth(i)).to_contain_text(shown)
    expect(bars.nth(2).locator("rect").nth(1)).to_have_attribute("fill", CHOSEN_BAR)
    expect(bars.nth(1).locator("rect").nth(1)).not_to_have_attribute("fill", CHOSEN_BAR)
    row = page.locator("table tbody tr", has_text=answers[2])
    expect(row.locator("td").first).to_have_text("1")
    expect(row).to_contain_text("your vote")
    screenshot(page, "scenario-survey-voted")

    # The page with its chart, in every language: no serious accessibility violation.
    for lang in LANGUAGES:
        seen = visit(lang, 1280, bypass_csp=True, user=resident)
        seen.goto(f"/surveys/{survey}")
        expect(seen.page.locator("svg.survey-chart")).to_be_visible()
        screenshot(seen.page, f"survey-results-{lang}-1280")
        assert_accessible(seen.page)

    # The connector withdraws it again (the neighbourhood's page stays as seeded).
    connector.goto("/admin/surveys")
    withdraw = connector.page.get_by_role("button", name=f"Withdraw {question} (Jette Centre)")
    assert click_and_wait(connector.page, withdraw) == 200
    assert node.query("SELECT withdrawn_at IS NOT NULL FROM surveys WHERE id = ?", survey) == [(1,)]


# --- (e) the needs figures -----------------------------------------------------------------


def test_the_needs_figures_draw_their_charts(visit: Any) -> None:
    tab = visit("en", 1280, user="admin")
    tab.goto("/admin/needs")
    page = tab.page
    expect(page.locator("main h1")).to_have_text("Needs")
    charts = page.locator("figure.chart svg[role=img]")
    expect(charts).to_have_count(2)  # per month, per category
    for i in range(2):
        chart = charts.nth(i)
        expect(chart.locator(":scope > title")).not_to_be_empty()
        expect(chart.locator("rect").first).to_be_attached()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 50, box
    expect(page.locator("table caption", has_text="Posts per category")).to_be_visible()


# --- axe-core and screenshots -----------------------------------------------------------------

# A public open request the service pointer form shows on (its category has services),
# for a logged-in person who did not write it.
POINTER_REQUEST = """
SELECT p.id FROM help_posts p JOIN accounts a ON a.id = p.author_id
WHERE p.kind = 'request' AND p.status = 'open' AND p.visibility = 'public'
  AND p.category IN ('transport', 'cleaning') AND a.username <> 'marleen'
ORDER BY p.created_at LIMIT 1
"""
OPEN_SURVEY = """
SELECT s.id FROM surveys s JOIN neighbourhoods n ON n.id = s.neighbourhood_id
WHERE n.slug = 'jette-centre' AND s.withdrawn_at IS NULL ORDER BY s.created_at LIMIT 1
"""


@pytest.fixture(scope="module")
def knowledge_places(node: NodeProcess) -> dict[str, str]:
    [(pointer_post,)] = node.query(POINTER_REQUEST)
    [(survey,)] = node.query(OPEN_SURVEY)
    return {
        "pointer_post": str(pointer_post),
        "survey": str(survey),
        "service": service_id(node, BULKY_WASTE),
    }


# (name, path, user): the pages issue 13 added.
AXE_PAGES = [
    ("services", "/services", None),
    ("service", "/services/{service}", None),
    ("survey", "/surveys/{survey}", "els"),
    ("admin-needs", "/admin/needs", "admin"),
    ("admin-surveys", "/admin/surveys", "marleen"),
    ("admin-survey-new", "/admin/surveys/new", "marleen"),
    ("request-pointer", "/r/{pointer_post}", "marleen"),
]


@pytest.mark.parametrize(
    ("path", "user", "lang"),
    [
        pytest.param(path, user, lang, id=f"{name}-{lang}")
        for name, path, user in AXE_PAGES
        for lang in LANGUAGES
    ],
)
def test_no_serious_accessibility_violations_on_the_new_pages(
    visit: Any, knowledge_places: dict[str, str], path: str, user: str | None, lang: str
) -> None:
    tab = visit(lang, 1280, bypass_csp=True, user=user)
    tab.goto(path.format(**knowledge_places))
    assert tab.html_lang() == lang
    if "pointer_post" in path:
        expect(tab.page.locator("section.point-service form")).to_be_visible()
    if path.startswith("/surveys/"):  # the chart only once enough people voted
        expect(tab.page.locator("section[aria-labelledby=results-heading]")).to_be_visible()
    violations = axe_violations(tab.page)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, (
        f"{path} ({lang}) has serious accessibility violations:\n" + describe_violations(blocking)
    )


SCREENSHOT_PAGES = [
    ("services", "/services", None),
    ("survey", "/surveys/{survey}", "els"),
    ("admin-needs", "/admin/needs", "admin"),
]


@pytest.mark.parametrize(
    ("name", "path", "user", "lang", "width"),
    [
        pytest.param(name, path, user, lang, width, id=f"{name}-{lang}-{width}")
        for name, path, user in SCREENSHOT_PAGES
        for lang in LANGUAGES
        for width in WIDTHS
    ],
)
def test_the_new_pages_render_in_the_visitors_language(
    visit: Any,
    knowledge_places: dict[str, str],
    name: str,
    path: str,
    user: str | None,
    lang: str,
    width: int,
) -> None:
    tab = visit(lang, width, user=user)
    tab.goto(path.format(**knowledge_places))
    screenshot(tab.page, f"{name}-{lang}-{width}")
    assert tab.html_lang() == lang
    assert tab.foreign_requests() == [], "the page fetched something from another host"
    assert tab.csp_violations() == [], "the Content-Security-Policy blocked part of the page"
    scroll_width = tab.page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{path} is {scroll_width} px wide on a {width} px screen"
