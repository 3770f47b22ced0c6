"""Comments and offers of help: helper slots, declines, withdrawals and notifications."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from node.errors import Conflict, IllegalTransition, InvalidInput, NotFound, PermissionDenied
from node.models import (
    Account,
    Event,
    HelpPost,
    Neighbourhood,
    Notification,
    NotificationKind,
    Response,
    ResponseKind,
)
from node.services import posts, responses
from node.states import OfferStatus, PostStatus
from tests import factories

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def hood(database: str) -> Neighbourhood:
    return await factories.neighbourhood("kuregem")


@pytest.fixture
async def author(database: str) -> Account:
    return await factories.account("amina")


async def _status(post: HelpPost) -> str:
    return (await HelpPost.get(id=post.id)).status


async def _offer_status(response: Response) -> str | None:
    return (await Response.get(id=response.id)).offer_status


async def _notifications(account: Account) -> list[tuple[str, int | None]]:
    rows = await Notification.filter(recipient_id=account.id).order_by("id")
    return [(row.kind, row.actor_id) for row in rows]


async def test_two_slots_fill_and_then_refuse_more(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW, helpers_needed=2)
    first, second, third = [await factories.offer(post) for _ in range(3)]

    await responses.accept_helper(author, first)
    assert await _status(post) == PostStatus.OPEN
    await responses.accept_helper(author, second)
    assert await _status(post) == PostStatus.MATCHED
    assert await responses.accepted_count(post) == 2

    with pytest.raises(Conflict):
        await responses.accept_helper(author, third)
    # Told it is no longer needed when the post filled (offer_closure); still so.
    assert await _offer_status(third) == OfferStatus.NOT_NEEDED
    assert await responses.accepted_count(post) == 2

    latecomer = await factories.account("latecomer")
    matched = await HelpPost.get(id=post.id)
    with pytest.raises(Conflict):
        await responses.offer_help(latecomer, matched, "Ik kan ook")
    assert not await Response.filter(author_id=latecomer.id).exists()


async def test_reopened_post_with_full_slots_still_refuses_accept(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW, helpers_needed=1)
    first, second = await factories.offer(post), await factories.offer(post)
    await responses.accept_helper(author, first)
    await posts.change_status(author, post, PostStatus.OPEN)  # matched -> open by hand
    with pytest.raises(Conflict, match="places are taken"):
        await responses.accept_helper(author, second)
    assert await _offer_status(second) == OfferStatus.NOT_NEEDED  # since the post filled


async def test_declining_an_accepted_helper_reopens_matched_post(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW)
    helper = await factories.account("helper")
    offer = await factories.offer(post, helper)
    await responses.accept_helper(author, offer)
    assert await _status(post) == PostStatus.MATCHED

    await responses.decline_helper(author, offer)
    assert await _offer_status(offer) == OfferStatus.DECLINED
    assert await _status(post) == PostStatus.OPEN
    assert await _notifications(helper) == [
        (NotificationKind.ACCEPTED, author.id),
        (NotificationKind.DECLINED, author.id),
    ]


async def test_declining_a_pending_offer_keeps_post_open(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW)
    offer = await factories.offer(post)
    await responses.decline_helper(author, offer)
    assert await _offer_status(offer) == OfferStatus.DECLINED
    assert await _status(post) == PostStatus.OPEN


async def test_accepted_helper_withdrawing_reopens_post(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW)
    helper = await factories.account("helper")
    offer = await factories.offer(post, helper)
    await responses.accept_helper(author, offer)

    await responses.withdraw_offer(helper, offer)
    assert await _offer_status(offer) == OfferStatus.WITHDRAWN
    assert await _status(post) == PostStatus.OPEN
    assert (NotificationKind.HELPER_WITHDREW, helper.id) in await _notifications(author)
    changes = [e.payload for e in await Event.filter(kind="OfferStatusChanged").order_by("id")]
    assert [(c["old"], c["new"]) for c in changes] == [
        ("offered", "accepted"),
        ("accepted", "withdrawn"),
    ]


async def test_withdrawing_a_pending_offer_does_not_notify(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW)
    helper = await factories.account("helper")
    offer = await factories.offer(post, helper)
    await responses.withdraw_offer(helper, offer)
    assert await _offer_status(offer) == OfferStatus.WITHDRAWN
    assert await _notifications(author) == [(NotificationKind.RESPONSE, helper.id)]


async def test_only_the_helper_can_withdraw_an_offer(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    offer = await factories.offer(post)
    stranger = await factories.account("stranger")
    for other in (stranger, author):
        with pytest.raises(PermissionDenied):
            await responses.withdraw_offer(other, offer)
    assert await _offer_status(offer) == OfferStatus.OFFERED


async def test_stranger_cannot_accept_or_decline(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    offer = await factories.offer(post)
    stranger = await factories.account("stranger")
    with pytest.raises(PermissionDenied):
        await responses.accept_helper(stranger, offer)
    with pytest.raises(PermissionDenied):
        await responses.decline_helper(stranger, offer)
    assert await _offer_status(offer) == OfferStatus.OFFERED
    assert await _status(post) == PostStatus.OPEN


async def test_helper_cannot_accept_own_offer(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    helper = await factories.account("helper")
    offer = await factories.offer(post, helper)
    with pytest.raises(PermissionDenied):
        await responses.accept_helper(helper, offer)
    assert await _offer_status(offer) == OfferStatus.OFFERED


async def test_organisation_staff_accept_helpers_on_organisation_post(
    hood: Neighbourhood, author: Account
) -> None:
    colleague = await factories.account("colleague")
    org = await factories.organisation("buurthuis", staff=[author, colleague])
    post = await factories.post(author, hood, now=NOW, organisation=org.slug)
    helper = await factories.account("helper")
    offer = await factories.offer(post, helper)
    await responses.accept_helper(colleague, offer)
    assert await _offer_status(offer) == OfferStatus.ACCEPTED
    assert await _status(post) == PostStatus.MATCHED
    assert await _notifications(helper) == [(NotificationKind.ACCEPTED, colleague.id)]


async def test_staff_of_another_organisation_cannot_accept(
    hood: Neighbourhood, author: Account
) -> None:
    org = await factories.organisation("buurthuis", staff=[author])
    outsider = await factories.account("outsider")
    await factories.organisation("andere-vzw", staff=[outsider])
    post = await factories.post(author, hood, now=NOW, organisation=org.slug)
    offer = await factories.offer(post)
    with pytest.raises(PermissionDenied):
        await responses.accept_helper(outsider, offer)
    assert await _offer_status(offer) == OfferStatus.OFFERED


async def test_author_cannot_offer_help_on_own_post(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    with pytest.raises(Conflict):
        await responses.offer_help(author, post)
    assert await Response.all().count() == 0


async def test_duplicate_active_offer_is_refused(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    helper = await factories.account("helper")
    offer = await factories.offer(post, helper)
    with pytest.raises(Conflict):
        await responses.offer_help(helper, post)
    await responses.accept_helper(author, offer)
    await posts.change_status(author, post, PostStatus.OPEN)
    with pytest.raises(Conflict):  # an accepted offer is still active
        await responses.offer_help(helper, post)
    assert await Response.filter(author_id=helper.id).count() == 1


async def test_helper_may_offer_again_after_withdrawing(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW)
    helper = await factories.account("helper")
    await responses.withdraw_offer(helper, await factories.offer(post, helper))
    again = await factories.offer(post, helper)
    assert await _offer_status(again) == OfferStatus.OFFERED


@pytest.mark.parametrize("status", [PostStatus.DONE, PostStatus.WITHDRAWN])
async def test_no_offers_on_closed_posts(
    hood: Neighbourhood, author: Account, status: PostStatus
) -> None:
    post = await factories.post(author, hood, now=NOW)
    await posts.change_status(author, post, status)
    helper = await factories.account("helper")
    with pytest.raises(Conflict):
        await responses.offer_help(helper, post)
    assert await Response.all().count() == 0


async def test_suspended_account_cannot_respond(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    helper = await factories.account("helper")
    helper.is_active = False
    with pytest.raises(PermissionDenied):
        await responses.offer_help(helper, post)
    with pytest.raises(PermissionDenied):
        await responses.add_comment(helper, post, "Hallo")
    assert await Response.all().count() == 0


async def test_cannot_respond_to_a_post_one_cannot_see(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW, visibility="followers")
    helper = await factories.account("helper")
    with pytest.raises(NotFound):
        await responses.offer_help(helper, post)
    with pytest.raises(NotFound):
        await responses.add_comment(helper, post, "Hallo")
    assert await Response.all().count() == 0


async def test_comments_on_open_and_matched_but_not_withdrawn(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW)
    neighbour = await factories.account("neighbour")
    await responses.add_comment(neighbour, post, "Welke dag past?")
    await responses.accept_helper(author, await factories.offer(post))
    assert await _status(post) == PostStatus.MATCHED
    matched = await HelpPost.get(id=post.id)
    await responses.add_comment(neighbour, matched, "Top, bedankt!")
    await posts.change_status(author, matched, PostStatus.WITHDRAWN)
    with pytest.raises(Conflict):
        await responses.add_comment(neighbour, matched, "Jammer")
    bodies = [
        r.body
        for r in await Response.filter(kind=ResponseKind.COMMENT, author_id=neighbour.id).order_by(
            "created_at", "id"
        )
    ]
    assert bodies == ["Welke dag past?", "Top, bedankt!"]


async def test_empty_comment_is_refused(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    neighbour = await factories.account("neighbour")
    with pytest.raises(InvalidInput) as caught:
        await responses.add_comment(neighbour, post, " \n\u200b ")
    assert caught.value.field == "body"


async def test_a_comment_is_not_an_offer(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    comment = await responses.add_comment(await factories.account(), post, "Succes!")
    assert comment.offer_status is None
    with pytest.raises(Conflict):
        await responses.accept_helper(author, comment)
    assert await _offer_status(comment) is None
    assert await _status(post) == PostStatus.OPEN


async def test_notifications_for_offer_and_accept(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    helper = await factories.account("helper")
    offer = await factories.offer(post, helper)
    note = await Notification.get(recipient_id=author.id)
    assert (note.kind, note.actor_id, note.post_id, note.response_id) == (
        NotificationKind.RESPONSE,
        helper.id,
        post.id,
        offer.id,
    )
    await responses.accept_helper(author, offer)
    note = await Notification.get(recipient_id=helper.id)
    assert (note.kind, note.actor_id, note.post_id, note.response_id) == (
        NotificationKind.ACCEPTED,
        author.id,
        post.id,
        offer.id,
    )


async def test_author_commenting_on_own_post_is_not_notified(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW)
    await responses.add_comment(author, post, "Nog steeds nodig")
    assert await Notification.all().count() == 0


@pytest.mark.parametrize("end", [OfferStatus.DECLINED, OfferStatus.WITHDRAWN])
async def test_closed_offer_cannot_be_accepted(
    hood: Neighbourhood, author: Account, end: OfferStatus
) -> None:
    post = await factories.post(author, hood, now=NOW)
    helper = await factories.account("helper")
    offer = await factories.offer(post, helper)
    if end == OfferStatus.DECLINED:
        await responses.decline_helper(author, offer)
    else:
        await responses.withdraw_offer(helper, offer)
    with pytest.raises(IllegalTransition):
        await responses.accept_helper(author, offer)
    assert await _offer_status(offer) == end
    assert await _status(post) == PostStatus.OPEN
    assert not await Notification.filter(kind=NotificationKind.ACCEPTED).exists()


async def test_accepting_twice_is_illegal(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW, helpers_needed=3)
    offer = await factories.offer(post)
    await responses.accept_helper(author, offer)
    with pytest.raises(IllegalTransition):
        await responses.accept_helper(author, offer)
    assert await responses.accepted_count(post) == 1


async def test_stale_copy_of_a_withdrawn_offer_cannot_be_accepted(
    hood: Neighbourhood, author: Account
) -> None:
    """The author's request loaded the offer before the helper withdrew it."""
    post = await factories.post(author, hood, now=NOW)
    helper = await factories.account("helper")
    offer = await factories.offer(post, helper)
    stale = await Response.get(id=offer.id)
    await responses.withdraw_offer(helper, offer)
    with pytest.raises(IllegalTransition):
        await responses.accept_helper(author, stale)
    assert await _offer_status(offer) == OfferStatus.WITHDRAWN
    assert await _status(post) == PostStatus.OPEN


async def test_stale_copy_of_a_declined_offer_cannot_be_withdrawn(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW)
    helper = await factories.account("helper")
    offer = await factories.offer(post, helper)
    stale = await Response.get(id=offer.id)
    await responses.accept_helper(author, offer)
    await responses.decline_helper(author, offer)
    with pytest.raises(IllegalTransition):
        await responses.withdraw_offer(helper, stale)
    assert await _offer_status(offer) == OfferStatus.DECLINED
    assert await _status(post) == PostStatus.OPEN
