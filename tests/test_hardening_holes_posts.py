"""Issue 11, the smaller holes about posts (each failed before its fix):

5. one post answered at several URLs (`/r/urn:uuid:…`, braces, no hyphens, capitals);
6. the edit form of a withdrawn post answered 200, and offers on a post that is over
   could still be declined or taken back: every action × every status is checked here
   against `node.states` (POST_ACTIONS and POST_GRAPH).

The other holes: test_hardening_holes.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node import uris
from node.config import Settings
from node.errors import Conflict, PermissionDenied
from node.models import Account, Event, HelpPost, Neighbourhood, NodeSettings, Notification
from node.models import Response as PostResponse
from node.services import attention, posts, responses, sanctions
from node.states import POST_ACTIONS, POST_GRAPH, PostAction, PostStatus
from tests import factories
from tests.webclient import Browser, browser

ACTIVITY_JSON = {"accept": "application/activity+json"}


@pytest.fixture
async def hood(database: str) -> Neighbourhood:
    return await factories.neighbourhood("jette-centre")


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database, page_cache_seconds=0) as b:
        yield b


# --- 5. one URL per post ------------------------------------------------------------------


def spellings(key: uuid.UUID) -> list[str]:
    """Other ways to write `key` that `uuid.UUID()` reads as the same id."""
    text = str(key)
    others = [
        text.upper(),
        "".join(c.upper() if i % 2 else c for i, c in enumerate(text)),
        key.hex,
        key.hex.upper(),
        "{" + text + "}",
        "urn:uuid:" + text,
        text[:8] + text[9:],  # one hyphen missing
        text.replace("-", "--", 1),
    ]
    return [other for other in dict.fromkeys(others) if other != text]


def encoded(value: str) -> str:
    """`value` as one path segment, every byte escaped (so no client normalises it)."""
    return "".join(f"%{byte:02X}" for byte in value.encode())


async def test_other_spellings_of_a_post_id_redirect_or_are_not_found(
    web: Browser, hood: Neighbourhood
) -> None:
    await factories.node_row()
    post = await factories.post(await factories.account("greet"), hood)
    canonical = f"/r/{post.id}"
    assert (await web.get(canonical)).status_code == 200
    assert (await web.get(canonical, headers=ACTIVITY_JSON)).status_code == 200
    for other in spellings(post.id):
        page = await web.get(f"/r/{encoded(other)}?done=published")
        assert page.status_code == 301, other
        assert page.headers["location"] == f"{canonical}?done=published"
        # A Note is served at its id only: the other spelling names nothing.
        assert (await web.get(f"/r/{encoded(other)}", headers=ACTIVITY_JSON)).status_code == 404


async def test_actions_and_pages_read_only_the_canonical_id(
    web: Browser, hood: Neighbourhood
) -> None:
    author = await factories.account("greet")
    org = await factories.organisation("buurthuis", staff=[author])
    post = await factories.post(author, hood, organisation="buurthuis")
    offer = await factories.offer(post)
    await web.log_in_as(author)
    upper = str(post.id).upper()
    assert (await web.get(f"/r/{post.id}/edit")).status_code == 200
    assert (await web.get(f"/r/{upper}/edit")).status_code == 404
    assert (await web.get(uris.case(org.slug, post.id))).status_code == 200
    assert (await web.get(uris.case(org.slug, upper))).status_code == 404
    path = f"/r/{post.id}"
    accept = await web.submit(f"{path}/responses/{offer.id.hex}/accept", {}, page=path)
    assert accept.status_code == 404
    assert (await PostResponse.get(id=offer.id)).offer_status == "offered"
    # Incoming activities name our posts by URL: only the canonical one is ours.
    settings = Settings(base_url="https://buren.example")
    for other in spellings(post.id):
        assert uris.parse(settings, f"https://buren.example/r/{other}") is None
    assert uris.parse(settings, f"https://buren.example{path}") == uris.LocalRef(
        "post", str(post.id)
    )


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_nothing_but_the_canonical_id_gets_a_post(
    web: Browser, hood: Neighbourhood, data: st.DataObject
) -> None:
    author = await Account.get_or_none(username="greet") or await factories.account("greet")
    post = await HelpPost.filter(author_id=author.id).first() or await factories.post(author, hood)
    if not await NodeSettings.exists(id=1):
        await factories.node_row()
    value = data.draw(
        st.one_of(st.sampled_from(spellings(post.id)), st.text(max_size=45), st.uuids().map(str))
    )
    if value == str(post.id):
        return
    for headers in ({}, ACTIVITY_JSON):
        response = await web.get(f"/r/{encoded(value)}", headers=headers)
        assert response.status_code != 200, (value, headers)
        assert response.status_code < 500, (value, headers)  # and nothing breaks
        if response.status_code == 301:
            assert not headers and response.headers["location"] == uris.post(uuid.UUID(value))


# --- 6. nothing changes on a post that is over --------------------------------------------


async def _snapshot(post: HelpPost) -> tuple[Any, ...]:
    row = await HelpPost.get(id=post.id)
    offers = await PostResponse.filter(post_id=post.id).order_by("created_at", "id")
    return (
        row.status,
        row.title,
        row.expires_at,
        row.updated_at,
        [(r.kind, r.offer_status) for r in offers],
        await Notification.all().count(),
        await Event.all().count(),
    )


class World:
    """An organisation's request with one pending offer, moved straight to a status."""

    def __init__(self, hood: Neighbourhood) -> None:
        self.hood = hood

    async def post_in(self, status: PostStatus) -> tuple[HelpPost, PostResponse]:
        self.staff = await factories.account()
        self.org = await factories.organisation(staff=[self.staff])
        self.helper = await factories.account()
        post = await factories.post(
            self.staff, self.hood, organisation=self.org.slug, helpers_needed=2
        )
        offer = await factories.offer(post, self.helper)
        await HelpPost.filter(id=post.id).update(status=status)
        return await posts.get_post(post.id, self.staff), offer

    async def act(self, action: PostAction, post: HelpPost, offer: PostResponse) -> bool:
        """Do `action`; True when it changed something, False when refused."""
        try:
            if action == PostAction.EDIT:
                draft = factories.draft(self.hood, title="Een nieuwe titel")
                await posts.edit_post(self.staff, post, draft)
            elif action == PostAction.OFFER:
                await responses.offer_help(await factories.account(), post, "Ik kan")
            elif action == PostAction.COMMENT:
                await responses.add_comment(await factories.account(), post, "Wanneer?")
            elif action == PostAction.ACCEPT:
                await responses.accept_helper(self.staff, offer)
            elif action == PostAction.DECLINE:
                await responses.decline_helper(self.staff, offer)
            elif action == PostAction.WITHDRAW_OFFER:
                await responses.withdraw_offer(self.helper, offer)
            else:
                return await attention.renew(self.org, [str(post.id)], by=self.staff) == 1
        except Conflict:
            return False
        return True


@pytest.mark.parametrize("action", list(PostAction))
async def test_every_action_on_every_status_follows_the_declared_table(
    hood: Neighbourhood, action: PostAction
) -> None:
    world = World(hood)
    for status in PostStatus:
        post, offer = await world.post_in(status)
        before = await _snapshot(post)
        done = await world.act(action, post, offer)
        assert done == (status in POST_ACTIONS[action]), (action, status)
        if not done:
            assert await _snapshot(post) == before, (action, status)


async def test_every_status_move_follows_the_graph(hood: Neighbourhood) -> None:
    world = World(hood)
    for source in PostStatus:
        for target in PostStatus:
            post, _ = await world.post_in(source)
            before = await _snapshot(post)
            try:
                await posts.change_status(world.staff, post, target)
            except (Conflict, PermissionDenied):
                moved = False
            else:
                moved = True
            allowed = POST_GRAPH.allows(source, target) and target != PostStatus.EXPIRED
            assert moved == allowed, (source, target)
            if not moved:
                assert await _snapshot(post) == before, (source, target)


EDIT_FIELDS = {
    "kind": "request",
    "category": "transport",
    "language": "nl",
    "title": "Een andere titel",
    "when": "flexible",
    "neighbourhood": "jette-centre",
    "helpers_needed": "1",
    "action": "publish",
}


@pytest.mark.parametrize(
    ("ending", "status_code", "message"),
    [
        ("withdrawn", 410, "It was withdrawn"),
        ("expired", 410, "It has expired"),
        ("hidden", 410, "The moderators removed it"),
        ("done", 409, "It is marked as done"),
    ],
)
async def test_the_edit_form_of_a_post_that_is_over_is_refused(
    web: Browser, hood: Neighbourhood, ending: str, status_code: int, message: str
) -> None:
    author = await factories.account("greet", languages=["en"])
    post = await factories.post(author, hood)
    if ending == "hidden":
        await sanctions.hide_post(await factories.moderator(), post, "Spam in every street")
    else:
        await HelpPost.filter(id=post.id).update(status=ending)
    before = await _snapshot(post)
    await web.log_in_as(author)
    path = f"/r/{post.id}"
    form = await web.get(f"{path}/edit")
    sent = await web.submit(f"{path}/edit", EDIT_FIELDS, page=path)
    for answer in (form, sent):
        assert answer.status_code == status_code
        assert "This post can no longer be edited" in answer.text and message in answer.text
        assert f'action="{path}/edit"' not in answer.text
    assert await _snapshot(post) == before
    page = await web.get(path)
    assert f'href="{path}/edit"' not in page.text  # and no button leads there
