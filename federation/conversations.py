"""Talking back to people elsewhere: a helper from another server whose offer is accepted
gets a direct message, in the post's language, saying what happens next."""

from __future__ import annotations

import html
import uuid

from federation import activities, outbox, proposals
from federation.context import Federation
from node import uris
from node.i18n import N_, translations
from node.models import Response
from node.states import OfferStatus

ACCEPTED = N_(
    "%(mention)s Thank you! Your offer to help with “%(title)s” was accepted. "
    "%(name)s will get in touch with you about the details: where exactly and when. "
    "You can answer this message with any question."
)


async def on_offer_status_changed(fed: Federation, payload: dict) -> str | None:
    if payload["new"] not in (OfferStatus.ACCEPTED, OfferStatus.DECLINED):
        return None
    response = await Response.get_or_none(id=uuid.UUID(payload["response_id"])).prefetch_related(
        "remote_author", "post__author", "post__organisation", "post__neighbourhood"
    )
    if response is None or response.remote_author is None:
        return None  # local helpers are notified on the node itself
    if response.via_agreement:
        return await _answer_agreement(fed, response, payload["new"] == OfferStatus.ACCEPTED)
    if payload["new"] != OfferStatus.ACCEPTED:
        return None
    helper, post = response.remote_author, response.post
    locale = post.language if post.language in fed.settings.languages else "en"
    title, _, _ = post.text_in(post.language)
    owner = post.organisation or post.author
    name = owner.name if post.organisation else owner.display_name
    profile = html.escape(helper.url or helper.uri)
    mention = (
        f'<span class="h-card"><a href="{profile}" class="u-url mention">'
        f"{html.escape(helper.handle)}</a></span>"
    )
    text = translations(locale).gettext(ACCEPTED) % {
        "mention": mention,
        "title": html.escape(title, quote=False),
        "name": html.escape(name, quote=False),
    }
    actor_url = uris.absolute(fed.settings, proposals.attributed_path(post))
    response_url = uris.absolute(fed.settings, uris.response(post.id, response.id))
    _, activity_id = outbox.new_activity_id(fed)
    activity = activities.direct_message(
        activity_id,
        actor_url,
        response_url + "#accepted",
        recipient=helper.uri,
        handle=helper.handle,
        in_reply_to=response.object_uri,
        html=f"<p>{text}</p>",
        language=post.language,
    )
    # Kept under the response's id, so hiding the response can delete this message too.
    await outbox.enqueue(fed, owner, activity, [helper.inbox], object_uri=response_url)
    return f"direct message to {helper.uri}"


async def _answer_agreement(fed: Federation, response: Response, accepted: bool) -> str:
    """FEP-0837: Accept(Offer) with the finalized Agreement as `result`, or Reject(Offer)."""
    helper, post = response.remote_author, response.post
    owner = post.organisation or post.author
    actor_url = uris.absolute(fed.settings, proposals.attributed_path(post))
    note_id = uris.absolute(fed.settings, uris.post(post.id))
    agreement_id = uris.absolute(fed.settings, uris.response(post.id, response.id))
    _, activity_id = outbox.new_activity_id(fed)
    answer = activities.answer_offer(
        activity_id,
        actor_url,
        response.object_uri,
        helper.uri,
        context=proposals.CONTEXT,
        agreement_id=agreement_id if accepted else None,
        satisfies=f"{note_id}#primary",
    )
    await outbox.enqueue(fed, owner, answer, [helper.inbox])
    return f"{answer['type']} of the offer of {helper.uri}"
