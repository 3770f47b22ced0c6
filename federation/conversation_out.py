"""A request's private conversation, sent to its accepted helpers on other servers.

Each message (`ConversationMessagePosted`) goes to every remote accepted helper except
the one who wrote it, as a `Create` of a direct Note (Mastodon shows a private mention):

- `id` is the message's URL (`uris.conversation_message`), which is never served: the
  message is delivered, not fetched, and a GET of it answers 404;
- `attributedTo` is the request's actor (its organisation, else its author), whoever
  of the participants wrote it; a message by someone else (a helper, here or elsewhere)
  starts with their name;
- `to` holds the helpers and nothing else (never Public, never a followers collection),
  each with a `Mention` tag; helpers on one server share one Note (one server must not
  get the same Note id twice with two audiences), helpers on different servers each get
  their own;
- `inReplyTo` is the previous message of the thread, or for the first one the direct
  message that told the helper their offer was accepted (else the request's Note), so
  that a helper's client shows one thread.

Deliveries go to each helper's own inbox, as the accepted message does
(`federation.conversations`); the activity is stored unlisted (`OutboxActivity.public`
is False: no Public in its audience) and keyed by the message's URL.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Sequence

from federation import activities, outbox, proposals
from federation.context import Federation
from federation.conversations import mention
from node import uris
from node.i18n import N_, translations
from node.linkify import linkify
from node.models import ConversationMessage, HelpPost, RemoteActor, Response, ResponseKind
from node.services import conversations
from node.states import OfferStatus

# Before a message the request's own actor did not write (it is attributed to that actor).
WROTE = N_("%(name)s wrote:")


def message_url(fed: Federation, message: ConversationMessage) -> str:
    """The id of a message as we send it (also a remote helper's, passed on to others)."""
    return uris.absolute(fed.settings, uris.conversation_message(message.post_id, message.id))


def known_as(fed: Federation, message: ConversationMessage, group: Sequence[RemoteActor]) -> str:
    """The id `group` knows a message by: its writer knows their own Note's id."""
    writers = {helper.id for helper in group}
    if message.object_uri and message.remote_author_id in writers:
        return message.object_uri
    return message_url(fed, message)


def _paragraphs(text: str) -> list[str]:
    """Local plain text as HTML paragraphs, its URLs as links (as the pages show it)."""
    blocks = [block for block in text.split("\n\n") if block.strip()]
    return [linkify(block.strip()).replace("\n", "<br>") for block in blocks]


def _writer(message: ConversationMessage) -> str | None:
    """Who wrote a message, when it is not the request's actor speaking."""
    if message.remote_author is not None:
        return message.remote_author.display_name or message.remote_author.handle
    if message.organisation_id is not None:
        return None  # staff speaking for the organisation: the organisation's message
    post = message.post
    if post.organisation_id is None and message.author_id == post.author_id:
        return None
    return message.author.display_name if message.author else None


def render(fed: Federation, message: ConversationMessage, recipients: Sequence[RemoteActor]) -> str:
    """The Note's HTML: the mentions, who wrote it if needed, then the message."""
    post = message.post
    locale = post.language if post.language in fed.settings.languages else "en"
    # The leading mentions Mastodon writes itself (its client links and highlights them).
    lead = " ".join(mention(actor) for actor in recipients)
    writer = _writer(message)
    if writer is not None:
        said = translations(locale).gettext(WROTE) % {"name": html.escape(writer, quote=False)}
        lead = f"{lead} {said}"
    if message.body_html is not None:  # a remote helper's, sanitised when it came
        return f"<p>{lead}</p>{message.body_html}"
    paragraphs = _paragraphs(message.body) or [""]
    first, rest = paragraphs[0], paragraphs[1:]
    joined = f"{lead}<br>{first}" if writer is not None else f"{lead} {first}"
    return "".join(f"<p>{p}</p>" for p in [joined.strip(), *rest])


async def _previous(message: ConversationMessage) -> ConversationMessage | None:
    return (
        await ConversationMessage.filter(post_id=message.post_id, created_at__lt=message.created_at)
        .order_by("-created_at")
        .first()
    )


async def _first_reply_target(fed: Federation, post: HelpPost, helpers: list[RemoteActor]) -> str:
    """What the first message answers: the helper's "accepted" direct message (sent for
    an offer made by a reply; an Offer(Agreement) got an Accept instead), else the Note."""
    if len(helpers) == 1:
        offer = await Response.filter(
            post_id=post.id,
            remote_author_id=helpers[0].id,
            kind=ResponseKind.OFFER,
            offer_status=OfferStatus.ACCEPTED,
            via_agreement=False,
        ).first()
        if offer is not None:
            response_url = uris.absolute(fed.settings, uris.response(post.id, offer.id))
            return response_url + "#accepted"  # the id `conversations` gives that message
    return uris.absolute(fed.settings, uris.post(post.id))


def by_server(helpers: Sequence[RemoteActor]) -> list[list[RemoteActor]]:
    """Helpers grouped by server (in a stable order): one Note per server."""
    groups: dict[str, list[RemoteActor]] = {}
    for helper in sorted(helpers, key=lambda actor: actor.uri):
        groups.setdefault(helper.domain, []).append(helper)
    return list(groups.values())


async def on_message_posted(fed: Federation, payload: dict) -> str | None:
    message = await ConversationMessage.get_or_none(
        id=uuid.UUID(payload["message_id"])
    ).prefetch_related(
        "author", "remote_author", "post__author", "post__organisation", "post__neighbourhood"
    )
    if message is None:
        return None  # the request (and its conversation) was deleted since
    post = message.post
    people = await conversations.participants(post)
    helpers = [h for h in people.remote_helpers if h.id != message.remote_author_id]
    if not helpers:
        return None
    owner = post.organisation or post.author
    actor_url = uris.absolute(fed.settings, proposals.attributed_path(post))
    # A remote helper's message goes on to the others under an id of ours too: it is
    # attributed to the request's actor, which cannot publish under their Note's id.
    note_id = message_url(fed, message)
    previous = await _previous(message)
    for group in by_server(helpers):
        if previous is not None:
            in_reply_to = known_as(fed, previous, group)
        else:
            in_reply_to = await _first_reply_target(fed, post, group)
        _, activity_id = outbox.new_activity_id(fed)
        activity = activities.conversation_note(
            activity_id,
            actor_url,
            note_id,
            recipients=[(helper.uri, helper.handle) for helper in group],
            in_reply_to=in_reply_to,
            html=render(fed, message, group),
            language=post.language,
            published=message.created_at,
        )
        await outbox.enqueue(
            fed, owner, activity, [helper.inbox for helper in group], object_uri=note_id
        )
    return f"conversation message to {len(helpers)} remote helper(s)"
