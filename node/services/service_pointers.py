"""Pointing a request's author to a service of the directory, and closing the request
as done with it.

A helper who knows that the commune collects bulky waste, or that the social desk
answers this, says so with a structured response (kind SERVICE, naming the service,
with an optional short note) rather than a comment: the author sees it as a suggestion
with the service's contacts and a "This solved it" button, which closes the request as
done and remembers which service solved it (for the needs figures). Pointers are taken
where comments are (open and matched posts), once per person, service and post, and
only to a service the form lists: one answering the request's category in its
neighbourhood.
"""

from __future__ import annotations

import uuid

from node import db, events, uris, validation
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.models import (
    Account,
    AuditEntry,
    HelpPost,
    NotificationKind,
    PostKind,
    Response,
    ResponseKind,
    Service,
)
from node.services import audit
from node.services.notifications import notify_team
from node.services.permissions import can_manage_post
from node.services.posts import set_status
from node.services.service_matching import matching_services
from node.services.visibility import can_view
from node.states import PostAction, PostStatus, post_allows

MAX_NOTE = 500


SOLVED_ACTION = "post.solved_by_service"


class AlreadyPointed(Conflict):
    """This person already pointed this post to this service."""


def _service_key(service_id: object) -> uuid.UUID:
    """The service's id from a form value; InvalidInput for anything that is not one."""
    key = uris.id_key(str(service_id or "").strip())
    if key is None:
        raise InvalidInput("service", N_("choose a service from the list"))
    return key


def may_point(account: Account | None, post: HelpPost) -> bool:
    """Whether `account` may point `post`'s author to a service (no reason why not)."""
    return (
        account is not None
        and account.is_active
        and post.kind == PostKind.REQUEST
        and account.id != post.author_id
        and post_allows(post.status, PostAction.COMMENT)
    )


async def point_to_service(
    account: Account, post: HelpPost, service_id: object, note: str = ""
) -> Response:
    """Point the author of request `post` to service `service_id`, with a short note.
    Nothing is stored when any check fails."""
    if not account.is_active:
        raise PermissionDenied("this account is suspended")
    if not await can_view(account, post):
        raise NotFound("no such post")
    if post.kind != PostKind.REQUEST:
        raise Conflict("only a request can be pointed to a service")
    if account.id == post.author_id:
        raise Conflict("you cannot point your own request to a service")
    if not post_allows(post.status, PostAction.COMMENT):
        raise Conflict(f"this post is {post.status} and takes no more responses")
    key = _service_key(service_id)
    text = validation.text("note", note, max_len=MAX_NOTE)
    # Only what the form lists: a service answering the request's category where it is
    # (a hand-made form naming any other, or one removed since, is refused alike).
    matching = await matching_services(post.category, post.neighbourhood_id)
    service = next((s for s in matching if str(s.id) == str(key)), None)
    if service is None:
        raise InvalidInput("service", N_("choose a service from the list"))
    async with db.atomic():
        # The lock serialises two pointers at once (no unique index holds them apart),
        # and the status is read again under it.
        locked = await HelpPost.select_for_update().get(id=post.id)
        if not post_allows(locked.status, PostAction.COMMENT):
            raise Conflict(f"this post is {locked.status} and takes no more responses")
        if await Response.exists(
            post_id=post.id, author_id=account.id, kind=ResponseKind.SERVICE, service_id=key
        ):
            raise AlreadyPointed("you already pointed to this service here")
        response = await Response.create(
            post=locked, author=account, kind=ResponseKind.SERVICE, service=service, body=text
        )
        await events.emit(events.ResponseCreated(str(response.id), str(post.id)))
        await notify_team(locked, NotificationKind.RESPONSE, actor=account, response=response)
    return response


async def solved_with_service(account: Account, post: HelpPost, response_id: object) -> HelpPost:
    """The author (or the organisation's staff) says the service that `response_id`
    pointed to solved request `post`: it is closed as done (federated as any status
    change) and `solved_by_service` set. Nothing changes when a check fails."""
    if not await can_manage_post(account, post):
        raise PermissionDenied("only the author or the organisation's staff can do that")
    key = uris.id_key(str(response_id or ""))
    if key is None:
        raise NotFound("no such service pointer on this post")
    async with db.atomic():
        locked = await HelpPost.select_for_update().get(id=post.id)
        # Read under the lock: a moderator may have hidden it, or the service gone.
        pointer = await Response.get_or_none(
            id=key, post_id=post.id, kind=ResponseKind.SERVICE, hidden_at=None
        )
        if pointer is None or pointer.service_id is None:
            raise NotFound("no such service pointer on this post")
        if locked.status not in (PostStatus.OPEN, PostStatus.MATCHED):
            raise Conflict(f"this post is {locked.status}: it cannot be closed with a service")
        locked.solved_by_service_id = pointer.service_id
        await locked.save(update_fields=["solved_by_service_id", "updated_at"])
        await set_status(locked, PostStatus.DONE, by=account)
        await audit.record(
            account,
            SOLVED_ACTION,
            post=locked,
            detail={"response": str(pointer.id), "service": str(pointer.service_id)},
        )
    post.status, post.status_changed_at = locked.status, locked.status_changed_at
    post.solved_by_service_id = locked.solved_by_service_id
    return post


async def pointed_services(rows: list[Response]) -> dict[str, Service]:
    """The services that the SERVICE responses among `rows` point to, by response id
    (one query; a removed service is missing)."""
    wanted = {
        row.service_id
        for row in rows
        if row.kind == ResponseKind.SERVICE and row.service_id is not None
    }
    if not wanted:
        return {}
    # Compared as strings: a UUID key's type differs between the database backends.
    found = {str(s.id): s for s in await Service.filter(id__in=wanted)}
    return {
        str(row.id): found[str(row.service_id)]
        for row in rows
        if row.kind == ResponseKind.SERVICE and str(row.service_id) in found
    }


async def solved_by(post: HelpPost) -> tuple[bool, Service | None]:
    """Whether done request `post` was closed with "This solved it", and the service
    (None once removed from the directory). Read from its trail: the last status entry
    says how it was closed, so a request reopened and then marked done by hand is not."""
    if post.status != PostStatus.DONE:
        return False, None
    last = (
        await AuditEntry.filter(post_id=post.id, action__in=["post.status", SOLVED_ACTION])
        .order_by("-id")
        .first()
    )
    if last is None or last.action != SOLVED_ACTION:
        return False, None
    service_id = post.solved_by_service_id
    return True, (None if service_id is None else await Service.get_or_none(id=service_id))
