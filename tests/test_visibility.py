"""Who sees a post (public, followers, members) and who sees its private location."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from node.errors import NotFound
from node.models import Account, HelpPost, Neighbourhood
from node.services import follow_requests, follows, listings, posts, responses
from node.services.permissions import can_see_private_location
from node.states import PostStatus
from tests import factories

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def hood(database: str) -> Neighbourhood:
    return await factories.neighbourhood("kuregem")


@pytest.fixture
async def author(database: str) -> Account:
    return await factories.account("amina")


async def _sees(viewer: Account | None, post: HelpPost) -> bool:
    """Whether `viewer` gets the post both directly and in the listing, checked to agree."""
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


async def _suspend(account: Account) -> None:
    account.is_active = False
    await account.save(update_fields=["is_active"])


async def test_public_post_is_visible_to_anonymous(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    assert (await posts.get_post(post.id, None)).title == post.title
    assert await _sees(None, post)


async def test_followers_post_without_organisation(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW, visibility="followers")
    viewer = await factories.account("viewer")
    assert not await _sees(None, post)
    assert not await _sees(viewer, post)
    await follows.follow(viewer, hood)  # following the neighbourhood is not following the author
    assert not await _sees(viewer, post)
    await follows.follow(viewer, author)
    assert await _sees(viewer, post)
    await follows.unfollow(viewer, author)
    assert not await _sees(viewer, post)


async def test_followers_post_of_organisation_needs_follow_of_organisation(
    hood: Neighbourhood, author: Account
) -> None:
    org = await factories.organisation("buurthuis", staff=[author])
    post = await factories.post(
        author, hood, now=NOW, visibility="followers", organisation=org.slug
    )
    viewer = await factories.account("viewer")
    await follows.follow(viewer, author)  # the posting actor is the organisation
    assert not await _sees(viewer, post)
    row = await follows.follow(viewer, org)
    assert not await _sees(viewer, post)  # organisations approve each follower
    coordinator = await factories.coordinator_of(org)
    await follow_requests.decide(coordinator, org, row.id, True)
    assert await _sees(viewer, post)
    assert not await _sees(None, post)


async def test_followers_post_visible_to_author_staff_and_moderators(
    hood: Neighbourhood, author: Account
) -> None:
    colleague = await factories.account("colleague")
    org = await factories.organisation("buurthuis", staff=[author, colleague])
    org_post = await factories.post(
        author, hood, now=NOW, visibility="followers", organisation=org.slug
    )
    own_post = await factories.post(author, hood, now=NOW, visibility="followers")
    moderator = await factories.moderator()
    admin = await factories.admin("nodeadmin")
    for viewer in (author, colleague, moderator, admin):
        assert await _sees(viewer, org_post), viewer.username
    for viewer in (author, moderator, admin):
        assert await _sees(viewer, own_post), viewer.username
    # Being staff of an organisation does not open a colleague's personal posts.
    assert not await _sees(colleague, own_post)


async def test_members_post_hidden_from_anonymous_only(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW, visibility="members")
    member = await factories.account("member")
    assert not await _sees(None, post)
    assert await _sees(member, post)


async def test_suspended_account_sees_only_public_posts(
    hood: Neighbourhood, author: Account
) -> None:
    org = await factories.organisation("buurthuis", staff=[author])
    public = await factories.post(author, hood, now=NOW)
    members = await factories.post(author, hood, now=NOW, visibility="members")
    followers = await factories.post(author, hood, now=NOW, visibility="followers")
    org_followers = await factories.post(
        author, hood, now=NOW, visibility="followers", organisation=org.slug
    )
    viewer = await factories.account("viewer")
    await follows.follow(viewer, author)
    moderator = await factories.moderator()
    for account in (viewer, moderator, author):
        await _suspend(account)
        assert await _sees(account, public), account.username
        for hidden in (members, followers, org_followers):
            assert not await _sees(account, hidden), account.username


async def test_listing_shows_open_and_matched_posts_only(
    hood: Neighbourhood, author: Account
) -> None:
    other_hood = await factories.neighbourhood("anderlecht")
    open_post = await factories.post(author, hood, now=NOW)
    offer_post = await factories.post(author, hood, now=NOW, kind="offer")
    matched = await factories.post(author, hood, now=NOW)
    await responses.accept_helper(author, await factories.offer(matched))
    done = await factories.post(author, hood, now=NOW)
    await posts.change_status(author, done, PostStatus.DONE)
    elsewhere = await factories.post(author, other_hood, now=NOW)

    listed = {p.id for p in await listings.list_open_posts(hood, None)}
    assert listed == {open_post.id, offer_post.id, matched.id}
    everywhere = {p.id for p in await listings.list_open_posts(None, None)}
    assert everywhere == listed | {elsewhere.id}
    offers = await listings.list_open_posts(hood, None, kind="offer")
    assert [p.id for p in offers] == [offer_post.id]


async def test_get_post_with_malformed_or_unknown_id(hood: Neighbourhood, author: Account) -> None:
    await factories.post(author, hood, now=NOW)
    for bad in ("not-a-uuid", "", "../etc/passwd", str(uuid.uuid4()), uuid.uuid4()):
        with pytest.raises(NotFound):
            await posts.get_post(bad, author)


async def test_private_location_for_organisers_and_accepted_helpers(
    hood: Neighbourhood, author: Account
) -> None:
    colleague = await factories.account("colleague")
    org = await factories.organisation("buurthuis", staff=[author, colleague])
    post = await factories.post(
        author, hood, now=NOW, organisation=org.slug, private_location="Kapelstraat 12"
    )
    helper = await factories.account("helper")
    offerer = await factories.account("offerer")
    stranger = await factories.account("stranger")
    accepted = await factories.offer(post, helper)
    await factories.offer(post, offerer)
    assert not await can_see_private_location(helper, post)  # offered, not yet accepted
    await responses.accept_helper(author, accepted)

    assert await can_see_private_location(author, post)
    assert await can_see_private_location(colleague, post)
    assert await can_see_private_location(helper, post)
    assert not await can_see_private_location(offerer, post)
    assert not await can_see_private_location(stranger, post)
    assert not await can_see_private_location(None, post)

    await responses.withdraw_offer(helper, accepted)
    assert not await can_see_private_location(helper, post)


async def test_suspended_helper_loses_private_location(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW, private_location="Kapelstraat 12")
    helper = await factories.account("helper")
    await responses.accept_helper(author, await factories.offer(post, helper))
    assert await can_see_private_location(helper, post)
    await _suspend(helper)
    assert not await can_see_private_location(helper, post)
