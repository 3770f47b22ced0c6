"""Followers who wait for approval, and the people who decide.

Followers of an organisation or a resident see their followers-only posts, on this node
and on the followers' servers (a signed fetch, deliveries). So organisations approve
each follower unless they choose otherwise, and residents may choose to. A follow of such
an actor stays pending until someone who speaks for it decides:

- a resident decides for themself;
- an organisation's coordinators and the node's admins decide for it (its other staff
  see the list, as on the dashboard).

Approving answers a remote follower with `Accept`, refusing with `Reject`; removing an
accepted follower sends `Reject` too, which Mastodon applies as "remove follower".
Turning approval off accepts everyone still waiting. Neighbourhoods approve only
followers from other servers, by the admins (`partnerships`); not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from node import db, events, validation
from node.errors import InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.models import Account, Follow, NotificationKind, Organisation, StaffRole
from node.models.organisations import Membership
from node.services import audit, organisations
from node.services.notifications import notify
from node.states import FOLLOW_GRAPH, FollowStatus

Approver = Account | Organisation


def _lookup(target: Approver) -> dict[str, Approver]:
    return {"account": target} if isinstance(target, Account) else {"organisation": target}


def approves_followers(target: object) -> bool:
    """Whether a follow of `target` waits for a decision (from here or elsewhere)."""
    return isinstance(target, Account | Organisation) and target.manually_approves_followers


async def may_decide(by: Account | None, target: Approver) -> bool:
    if by is None or not by.is_active:
        return False
    if isinstance(target, Account):
        return by.id == target.id
    return await organisations.can_manage(by, target)


async def _require(by: Account | None, target: Approver) -> Account:
    if by is None or not await may_decide(by, target):
        raise PermissionDenied("only the account itself, or the organisation's coordinators")
    return by


async def _deciders(target: Approver) -> list[int]:
    """Who is told a follower waits: the resident; the organisation's coordinators, or
    all its staff when it has no coordinator."""
    if isinstance(target, Account):
        return [target.id]
    rows = await Membership.filter(organisation_id=target.id, account__is_active=True).values_list(
        "account_id", "role"
    )
    coordinators = [a for a, role in rows if role == StaffRole.COORDINATOR]
    return coordinators or [a for a, _ in rows]


async def ask(target: Approver, *, local: Account | None = None, handle: str = "") -> None:
    """Tell the deciders that someone (`local` here, or `handle` elsewhere) asks to follow."""
    org_id = target.id if isinstance(target, Organisation) else None
    for recipient in await _deciders(target):
        await notify(
            recipient,
            NotificationKind.ASKS_TO_FOLLOW,
            actor=local,
            organisation_id=org_id,
            note="" if local is not None else handle,
        )


@dataclass(frozen=True, slots=True)
class FollowerRow:
    """One follower or request, as the deciders see it."""

    id: int
    name: str
    handle: str
    local: bool
    since: datetime
    pending: bool


async def followers_and_requests(target: Approver, *, limit: int = 500) -> list[FollowerRow]:
    """Who asks to follow `target` and who follows it, newest first (requests first)."""
    rows = (
        await Follow.filter(
            status__in=(FollowStatus.PENDING, FollowStatus.ACCEPTED), **_lookup(target)
        )
        .order_by("-created_at")
        .limit(limit)
        .prefetch_related("follower", "follower_remote")
    )
    found = []
    for row in rows:
        pending = row.status == FollowStatus.PENDING
        if row.follower is not None:
            who = row.follower
            entry = FollowerRow(
                row.id, who.display_name, f"@{who.username}", True, row.created_at, pending
            )
        elif row.follower_remote is not None:
            remote = row.follower_remote
            name = remote.display_name or remote.username
            entry = FollowerRow(row.id, name, remote.handle, False, row.created_at, pending)
        else:
            continue
        found.append(entry)
    return sorted(found, key=lambda r: not r.pending)


def follow_id(raw: str) -> int:
    """A follow's id as a form sends it."""
    number = validation.as_id(raw)
    if number is None:
        raise InvalidInput("follow_id", N_("choose one of the options"))
    return number


async def _row(target: Approver, follow_id: int, status: FollowStatus) -> Follow:
    row = await Follow.get_or_none(id=follow_id, status=status, **_lookup(target))
    if row is None:
        raise NotFound("no such follower or request")
    return row


def _subject(target: Approver) -> tuple[str, Organisation | None]:
    if isinstance(target, Organisation):
        return f"organisation:{target.slug}", target
    return f"account:{target.username}", None


async def _set_status(row: Follow, status: FollowStatus) -> None:
    FOLLOW_GRAPH.check(row.status, status)
    row.status = status
    await row.save(update_fields=["status"])
    # Decided here: a remote follower gets our Accept or Reject (federation answers it).
    remote = row.follower_remote_id is not None  # type: ignore[attr-defined]
    await events.emit(events.FollowChanged(row.id, status.value, decided_locally=remote))


async def _drop(row: Follow) -> None:
    """End a follow or a request: a resident here may simply ask again; a remote
    follower is answered with Reject (the row stays so a late Undo still finds it)."""
    if row.follower_id is not None:  # type: ignore[attr-defined]
        await events.emit(events.FollowChanged(row.id, "removed"))
        await row.delete()
    else:
        await _set_status(row, FollowStatus.REJECTED)


async def _audit(decider: Account, target: Approver, action: str) -> None:
    """Organisations keep a trail of who decided on their followers; residents do not."""
    if isinstance(target, Organisation):
        subject, org = _subject(target)
        await audit.record(decider, action, subject, organisation=org)


async def decide(by: Account | None, target: Approver, follow_id: int, accept: bool) -> None:
    """Approve or refuse one waiting follower. A refused resident here may ask again."""
    decider = await _require(by, target)
    async with db.atomic():
        row = await _row(target, follow_id, FollowStatus.PENDING)
        if accept:
            await _set_status(row, FollowStatus.ACCEPTED)
        else:
            await _drop(row)
        await _audit(decider, target, "follower.approved" if accept else "follower.refused")


async def remove_follower(by: Account | None, target: Approver, follow_id: int) -> None:
    """Stop an accepted follower from following: they no longer see followers-only posts."""
    decider = await _require(by, target)
    async with db.atomic():
        await _drop(await _row(target, follow_id, FollowStatus.ACCEPTED))
        await _audit(decider, target, "follower.removed")


async def set_approval(by: Account | None, target: Approver, approve: bool) -> int:
    """Choose whether followers wait for approval; turning it off accepts everyone still
    waiting. Returns how many were accepted that way."""
    decider = await _require(by, target)
    accepted = 0
    async with db.atomic():
        target.manually_approves_followers = approve
        await target.save(update_fields=["manually_approves_followers"])
        if not approve:
            waiting = await Follow.filter(status=FollowStatus.PENDING, **_lookup(target))
            for row in waiting:
                await _set_status(row, FollowStatus.ACCEPTED)
            accepted = len(waiting)
        await _audit(
            decider, target, "follower.approval_on" if approve else "follower.approval_off"
        )
    return accepted
