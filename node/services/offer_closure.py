"""Offers nobody took: answered "thank you, no longer needed" when the request is over.

When a request is filled (matched: its helper places are taken, or its author says they
have enough), done, withdrawn, expired, or removed by the moderators, every offer still
waiting (`OFFERED`) moves to `NOT_NEEDED` along `OFFER_GRAPH`, in the transaction that
closes the request: a local helper gets a `NOT_NEEDED` notification, and each offer an
`OfferStatusChanged` event, through which a helper on another server gets a direct
message (or, for a FEP-0837 `Offer(Agreement)`, a `Reject` of it; see
`federation.conversations`). Accepted, declined and withdrawn offers are left as they
are: they were answered already.

Running it twice changes nothing: only offers still waiting move.

A request reopened later (matched or done back to open) does not bring these offers
back: their helpers were told they are not needed, perhaps made other plans, and a
remote helper's server has the Reject or the message. They may offer again
(`responses.offer_help` refuses a second offer only while one is waiting or accepted,
or after a decline).
"""

from __future__ import annotations

from node import events
from node.models import Account, HelpPost, NotificationKind, Response
from node.services.notifications import notify
from node.states import OFFER_GRAPH, OfferStatus, PostStatus

# The statuses in which a request needs no more offers of help: what moves it there
# calls `close_waiting_offers` (`posts.set_status`).
CLOSING = frozenset({PostStatus.MATCHED, PostStatus.DONE, PostStatus.WITHDRAWN, PostStatus.EXPIRED})


async def close_waiting_offers(post: HelpPost, *, by: Account | None) -> int:
    """Answer every waiting offer on `post` as no longer needed; returns how many.

    Call inside the transaction that closes the post (its row locked by the caller), so
    that the offers and the post's status change together. `by`: who closed it (None
    when the node did: expiry); the notification names them, or the organisation."""
    old, new = OfferStatus.OFFERED, OfferStatus.NOT_NEEDED
    OFFER_GRAPH.check(old, new)
    waiting = (
        await Response.filter(post_id=post.id, offer_status=old)
        .order_by("created_at")
        .select_for_update()
    )
    for offer in waiting:
        offer.offer_status = new
        await offer.save(update_fields=["offer_status", "updated_at"])
        await events.emit(
            events.OfferStatusChanged(str(offer.id), str(post.id), old.value, new.value)
        )
        # Remote helpers hear of it through federation (the event above).
        if offer.author_id is not None:
            await notify(
                offer.author_id,
                NotificationKind.NOT_NEEDED,
                actor=by,
                post=post,
                response=offer,
                organisation_id=post.organisation_id,
            )
    return len(waiting)
