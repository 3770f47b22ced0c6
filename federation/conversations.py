"""Talking back to people elsewhere about their offers of help, in the post's language.

A helper from another server whose offer is accepted gets a direct message saying what
happens next; one whose offer was not taken before the request was filled or closed
(`NOT_NEEDED`, see `node.services.offer_closure`) gets a short "thank you, no longer
needed". An offer that came as a FEP-0837 `Offer(Agreement)` is answered with `Accept`
or `Reject` of that Offer instead (Mastodon ignores a Reject of anything but a Follow:
its users, who reply with a Note, get the direct message).

A direct message is a `Create(Note)` to the helper alone, mentioning them, in reply to
their own reply: Mastodon shows it as a private mention in that thread.
"""

from __future__ import annotations

import html
import uuid

from federation import activities, outbox, proposals
from federation.context import Federation
from node import uris
from node.i18n import N_, translations
from node.models import HelpPost, RemoteActor, Response
from node.states import OfferStatus

ACCEPTED = N_(
    "%(mention)s Thank you! Your offer to help with “%(title)s” was accepted. "
    "%(name)s will get in touch with you about the details: where exactly and when. "
    "You can answer this message with any question."
)
NOT_NEEDED = N_(
    "%(mention)s Thank you for offering to help with “%(title)s”: it is no longer needed."
)
ANSWERED = (OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.NOT_NEEDED)


async def on_offer_status_changed(fed: Federation, payload: dict) -> str | None:
    if payload["new"] not in ANSWERED:
        return None
    response = await Response.get_or_none(id=uuid.UUID(payload["response_id"])).prefetch_related(
        "remote_author", "post__author", "post__organisation", "post__neighbourhood"
    )
    if response is None or response.remote_author is None:
        return None  # local helpers are notified on the node itself
    if response.via_agreement:
        return await _answer_agreement(fed, response, payload["new"] == OfferStatus.ACCEPTED)
    if payload["new"] == OfferStatus.DECLINED:
        return None  # a declined Mastodon offer is not told (the author said nothing)
    accepted = payload["new"] == OfferStatus.ACCEPTED
    post = response.post
    response_url = uris.absolute(fed.settings, uris.response(post.id, response.id))
    # Kept under the response's id, so hiding the response can delete this message too.
    return await send_direct(
        fed,
        post,
        response.remote_author,
        ACCEPTED if accepted else NOT_NEEDED,
        note_id=response_url + ("#accepted" if accepted else "#not-needed"),
        in_reply_to=response.object_uri,
        object_uri=response_url,
    )


def post_locale(fed: Federation, post: HelpPost) -> str:
    """The language messages about `post` are written in: the post's, if the node has
    it, else English."""
    return post.language if post.language in fed.settings.languages else "en"


def mention(helper: RemoteActor) -> str:
    """The h-card mention Mastodon renders as a link to the person."""
    profile = html.escape(helper.url or helper.uri)
    return (
        f'<span class="h-card"><a href="{profile}" class="u-url mention">'
        f"{html.escape(helper.handle)}</a></span>"
    )


def owner_name(post: HelpPost) -> str:
    """Who speaks for `post` (author and organisation loaded): its organisation, or its
    author."""
    return post.organisation.name if post.organisation else post.author.display_name


async def send_direct(
    fed: Federation,
    post: HelpPost,
    helper: RemoteActor,
    message: str,
    *,
    note_id: str,
    in_reply_to: str | None,
    object_uri: str,
    extra_html: str = "",
) -> str:
    """Send `message` (an N_ string with %(mention)s, %(title)s, %(name)s) to `helper`
    alone, from whoever speaks for `post` (author, organisation and neighbourhood
    loaded), in the post's language; `extra_html` (already escaped) follows it. Stored
    under `object_uri`, so that hiding what it is about deletes it too
    (`moderation_outgoing.on_response_hidden`)."""
    locale = post_locale(fed, post)
    title, _, _ = post.text_in(post.language)
    text = translations(locale).gettext(message) % {
        "mention": mention(helper),
        "title": html.escape(title, quote=False),
        "name": html.escape(owner_name(post), quote=False),
    }
    actor_url = uris.absolute(fed.settings, proposals.attributed_path(post))
    _, activity_id = outbox.new_activity_id(fed)
    activity = activities.direct_message(
        activity_id,
        actor_url,
        note_id,
        recipient=helper.uri,
        handle=helper.handle,
        in_reply_to=in_reply_to,
        html=f"<p>{text}</p>{extra_html}",
        language=locale,
    )
    owner = post.organisation or post.author
    await outbox.enqueue(fed, owner, activity, [helper.inbox], object_uri=object_uri)
    return f"direct message to {helper.uri}"


async def _answer_agreement(fed: Federation, response: Response, accepted: bool) -> str:
    """FEP-0837: Accept(Offer) with the finalized Agreement as `result`, or Reject(Offer)
    (declined, or no longer needed)."""
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
