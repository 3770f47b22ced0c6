"""What residents do, end to end, in a real browser on a demo node.

Each scenario clicks through the pages as people would (sign up, compose with a preview,
offer help, accept, mark as done; post for a client; switch the language; follow from
another server) and checks the node's database as well as the pages, so that a page
that only says it worked is not enough.
"""

from __future__ import annotations

import functools
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, Page, expect

from node.i18n import LOCALES_DIR, translations
from tests.browser.conftest import (
    Visit,
    click_and_wait,
    log_in,
    logged_in_as,
    open_context,
    switch_language,
)
from tests.nodes import NodeProcess

pytestmark = pytest.mark.slow

PASSWORD = "Buren-helpen-2026"  # a throwaway account on a throwaway node
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ORGANISATION = ("tussen-buren", "Tussen Buren / Entre Voisins")
# The compose form's own Publish button (the services hint above it may have another).
PUBLISH = "form.compose button[name=action][value=publish]"


def fresh_username(prefix: str) -> str:
    """A username no earlier run or test has taken (2 to 30 of a-z, 0-9, _)."""
    return f"{prefix}_{secrets.token_hex(4)}"


def sign_up(tab: Visit, display_name: str, username: str, language: str) -> None:
    """Create an account through /signup (which logs it in), living in Jette Centre."""
    tab.goto("/signup")
    page = tab.page
    page.locator("#display_name").fill(display_name)
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#language").select_option(language)
    page.locator("#home_neighbourhood").select_option("jette-centre")
    status = click_and_wait(page, page.locator("form[action='/signup'] button[type=submit]"))
    errors = page.locator("p.error").all_inner_texts()
    assert status == 200 and logged_in_as(page) == username, f"sign-up failed: {errors}"


def fill_request(page: Page, *, title: str, description: str, language: str) -> None:
    """Fill the compose form (/new?kind=request) for a one-helper transport request."""
    expect(page.locator("input[name=kind][value=request]")).to_be_checked()
    page.locator("input[name=category][value=transport]").check()
    page.locator("#language").select_option(language)
    page.locator("#title").fill(title)
    page.locator("#description").fill(description)
    page.locator("input[name=when][value=flexible]").check()
    page.locator("#helpers_needed").fill("1")
    page.locator("#neighbourhood").select_option("jette-centre")
    page.locator("#area_hint").fill("près de la gare de Jette")
    page.locator("input[name=visibility][value=public]").check()


def publish(page: Page) -> str:
    """Press Publish; the new post's id, from the request page it leads to."""
    status = click_and_wait(page, page.locator(PUBLISH))
    errors = page.locator("p.error, #form-errors").all_inner_texts()
    assert status == 200, f"publishing failed (HTTP {status}): {errors}"
    found = re.search(rf"/r/({UUID})\?done=published$", page.url)
    assert found, f"publishing led to {page.url}, not to the new request's page"
    return found.group(1)


def post_row(node: NodeProcess, post_id: str) -> dict[str, Any]:
    columns = (
        "kind",
        "category",
        "language",
        "title",
        "helpers_needed",
        "status",
        "visibility",
        "private_location",
        "on_behalf_label",
        "client_consent_at",
    )
    [row] = node.query(
        "SELECT p."
        + ", p.".join(columns)
        + ", a.username, o.slug FROM help_posts p JOIN accounts a ON a.id = p.author_id"
        " LEFT JOIN organisations o ON o.id = p.organisation_id WHERE p.id = ?",
        post_id,
    )
    return dict(zip((*columns, "author", "organisation"), row, strict=True))


def posts_titled(node: NodeProcess, title: str) -> int:
    [(count,)] = node.query("SELECT count(*) FROM help_posts WHERE title = ?", title)
    return int(count)


# --- 1. a request from sign-up to done ----------------------------------------------------


def test_a_request_from_sign_up_to_done(visit: Any, node: NodeProcess) -> None:
    title = "Transport d'un frigo au parc à conteneurs"
    address = "Rue Léopold Ier 12, boîte 3"
    author_name, author = "Amélie R.", fresh_username("amelie")
    helper_name, helper = "Henk V.", fresh_username("henk")

    # A resident signs up with French as the language of the pages.
    mine = visit("en", 1280)
    sign_up(mine, author_name, author, "fr")
    assert mine.html_lang() == "fr", "the account's language (French) is not the pages'"
    [(languages,)] = node.query("SELECT languages_csv FROM accounts WHERE username = ?", author)
    assert languages.split(",")[0] == "fr"

    # ... writes a request in French, previews it (nothing saved yet), publishes it.
    mine.goto("/new?kind=request")
    page = mine.page
    fill_request(
        page,
        title=title,
        description="Mon vieux frigo doit partir.\n\nJ'ai un diable, il faut une voiture.",
        language="fr",
    )
    page.locator("#private_location").fill(address)
    assert click_and_wait(page, page.locator("button[name=action][value=preview]")) == 200
    preview = page.locator("section.preview")
    expect(preview).to_be_visible()
    expect(preview.locator("h3")).to_have_text(title)
    expect(preview.locator("h3")).to_have_attribute("lang", "fr")
    expect(page.locator("#title")).to_have_value(title)  # the form is kept for Publish
    assert posts_titled(node, title) == 0, "the preview saved the post"

    post_id = publish(page)
    expect(page.locator("p.notice[role=status]")).to_be_visible()
    expect(page.locator("article.post-page h1")).to_have_text(title)
    expect(page.locator("article.post-page")).to_have_attribute("lang", "fr")
    assert post_row(node, post_id) == {
        "kind": "request",
        "category": "transport",
        "language": "fr",
        "title": title,
        "helpers_needed": 1,
        "status": "open",
        "visibility": "public",
        "private_location": address,
        "on_behalf_label": None,
        "client_consent_at": None,
        "author": author,
        "organisation": None,
    }
    assert posts_titled(node, title) == 1

    # A second resident, in a browser of their own, offers to help.
    theirs = visit("en", 1280)
    sign_up(theirs, helper_name, helper, "en")
    theirs.goto(f"/r/{post_id}")
    expect(theirs.page.locator("article.post-page h1")).to_have_text(title)
    assert address not in theirs.page.content(), "a helper not accepted sees the address"
    message = "Je peux passer samedi matin avec ma camionnette."
    theirs.page.locator("#offer_body").fill(message)
    # Their first offer in the category: they confirm its guide first.
    theirs.page.get_by_label(re.compile(r"I have read the guide")).check()
    offer_button = theirs.page.get_by_role("button", name="I can help")
    assert click_and_wait(theirs.page, offer_button) == 200
    assert "done=offered" in theirs.page.url
    offers = node.query(
        "SELECT r.id, r.kind, r.offer_status, r.body FROM responses r"
        " JOIN accounts a ON a.id = r.author_id WHERE r.post_id = ? AND a.username = ?",
        post_id,
        helper,
    )
    assert [row[1:] for row in offers] == [("offer", "offered", message)]
    offer_id = offers[0][0]

    # The author sees the offer on the post and a notification.
    mine.goto(f"/r/{post_id}")
    offer = page.locator("article.response-offer", has_text=helper_name)
    expect(offer).to_contain_text(message)
    expect(offer.locator(".tag.offer-offered")).to_be_visible()
    mine.goto("/notifications")
    note = page.locator("ul.notifications li.unread", has_text=helper_name)
    expect(note).to_contain_text(title)
    expect(note.locator(f"a[href='/r/{post_id}']")).to_be_visible()
    assert node.query(
        "SELECT n.kind FROM notifications n JOIN accounts a ON a.id = n.recipient_id"
        " WHERE a.username = ? AND n.post_id = ? AND n.response_id = ?",
        author,
        post_id,
        offer_id,
    ) == [("response",)]

    # ... accepts the helper: one helper was needed, so the post is matched.
    mine.goto(f"/r/{post_id}")
    accept = page.locator(f"form[action='/r/{post_id}/responses/{offer_id}/accept'] button")
    assert click_and_wait(page, accept) == 200
    assert "done=accepted" in page.url
    status = page.locator("article.post-page .meta .status")
    expect(status).to_have_class(re.compile(r"\bstatus-matched\b"))
    expect(status).to_have_text(translations("fr").gettext("Helpers found"))
    expect(page.locator("article.response-offer .tag.offer-accepted")).to_be_visible()
    assert post_row(node, post_id)["status"] == "matched"
    assert node.query("SELECT offer_status FROM responses WHERE id = ?", offer_id) == [
        ("accepted",)
    ]

    # The accepted helper is told, and now sees the exact address.
    theirs.goto(f"/r/{post_id}")
    expect(theirs.page.locator("dl.facts")).to_contain_text(address)
    theirs.goto("/notifications")
    expect(theirs.page.locator("ul.notifications li", has_text=title)).to_contain_text(author_name)

    # ... and the author marks it as done.
    mine.goto(f"/r/{post_id}")
    done = page.locator(f"form[action='/r/{post_id}/status']:has(input[value=done]) button")
    assert click_and_wait(page, done) == 200
    expect(status).to_have_class(re.compile(r"\bstatus-done\b"))
    expect(status).to_have_text(translations("fr").gettext("Done"))
    assert post_row(node, post_id)["status"] == "done"
    # A done request takes no more offers.
    theirs.goto(f"/r/{post_id}")
    expect(theirs.page.locator("#offer_body")).to_have_count(0)


# --- 2. staff post on behalf of a client --------------------------------------------------


def test_staff_posts_for_a_client_only_with_consent(visit: Any, node: NodeProcess) -> None:
    title = "Accompagner une voisine au guichet de la commune"
    label = "une voisine de 82 ans qui ne lit pas le néerlandais"
    address = "Avenue de Jette 301, 2e étage, sonner chez Dubois"
    slug, name = ORGANISATION

    staff = visit("fr", 1280)
    log_in(staff.page, node.base, "els")
    staff.goto("/new?kind=request")
    page = staff.page
    fill_request(
        page,
        title=title,
        description="Aller ensemble au guichet population, mardi de préférence.",
        language="fr",
    )
    page.locator("#private_location").fill(address)
    page.locator("#organisation").select_option(slug)
    page.locator("#on_behalf_label").fill(label)
    consent = page.locator("input[type=checkbox][name=client_consent]")
    expect(consent).not_to_be_checked()

    # A first Publish shows the services that may help (the commune takes bulky waste)
    # with the preview, and publishes nothing yet.
    assert click_and_wait(page, page.locator(PUBLISH)) == 200
    expect(page.locator("section.services-hint")).to_be_visible()
    assert posts_titled(node, title) == 0

    # Without the client's consent: the error next to the checkbox, and nothing saved.
    assert click_and_wait(page, page.locator(PUBLISH)) == 400
    error = page.locator("#client_consent-error")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    field = page.locator(".field.checkbox", has=page.locator("#client_consent-error"))
    expect(field.locator("input[name=client_consent]")).to_have_attribute("aria-invalid", "true")
    expect(field.locator("input[name=client_consent]")).to_have_attribute(
        "aria-describedby", "client_consent-error"
    )
    expect(page.locator("#form-errors")).to_be_visible()
    assert posts_titled(node, title) == 0, "the post was saved without the client's consent"
    # What was typed is still there.
    expect(page.locator("#organisation")).to_have_value(slug)
    expect(page.locator("#on_behalf_label")).to_have_value(label)
    expect(page.locator("#title")).to_have_value(title)
    expect(page.locator("#private_location")).to_have_value(address)

    # With it: published, for the organisation and the client.
    consent.check()
    post_id = publish(page)
    row = post_row(node, post_id)
    assert (row["author"], row["organisation"], row["on_behalf_label"]) == ("els", slug, label)
    assert row["client_consent_at"] is not None
    assert row["private_location"] == address
    facts = page.locator("article.post-page dl.facts")
    expect(facts.locator(f"a[href='/o/{slug}']")).to_have_text(name)
    expect(facts.locator(".behalf")).to_contain_text(label)
    expect(facts).to_contain_text(address)  # the staff member sees the exact address

    # A visitor sees the organisation and the client's label, never the address.
    anonymous = visit("fr", 1280)
    anonymous.goto(f"/r/{post_id}")
    facts = anonymous.page.locator("article.post-page dl.facts")
    expect(facts.locator(f"a[href='/o/{slug}']")).to_have_text(name)
    expect(facts.locator(".behalf")).to_contain_text(label)
    assert address not in anonymous.page.content(), "the exact address is shown to visitors"
    assert "Dubois" not in anonymous.page.content()

    # The staff member withdraws it again (and the screenshots of the lists stay as seeded).
    staff.goto(f"/r/{post_id}")
    withdraw = page.locator(
        f"form[action='/r/{post_id}/status']:has(input[value=withdrawn]) button"
    )
    assert click_and_wait(page, withdraw) == 200
    assert post_row(node, post_id)["status"] == "withdrawn"


# --- 3. the language switch -----------------------------------------------------------------

# Every text node the visitor can see (and the chosen option of each list), whitespace
# collapsed; text hidden by CSS, in a closed <details> or only for screen readers is not.
VISIBLE_TEXTS = """() => {
  const shown = (el) => {
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) return false;
    for (let a = el; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      const box = a.getBoundingClientRect();
      if (style.position === "absolute" && (box.width <= 1 || box.height <= 1)) return false;
      if (style.clip && style.clip !== "auto") return false;
    }
    return true;
  };
  const clean = (text) => text.replace(/\\s+/g, " ").trim();
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!clean(node.data) || !parent || parent.closest("option, script, style")) continue;
    if (shown(parent)) texts.push(clean(node.data));
  }
  for (const select of document.querySelectorAll("select")) {
    if (shown(select) && select.selectedOptions.length) {
      texts.push(clean(select.selectedOptions[0].text));
    }
  }
  for (const field of document.querySelectorAll("[placeholder]")) {
    if (shown(field)) texts.push(clean(field.placeholder));
  }
  return texts;
}"""

PLACEHOLDER = re.compile(r"(%\(\w+\)d|%d)|%\(\w+\)s|%s")
EDGE = " :.,;()·…"  # punctuation around a message in a text node: "(optional)", "Language:"


def normalise(text: str) -> str:
    return " ".join(text.split()).strip(EDGE)


def text_pattern(text: str) -> re.Pattern[str] | None:
    """A message as a pattern for a whole text node; None if it is (nearly) all placeholders."""
    text = normalise(text)
    literal = PLACEHOLDER.sub("", text)
    letters = sum(char.isalpha() for char in literal)
    if letters < (3 if literal != text else 1):  # "%(label)s: %(title)s" matches anything
        return None
    # "%(person)s for %(organisation)s" matches any text with " for " in it.
    enclosed = PLACEHOLDER.match(text) and re.search(r"(?:%\(\w+\)[sd]|%[sd])$", text)
    if enclosed and letters < 8:
        return None
    pattern, end = "", 0
    for match in PLACEHOLDER.finditer(text):
        pattern += re.escape(text[end : match.start()])
        pattern += r"[\d\s.,]+" if match.group(1) else ".+?"
        end = match.end()
    return re.compile(pattern + re.escape(text[end:]))


@dataclass(frozen=True)
class Message:
    """A catalogue message: its English and translated texts, as patterns."""

    msgid: str
    translation: str
    english: tuple[re.Pattern[str], ...]
    translated: tuple[re.Pattern[str], ...]
    untranslated: bool  # the catalogue has no usable translation: English is shown
    same: bool  # translated to the very same words (Transport, Notifications)

    def in_english(self, texts: list[str]) -> bool:
        return any(p.fullmatch(t) for p in self.english for t in texts)

    def in_translation(self, texts: list[str]) -> bool:
        return any(p.fullmatch(t) for p in self.translated for t in texts)


@functools.cache
def catalogue(lang: str) -> tuple[Message, ...]:
    """The messages of node/locales/{lang}, translated as the app does (node.i18n)."""
    compiled = translations(lang)
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        po = read_po(fh, locale=lang)
    messages = []
    for entry in po:
        if not entry.id:
            continue
        if isinstance(entry.id, str):
            english = [entry.id]
            shown = [compiled.gettext(entry.id)]
        else:
            singular, plural = entry.id[:2]
            english = [singular, plural]
            shown = sorted({compiled.ngettext(singular, plural, n) for n in (0, 1, 2, 5)})
        written = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        usable = all(written) and not entry.fuzzy  # else the app shows the English text
        english_patterns = tuple(p for p in map(text_pattern, english) if p is not None)
        if not english_patterns:
            continue
        messages.append(
            Message(
                msgid=english[0],
                translation=shown[0],
                english=english_patterns,
                translated=tuple(p for p in map(text_pattern, shown) if p is not None),
                untranslated=not usable,
                same=usable and set(shown) <= set(english),
            )
        )
    return tuple(messages)


def unchanged_messages(english_texts: list[str], texts: list[str], lang: str) -> list[str]:
    """The catalogue's messages seen on the English page that did not change to `lang`."""
    english_texts = [normalise(t) for t in english_texts]
    texts = [normalise(t) for t in texts]
    messages = catalogue(lang)
    # Text of the translated page that is some message's translation: not left-over
    # English, even when it reads like another English message.
    translated = {t for t in texts if any(m.in_translation([t]) for m in messages)}
    problems = []
    for message in messages:
        if message.same or not message.in_english(english_texts):
            continue
        if message.untranslated:
            problems.append(f"{message.msgid!r}: no {lang} translation in the catalogue")
            continue
        if not message.in_translation(texts):
            problems.append(
                f"{message.msgid!r}: its {lang} text {message.translation!r} is missing"
            )
        left = sorted({t for t in texts if t not in translated and message.in_english([t])})
        if left:
            problems.append(f"{message.msgid!r}: still in English on the {lang} page: {left}")
    return problems


@dataclass(frozen=True)
class SwitchPage:
    name: str
    path: str
    logged_in: bool = False


SWITCH_PAGES = [
    SwitchPage("home", "/"),
    SwitchPage("neighbourhood", "/n/jette-centre"),
    SwitchPage("request", "/r/{post}"),
    SwitchPage("login", "/login"),
    SwitchPage("compose", "/new?kind=request", logged_in=True),
]
NEXT_PAGE = "/n/dieleghem"  # where the remembered choice is checked


@pytest.mark.parametrize("where", [pytest.param(p, id=p.name) for p in SWITCH_PAGES])
def test_the_language_switch_changes_every_visible_string(visit: Any, where: SwitchPage) -> None:
    tab = visit("en", 1280)
    if where.logged_in:
        sign_up(tab, "Lee", fresh_username("lee"), "en")
    tab.goto(where.path)
    assert tab.html_lang() == "en"
    english = tab.page.evaluate(VISIBLE_TEXTS)
    assert any(m.in_english(english) for m in catalogue("fr")), "no interface text found"

    problems = []
    for lang in ("fr", "nl"):
        tab.goto(where.path)
        assert switch_language(tab.page, lang) == 200
        assert tab.html_lang() == lang, f"<html lang> is {tab.html_lang()} after the switch"
        back_to = where.path.format(**tab.places).partition("?")[0]
        assert urlsplit(tab.page.url).path == back_to, f"the switch led to {tab.page.url}"
        texts = tab.page.evaluate(VISIBLE_TEXTS)
        problems += [f"[{lang}] {p}" for p in unchanged_messages(english, texts, lang)]
        tab.goto(NEXT_PAGE)
        assert tab.html_lang() == lang, f"the switch to {lang} was not remembered on {NEXT_PAGE}"
    assert not problems, (
        f"{where.path}: interface strings that did not change with the language switch:\n"
        + "\n".join(problems)
    )


# --- 4. remote follow from another node ---------------------------------------------------


@pytest.fixture(scope="module")
def other_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """A second demo node: the visitor's own server."""
    started = NodeProcess(tmp_path_factory.mktemp("browser-node-b"), "b").start()
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def test_remote_follow_lands_on_the_visitors_server_and_follows(
    browser: Browser, node: NodeProcess, other_node: NodeProcess
) -> None:
    a, b = node, other_node
    group = a.url("/n/jette-centre")
    context = open_context(browser, a, "en", 1280, also=(b,))
    try:
        page = context.new_page()
        # Logged in on their own server first (both nodes are 127.0.0.1: the cookies
        # are shared, so A's forms are loaded after B's log-in renewed the CSRF seed).
        log_in(page, b.base, "marleen")
        page.goto(a.url("/n/jette-centre"), wait_until="load")
        box = page.locator("details.remote-follow")
        box.locator("summary").click()
        box.locator("#remote-handle").fill(f"@marleen@127.0.0.1:{b.port}")
        with page.expect_response(lambda r: r.url == a.url("/remote-follow")) as sent:
            click_and_wait(page, box.locator("button[type=submit]"))
        assert sent.value.status == 303, f"the form answered HTTP {sent.value.status}"

        landed = urlsplit(page.url)
        assert (landed.scheme, landed.netloc, landed.path) == (
            "http",
            f"127.0.0.1:{b.port}",
            "/authorize_interaction",
        ), f"the visitor landed on {page.url}"
        assert parse_qs(landed.query) == {"uri": [group]}

        # B shows A's neighbourhood with a Follow button.
        expect(page.locator(".actor-card .handle")).to_have_text(
            f"@jette-centre@127.0.0.1:{a.port}"
        )
        follow = page.locator("form[action='/authorize_interaction'] button[type=submit]")
        expect(follow).to_be_visible()
        assert click_and_wait(page, follow) == 200
        expect(page.locator("p.notice[role=status]")).to_be_visible()
    finally:
        context.close()

    # A records the follow of its neighbourhood by B's resident; B hears it was accepted.
    follower = b.url("/@marleen")
    on_a = eventually(
        lambda: a.query(
            "SELECT f.status FROM follows f"
            " JOIN remote_actors r ON r.id = f.follower_remote_id"
            " JOIN neighbourhoods n ON n.id = f.neighbourhood_id"
            " WHERE n.slug = 'jette-centre' AND f.target_kind = 'neighbourhood' AND r.uri = ?",
            follower,
        ),
        f"{a.base} has no follow of Jette Centre by {follower}",
    )
    assert on_a == [("accepted",)], f"the follow on {a.base} is {on_a}"
    eventually(
        lambda: b.query(
            "SELECT o.status FROM outgoing_follows o JOIN remote_actors r ON r.id = o.target_id"
            " JOIN accounts a ON a.id = o.local_key"
            " WHERE o.local_kind = 'account' AND a.username = 'marleen' AND r.uri = ?"
            " AND o.status = 'accepted'",
            group,
        ),
        f"{b.base} never heard that {a.base} accepted the follow",
    )


def eventually(check: Any, failure: str, seconds: float = 20) -> Any:
    """Poll `check` until it returns something truthy; fail with `failure` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (result := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"after {seconds:.0f} s, {failure}", pytrace=False)
        time.sleep(0.25)
    return result
