"""The private conversation of a request: who takes part, who may read, and its messages.

Taking part: whoever manages the request (its author; for an organisation's request,
its staff — `permissions.can_manage_post`) and the helpers whose offer is accepted, here
or on other servers. A helper who withdraws or is released leaves it. Nobody else reads
it: not moderators, not partner organisations, not followers; it never appears on public
pages, feeds or the request's Note.

Remote helpers get each message as a direct Note (the `ConversationMessagePosted` event)
and their direct replies come back through `receive_remote`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from node import events, raw_sql, validation
from node.errors import Conflict, PermissionDenied
from node.models import (
    Account,
    ConversationMessage,
    HelpPost,
    NotificationKind,
    RemoteActor,
    Response,
    ResponseKind,
)
from node.request_memo import remembered
from node.services.notifications import notify, post_team
from node.services.permissions import can_manage_post
from node.states import OfferStatus, PostStatus

MAX_LENGTH = 2000
# Details are still agreed until the request is over; afterwards the thread stays readable.
WRITABLE = frozenset({PostStatus.OPEN, PostStatus.MATCHED, PostStatus.DONE})


@dataclass(frozen=True, slots=True)
class Participants:
    local_helper_ids: frozenset[int]  # accounts here whose offer is accepted
    remote_helpers: tuple[RemoteActor, ...]  # accepted helpers on other servers
    team_ids: frozenset[int]  # who hears of messages on the request's side (`post_team`)


async def participants(post: HelpPost) -> Participants:
    accepted = await Response.filter(
        post_id=post.id, kind=ResponseKind.OFFER, offer_status=OfferStatus.ACCEPTED
    ).prefetch_related("remote_author")
    local = frozenset(r.author_id for r in accepted if r.author_id is not None)
    remote = {r.remote_author.id: r.remote_author for r in accepted if r.remote_author}
    return Participants(local, tuple(remote.values()), frozenset(await post_team(post)))


async def can_read(account: Account | None, post: HelpPost) -> bool:
    if account is None or not account.is_active or account.is_suspended:
        return False
    if await can_manage_post(account, post):
        return True
    # Asked on every page of a request: one hand-written statement, not the ORM's EXISTS.
    accepted = await remembered(
        accepted_helper_key(account.id, post.id),
        lambda: raw_sql.rows(ACCEPTED_HELPER_SQL, accepted_helper_params(account.id, post.id)),
    )
    return bool(accepted)


# A row when the account's offer of help on the post is accepted.
ACCEPTED_HELPER_SQL = (
    "SELECT 1 FROM responses WHERE post_id = ? AND author_id = ? AND kind = ?"
    " AND offer_status = ? LIMIT 1"
)


def accepted_helper_params(account_id: int, post_id: object) -> list[object]:
    return [post_id, account_id, ResponseKind.OFFER, OfferStatus.ACCEPTED]


def accepted_helper_key(account_id: int, post_id: object) -> tuple[object, ...]:
    """What `can_read`'s helper check is remembered under while a page is made
    (`node.request_memo`): a list, empty unless the account is an accepted helper."""
    return ("accepted helper", account_id, str(post_id))


async def has_conversation(post: HelpPost) -> bool:
    """Whether there is anyone to talk to: at least one accepted helper."""
    return await Response.filter(
        post_id=post.id, kind=ResponseKind.OFFER, offer_status=OfferStatus.ACCEPTED
    ).exists()


async def messages(post: HelpPost) -> list[ConversationMessage]:
    """The thread, oldest first; call only for a reader `can_read` allowed."""
    return (
        await ConversationMessage.filter(post_id=post.id)
        .order_by("created_at")
        .prefetch_related("author", "remote_author", "organisation")
    )


def is_open(post: HelpPost) -> bool:
    """Whether messages may still be written (afterwards the thread is read-only): not
    once the request is withdrawn or expired, nor once the moderators removed it."""
    return post.status in WRITABLE and post.hidden_at is None


async def message_count(post: HelpPost) -> int:
    return await ConversationMessage.filter(post_id=post.id).count()


@dataclass(frozen=True, slots=True)
class Summary:
    """What a request's page tells one participant of its conversation."""

    messages: int
    organiser: bool  # the reader manages the request (else: an accepted helper)


async def summary(account: Account | None, post: HelpPost) -> Summary | None:
    """For a participant, once there is someone to talk to or something to read; None
    for everyone else, so that a page shows nothing of the conversation to them."""
    if not await can_read(account, post):
        return None
    count = await message_count(post)
    if count == 0 and not await has_conversation(post):
        return None
    return Summary(count, await can_manage_post(account, post))


async def post_message(author: Account, post: HelpPost, body: str) -> ConversationMessage:
    """A message from someone here. Raises PermissionDenied for a non-participant,
    Conflict once the request is withdrawn, expired or removed, InvalidInput for an
    empty or too long text."""
    if not await can_read(author, post):
        raise PermissionDenied("only the request's organisers and accepted helpers take part")
    if not is_open(post):
        raise Conflict(f"the request is {post.status}: its conversation is closed")
    text = validation.text("body", body, max_len=MAX_LENGTH, required=True)
    # Staff writing on an organisation's request speak for it (its name is shown).
    speaks_for = post.organisation_id if await _is_team_side(author, post) else None
    async with in_transaction():
        message = await ConversationMessage.create(
            post=post, author=author, organisation_id=speaks_for, body=text
        )
        await _tell_others(post, message, exclude_account=author.id)
        await events.emit(events.ConversationMessagePosted(str(message.id), str(post.id)))
    return message


async def receive_remote(
    sender: RemoteActor, post: HelpPost, object_uri: str, body_html: str
) -> ConversationMessage | None:
    """A direct reply from a remote participant (already sanitised by federation).
    None when the sender does not take part (any more) or the Note is known already."""
    if not any(actor.id == sender.id for actor in (await participants(post)).remote_helpers):
        return None
    if await ConversationMessage.exists(object_uri=object_uri):
        return None
    async with in_transaction():
        message = await ConversationMessage.create(
            post=post, remote_author=sender, object_uri=object_uri, body_html=body_html
        )
        await _tell_others(post, message, exclude_account=None)
        # The other remote helpers hear of it too (the sender is left out by federation).
        await events.emit(events.ConversationMessagePosted(str(message.id), str(post.id)))
    return message


async def _is_team_side(account: Account, post: HelpPost) -> bool:
    return post.organisation_id is not None and await can_manage_post(account, post)


async def _tell_others(
    post: HelpPost, message: ConversationMessage, exclude_account: int | None
) -> None:
    people = await participants(post)
    for recipient in sorted(people.team_ids | people.local_helper_ids):
        if recipient != exclude_account:
            await notify(
                recipient,
                NotificationKind.MESSAGE,
                actor=message.author if message.author_id else None,  # None: a remote one
                post=post,
                organisation_id=message.organisation_id,
                message=message,
            )
