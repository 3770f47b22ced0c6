"""Talking back to people elsewhere: a helper from another server whose offer is accepted
gets a direct message, in the post's language, saying what happens next."""

from __future__ import annotations

import html
import uuid

from federation import outbox, proposals
from federation.context import Federation
from federation.vocab import AS_CONTEXT
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
    note_id = uris.absolute(fed.settings, uris.response(post.id, response.id)) + "#accepted"
    _, activity_id = outbox.new_activity_id(fed)
    note = {
        "id": note_id,
        "type": "Note",
        "attributedTo": actor_url,
        "to": [helper.uri],
        "cc": [],
        "inReplyTo": response.object_uri,
        "content": f"<p>{text}</p>",
        "contentMap": {post.language: f"<p>{text}</p>"},
        "tag": [{"type": "Mention", "href": helper.uri, "name": helper.handle}],
    }
    activity = {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Create",
        "actor": actor_url,
        "to": [helper.uri],
        "cc": [],
        "object": note,
    }
    await outbox.enqueue(fed, owner, activity, [helper.inbox])
    return f"direct message to {helper.uri}"


async def _answer_agreement(fed: Federation, response: Response, accepted: bool) -> str:
    """FEP-0837: Accept(Offer) with the finalized Agreement as `result`, or Reject(Offer)."""
    helper, post = response.remote_author, response.post
    owner = post.organisation or post.author
    actor_url = uris.absolute(fed.settings, proposals.attributed_path(post))
    note_id = uris.absolute(fed.settings, uris.post(post.id))
    _, activity_id = outbox.new_activity_id(fed)
    answer: dict = {
        "@context": proposals.CONTEXT,
        "id": activity_id,
        "type": "Accept" if accepted else "Reject",
        "actor": actor_url,
        "object": response.object_uri,
        "to": [helper.uri],
    }
    if accepted:
        agreement_id = uris.absolute(fed.settings, uris.response(post.id, response.id))
        answer["result"] = {
            "type": "Agreement",
            "id": agreement_id,
            "stipulates": {
                "id": f"{agreement_id}#primary",
                "type": "Commitment",
                "satisfies": f"{note_id}#primary",
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
            },
        }
    await outbox.enqueue(fed, owner, answer, [helper.inbox])
    return f"{answer['type']} of the offer of {helper.uri}"
