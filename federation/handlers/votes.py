"""Votes on our needs surveys, as Mastodon sends them (called by the Note handler).

Mastodon sends one `Create(Note)` per chosen option to the poll author's inbox: the
Note's `name` is the option's label, its `inReplyTo` the `Question`, and it has no
content. Such a Note is a vote, never a reply: `notes.create` asks here first. A Note
with content that answers a survey is a comment, which surveys do not take.
"""

from __future__ import annotations

from typing import Any

from federation.handlers.registry import Incoming, Outcome
from federation.parse import NoteData
from federation.vocab import type_of
from node import uris
from node.errors import NotFound
from node.models import Survey
from node.services import survey_votes
from node.services.survey_votes import RemoteVote

MAX_LABEL = 500  # longer than any option: names nothing


def _has_content(obj: dict[str, Any]) -> bool:
    content, content_map = obj.get("content"), obj.get("contentMap")
    if isinstance(content, str) and content.strip():
        return True
    return isinstance(content_map, dict) and any(
        isinstance(text, str) and text.strip() for text in content_map.values()
    )


def vote_label(obj: object, note: NoteData) -> str | None:
    """The option a Note names, when it has the shape of a vote (else None)."""
    if not isinstance(obj, dict) or type_of(obj) != "Note" or note.in_reply_to is None:
        return None
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip() or _has_content(obj):
        return None
    return name[: MAX_LABEL + 1]


async def vote_on_survey(incoming: Incoming, note: NoteData) -> Outcome | None:
    """The outcome of the vote `note` is, or None when it is no vote on one of our
    surveys (then the Note goes on to the reply handling). `note` was origin-checked
    (`parse_note`: its id on the actor's host, attributed to the actor)."""
    label = vote_label(incoming.object, note)
    if label is None:
        return None
    ref = uris.parse(incoming.fed.settings, note.in_reply_to or "")
    if ref is None or ref.kind != "survey":
        return None
    survey_id = uris.id_key(ref.key)
    survey = await Survey.get_or_none(id=survey_id) if survey_id else None
    if survey is None:
        return Outcome.ignored("vote on no survey of ours")
    if len(label) > MAX_LABEL:
        return Outcome.rejected("vote for an option this survey does not have")
    try:
        result = await survey_votes.vote_remote(incoming.actor, survey, label, note.id)
    except NotFound:
        return Outcome.ignored("vote on no survey of ours")
    return _OUTCOMES[result]


_OUTCOMES = {
    RemoteVote.COUNTED: Outcome.processed("vote counted"),
    RemoteVote.DUPLICATE: Outcome.ignored("vote already counted"),
    # Mastodon can send a vote that arrives after the closing time: nothing to refuse.
    RemoteVote.CLOSED: Outcome.ignored("vote on a closed survey"),
    RemoteVote.UNKNOWN_OPTION: Outcome.rejected("vote for an option this survey does not have"),
    RemoteVote.ALREADY_VOTED: Outcome.rejected(
        "already answered: a second option of a one-answer survey, or another copy of its series"
    ),
}
