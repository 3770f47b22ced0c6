"""Who sees a post of each visibility level, in a browser, on a node from `init`.

A resident of one neighbourhood publishes four posts through the compose form, one per
level of "Who can see it?", the followers-only one for the organisation they coordinate
(organisations approve each follower by default). Then every surface is opened by each
kind of reader: the author, a neighbour living in the same neighbourhood, a resident of
another one, an anonymous visitor, and a stranger's server (the Fedify peer, which
follows the author, the neighbourhood and the organisation). Pages, listings, feeds,
ActivityPub GETs signed and unsigned, outboxes, what the peer was sent and notifications
must show each post exactly to the people its level names. A follower of the
organisation, here or elsewhere, sees its followers-only post once a coordinator
approved them on the dashboard, and not before.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import (
    SCREENSHOTS,
    Visit,
    axe_violations,
    click_and_wait,
    describe_violations,
    open_context,
    screenshot,
)
from tests.browser.test_moderation_scenario import PASSWORD, run
from tests.interop.fedify_peer import FedifyPeer
from tests.nodes import InitNodeProcess

pytestmark = pytest.mark.slow

HOOD, FAR_HOOD, ORG = "jette-centre", "koekelberg", "buurthuis"
SETUP = (
    f"neighbourhood add {HOOD} --name Jette --centre 50.878,4.325 --radius 1000",
    f"neighbourhood add {FAR_HOOD} --name Koekelberg --centre 50.862,4.326 --radius 600",
    f"organisation add {ORG} --name Buurthuis",
)
# level -> (the radio's label on the compose form, the post's title). Public goes last:
# once the peer has it, the posts published before it went wherever they were sent.
LEVELS = {
    "neighbours": ("Neighbours on this node", "Spare ladder for our street"),
    "followers": ("Only followers", "Food parcel pick-up for a client"),
    "members": ("Only people with an account on this node", "Tool library opens on Saturday"),
    "public": ("Everyone, also on other servers", "Hedge trimming on Sunday"),
}
TITLES = {level: title for level, (_, title) in LEVELS.items()}
SEEN_BY = {
    "neighbours": "Seen by neighbours on this node",
    "followers": "Seen by followers",
    "members": "Seen by people with an account on this node",
}
DETAILS = "details for whoever may read them"
ALL = frozenset(LEVELS)


@dataclass
class Scene:
    """The node, the peer, the people and the posts of the scenario."""

    node: InitNodeProcess
    peer: FedifyPeer
    author: str
    posts: dict[str, str] = field(default_factory=dict)  # level -> post id

    def post_url(self, level: str) -> str:
        return self.node.url(f"/r/{self.posts[level]}")


@pytest.fixture(scope="module")
def commune(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InitNodeProcess]:
    started = InitNodeProcess(
        tmp_path_factory.mktemp("browser-visibility"), "visibility", NABUUR_SIGNUPS="open"
    )
    started.init()
    for command in SETUP:
        done = started.cli(*command.split())
        assert done.returncode == 0, done.stdout + done.stderr
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


def tab(browser: Browser, node: InitNodeProcess, opened: list[BrowserContext], **kw) -> Visit:
    context = open_context(browser, node, "en", 1280, **kw)
    opened.append(context)
    return Visit(context.new_page(), node.base)


def sign_up(visit: Visit, username: str, hood: str) -> None:
    visit.goto("/signup")
    page = visit.page
    page.locator("#display_name").fill(username.split("_")[0].title())
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#language").select_option("en")
    page.locator("#home_neighbourhood").select_option(hood)
    status = click_and_wait(page, page.locator("form[action='/signup'] button[type=submit]"))
    assert status == 200, f"signing up {username} failed: HTTP {status}"


def publish(page: Page, base: str, level: str, day: date) -> str:
    """Write a dated request on the compose form and choose who sees it by the label, as
    a person does; the followers-only one for the organisation. Answers the post's id."""
    label, title = LEVELS[level]
    page.goto(base + "/new?kind=request", wait_until="load")
    page.locator("input[name=category]").first.check()
    page.get_by_label("Title", exact=True).fill(title)
    page.locator("#description").fill(f"{title}: {DETAILS}.")
    page.get_by_label("On a date", exact=True).check()
    page.locator("#date").fill(day.isoformat())
    page.locator("#starts_time").fill("10:00")
    page.locator("#neighbourhood").select_option(HOOD)
    who = page.get_by_role("group", name="Who can see it?")
    who.get_by_label(label, exact=True).check()
    if level == "followers":
        page.get_by_label("Post as").select_option(ORG)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        who.screenshot(path=str(SCREENSHOTS / "visibility-compose-who-can-see-en.png"))
    status = click_and_wait(page, page.get_by_role("button", name="Publish", exact=True))
    problems = page.locator(".error").all_inner_texts()
    assert status == 200, f"publishing the {level} post: HTTP {status} {problems}"
    assert "/r/" in page.url, f"publishing the {level} post failed on {page.url}"
    seen_by = page.locator("article .seen-by")
    assert seen_by.count() == 0 if level == "public" else seen_by.inner_text() == SEEN_BY[level]
    return page.url.split("/r/")[1].split("?")[0]


def opens(visit: Visit, post_id: str, title: str) -> bool:
    """Whether the post's page opens for this reader; a refusal is a plain 404 page."""
    response = visit.page.goto(f"{visit.base}/r/{post_id}", wait_until="load")
    assert response is not None
    if response.status == 200:
        assert visit.page.locator("h1").inner_text() == title
        return True
    assert response.status == 404, f"/r/{post_id}: HTTP {response.status}"
    assert visit.page.locator("h1").inner_text() == "Page not found"  # as if it never was
    html = visit.page.content()
    assert title not in html and DETAILS not in html, f"the 404 page of {post_id} leaks it"
    return False


def shown(text: str) -> set[str]:
    """The levels of the posts whose title is in `text`."""
    return {level for level, title in TITLES.items() if title in text}


def on_page(visit: Visit, path: str) -> set[str]:
    visit.goto(path)
    return shown(visit.page.locator("main").inner_text())


def in_feed(visit: Visit, path: str) -> set[str]:
    response = visit.page.context.request.get(visit.base + path)
    assert response.status == 200, f"{path}: HTTP {response.status}"
    return shown(response.text())


def check_readers(scene: Scene, readers: dict[str, Visit], sees: dict[str, set[str]]) -> None:
    """Every page, listing and feed shows each reader exactly the posts `sees` names."""
    for name, visit in readers.items():
        expected = sees[name]
        opened = {level for level, pid in scene.posts.items() if opens(visit, pid, TITLES[level])}
        assert opened == expected, f"{name} opens {sorted(opened)}"
        assert on_page(visit, f"/n/{HOOD}") == expected, f"{name}: the neighbourhood page"
        # The organisation's post is listed on its page, not on its author's.
        assert on_page(visit, f"/@{scene.author}") == expected - {"followers"}, name
        assert on_page(visit, f"/o/{ORG}") == expected & {"followers"}, name
        assert on_page(visit, "/") == {"public"}, f"{name}: the home page"
        for feed in ("feed.rss", "feed.atom", "calendar.ics"):
            assert in_feed(visit, f"/n/{HOOD}/{feed}") == {"public"}, f"{name}: {feed}"


def fetch(scene: Scene, url: str, *, signed: bool) -> int:
    answer = run(scene.peer.fetch(url, signed=signed))
    if answer["status"] == 200:
        assert answer["document"]["id"] == url
    return answer["status"]


def check_server(scene: Scene, *, follower: bool) -> None:
    """A stranger's server fetches each Note signed and unsigned; the followers-only one
    opens to a signed GET once the organisation approved the server's user."""
    for level in scene.posts:
        url = scene.post_url(level)
        to_signed = 200 if level == "public" or (follower and level == "followers") else 404
        assert fetch(scene, url, signed=True) == to_signed, f"signed GET of the {level} post"
        to_anyone = 200 if level == "public" else 404
        assert fetch(scene, url, signed=False) == to_anyone, f"unsigned GET of the {level} post"
    for actor in (f"/@{scene.author}", f"/n/{HOOD}", f"/o/{ORG}", "/actor"):
        for signed in (False, True):
            answer = run(scene.peer.fetch(scene.node.url(f"{actor}/outbox?page=1"), signed=signed))
            assert answer["status"] == 200, f"{actor}/outbox: {answer}"
            listed = json.dumps(answer["document"])
            others = [lvl for lvl in scene.posts if lvl != "public" and scene.posts[lvl] in listed]
            assert others == [], f"{actor}/outbox lists the {others} post(s)"
            if actor in (f"/@{scene.author}", f"/n/{HOOD}"):
                assert scene.posts["public"] in listed, f"{actor}/outbox misses the public post"


def wait_until_sent(node: InitNodeProcess, seconds: float = 30) -> None:
    """Until every event, received activity and delivery was handled (or given up)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        [(waiting,)] = node.query(
            "SELECT (SELECT count(*) FROM events WHERE handled_at IS NULL)"
            " + (SELECT count(*) FROM inbox_items WHERE status IN ('pending', 'retry'))"
            " + (SELECT count(*) FROM deliveries WHERE status = 'pending')"
        )
        if waiting == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"events or deliveries still waiting after {seconds} s")


def check_peer_inbox(scene: Scene) -> None:
    """The stranger's server was sent the public post, by the author (Create) and the
    neighbourhood (Announce), and nothing about the others."""
    public = scene.post_url("public")
    for kind in ("Create", "Announce"):
        run(scene.peer.wait_for(kind, where=lambda a: a["object"] == public, seconds=30))
    wait_until_sent(scene.node)
    received = run(scene.peer.inbox())
    about_posts = {
        (a["type"], a["actor"], a["object"])
        for a in received
        if a["type"] not in ("Accept", "Reject")
    }
    assert about_posts == {
        ("Create", scene.node.url(f"/@{scene.author}"), public),
        ("Announce", scene.node.url(f"/n/{HOOD}"), public),
    }
    everything = json.dumps(received)
    for level, post_id in scene.posts.items():
        assert level == "public" or post_id not in everything, f"the peer got the {level} post"


def press(visit: Visit, name: str | re.Pattern[str]) -> str:
    """Press the button of that accessible name; the text of the page it leads to."""
    assert click_and_wait(visit.page, visit.page.get_by_role("button", name=name)) == 200
    return visit.page.locator("main").inner_text()


def decide(visit: Visit, action: str, handle: str) -> None:
    """Press "Approve" or "Remove" for one follower: the button names whom ("Approve
    @handle", the handle visually hidden)."""
    shown = press(visit, re.compile(f"^{action} {re.escape(handle)}"))
    assert "Saved." in shown or "Your changes are saved." in shown  # resident's, dashboard's


def check_axe(browser: Browser, scene: Scene, state: object, opened: list, path: str) -> None:
    """axe-core finds no WCAG A/AA violation on the page (the author's session)."""
    visit = tab(browser, scene.node, opened, bypass_csp=True, storage_state=state)
    visit.goto(path)
    violations = axe_violations(visit.page)
    assert not violations, f"{path}:\n{describe_violations(violations)}"


def notified(visit: Visit) -> set[str]:
    """The levels of the posts named on the reader's notifications page."""
    visit.page.goto(visit.base + "/notifications", wait_until="load")
    return shown(visit.page.locator("main").inner_text())


def offer_help(visit: Visit, post_id: str) -> None:
    visit.goto(f"/r/{post_id}")
    visit.page.get_by_label("A message for the author").fill("I can come on Sunday morning.")
    # Each reader's first offer in the category: they confirm its guide first.
    visit.page.get_by_label(re.compile(r"I have read the guide")).check()
    assert "You offered to help." in press(visit, "I can help")


def test_each_level_reaches_exactly_the_people_it_names(
    browser: Browser, commune: InitNodeProcess, peer: FedifyPeer, contexts: list[BrowserContext]
) -> None:
    node = commune
    suffix = secrets.token_hex(3)
    author, neighbour, far = f"greet_{suffix}", f"buur_{suffix}", f"verre_{suffix}"
    readers = {name: tab(browser, node, contexts) for name in (author, neighbour, far)}
    for name, hood in ((author, HOOD), (neighbour, HOOD), (far, FAR_HOOD)):
        sign_up(readers[name], name, hood)
    readers["visitor"] = tab(browser, node, contexts)
    staffed = node.cli("staff", "add", ORG, author, "--role", "coordinator")
    assert staffed.returncode == 0, staffed.stdout + staffed.stderr
    scene = Scene(node, peer, author)
    writer = readers[author]

    # --- 1. A stranger's server follows the author, the neighbourhood, the organisation --
    for path in (f"/@{author}", f"/n/{HOOD}"):
        actor = node.url(path)
        assert run(peer.follow(actor))["delivered"] is True
        run(peer.wait_for("Accept", where=lambda a, actor=actor: a["actor"] == actor, seconds=20))
    org_actor = node.url(f"/o/{ORG}")
    assert run(peer.follow(org_actor))["delivered"] is True
    wait_until_sent(node)
    assert node.query(
        "SELECT f.status FROM follows f JOIN organisations o ON o.id = f.organisation_id"
        " WHERE o.slug = ? AND f.follower_remote_id IS NOT NULL",
        ORG,
    ) == [("pending",)]  # the organisation approves each follower

    # --- 2. The author publishes one post per level, through the compose form ------------
    day = date.today() + timedelta(days=10)
    for level in LEVELS:
        scene.posts[level] = publish(writer.page, node.base, level, day)
    author_state = writer.page.context.storage_state()
    check_axe(browser, scene, author_state, contexts, "/new?kind=request")

    # --- 3. The stranger's server gets and fetches the public post only ------------------
    check_peer_inbox(scene)
    check_server(scene, follower=False)

    # --- 4. Readers here: each sees what the level says, on every page and feed ----------
    sees = {
        author: set(ALL),  # they wrote them; checked as each was published
        neighbour: {"public", "neighbours", "members"},
        far: {"public", "members"},
        "visitor": {"public"},
    }
    check_readers(scene, {name: readers[name] for name in (neighbour, far, "visitor")}, sees)

    # --- 5. Followers wait for a coordinator; approved, they see the post ----------------
    asker = readers[far]
    asker.goto(f"/o/{ORG}")
    assert "Your request to follow waits for approval." in press(asker, "Ask to follow")
    assert not opens(asker, scene.posts["followers"], TITLES["followers"])
    writer.goto(f"/admin/o/{ORG}/followers")
    screenshot(writer.page, "visibility-org-followers-en")
    decide(writer, "Approve", f"@{far}")
    decide(writer, "Approve", "@alice@")
    run(peer.wait_for("Accept", where=lambda a: a["actor"] == org_actor, seconds=20))
    sees[far] = sees[far] | {"followers"}
    check_readers(scene, {far: asker}, sees)
    assert not opens(readers[neighbour], scene.posts["followers"], TITLES["followers"])
    check_server(scene, follower=True)

    # --- 6. A resident who chooses to approve followers does it in their settings -------
    writer.goto("/settings/followers")
    writer.page.get_by_label("Only people I approve").check()
    assert "Saved." in press(writer, "Save")
    readers[neighbour].goto(f"/@{author}")
    assert "waits for approval" in press(readers[neighbour], "Ask to follow")
    writer.goto("/settings/followers")
    asking = writer.page.locator(
        "section", has=writer.page.get_by_role("heading", name="Asking to follow you")
    )
    assert f"@{neighbour}" in asking.inner_text()
    screenshot(writer.page, "visibility-settings-followers-en")
    check_axe(browser, scene, author_state, contexts, "/settings/followers")
    decide(writer, "Approve", f"@{neighbour}")

    # --- 7. Notifications name a post only to someone who may see it --------------------
    offer_help(readers[neighbour], scene.posts["neighbours"])
    offer_help(asker, scene.posts["followers"])
    writer.goto(f"/r/{scene.posts['neighbours']}")
    press(writer, "Accept helper")
    assert notified(readers[neighbour]) == {"neighbours"}  # "... accepted your offer ..."
    assert notified(asker) == set()
    assert notified(writer) == {"neighbours", "followers"}  # the offers of help
    assert notified(readers["visitor"]) == set()
    assert readers["visitor"].page.url.startswith(node.url("/login"))
    rows = node.query(
        "SELECT a.username, n.post_id FROM notifications n"
        " JOIN accounts a ON a.id = n.recipient_id WHERE n.post_id IS NOT NULL"
    )
    assert rows, "the offers and the acceptance notified nobody"
    levels = {pid.replace("-", ""): level for level, pid in scene.posts.items()}
    for username, post_id in rows:
        level = levels[post_id.replace("-", "")]
        assert level in sees[username], f"{username} was told about the {level} post"

    # --- 8. A follower removed is no longer told about the organisation's post ----------
    writer.goto(f"/admin/o/{ORG}/followers")
    decide(writer, "Remove", f"@{far}")
    writer.goto(f"/r/{scene.posts['followers']}")
    press(writer, "Decline")  # the offer they made while they could see the post
    assert not opens(asker, scene.posts["followers"], TITLES["followers"])
    assert notified(asker) == set()  # not "Your offer of help for “...” was declined."
    assert asker.page.locator("header .badge").count() == 0  # nor counted as unread
