"""Notifications tell no more than the post's page: one that names a post its recipient
may not see (any more) is neither listed nor counted, on every database backend."""

from __future__ import annotations

import pytest

from node.models import Account, HelpPost, StaffRole
from node.services import follow_requests, follows, organisations, responses
from node.services.notifications import list_notifications, unread_count
from tests import factories

pytestmark = pytest.mark.usefixtures("database")


async def _titles(account: Account) -> list[str]:
    return sorted(n.post.title for n in await list_notifications(account) if n.post is not None)


async def _declined(coordinator: Account, helper: Account, post: HelpPost) -> None:
    """`helper` offers help on `post` and the coordinator declines: the helper is told."""
    offer = await factories.offer(post, helper)
    await responses.decline_helper(coordinator, offer)


async def test_a_removed_follower_is_no_longer_told_about_a_followers_only_post() -> None:
    hood = await factories.neighbourhood("jette-centre")
    org = await factories.organisation("buurthuis")
    coordinator = await factories.account("els")
    await organisations.add_staff(org, coordinator, StaffRole.COORDINATOR)
    follower = await factories.account("verre")
    asked = await follows.follow(follower, org)  # organisations approve each follower
    await follow_requests.decide(coordinator, org, asked.id, accept=True)
    secret = await factories.post(
        coordinator, hood, title="Voedselpakket", visibility="followers", organisation=org.slug
    )
    public = await factories.post(coordinator, hood, title="Haag snoeien")
    for post in (secret, public):
        await _declined(coordinator, follower, post)
    assert await _titles(follower) == ["Haag snoeien", "Voedselpakket"]
    assert await unread_count(follower) == 2

    await follow_requests.remove_follower(coordinator, org, asked.id)

    assert await _titles(follower) == ["Haag snoeien"]
    assert await unread_count(follower) == 1
    # The organisation's staff still hear of every answer to its posts (and of the asking).
    assert await _titles(coordinator) == ["Haag snoeien", "Voedselpakket"]
    assert await unread_count(coordinator) == 3


async def test_notifications_without_a_post_are_always_listed() -> None:
    org = await factories.organisation("buurthuis")
    coordinator = await factories.account("els")
    await organisations.add_staff(org, coordinator, StaffRole.COORDINATOR)
    asker = await factories.account("verre")
    await follows.follow(asker, org)  # "verre asks to follow Buurthuis", to the coordinator
    [told] = await list_notifications(coordinator)
    assert told.post is None and told.actor.id == asker.id
    assert await unread_count(coordinator) == 1
