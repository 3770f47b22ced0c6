"""Real-browser tests: Playwright drives Debian's chromium against a demo node process.

`make test` installs what they need: /usr/bin/chromium (apt, as root) and axe-core
(`npm ci --prefix tests/browser`). Without them the tests are skipped on a laptop, and
fail under CI=true. Screenshots go to test-artefacts/screenshots/ at the repository root.

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
    """A page every browser test visits: `name` names its screenshots, `path` is its URL."""

    name: str
    path: str
    status: int = 200


# The pages the browser tests visit, in every language and at every width: one line each.
PAGES = [
    MainPage("home", "/"),
    MainPage("neighbourhood", "/n/jette-centre"),
    MainPage("resident", "/@marleen"),
    MainPage("organisation", "/o/tussen-buren"),
    MainPage("not-found", "/n/no-such-neighbourhood", status=404),
]


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


@dataclass
class Visit:
    """A browser tab on the node, with every request and console error it produced."""

    page: Page
    base: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def goto(self, path: str, expected_status: int = 200) -> None:
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
    browser: Browser, node: NodeProcess, lang: str, width: int, *, bypass_csp: bool = False
) -> BrowserContext:
    """A fresh context that asks for `lang`; requests that leave the node are aborted."""
    context = browser.new_context(
        locale=lang,
        extra_http_headers={"Accept-Language": lang},
        viewport={"width": width, "height": HEIGHT},
        bypass_csp=bypass_csp,
    )
    context.route(lambda url: not url.startswith(node.base + "/"), lambda route: route.abort())
    return context


@pytest.fixture
def visit(browser: Browser, node: NodeProcess) -> Iterator[Any]:
    """Open a tab: `visit(lang, width)`, or `visit(lang, width, bypass_csp=True)` for axe.

    Only axe needs the page's Content-Security-Policy bypassed (it injects a script);
    every other check runs under the policy the node sends.
    """
    contexts: list[BrowserContext] = []

    def opener(lang: str, width: int, *, bypass_csp: bool = False) -> Visit:
        context = open_context(browser, node, lang, width, bypass_csp=bypass_csp)
        contexts.append(context)
        tab = Visit(context.new_page(), node.base)
        tab.page.on("request", lambda request: tab.requests.append(request.url))
        tab.page.on(
            "console",
            lambda message: (
                tab.console_errors.append(message.text) if message.type == "error" else None
            ),
        )
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
