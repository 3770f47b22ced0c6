"""The "neighbours" level: accounts here that live in the post's neighbourhood or follow
it, and nobody on another server (a remote follower of the neighbourhood included)."""

from __future__ import annotations

from node.errors import NotFound
from node.models import Account, Delivery, HelpPost, OutboxActivity
from node.services import casework, follows, listings, posts, responses
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node
from tests.webclient import browser


async def _sees(viewer: Account | None, post: HelpPost) -> bool:
    listed = post.id in {p.id for p in await listings.list_open_posts(None, viewer)}
    # The neighbourhood page's listing (both kinds in one statement) agrees too.
    per_kind = await listings.open_card_rows_per_kind(post.neighbourhood, viewer, [post.kind])
    assert listed == (post.id in {row["id"] for row in per_kind[post.kind]})
    try:
        await posts.get_post(str(post.id), viewer)
    except NotFound:
        direct = False
    else:
        direct = True
    assert listed == direct, "get_post and list_open_posts disagree"
    return direct


async def test_neighbours_are_those_who_live_in_or_follow_the_neighbourhood(
    database: str,
) -> None:
    kuregem, jette = await factories.neighbourhood("kuregem"), await factories.neighbourhood()
    author = await factories.account("amina", home_neighbourhood=kuregem)
    post = await factories.post(author, kuregem, visibility="neighbours")
    lives_here = await factories.account("lives", home_neighbourhood=kuregem)
    follows_it = await factories.account("follows", home_neighbourhood=jette)
    await follows.follow(follows_it, kuregem)
    elsewhere = await factories.account("elsewhere", home_neighbourhood=jette)
    nowhere = await factories.account("nowhere")
    for viewer in (author, lives_here, follows_it, await factories.moderator()):
        assert await _sees(viewer, post), viewer.username
    for viewer in (elsewhere, nowhere, None):
        assert not await _sees(viewer, post), viewer
    await follows.unfollow(follows_it, kuregem)
    assert not await _sees(follows_it, post)


async def test_neighbours_posts_never_leave_the_node(node: Node, remote: FakeRemote) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet", home_neighbourhood=hood)
    # A server follows the neighbourhood and the author: neither gets the post.
    for target in ("/n/jette-centre", "/@greet"):
        await node.post_activity(remote, "alice", remote.activity("alice", "Follow", BASE + target))
    await node.work()
    remote.received.clear()
    post = await factories.post(greet, hood, visibility="neighbours")
    await posts.change_status(greet, post, "done")
    await node.work()
    assert remote.received == []
    note_id = f"{BASE}/r/{post.id}"
    assert not await OutboxActivity.filter(object_uri=note_id).exists()
    assert not await Delivery.filter(activity__object_uri=note_id).exists()
    url = f"{BASE}/r/{post.id}"
    for headers in ({}, remote.signed_get_headers("alice", url)):
        fetched = await node.client.get(
            f"/r/{post.id}", headers={"accept": "application/activity+json", **headers}
        )
        assert fetched.status_code == 404


async def test_the_compose_form_names_each_level(database: str) -> None:
    await factories.node_row()
    hood = await factories.neighbourhood("kuregem")
    amina = await factories.account("amina", languages=["en"], home_neighbourhood=hood)
    async with browser(database) as web:
        await web.log_in_as(amina)
        page = (await web.get("/new")).text
        for value in ("public", "neighbours", "followers", "members"):
            assert f'name="visibility" value="{value}"' in page
        assert "Neighbours on this node" in page and "Not sent to other servers." in page
        assert "Only followers of the neighbourhood" not in page  # the old, untrue label
        assert "Anyone can follow you" in page  # amina does not approve followers


async def test_a_resident_says_where_they_live_and_then_sees_their_neighbours(
    database: str,
) -> None:
    await factories.node_row()
    kuregem = await factories.neighbourhood("kuregem")
    author = await factories.account("amina", home_neighbourhood=kuregem)
    post = await factories.post(author, kuregem, visibility="neighbours")
    sam = await factories.account("sam", languages=["en"])
    assert not await _sees(sam, post)
    async with browser(database) as web:
        await web.log_in_as(sam)
        page = await web.get("/settings/neighbourhood")
        assert page.status_code == 200 and 'value="kuregem"' in page.text
        bad = await web.submit(
            "/settings/neighbourhood", {"home_neighbourhood": "atlantis"}, page="/settings"
        )
        assert bad.status_code == 400 and "no such neighbourhood" in bad.text.lower()
        assert (await Account.get(id=sam.id)).home_neighbourhood_id is None
        good = await web.submit(
            "/settings/neighbourhood", {"home_neighbourhood": "kuregem"}, page="/settings"
        )
        assert good.status_code == 303
    assert await _sees(await Account.get(id=sam.id), post)


async def test_the_team_of_a_post_keeps_seeing_it(database: str) -> None:
    """An accepted helper was given the address, and a partner organisation's staff
    follow the case up: neither loses the post when they stop following or move."""
    kuregem, jette = await factories.neighbourhood("kuregem"), await factories.neighbourhood()
    author = await factories.account("amina", home_neighbourhood=kuregem)
    org = await factories.organisation("buurthuis", staff=[author])
    partner = await factories.organisation("andere-vzw")
    partner_staff = await factories.coordinator_of(partner, "pia")
    helper = await factories.account("fred", home_neighbourhood=kuregem)
    post = await factories.post(author, kuregem, visibility="neighbours")
    offer = await factories.offer(post, helper)
    await responses.accept_helper(author, offer)
    org_post = await factories.post(author, kuregem, visibility="followers", organisation=org.slug)
    await casework.add_local_partner(org_post, partner, by=author)
    assert not await _sees(await factories.account("sam"), org_post)
    assert await _sees(partner_staff, org_post)
    helper.home_neighbourhood = jette  # fred moves away
    await helper.save(update_fields=["home_neighbourhood_id"])
    assert await _sees(helper, post)
