"""Issue 14's whole story on a phone, in a real browser: from the window card to thanks.

A demo node of its own, sending e-mail to a real SMTP server (aiosmtpd,
tests/smtp_server.py). On a 390×844 screen: a resident reads the URL of the window
card's QR code (the PDF read back with pdftotext and zbarimg), opens the neighbourhood,
signs up with an e-mail address and confirms it through the link in the e-mail it gets,
and asks for help. Two neighbours offer; one is accepted and they agree on a time in the
request's private conversation; the other is told that their offer is no longer needed.
The request is marked done and its author thanks the helper; the helper's answer in the
conversation, which she has not read on the site, reaches her by e-mail.

Every page visited is checked with axe-core (no serious or critical WCAG A/AA
violation), and the node's database as well as the pages says each step happened. The
key pages are saved as screenshots in Dutch, French and English
(test-artefacts/screenshots/reaching-*.png, see conftest.py).
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from node.demo import DEMO_PASSWORD
from tests.browser.conftest import (
    LANGUAGES,
    Visit,
    axe_violations,
    click_and_wait,
    describe_violations,
    log_in,
    logged_in_as,
    open_context,
    screenshot,
    switch_language,
)
from tests.browser.test_scenarios import PASSWORD, PUBLISH, UUID, fresh_username
from tests.nodes import NodeProcess
from tests.smtp_server import MAIL_FROM, SmtpTestServer

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
HOOD = "jette-centre"
BLOCKING = ("serious", "critical")
ACCEPTED, NOT_TAKEN = "jan", "nadia"  # demo neighbours of Jette (Dutch; French)
PLAN = "https://www.jette.be/recyclagepark"
GUIDE_BOX = re.compile(r"I have read the guide|Ik heb de gids|J'ai lu le guide", re.IGNORECASE)


@pytest.fixture(scope="module")
def mailbox() -> Iterator[SmtpTestServer]:
    """The SMTP server the story's node sends its e-mail to."""
    server = SmtpTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def reaching_node(
    tmp_path_factory: pytest.TempPathFactory, mailbox: SmtpTestServer
) -> Iterator[NodeProcess]:
    """A demo node that sends e-mail (its own: the story signs up, asks and thanks)."""
    node = NodeProcess(
        tmp_path_factory.mktemp("reaching-node"),
        "reaching",
        NABUUR_SMTP_URL=mailbox.url,
        NABUUR_MAIL_FROM=MAIL_FROM,
    )
    node.start()
    try:
        node.wait_ready(seconds=180)  # seeding the demo takes a while on a busy machine
        yield node
    finally:
        node.stop()


@dataclass
class Phone:
    """One person's phone: a tab on the node, checked with axe on every page it lands on."""

    tab: Visit
    who: str
    visited: list[str] = field(default_factory=list)

    @property
    def page(self) -> Page:
        return self.tab.page

    def go(self, path: str, status: int = 200) -> None:
        self.tab.goto(path, status)
        self.arrived()

    def press(self, target: Locator, status: int = 200) -> None:
        """Click what submits a form or follows a link; the page it lands on is checked."""
        landed = click_and_wait(self.page, target)
        errors = self.page.locator("p.error, #form-errors, p.problem").all_inner_texts()
        assert landed == status, f"{self.who}: HTTP {landed} on {self.page.url}: {errors}"
        self.arrived()

    def arrived(self) -> None:
        """axe-core: no serious or critical violation on the page now shown."""
        self.visited.append(self.page.url)
        blocking = [v for v in axe_violations(self.page) if v["impact"] in BLOCKING]
        assert not blocking, f"{self.page.url}:\n" + describe_violations(blocking)

    def shots(self, name: str) -> None:
        """This page in Dutch, French and English (screenshots), back in its own language."""
        own = self.tab.html_lang()
        url = self.page.url
        for lang in LANGUAGES:
            if self.tab.html_lang() != lang:
                assert switch_language(self.page, lang) == 200
                if self.page.url != url:  # the switch keeps the path, not the query
                    self.tab.goto(url.removeprefix(self.tab.base))
                assert self.tab.html_lang() == lang
                self.arrived()
            screenshot(self.page, f"reaching-{name}-{lang}")
        if own and self.tab.html_lang() != own:
            assert switch_language(self.page, own) == 200
            self.tab.goto(url.removeprefix(self.tab.base))


def phone(browser: Browser, node: NodeProcess, lang: str, who: str) -> Phone:
    """A fresh phone-sized tab (CSP bypassed for axe's script; nothing leaves the node)."""
    context = open_context(browser, node, lang, PHONE["width"], bypass_csp=True)
    page = context.new_page()
    page.set_viewport_size(PHONE)
    return Phone(Visit(page, node.base), who)


def wait_for_mail(
    mailbox: SmtpTestServer, to: str, containing: str = "", seconds: float = 30
) -> EmailMessage:
    """The first e-mail the node sent to `to` whose text holds `containing` (the mail
    worker sends within seconds of queueing)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for message in list(mailbox.messages):
            text = message.get_body(("plain",))
            if to in str(message["To"]) and text and containing in text.get_content():
                return message
        time.sleep(0.2)
    raise AssertionError(f"no e-mail to {to} within {seconds}s ({len(mailbox.messages)} sent)")


def card_url(node: NodeProcess, tmp: Path) -> str:
    """The URL of the window card's QR code (and its printed text), read from the PDF."""
    pdf = tmp / "card.pdf"
    with urllib.request.urlopen(node.url(f"/n/{HOOD}/card.pdf?lang=nl"), timeout=30) as answer:
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("application/pdf")
        pdf.write_bytes(answer.read())
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    hood_url = node.url(f"/n/{HOOD}")
    assert hood_url.removeprefix("http://") in text, text  # printed for people to type
    subprocess.run(["pdftoppm", "-r", "200", "-png", str(pdf), str(tmp / "card")], check=True)
    codes = set()
    for image in sorted(tmp.glob("card*.png")):
        decoded = subprocess.run(
            ["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True
        ).stdout
        codes.update(line.strip() for line in decoded.splitlines() if line.strip())
    assert codes == {hood_url}, codes
    return hood_url


def post_status(node: NodeProcess, post_id: str) -> str:
    [(status,)] = node.query("SELECT status FROM help_posts WHERE id = ?", post_id)
    return str(status)


def offer_of(node: NodeProcess, post_id: str, username: str) -> tuple[str, str]:
    [(offer_id, status)] = node.query(
        "SELECT r.id, r.offer_status FROM responses r JOIN accounts a ON a.id = r.author_id"
        " WHERE r.post_id = ? AND a.username = ? AND r.kind = 'offer'",
        post_id,
        username,
    )
    return str(offer_id), str(status)


def notifications_of(node: NodeProcess, username: str, post_id: str) -> list[str]:
    rows = node.query(
        "SELECT n.kind FROM notifications n JOIN accounts a ON a.id = n.recipient_id"
        " WHERE a.username = ? AND n.post_id = ? ORDER BY n.id",
        username,
        post_id,
    )
    return [str(kind) for (kind,) in rows]


def offer_help(helper: Phone, post_id: str, message: str) -> None:
    helper.go(f"/r/{post_id}")
    helper.page.locator("#offer_body").fill(message)
    guide = helper.page.get_by_label(GUIDE_BOX)
    if guide.count():  # their first offer in the category: the guide first
        guide.check()
    helper.press(helper.page.locator(f"form[action='/r/{post_id}/offer'] button[type=submit]"))
    assert "done=offered" in helper.page.url, helper.page.url


@pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("zbarimg")),
    reason="poppler-utils and zbar-tools read the window card back",
)
def test_from_the_window_card_to_thanks_on_a_phone(
    browser: Browser,
    reaching_node: NodeProcess,
    mailbox: SmtpTestServer,
    tmp_path: Path,
) -> None:
    node = reaching_node
    title = f"Zetel naar het containerpark {secrets.token_hex(2)}"
    name, username = "Mieke V.", fresh_username("mieke")
    address = f"mieke.{secrets.token_hex(3)}@jette.test"

    # 1. The window card: its QR code leads to the neighbourhood's page.
    hood_url = card_url(node, tmp_path)
    resident = phone(browser, node, "nl", username)
    resident.go(hood_url.removeprefix(node.base))
    expect(resident.page.locator("main h1")).to_be_visible()
    resident.shots("neighbourhood")

    # 2. Signing up, with an e-mail address, from the neighbourhood's page.
    page = resident.page
    resident.press(page.locator("nav.account a[href='/signup']"))
    resident.shots("signup")
    page.locator("#display_name").fill(name)
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    email_field = page.locator("#email")
    expect(email_field).to_be_visible()  # the node sends e-mail: the form asks for one
    email_field.fill(address)
    page.locator("#language").select_option("nl")
    page.locator("#home_neighbourhood").select_option(HOOD)
    resident.press(page.locator("form[action='/signup'] button[type=submit]"))
    assert logged_in_as(page) == username
    assert node.query(
        "SELECT email, email_confirmed_at FROM accounts WHERE username = ?", username
    ) == [(address, None)]

    # ... and confirming the address through the link in the e-mail.
    mail = wait_for_mail(mailbox, address)
    body = mail.get_body(("plain",))
    assert body is not None
    link = re.search(rf"{re.escape(node.base)}/email/confirm/\S+", body.get_content())
    assert link, body.get_content()
    resident.go(link.group(0).removeprefix(node.base))
    resident.shots("email-confirm")
    resident.press(page.locator("main form button[type=submit]"))
    [(confirmed,)] = node.query(
        "SELECT email_confirmed_at FROM accounts WHERE username = ?", username
    )
    assert confirmed is not None, "the address is still unconfirmed"

    # 3. Asking for help (one helper), with an exact address for the accepted helper.
    resident.go("/new?kind=request")
    resident.shots("compose")
    page.locator("input[name=category][value=transport]").check()
    page.locator("#language").select_option("nl")
    page.locator("#title").fill(title)
    page.locator("#description").fill("Mijn oude zetel moet weg. Ik heb een steekwagen.")
    page.locator("input[name=when][value=flexible]").check()
    page.locator("#helpers_needed").fill("1")
    page.locator("#neighbourhood").select_option(HOOD)
    page.locator("#area_hint").fill("bij het station van Jette")
    page.locator("#private_location").fill("Leopold I-straat 12")
    # A day typed while "Flexible" is still chosen: the form asks which was meant
    # (trap 2), keeping what was typed.
    day = (datetime.now(ZoneInfo("Europe/Brussels")) + timedelta(days=4)).date().isoformat()
    page.locator("#date").fill(day)
    page.locator("#starts_time").fill("14:00")
    page.locator("#ends_time").fill("10:00")
    resident.press(page.locator("button[name=action][value=preview]"), status=400)
    expect(page.locator("#date-error")).to_be_visible()
    expect(page.locator("#date")).to_have_value(day)
    screenshot(page, "reaching-compose-flexible-with-a-date-nl")
    # "On a date", with the end before the start: refused on the field (trap 3).
    page.locator("input[name=when][value=date]").check()
    resident.press(page.locator("button[name=action][value=preview]"), status=400)
    expect(page.locator("#ends_time-error")).to_be_visible()
    expect(page.locator("#ends_time")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "reaching-compose-end-before-start-nl")
    page.locator("#ends_time").fill("16:00")
    resident.press(page.locator("button[name=action][value=preview]"))
    expect(page.locator("section.preview")).to_be_visible()
    resident.press(page.locator(PUBLISH))
    if "done=published" not in page.url:  # a first Publish shows the services that may help
        resident.press(page.locator(PUBLISH))
    found = re.search(rf"/r/({UUID})\?done=published$", page.url)
    assert found, page.url
    post_id = found.group(1)
    assert post_status(node, post_id) == "open"
    expect(page.locator("article.post-page dl.facts")).to_contain_text("14:00 – 16:00")

    # 4. Two neighbours offer, each on a phone of their own.
    helpers = {}
    for helper_name, lang, message in (
        (ACCEPTED, "nl", "Ik heb een bestelwagen, zaterdag kan ik."),
        (NOT_TAKEN, "fr", "Je peux aider dimanche."),
    ):
        helper = phone(browser, node, lang, helper_name)
        log_in(helper.page, node.base, helper_name, DEMO_PASSWORD)
        offer_help(helper, post_id, message)
        helpers[helper_name] = helper
    accepted_id, status = offer_of(node, post_id, ACCEPTED)
    assert status == "offered" and offer_of(node, post_id, NOT_TAKEN)[1] == "offered"

    # 5. The author accepts one: the request is filled, the other offer is not needed.
    resident.go("/notifications")
    expect(page.locator("ul.notifications li", has_text=title)).to_have_count(2)
    expect(page.locator(".badge")).to_have_count(0)  # seen: the badge is gone (trap 1)
    resident.go(f"/r/{post_id}")
    expect(page.locator("article.response-offer")).to_have_count(2)
    resident.shots("request-offers")
    accept = page.locator(f"form[action='/r/{post_id}/responses/{accepted_id}/accept'] button")
    resident.press(accept)
    assert "done=accepted" in page.url
    assert post_status(node, post_id) == "matched"
    assert offer_of(node, post_id, ACCEPTED)[1] == "accepted"
    assert offer_of(node, post_id, NOT_TAKEN)[1] == "not_needed"
    assert notifications_of(node, NOT_TAKEN, post_id) == ["not_needed"]

    # ... and the neighbour not taken is told so, in French.
    other = helpers[NOT_TAKEN]
    other.go("/notifications")
    told = other.page.locator("ul.notifications li", has_text=title)
    expect(told).to_have_count(1)
    expect(told).to_have_attribute("class", "unread")
    other.shots("not-needed-notification")
    other.go(f"/r/{post_id}")
    expect(other.page.locator("#offer-not-needed")).to_be_visible()
    expect(other.page.locator("section.conversation-link")).to_have_count(0)

    # 6. Author and helper agree on a time in the private conversation.
    resident.go(f"/r/{post_id}")
    resident.press(page.locator("section.conversation-link a"))
    assert page.url.endswith(f"/r/{post_id}/conversation")
    page.locator("#message_body").fill(f"Zaterdag om 10 uur? Het plan: {PLAN} Bel aan bij 12.")
    resident.press(page.locator(f"form[action='/r/{post_id}/conversation'] button[type=submit]"))
    expect(page.locator("article.message")).to_have_count(1)
    # A link in a message is a link (trap 4), with the rel of what people write.
    link = page.locator(f"article.message a[href='{PLAN}']")
    expect(link).to_have_attribute("rel", "nofollow ugc noopener")

    jan = helpers[ACCEPTED]
    jan.go("/notifications")
    message_note = jan.page.locator("ul.notifications li", has_text=title).first
    jan.press(message_note.locator(f"a[href='/r/{post_id}/conversation']"))
    expect(jan.page.locator("article.message")).to_contain_text("Zaterdag om 10 uur")
    jan.page.locator("#message_body").fill("Prima, zaterdag om 10 uur ben ik er.")
    jan.press(jan.page.locator(f"form[action='/r/{post_id}/conversation'] button[type=submit]"))
    expect(jan.page.locator("article.message")).to_have_count(2)
    jan.shots("conversation")
    assert node.query(
        "SELECT a.username FROM conversation_messages m JOIN accounts a ON a.id = m.author_id"
        " WHERE m.post_id = ? ORDER BY m.created_at",
        post_id,
    ) == [(username,), (ACCEPTED,)]
    # The one not taken cannot read it: the page of an unknown request.
    other.go(f"/r/{post_id}/conversation", status=404)

    # 7. Done, and thanks to the helper.
    resident.go(f"/r/{post_id}")
    done = page.locator(f"form[action='/r/{post_id}/status']:has(input[value=done]) button")
    resident.press(done)
    assert post_status(node, post_id) == "done"
    page.locator("#thanks_body").fill("Dank je wel Jan, de zetel is weg!")
    resident.press(page.locator(f"form[action='/r/{post_id}/thanks'] button[type=submit]"))
    expect(page.locator("section.thanks")).to_contain_text("Dank je wel Jan")
    resident.shots("request-thanked")
    assert "thanked" in notifications_of(node, ACCEPTED, post_id)
    jan.go("/notifications")
    expect(jan.page.locator("ul.notifications li", has_text=title).first).to_be_visible()
    jan.shots("thanked-notification")

    # 8. The author has not read Jan's answer on the site: it reaches her by e-mail
    # (notifications are mailed every 30 seconds), with the one-click unsubscribe.
    answer = wait_for_mail(mailbox, address, f"/r/{post_id}/conversation", seconds=90)
    assert answer["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(answer["List-Unsubscribe"]).startswith(f"<{node.base}/")
    parts = [p.get_content() for p in answer.walk() if p.get_content_maintype() == "text"]
    assert parts and not any("Leopold I-straat" in part for part in parts)  # never the address
