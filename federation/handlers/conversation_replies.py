"""Direct replies of remote helpers: messages of a request's private conversation.

Called by the Note handler (`notes.create`) before a Note is taken for a public reply.
A Note is a conversation message when it is not public (no Public in `to`/`cc`), answers
something of the conversation — one of its messages (by our id, or a remote helper's own
Note id), the direct message that told a helper their offer was accepted
(`…/responses/{id}#accepted`), the thank-you a helper got, or the request's Note
itself — and comes from one of the request's accepted helpers on another server. It is
stored through `conversations.receive_remote`, sanitised as every remote Note is
(`parse_note`), with the leading mention of our actor taken off (Mastodon starts every
reply with it).

A Note that is not public and answers these, but whose author does not take part, is
dropped: it is no conversation message, and a public response must never show what its
author addressed to a few people. The one exception is a followers-only reply to a
followers-only request: whoever may see the request may see it, so it goes on to the
reply path (which checks that its author may see the request). Public Notes always go on
to the reply path.
"""

from __future__ import annotations

import re

from federation.handlers.registry import Incoming, Outcome
from federation.parse import NoteData
from node import uris
from node.config import Settings
from node.models import (
    ConversationMessage,
    HelpPost,
    RemoteActor,
    Response,
    ResponseKind,
    Visibility,
)
from node.services import conversations
from node.text import html_to_text

ACCEPTED_FRAGMENT = "accepted"  # the id `federation.conversations` gives that message
# A mention at the start of the text, as Mastodon writes it (after sanitising):
# <p><span class="h-card"><a href="…">@<span>name</span></a></span> …
_LEADING_MENTION = re.compile(
    r'^(<p>)\s*(?:<span class="h-card">(<a href="([^"]+)"[^>]*>(?:(?!</a>).)*</a>)</span>'
    r'|(<a href="([^"]+)"[^>]*>(?:(?!</a>).)*</a>))\s*',
    re.DOTALL,
)


def strip_our_mentions(settings: Settings, html: str) -> str:
    """`html` without the mentions of our actors it starts with (the rest unchanged)."""
    stripped = html
    while match := _LEADING_MENTION.match(stripped):
        href = match.group(3) or match.group(5)
        if not uris.is_local(settings, href):
            break
        stripped = match.group(1) + stripped[match.end() :]
    # Nothing but the mention: keep it as it came rather than store an empty message.
    return stripped if html_to_text(stripped) else html


async def _thread_post(settings: Settings, target: str) -> HelpPost | None:
    """The request whose conversation `target` (an inReplyTo) belongs to, if any."""
    ref = uris.parse(settings, target)
    if ref is None:
        message = await ConversationMessage.get_or_none(object_uri=target)
        return await HelpPost.get_or_none(id=message.post_id) if message else None
    post_id = uris.id_key(ref.key)
    if post_id is None:
        return None
    if ref.kind == "message":
        message_id = uris.id_key(ref.sub or "")
        if message_id is None or not await ConversationMessage.exists(
            id=message_id, post_id=post_id
        ):
            return None
    elif ref.kind == "response":
        response_id = uris.id_key(ref.sub or "")
        fragment = target.split("#", 1)[1] if "#" in target else ""
        response = (
            await Response.get_or_none(id=response_id, post_id=post_id) if response_id else None
        )
        # The direct message accepting a helper, or the thank-you a helper got
        # (`federation.thanks_out`: `…/responses/{thanks}#to-{offer}`).
        if response is None or not (
            fragment == ACCEPTED_FRAGMENT or response.kind == ResponseKind.THANKS
        ):
            return None
    elif ref.kind != "post":
        return None
    # A request's URL with a fragment still names it, for the reply path too
    # (`local_post`): not public, such a Note is the conversation's or nobody's.
    return await HelpPost.get_or_none(id=post_id)


def _followers_only(actor: RemoteActor, note: NoteData) -> bool:
    return actor.followers_url is not None and actor.followers_url in note.to + note.cc


async def conversation_reply(incoming: Incoming, note: NoteData) -> Outcome | None:
    """The outcome of `note` as a conversation message, or None when it goes on to the
    reply path. `note` was origin-checked and sanitised (`parse_note`)."""
    if note.is_public or note.in_reply_to is None:
        return None
    settings = incoming.fed.settings
    post = await _thread_post(settings, note.in_reply_to)
    if post is None:
        return None  # nothing of ours: the reply path finds no post either
    sender = incoming.actor
    people = await conversations.participants(post)
    if not any(helper.id == sender.id for helper in people.remote_helpers):
        ref = uris.parse(settings, note.in_reply_to)
        answers_note = ref is not None and ref.kind == "post"
        if (
            answers_note
            and post.visibility == Visibility.FOLLOWERS
            and _followers_only(sender, note)
        ):
            return None
        return Outcome.ignored("a private message from someone who is not in the conversation")
    if not conversations.is_open(post):
        return Outcome.ignored("the request's conversation is closed")
    html = strip_our_mentions(settings, note.html)
    stored = await conversations.receive_remote(sender, post, note.id, html)
    if stored is None:
        return Outcome.ignored("conversation message already stored")
    return Outcome.processed("conversation message stored")
