"""Real-browser tests: Playwright drives Debian's chromium against a demo node process.

`make test` installs what they need: /usr/bin/chromium (apt, as root) and axe-core
(`npm ci --prefix tests/browser`). Without them the tests are skipped on a laptop, and
fail under CI=true. Screenshots go to test-artefacts/screenshots/ at the repository root.

A page of PAGES may need data of the running node (`{post}` in its path: a demo request
found in the node's database; `{org_post}`: one of the demo organisation's requests;
`{report}`: the demo's report) or a
logged-in demo user (`user`): each user logs in once through the form, and every later
tab of that user reuses the cookies (storage state).

Playwright's sync API marks its own event loop as the running loop of this thread for as
long as it is started, and pytest-asyncio cannot run async tests then. So Playwright lives
in a package-scoped fixture: it starts before the first test of tests/browser and stops
after the last one, before any async test of the other packages runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from node.demo import DEMO_PASSWORD
from tests.nodes import NodeProcess

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM = Path(os.environ.get("NABUUR_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SCREENSHOTS = ROOT / "test-artefacts" / "screenshots"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

LANGUAGES = ("nl", "fr", "en")
WIDTHS = (375, 1280)
HEIGHT = 800
NARROWEST = 320


@dataclass(frozen=True)
class MainPage:
    """A page every browser test visits: `name` names its screenshots, `path` is its URL.

    `path` may name places of the running node in braces (see `places`); `user` is the
    demo user the tab is logged in as (None: an anonymous visitor).
    """

    name: str
    path: str
    status: int = 200
    user: str | None = None


# The pages the browser tests visit, in every language and at every width: one line each.
PAGES = [
    MainPage("home", "/"),
    MainPage("neighbourhood", "/n/jette-centre"),
    MainPage("resident", "/@marleen"),
    MainPage("organisation", "/o/tussen-buren"),
    MainPage("request", "/r/{post}"),
    MainPage("request-staff", "/r/{post}", user="els"),
    MainPage("compose", "/new?kind=request", user="els"),
    MainPage("login", "/login"),
    MainPage("signup", "/signup"),
    MainPage("notifications", "/notifications", user="marleen"),
    MainPage("settings", "/settings", user="marleen"),
    MainPage("not-found", "/n/no-such-neighbourhood", status=404),
    MainPage("about", "/about"),
    # Node administration, as the demo's node admin.
    MainPage("admin-overview", "/admin/", user="admin"),
    MainPage("admin-neighbourhoods", "/admin/neighbourhoods", user="admin"),
    MainPage("admin-neighbourhood", "/admin/neighbourhoods/jette-centre", user="admin"),
    MainPage("admin-neighbourhood-new", "/admin/neighbourhoods/new", user="admin"),
    MainPage("admin-organisations", "/admin/organisations", user="admin"),
    MainPage("admin-organisation-new", "/admin/organisations/new", user="admin"),
    MainPage("admin-people", "/admin/people", user="admin"),
    MainPage("admin-person", "/admin/people/marleen", user="admin"),
    MainPage("admin-person-moderation", "/admin/people/marleen/moderation", user="admin"),
    MainPage("admin-audit", "/admin/audit", user="admin"),
    MainPage("admin-settings", "/admin/settings", user="admin"),
    MainPage("admin-invitations", "/admin/invitations", user="admin"),
    MainPage("admin-federation-policy", "/admin/federation", user="admin"),
    MainPage("admin-federation-network", "/admin/federation/network", user="admin"),
    MainPage("admin-federation-health", "/admin/federation/health", user="admin"),
    # An organisation's dashboard, as the demo's coordinator of Tussen Buren.
    MainPage("admin-dashboard", "/admin/o/tussen-buren", user="els"),
    MainPage("admin-staff", "/admin/o/tussen-buren/staff", user="els"),
    MainPage("admin-org-followers", "/admin/o/tussen-buren/followers", user="els"),
    MainPage("admin-profile", "/admin/o/tussen-buren/profile", user="els"),
    MainPage("admin-case", "/admin/o/tussen-buren/r/{org_post}", user="els"),
    MainPage("admin-org-report", "/admin/o/tussen-buren/reports/{report}", user="els"),
    # Reports: a resident's form, the moderation queue and one report (the demo's).
    MainPage("report", "/report?post={post}", user="marleen"),
    MainPage("admin-moderation", "/admin/moderation", user="admin"),
    MainPage("admin-moderation-report", "/admin/moderation/reports/{report}", user="admin"),
]

# `{post}`: the public open request of Jette Centre with the most answers (in the demo
# data, one that an organisation posted for a client, with an offer and a comment).
RICHEST_REQUEST = """
SELECT p.id FROM help_posts p JOIN neighbourhoods n ON n.id = p.neighbourhood_id
WHERE n.slug = 'jette-centre' AND p.kind = 'request' AND p.visibility = 'public'
  AND p.status = 'open'
ORDER BY (SELECT count(*) FROM responses r WHERE r.post_id = p.id) DESC,
  p.organisation_id IS NULL, p.created_at
LIMIT 1
"""

# `{org_post}`: the open request of the demo organisation Tussen Buren with the most
# answers (its case page at /admin/o/tussen-buren/r/{org_post}).
ORGANISATION_REQUEST = """
SELECT p.id FROM help_posts p JOIN organisations o ON o.id = p.organisation_id
WHERE o.slug = 'tussen-buren' AND p.kind = 'request' AND p.status = 'open'
ORDER BY (SELECT count(*) FROM responses r WHERE r.post_id = p.id) DESC, p.created_at
LIMIT 1
"""


def cases(widths: tuple[int, ...] = WIDTHS) -> list[Any]:
    """(page, language, width) for every main page, named like `home-fr-375`."""
    return [
        pytest.param(main, lang, width, id=f"{main.name}-{lang}-{width}")
        for main in PAGES
        for lang in LANGUAGES
        for width in widths
    ]


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message + " (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, started through Playwright's sync API."""
    if not CHROMIUM.exists():
        _unavailable(
            f"{CHROMIUM} is missing; `make test` as root installs it (or: apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="package")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """A demo node (`nabuur demo` on SQLite, with the demo users and posts)."""
    started = NodeProcess(tmp_path_factory.mktemp("browser-node"), "browser").start()
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="package")
def places(node: NodeProcess) -> dict[str, str]:
    """What the braces in PAGES paths stand for on the running demo node."""
    [(post,)] = node.query(RICHEST_REQUEST)
    [(org_post,)] = node.query(ORGANISATION_REQUEST)
    [(report,)] = node.query("SELECT id FROM reports ORDER BY id LIMIT 1")
    return {"post": str(post), "org_post": str(org_post), "report": str(report)}


@dataclass
class Visit:
    """A browser tab on the node, with every request and console error it produced."""

    page: Page
    base: str
    places: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def goto(self, path: str, expected_status: int = 200) -> None:
        path = path.format(**self.places)
        response = self.page.goto(self.base + path, wait_until="load")
        assert response is not None, f"no response for {path}"
        assert response.status == expected_status, f"{path}: HTTP {response.status}"

    def html_lang(self) -> str | None:
        return self.page.locator("html").get_attribute("lang")

    def foreign_requests(self) -> list[str]:
        """Requests that went anywhere but this node (third-party assets)."""
        return [url for url in self.requests if not url.startswith(self.base + "/")]

    def csp_violations(self) -> list[str]:
        return [text for text in self.console_errors if "Content Security Policy" in text]


def open_context(
    browser: Browser,
    node: NodeProcess,
    lang: str,
    width: int,
    *,
    bypass_csp: bool = False,
    storage_state: Any = None,
    also: tuple[NodeProcess, ...] = (),
) -> BrowserContext:
    """A fresh context that asks for `lang`; requests that leave the node are aborted.

    `also`: other nodes the context may reach (multi-node scenarios).
    """
    context = browser.new_context(
        locale=lang,
        extra_http_headers={"Accept-Language": lang},
        viewport={"width": width, "height": HEIGHT},
        bypass_csp=bypass_csp,
        storage_state=storage_state,
    )
    bases = tuple(n.base + "/" for n in (node, *also))
    context.route(lambda url: not url.startswith(bases), lambda route: route.abort())
    return context


def click_and_wait(page: Page, target: Any) -> int:
    """Click a locator that submits a form or follows a link; the HTTP status landed on."""
    with page.expect_navigation(wait_until="load") as navigation:
        target.click()
    response = navigation.value
    return response.status if response is not None else 0


def logged_in_as(page: Page) -> str | None:
    """The username whose account link the header shows; None for a visitor."""
    link = page.locator("header.site nav.account a[href^='/@']")
    if link.count() == 0:
        return None
    return (link.first.get_attribute("href") or "").removeprefix("/@")


def log_in(page: Page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the form at /login, as a person would."""
    page.goto(base + "/login", wait_until="load")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    status = click_and_wait(page, page.locator("form[action='/login'] button[type=submit]"))
    assert status == 200 and logged_in_as(page) == username, (
        f"logging in as {username} failed (HTTP {status}) on {page.url}"
    )


def switch_language(page: Page, lang: str) -> int:
    """Press the footer's button for `lang` (the language switch); the HTTP status after."""
    button = page.locator(f"footer form.languages button[name=language][value={lang}]")
    return click_and_wait(page, button)


@pytest.fixture(scope="package")
def storage_states() -> dict[str, Any]:
    """Cookies of each demo user's session, logged in once and reused by later tabs."""
    return {}


@pytest.fixture
def visit(
    browser: Browser, node: NodeProcess, places: dict[str, str], storage_states: dict[str, Any]
) -> Iterator[Any]:
    """Open a tab: `visit(lang, width)`, or `visit(lang, width, bypass_csp=True)` for axe.

    Only axe needs the page's Content-Security-Policy bypassed (it injects a script);
    every other check runs under the policy the node sends. `user="els"` opens the tab
    logged in as that demo user, with the pages in `lang`: an account's own language
    beats the browser's, so the tab sets it with the language switch when it differs.
    """
    contexts: list[BrowserContext] = []

    def session_of(user: str) -> Any:
        if user not in storage_states:
            context = open_context(browser, node, "en", 1280)
            try:
                page = context.new_page()
                log_in(page, node.base, user)
                storage_states[user] = context.storage_state()
            finally:
                context.close()
        return storage_states[user]

    def opener(
        lang: str, width: int, *, bypass_csp: bool = False, user: str | None = None
    ) -> Visit:
        state = session_of(user) if user else None
        context = open_context(
            browser, node, lang, width, bypass_csp=bypass_csp, storage_state=state
        )
        contexts.append(context)
        tab = Visit(context.new_page(), node.base, places)
        tab.page.on("request", lambda request: tab.requests.append(request.url))
        tab.page.on(
            "console",
            lambda message: (
                tab.console_errors.append(message.text) if message.type == "error" else None
            ),
        )
        if user:
            tab.goto("/")
            assert logged_in_as(tab.page) == user, f"the session of {user} has ended"
            if tab.html_lang() != lang:
                assert switch_language(tab.page, lang) == 200
                assert tab.html_lang() == lang, f"{user}'s pages stay in {tab.html_lang()}"
        return tab

    yield opener
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG as test-artefacts/screenshots/{name}.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page (needs a bypass_csp context)."""
    if not AXE_JS.exists():
        _unavailable(f"{AXE_JS} is missing; run `make test` (npm ci --prefix tests/browser)")
    page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(
        "async (tags) => (await axe.run(document,"
        " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})).violations",
        AXE_TAGS,
    )


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One block per violation: rule id, impact, help, and the elements it found."""
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        for node in violation["nodes"][:10]:
            target = json.dumps(node["target"])
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {target} {node['html'][:160]!r}")
            if summary:
                lines.append(f"      {summary[:300]}")
        if len(violation["nodes"]) > 10:
            lines.append(f"    ... and {len(violation['nodes']) - 10} more elements")
    return "\n".join(lines)
