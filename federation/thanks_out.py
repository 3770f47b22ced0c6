"""The author's thank-you (`node.services.thanks`) to accepted helpers on other servers.

Each remote helper accepted on the request gets it as a direct message: a `Create(Note)`
to them alone, mentioning them, in reply to their own offer (the shape of the other
messages about offers, `federation.conversations`), in the post's language. The Notes
are stored under the thank-you's own URL, so a moderator hiding it deletes them too.
Helpers here were notified by the service itself.
"""

from __future__ import annotations

import html
import uuid

from federation import conversations
from federation.context import Federation
from node import uris
from node.i18n import N_
from node.models import Response, ResponseKind
from node.states import OfferStatus

THANKED = N_("%(mention)s %(name)s thanks you for your help with “%(title)s”.")


def _quoted(body: str) -> str:
    """The thank-you's own words (plain text) as escaped paragraphs."""
    blocks = [block.strip() for block in body.split("\n\n") if block.strip()]
    return "".join(
        "<p>" + html.escape(block, quote=False).replace("\n", "<br>") + "</p>" for block in blocks
    )


async def on_helpers_thanked(fed: Federation, payload: dict) -> str | None:
    thanks = await Response.get_or_none(
        id=uuid.UUID(payload["response_id"]), kind=ResponseKind.THANKS
    ).prefetch_related("post__author", "post__organisation", "post__neighbourhood")
    if thanks is None or thanks.hidden_at is not None:
        return None  # hidden before it went out: nobody elsewhere hears of it
    post = thanks.post
    helpers = (
        await Response.filter(
            post_id=post.id, offer_status=OfferStatus.ACCEPTED, remote_author_id__isnull=False
        )
        .order_by("created_at")
        .prefetch_related("remote_author")
    )
    if not helpers:
        return None
    thanks_url = uris.absolute(fed.settings, uris.response(post.id, thanks.id))
    for offer in helpers:
        await conversations.send_direct(
            fed,
            post,
            offer.remote_author,
            THANKED,
            note_id=f"{thanks_url}#to-{offer.id}",
            in_reply_to=offer.object_uri,
            object_uri=thanks_url,
            extra_html=_quoted(thanks.body),
        )
    return f"thank-you sent to {len(helpers)} helpers elsewhere"
