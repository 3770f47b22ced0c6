"""A commune sets up a node from `nabuur init` to a working neighbourhood, in a browser.

Not the demo: a fresh node made by `nabuur init` (only its first admin, `gemeente`) and
served by `nabuur run`. The admin clicks through /admin as a person would: the set-up
checklist, a neighbourhood (a bad centre first), an organisation, a staff invitation,
the node's rules and sign-ups. A social worker signs up with the invitation, posts a
request for a client, a resident offers help, and the social worker follows it up on
the dashboard: what needs attention, a case note, accepting the helper, a partner
organisation (whose coordinator sees it too) and the CSV export. Every step checks the
node's database as well as the page.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import (
    Visit,
    click_and_wait,
    log_in,
    logged_in_as,
    open_context,
    screenshot,
    switch_language,
)
from tests.nodes import InitNodeProcess

pytestmark = pytest.mark.slow

ADMIN = "gemeente"
ADMIN_PASSWORD = "Gemeente-Jette-2026"  # a throwaway admin on a throwaway node
PASSWORD = "Buren-helpen-2026"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ZONE = ZoneInfo("Europe/Brussels")  # the node's default time zone (NABUUR_TIMEZONE)

HOOD = "jette-centre"
HOOD_NAME = "Jette Centrum"
ORG, ORG_NAME = "tussen-buren", "Tussen Buren / Entre Voisins"
PARTNER, PARTNER_NAME = "buurtwerk", "Buurtwerk Jette"
RULE_EN = "Never post someone's address or phone number."
RULE_NL = "Zet nooit iemands adres of telefoonnummer online."

TITLE = "Accompany a neighbour to the commune's front desk"
CLIENT = "a neighbour of 82 who does not read Dutch"
ADDRESS = "Rue Léopold Ier 301, 2nd floor, ring at Dubois"


def fresh_username(prefix: str) -> str:
    """A username no earlier run has taken (2 to 30 of a-z, 0-9, _)."""
    return f"{prefix}_{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def commune(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InitNodeProcess]:
    """A node fresh from `nabuur init --admin-username gemeente`, served by `nabuur run`."""
    started = InitNodeProcess(
        tmp_path_factory.mktemp("browser-commune"),
        "commune",
        admin_username=ADMIN,
        admin_password=ADMIN_PASSWORD,
    ).start()
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


@dataclass
class People:
    """The browser contexts of the scenario (one per person), closed at the end."""

    browser: Browser
    node: InitNodeProcess
    contexts: list[BrowserContext]

    def tab(self, width: int = 1280, lang: str = "en") -> Visit:
        context = open_context(self.browser, self.node, lang, width)
        self.contexts.append(context)
        return Visit(context.new_page(), self.node.base)


@pytest.fixture
def people(browser: Browser, commune: InitNodeProcess) -> Iterator[People]:
    crowd = People(browser, commune, [])
    try:
        yield crowd
    finally:
        for context in crowd.contexts:
            context.close()


def count(node: InitNodeProcess, sql: str, *params: Any) -> int:
    [(found,)] = node.query(sql, *params)
    return int(found)


def submit(page: Page, form_action: str) -> int:
    """Press the submit button of the form posting to `form_action`; the status landed on."""
    return click_and_wait(page, page.locator(f"form[action='{form_action}'] button[type=submit]"))


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def sign_up(tab: Visit, display_name: str, username: str, invite_url: str | None = None) -> None:
    """Create an account on the sign-up page (which logs it in), living in Jette Centre."""
    if invite_url:
        response = tab.page.goto(invite_url, wait_until="load")
        assert response is not None and response.status == 200, f"{invite_url} did not open"
    else:
        tab.goto("/signup")
    page = tab.page
    page.locator("#display_name").fill(display_name)
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#language").select_option("en")
    page.locator("#home_neighbourhood").select_option(HOOD)
    status = submit(page, "/signup")
    errors = page.locator("p.error, #form-errors").all_inner_texts()
    assert status == 200 and logged_in_as(page) == username, (
        f"signing up {username} failed (HTTP {status}) on {page.url}: {errors}"
    )


def test_a_commune_sets_up_a_node_and_a_social_worker_follows_a_request_up(
    people: People, commune: InitNodeProcess
) -> None:
    node = commune

    # --- 1. The admin logs in and finds the set-up checklist all to do ------------------
    admin = people.tab(1280)
    log_in(admin.page, node.base, ADMIN, ADMIN_PASSWORD)
    page = admin.page
    if admin.html_lang() != "en":  # `init` gives the first admin nl, fr, en: pages in Dutch
        assert switch_language(page, "en") == 200
    assert admin.html_lang() == "en"
    admin.goto("/admin/")
    steps = page.locator("ol.checklist > li")
    expect(steps).to_have_count(5)
    expect(page.locator("ol.checklist > li.done")).to_have_count(0)
    for step in steps.all():
        expect(step.locator(".state")).to_have_text("To do")
    screenshot(page, "scenario-admin-checklist")
    assert count(node, "SELECT count(*) FROM neighbourhoods") == 0
    assert count(node, "SELECT count(*) FROM organisations") == 0

    # --- 2. A neighbourhood: a bad centre first, answered next to the field ---------------
    click_and_wait(page, page.locator("ol.checklist a[href='/admin/neighbourhoods/new']"))
    assert path_of(page) == "/admin/neighbourhoods/new"
    page.locator("#name").fill(HOOD_NAME)
    page.locator("#slug").fill(HOOD)
    page.locator("#commune").fill("Jette")
    expect(page.locator("#country")).to_have_value("BE")
    page.locator("#description_nl").fill("Het hart van Jette, rond het station.")
    page.locator("#description_fr").fill("Le cœur de Jette, autour de la gare.")
    page.locator("input[name=area_kind][value=circle]").check()
    page.locator("#centre").fill("91, 4")
    page.locator("#radius_m").fill("800")
    assert submit(page, "/admin/neighbourhoods/new") == 400
    error = page.locator("#centre-error")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    centre = page.locator("#centre")
    expect(centre).to_have_attribute("aria-invalid", "true")
    expect(centre).to_have_attribute("aria-describedby", re.compile(r"\bcentre-error\b"))
    expect(page.locator(".field.has-error", has=centre)).to_contain_text(error.inner_text())
    expect(page.locator("#form-errors")).to_be_visible()
    # Nothing stored, and what was typed is still there.
    assert count(node, "SELECT count(*) FROM neighbourhoods") == 0
    expect(page.locator("#name")).to_have_value(HOOD_NAME)
    expect(page.locator("#slug")).to_have_value(HOOD)
    expect(page.locator("#description_fr")).to_have_value("Le cœur de Jette, autour de la gare.")
    expect(centre).to_have_value("91, 4")
    screenshot(page, "scenario-admin-neighbourhood-error")

    centre.fill("50.878, 4.325")
    assert submit(page, "/admin/neighbourhoods/new") == 200
    assert path_of(page) == f"/admin/neighbourhoods/{HOOD}", f"creating led to {page.url}"
    expect(page.locator("p.notice[role=status]")).to_be_visible()
    [row] = node.query(
        "SELECT name, commune, country, centre_lat, centre_lon, radius_m, description,"
        " archived_at FROM neighbourhoods WHERE slug = ?",
        HOOD,
    )
    name, commune_name, country, lat, lon, radius, description, archived = row
    assert (name, commune_name, country, radius, archived) == (
        HOOD_NAME,
        "Jette",
        "BE",
        800,
        None,
    )
    assert (round(lat, 3), round(lon, 3)) == (50.878, 4.325)
    texts = json.loads(description)
    assert texts.get("nl") == "Het hart van Jette, rond het station."
    assert texts.get("fr") == "Le cœur de Jette, autour de la gare."
    outline = page.locator("figure.outline svg")
    expect(outline).to_be_visible()
    expect(outline.locator("circle")).to_have_count(2)  # the area and its centre
    expect(page.locator("#centre")).to_have_value(re.compile(r"^50\.878,\s*4\.325$"))
    screenshot(page, "scenario-admin-neighbourhood")

    # --- 3. An organisation working in it -------------------------------------------------
    admin.goto("/admin/organisations")
    click_and_wait(page, page.locator("main a[href='/admin/organisations/new']"))
    page.locator("#name").fill(ORG_NAME)
    page.locator("#slug").fill(ORG)
    page.locator("#kind").select_option("ngo")
    page.locator("#description_nl").fill("Tweetalig buurthuis in Jette.")
    page.locator(f"input[name=neighbourhoods][value={HOOD}]").check()
    assert submit(page, "/admin/organisations/new") == 200
    assert path_of(page) == f"/admin/o/{ORG}/staff", f"creating led to {page.url}"
    assert node.query(
        "SELECT o.name, o.kind, n.slug FROM organisations o"
        " JOIN organisation_areas a ON a.organisation_id = o.id"
        " JOIN neighbourhoods n ON n.id = a.neighbourhood_id WHERE o.slug = ?",
        ORG,
    ) == [(ORG_NAME, "ngo", HOOD)]
    screenshot(page, "scenario-admin-organisation")

    # --- 4. A staff invitation link, read from the staff page ------------------------------
    admin.goto(f"/admin/o/{ORG}/staff")
    expect(page.locator("#invite-role")).to_be_visible()
    page.locator("#invite-role").select_option("staff")
    page.locator("#invite-uses").fill("1")
    page.locator("#invite-days").fill("14")
    invite_form = page.locator(f"form[action='/admin/o/{ORG}/staff']:has(input[value=invite])")
    assert click_and_wait(page, invite_form.locator("button[type=submit]")) == 200
    invitation = page.locator("#staff-invitation")
    expect(invitation).to_be_visible()
    invite_url = invitation.inner_text().strip()
    assert re.fullmatch(re.escape(node.base) + r"/signup\?invite=\S+", invite_url), invite_url
    code = invite_url.partition("invite=")[2]
    assert node.query(
        "SELECT i.staff_role, i.uses_left, o.slug FROM invitations i"
        " JOIN organisations o ON o.id = i.organisation_id WHERE i.code = ?",
        code,
    ) == [("staff", 1, ORG)]
    screenshot(page, "scenario-admin-staff-invitation")

    # --- 5. Sign-ups open to anyone, and a rule, shown on /about ---------------------------
    # A visitor (Dutch browser) reads /about before: no rules yet.
    visitor = people.tab(1280, "nl")
    visitor.goto("/about")
    assert visitor.html_lang() == "nl"
    expect(visitor.page.locator("ol.rules")).to_have_count(0)
    admin.goto("/admin/settings")
    page.locator("input[name=signups][value=open]").check()
    page.locator("#rules_en").fill(RULE_EN)
    page.locator("#rules_nl").fill(RULE_NL)
    assert submit(page, "/admin/settings") == 200
    assert "done=saved" in page.url, f"saving the settings led to {page.url}"
    expect(page.locator("input[name=signups][value=open]")).to_be_checked()
    [(signups, rules)] = node.query("SELECT signups, rules FROM node_settings")
    assert signups == "open"
    assert {lang: text for lang, text in json.loads(rules).items() if text} == {
        "en": RULE_EN,
        "nl": RULE_NL,
    }
    screenshot(page, "scenario-admin-settings")
    click_and_wait(page, page.locator("footer a[href='/about']"))
    expect(page.locator("ol.rules li")).to_have_text([RULE_EN])
    expect(page.locator("main")).to_contain_text("Anyone may create an account here.")
    expect(page.locator("main")).to_contain_text(HOOD_NAME)
    expect(page.locator("main")).to_contain_text(ORG_NAME)
    screenshot(page, "scenario-about")
    # The visitor's next look shows them too (a cached page would not), in Dutch.
    visitor.goto("/about")
    expect(visitor.page.locator("ol.rules li")).to_have_text([RULE_NL])
    expect(visitor.page.locator("ol.rules")).to_have_attribute("lang", "nl")
    # Only the staff step of the checklist is left.
    admin.goto("/admin/")
    expect(page.locator("ol.checklist > li.todo")).to_have_count(1)
    expect(page.locator("ol.checklist > li.todo a")).to_have_attribute(
        "href", "/admin/organisations"
    )

    # --- 6. The new social worker signs up with the invitation ----------------------------
    karen_name, karen = "Karen", fresh_username("karen")
    social = people.tab(375)
    social.page.goto(invite_url, wait_until="load")
    expect(social.page.locator("main p.notice")).to_contain_text(ORG_NAME)
    expect(social.page.locator("input[type=hidden][name=invitation]")).to_have_value(code)
    expect(social.page.locator("section.rules-box ol.rules li")).to_have_text([RULE_EN])
    screenshot(social.page, "scenario-staff-signup")
    sign_up(social, karen_name, karen, invite_url)
    assert node.query(
        "SELECT m.role, o.slug FROM memberships m JOIN accounts a ON a.id = m.account_id"
        " JOIN organisations o ON o.id = m.organisation_id WHERE a.username = ?",
        karen,
    ) == [("staff", ORG)]
    assert node.query("SELECT uses_left FROM invitations WHERE code = ?", code) == [(0,)]

    # --- 7. Karen posts a request for a client: preview, then publish ---------------------
    page = social.page
    social.goto("/new")
    expect(page.locator("input[name=kind][value=request]")).to_be_checked()
    page.locator("input[name=category][value=transport]").check()
    page.locator("#language").select_option("en")
    page.locator("#title").fill(TITLE)
    page.locator("#description").fill("Going together to the population desk, a morning.")
    page.locator("input[name=when][value=date]").check()
    tomorrow = (datetime.now(ZONE) + timedelta(days=1)).date()
    page.locator("#date").fill(tomorrow.isoformat())
    page.locator("#starts_time").fill("10:00")
    page.locator("#ends_time").fill("11:30")
    page.locator("#helpers_needed").fill("1")
    page.locator("#neighbourhood").select_option(HOOD)
    page.locator("#area_hint").fill("near Jette station")
    page.locator("#private_location").fill(ADDRESS)
    page.locator("input[name=visibility][value=public]").check()
    page.locator("#organisation").select_option(ORG)
    page.locator("#on_behalf_label").fill(CLIENT)
    page.locator("input[type=checkbox][name=client_consent]").check()
    assert click_and_wait(page, page.locator("button[name=action][value=preview]")) == 200
    preview = page.locator("section.preview")
    expect(preview.locator("h3")).to_have_text(TITLE)
    posted_by = preview.locator("dl.facts dd").last
    expect(posted_by).to_contain_text(ORG_NAME)
    expect(posted_by.locator(".org-badge")).to_be_visible()
    expect(posted_by).to_contain_text(CLIENT)
    expect(posted_by).not_to_contain_text(karen_name)
    assert count(node, "SELECT count(*) FROM help_posts WHERE title = ?", TITLE) == 0
    screenshot(page, "scenario-staff-compose-preview")

    status = click_and_wait(page, page.locator("form.compose button[name=action][value=publish]"))
    errors = page.locator("p.error, #form-errors").all_inner_texts()
    assert status == 200, f"publishing failed (HTTP {status}): {errors}"
    found = re.search(rf"/r/({UUID})\?done=published$", page.url)
    assert found, f"publishing led to {page.url}"
    post_id = found.group(1)
    [row] = node.query(
        "SELECT p.status, p.helpers_needed, p.on_behalf_label, p.client_consent_at,"
        " p.private_location, p.starts_at, a.username, o.slug FROM help_posts p"
        " JOIN accounts a ON a.id = p.author_id"
        " LEFT JOIN organisations o ON o.id = p.organisation_id WHERE p.id = ?",
        post_id,
    )
    assert row[:3] == ("open", 1, CLIENT)
    assert row[3] is not None, "no consent recorded"
    assert row[4] == ADDRESS
    starts = datetime.fromisoformat(str(row[5])).astimezone(ZONE)
    assert (starts.date(), starts.strftime("%H:%M")) == (tomorrow, "10:00"), starts
    assert row[6:] == (karen, ORG)
    facts = page.locator("article.post-page dl.facts")
    expect(facts.locator(".org-badge")).to_be_visible()
    expect(facts.locator(f"a[href='/o/{ORG}']")).to_have_text(ORG_NAME)
    expect(facts.locator(".behalf")).to_contain_text(CLIENT)
    screenshot(page, "scenario-staff-request")

    # --- 8. A resident signs up (open sign-ups) and offers help ---------------------------
    helper_name, helper = "Henk V.", fresh_username("henk")
    resident = people.tab(1280)
    sign_up(resident, helper_name, helper)
    resident.goto(f"/r/{post_id}")
    expect(resident.page.locator("article.post-page h1")).to_have_text(TITLE)
    assert ADDRESS not in resident.page.content(), "a helper not accepted sees the address"
    resident.page.locator("#offer_body").fill("I can come tomorrow morning.")
    # A first offer in the category: the guide is confirmed first.
    resident.page.get_by_label(re.compile(r"I have read the guide")).check()
    offer = resident.page.get_by_role("button", name="I can help")
    assert click_and_wait(resident.page, offer) == 200
    assert "done=offered" in resident.page.url, resident.page.url
    offers = node.query(
        "SELECT r.id, r.offer_status FROM responses r JOIN accounts a ON a.id = r.author_id"
        " WHERE r.post_id = ? AND a.username = ?",
        post_id,
        helper,
    )
    assert [status for _, status in offers] == ["offered"]
    offer_id = offers[0][0]

    # --- 9. Karen's dashboard: needs attention (tomorrow), an offer waiting ----------------
    social.goto("/")
    click_and_wait(page, page.locator("header.site nav.account a[href='/admin']"))
    assert path_of(page) == f"/admin/o/{ORG}", f"/admin led Karen to {page.url}"
    case_link = f"a[href='/admin/o/{ORG}/r/{post_id}']"
    soon = page.locator("section.attention h3:has-text('Date within 48 hours') + ul.attention-list")
    expect(soon.locator(case_link)).to_have_text(TITLE)
    waiting = page.locator("nav.board-groups a[aria-current=page]")
    expect(waiting).to_contain_text("Offers waiting for an answer")
    board_row = page.locator("table.board tbody tr", has=page.locator(case_link))
    expect(board_row).to_have_count(1)
    expect(board_row).to_contain_text(CLIENT)
    expect(board_row.locator("td").nth(4)).to_have_text("1")  # offers waiting
    screenshot(page, "scenario-admin-dashboard")

    # --- 10. The case page: a note; then the request page: accept the helper --------------
    click_and_wait(page, page.locator(f"table.board {case_link}"))
    assert path_of(page) == f"/admin/o/{ORG}/r/{post_id}"
    expect(page.locator("main h1").last).to_have_text(TITLE)
    expect(page.locator("section[aria-labelledby=helpers-heading]")).to_contain_text(helper_name)
    note = "Called the client: she will wait downstairs at 9:50."
    page.locator("input[name=kind][value=note]").check()
    page.locator("#body").fill(note)
    assert submit(page, f"/admin/o/{ORG}/r/{post_id}/notes") == 200
    assert "done=note" in page.url, page.url
    expect(page.locator("ol.case-log").first).to_contain_text(note)
    assert node.query(
        "SELECT e.kind, e.body, a.username, o.slug FROM case_entries e"
        " JOIN accounts a ON a.id = e.author_id"
        " JOIN organisations o ON o.id = e.organisation_id WHERE e.post_id = ?",
        post_id,
    ) == [("note", note, karen, ORG)]
    screenshot(page, "scenario-admin-case")

    click_and_wait(page, page.locator(f"main a[href='/r/{post_id}']").first)
    assert path_of(page) == f"/r/{post_id}"
    accept = page.locator(f"form[action='/r/{post_id}/responses/{offer_id}/accept'] button")
    assert click_and_wait(page, accept) == 200
    assert "done=accepted" in page.url, page.url
    state = page.locator("article.post-page .meta .status")
    expect(state).to_have_class(re.compile(r"\bstatus-matched\b"))
    expect(state).to_have_text("Helpers found")
    assert node.query("SELECT status FROM help_posts WHERE id = ?", post_id) == [("matched",)]
    assert node.query("SELECT offer_status FROM responses WHERE id = ?", offer_id) == [
        ("accepted",)
    ]

    # --- 11. A partner organisation, its coordinator, and the request on their dashboard --
    page = admin.page
    admin.goto("/admin/organisations/new")
    page.locator("#name").fill(PARTNER_NAME)
    page.locator("#slug").fill(PARTNER)
    page.locator("#kind").select_option("association")
    page.locator(f"input[name=neighbourhoods][value={HOOD}]").check()
    assert submit(page, "/admin/organisations/new") == 200
    assert path_of(page) == f"/admin/o/{PARTNER}/staff", page.url
    assert count(node, "SELECT count(*) FROM organisations WHERE slug = ?", PARTNER) == 1

    bram_name, bram = "Bram", fresh_username("bram")
    partner = people.tab(1280)
    sign_up(partner, bram_name, bram)
    admin.goto("/admin/people")
    page.locator("#q").fill(bram)
    click_and_wait(page, page.locator("form[action='/admin/people'] button[type=submit]"))
    click_and_wait(page, page.locator(f"table a[href='/admin/people/{bram}']"))
    assert path_of(page) == f"/admin/people/{bram}"
    add_staff = page.locator(
        f"form[action='/admin/people/{bram}']:has(input[name=action][value=add_staff])"
    )
    add_staff.locator("#organisation").select_option(PARTNER)
    add_staff.locator("#staff_role").select_option("coordinator")
    assert click_and_wait(page, add_staff.locator("button[type=submit]")) == 200
    assert "done=staff" in page.url, page.url
    expect(page.locator("section[aria-labelledby=staff-heading] ul")).to_contain_text(PARTNER_NAME)
    assert node.query(
        "SELECT m.role, o.slug FROM memberships m JOIN accounts a ON a.id = m.account_id"
        " JOIN organisations o ON o.id = m.organisation_id WHERE a.username = ?",
        bram,
    ) == [("coordinator", PARTNER)]
    screenshot(page, "scenario-admin-person")

    # Karen names Buurtwerk as partner on the case page.
    page = social.page
    social.goto(f"/admin/o/{ORG}/r/{post_id}")
    page.locator("#partner-org").select_option(PARTNER)
    partner_form = page.locator(
        f"form[action='/admin/o/{ORG}/r/{post_id}/partners']:has(#partner-org)"
    )
    assert click_and_wait(page, partner_form.locator("button[type=submit]")) == 200
    assert "done=partner" in page.url, page.url
    expect(page.locator("section[aria-labelledby=partners-heading] ul")).to_contain_text(
        PARTNER_NAME
    )
    assert node.query(
        "SELECT o.slug FROM post_partners p JOIN organisations o ON o.id = p.organisation_id"
        " WHERE p.post_id = ?",
        post_id,
    ) == [(PARTNER,)]

    # Bram opens his dashboard: the request is among the matched ones, as a partner's.
    page = partner.page
    partner.goto("/")
    click_and_wait(page, page.locator("header.site nav.account a[href='/admin']"))
    assert path_of(page) == f"/admin/o/{PARTNER}", f"/admin led Bram to {page.url}"
    matched = page.locator("nav.board-groups a[href*='group=matched']")
    expect(matched).to_contain_text("(1)")
    click_and_wait(page, matched)
    partner_row = page.locator(
        "table.board tbody tr", has=page.locator(f"a[href='/admin/o/{PARTNER}/r/{post_id}']")
    )
    expect(partner_row).to_have_count(1)
    expect(partner_row).to_contain_text(TITLE)
    expect(partner_row.locator(".tag", has_text="as partner")).to_be_visible()
    screenshot(page, "scenario-admin-partner-dashboard")

    # --- 12. Karen exports the organisation's requests as CSV -----------------------------
    page = social.page
    social.goto(f"/admin/o/{ORG}")
    with page.expect_download() as download:
        page.locator(f"form[action='/admin/o/{ORG}/export.csv'] button").click()
    saved = Path(download.value.path())
    assert download.value.suggested_filename == f"{ORG}-requests.csv"
    text = saved.read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    mine = [r for r in rows if r["title"] == TITLE]
    assert len(mine) == 1, f"the export has {len(mine)} rows titled {TITLE!r}:\n{text}"
    assert mine[0]["status"] == "matched"
    assert mine[0]["client_label"] == CLIENT
    assert mine[0]["neighbourhood"] == HOOD_NAME
    assert mine[0]["helpers_accepted"] == "1"
    assert ADDRESS not in text and "Dubois" not in text, "the export holds the address"
    assert note not in text, "the export holds a case note"

    # The checklist is done now.
    admin.goto("/admin/")
    expect(admin.page.locator("ol.checklist > li.todo")).to_have_count(0)
    screenshot(admin.page, "scenario-admin-checklist-done")
