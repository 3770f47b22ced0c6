"""A resident reports a post and a moderator hides it, in a browser, on a node from `init`.

Not the demo: a node made by `nabuur init` and served by `nabuur run`, set up as a
commune would (a neighbourhood from the command line, residents who sign up, the admin
giving one of them the moderator role). An independent server (the Fedify peer) follows
the author, so it holds the post. Then: a neighbour reports the post from its page; the
moderator finds the report in the queue, reads it in context and hides the post with a
reason; the author is told why in their notifications; a visitor gets 410 at the post's
address; the follower's server receives a verified `Delete` from the author; and the
audit log has every step.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import secrets
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import Visit, click_and_wait, log_in, open_context, screenshot
from tests.interop.fedify_peer import FedifyPeer
from tests.nodes import InitNodeProcess, write_post

pytestmark = pytest.mark.slow

ADMIN, ADMIN_PASSWORD = "gemeente", "Gemeente-Jette-2026"  # a throwaway node's admin
PASSWORD = "Buren-helpen-2026"
HOOD = "jette-centre"
SPAM_TITLE = "Goedkope zonnebrillen, nu 90% korting"
REASON = "Reclame: geen burenhulp (huisregel 2)"


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run one call of the (async) Fedify peer from this synchronous browser test."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def commune(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InitNodeProcess]:
    started = InitNodeProcess(
        tmp_path_factory.mktemp("browser-moderation"),
        "moderation",
        admin_username=ADMIN,
        admin_password=ADMIN_PASSWORD,
        NABUUR_SIGNUPS="open",
    )
    started.init()
    added = started.cli(
        "neighbourhood",
        "add",
        HOOD,
        "--name",
        "Jette Centrum",
        "--centre",
        "50.878,4.325",
        "--radius",
        "1500",
    )
    assert added.returncode == 0, added.stdout + added.stderr
    started.start()
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    try:
        yield opened
    finally:
        for context in opened:
            context.close()


def tab(browser: Browser, node: InitNodeProcess, opened: list[BrowserContext]) -> Visit:
    context = open_context(browser, node, "en", 1280)
    opened.append(context)
    return Visit(context.new_page(), node.base)


def sign_up(visit: Visit, username: str) -> None:
    visit.goto("/signup")
    page = visit.page
    page.locator("#display_name").fill(username.split("_")[0].title())
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#language").select_option("en")
    page.locator("#home_neighbourhood").select_option(HOOD)
    status = click_and_wait(page, page.locator("form[action='/signup'] button[type=submit]"))
    assert status == 200, f"signing up {username} failed: HTTP {status}"


def count(node: InitNodeProcess, sql: str, *params: Any) -> int:
    [(found,)] = node.query(sql, *params)
    return int(found)


def test_a_reported_post_is_hidden_and_deleted_everywhere(
    browser: Browser,
    commune: InitNodeProcess,
    peer: FedifyPeer,
    contexts: list[BrowserContext],
) -> None:
    node = commune
    suffix = secrets.token_hex(3)
    author, neighbour, moderator = f"greet_{suffix}", f"buur_{suffix}", f"mod_{suffix}"
    for name in (author, neighbour, moderator):
        sign_up(tab(browser, node, contexts), name)
    node.cli("role", moderator, "moderator")

    # The author's post, and a server elsewhere that follows the author and holds it.
    actor = node.url(f"/@{author}")
    assert run(peer.follow(actor))["delivered"] is True
    run(peer.wait_for("Accept", where=lambda a: a["actor"] == actor, seconds=20))
    post_id = write_post(node, SPAM_TITLE, username=author)
    post_url = node.url(f"/r/{post_id}")
    run(peer.wait_for("Create", where=lambda a: a["object"] == post_url, seconds=20))

    # --- 1. A neighbour reports the post from its page ---------------------------------
    resident = tab(browser, node, contexts)
    log_in(resident.page, node.base, neighbour, PASSWORD)
    resident.goto(f"/r/{post_id}")
    page: Page = resident.page
    assert click_and_wait(page, page.get_by_role("link", name="Report this post")) == 200
    page.get_by_label("Spam or advertising").check()
    page.locator("#comment").fill("Dit is reclame, geen vraag om hulp.")
    assert page.locator("input[name=forward]").count() == 0  # our own post: nothing to forward
    screenshot(page, "moderation-report-form-en")
    assert click_and_wait(page, page.get_by_role("button", name="Send the report")) == 200
    assert page.get_by_role("heading", name="Thank you for your report").is_visible()
    [(report_id, category, report_post)] = node.query(
        "SELECT id, category, post_id FROM reports WHERE reporter_account_id ="
        " (SELECT id FROM accounts WHERE username = ?)",
        neighbour,
    )
    assert (category, report_post.replace("-", "")) == ("spam", post_id.replace("-", ""))

    # --- 2. The moderator finds it in the queue and hides the post with a reason --------
    mod = tab(browser, node, contexts)
    log_in(mod.page, node.base, moderator, PASSWORD)
    mod.goto("/admin/")  # a moderator's dashboard is the queue
    page = mod.page
    assert page.url.endswith("/admin/moderation")
    link = page.locator(f"a[href='/admin/moderation/reports/{report_id}']")
    assert click_and_wait(page, link) == 200
    assert SPAM_TITLE in page.locator("main").inner_text()  # the content in context
    screenshot(page, "moderation-report-en")
    hide = page.locator("form.decision:has(input[name=action][value=hide_post])")
    hide.locator("textarea[name=reason]").fill(REASON)
    assert click_and_wait(page, hide.locator("button[type=submit]")) == 200
    assert page.get_by_role("status").is_visible()  # "The report is resolved ..."
    assert count(node, "SELECT count(*) FROM help_posts WHERE hidden_at IS NOT NULL") == 1
    [(resolution,)] = node.query("SELECT resolution FROM reports WHERE id = ?", report_id)
    assert resolution == "hidden"

    # --- 3. The author is told why ------------------------------------------------------
    writer = tab(browser, node, contexts)
    log_in(writer.page, node.base, author, PASSWORD)
    writer.goto("/notifications")
    told = writer.page.locator("ul.notifications").inner_text()
    assert "The moderators hid your post" in told and REASON in told
    screenshot(writer.page, "moderation-author-notified-en")

    # --- 4. A visitor gets 410 at the post's address ---------------------------------------
    visitor = tab(browser, node, contexts)
    response = visitor.page.goto(post_url, wait_until="load")
    assert response is not None and response.status == 410
    assert SPAM_TITLE not in visitor.page.content()
    screenshot(visitor.page, "moderation-post-gone-en")

    # --- 5. The server that held the post receives a verified Delete from the author ---
    delete = run(
        peer.wait_for(
            "Delete", where=lambda a: a["actor"] == actor and a["object"] == post_url, seconds=30
        )
    )
    assert delete["signature"]["verifiedBy"] == "http-signature"

    # --- 6. The audit log holds the report's decision --------------------------------------
    mod.goto("/admin/audit?q=" + SPAM_TITLE.split()[0])
    actions = {row for (row,) in node.query("SELECT action FROM audit_entries")}
    assert {"moderation.post_hidden"} <= actions, actions
    assert any(a.startswith("report.") for a in actions), actions
    screenshot(mod.page, "moderation-audit-en")
