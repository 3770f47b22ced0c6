"""Follows that cross servers: remote actors following ours, and ours following theirs."""

from __future__ import annotations

from node import db, events
from node.errors import Conflict, NotFound
from node.models import (
    Account,
    Follow,
    Neighbourhood,
    Notification,
    NotificationKind,
    Organisation,
    OutgoingFollow,
    RemoteActor,
    Role,
)
from node.services import follow_requests, local_actors
from node.services.follows import Target, target_fields, target_lookup
from node.services.notifications import notify
from node.states import FOLLOW_GRAPH, FollowStatus


def is_locked(target: Target) -> bool:
    """Whether follows from other servers wait for a decision: an organisation or an
    account that approves its followers, or a neighbourhood whose admins approve partner
    nodes first."""
    if isinstance(target, Neighbourhood):
        return target.manually_approves_followers
    return follow_requests.approves_followers(target)


async def follow_from_remote(remote: RemoteActor, target: Target, activity_uri: str) -> Follow:
    """Record a remote Follow; accepted at once unless the target approves followers
    (then it stays pending until decided: `decide_remote_follow`).

    Following again (a client that lost our Accept) returns the existing follow with the
    new activity id, so our Accept answers the Follow it just sent. A follower refused
    before asks afresh: Mastodon forgets a rejected request, and its user may try again.
    """
    fields = target_fields(target)
    lookup = target_lookup(target)
    async with db.atomic():
        row = await Follow.get_or_none(follower_remote=remote, **lookup)
        if row is not None and row.status == FollowStatus.REJECTED:
            await row.delete()
        elif row is not None:
            row.activity_uri = activity_uri
            await row.save(update_fields=["activity_uri"])
            return row
        await Follow.filter(activity_uri=activity_uri).delete()
        row = await Follow.create(follower_remote=remote, activity_uri=activity_uri, **fields)
        if not is_locked(target):
            FOLLOW_GRAPH.check(row.status, FollowStatus.ACCEPTED)
            row.status = FollowStatus.ACCEPTED
            await row.save(update_fields=["status"])
        await events.emit(events.FollowChanged(row.id, row.status.value))
        if row.status == FollowStatus.ACCEPTED:
            if isinstance(target, Account):
                await notify(target.id, NotificationKind.FOLLOW)
        elif isinstance(target, Neighbourhood):
            await _ask_admins(remote, target)
        elif isinstance(target, Account | Organisation):
            await follow_requests.ask(target, handle=remote.handle)
    return row


async def _ask_admins(remote: RemoteActor, hood: Neighbourhood) -> None:
    """A server asks to follow a neighbourhood that approves followers: its admins are
    told (they decide at /admin/federation/network)."""
    admins = await Account.filter(role=Role.ADMIN, is_active=True).values_list("id", flat=True)
    for admin_id in admins:
        await Notification.create(
            recipient_id=admin_id,
            kind=NotificationKind.FOLLOW_REQUEST,
            note=f"{remote.handle} → {hood.name}",
        )


async def undo_remote_follow(
    remote: RemoteActor, activity_uri: str | None, target: Target | None
) -> bool:
    """Remove a remote follow named by its activity id (or, failing that, its target)."""
    query = Follow.filter(follower_remote=remote)
    if activity_uri:
        query = query.filter(activity_uri=activity_uri)
    elif target is not None:
        query = query.filter(**target_lookup(target))
    else:
        return False
    async with db.atomic():
        rows = await query
        for row in rows:
            await events.emit(events.FollowChanged(row.id, "removed"))
            await row.delete()
    return bool(rows)


async def decide_remote_follow(follow: Follow, accept: bool) -> Follow:
    """A locked actor approves or refuses a pending follower (only a pending one: removing
    an accepted follower is `follow_requests.remove_follower`)."""
    if follow.status != FollowStatus.PENDING:
        raise Conflict("this follow was decided before")
    target = FollowStatus.ACCEPTED if accept else FollowStatus.REJECTED
    FOLLOW_GRAPH.check(follow.status, target)
    follow.status = target
    async with db.atomic():
        await follow.save(update_fields=["status"])
        await events.emit(events.FollowChanged(follow.id, target.value, decided_locally=True))
    return follow


async def accept_all_pending(target: Target) -> int:
    """Accept every follower still waiting (the target stopped approving followers)."""
    rows = await Follow.filter(
        status=FollowStatus.PENDING, follower_remote_id__not_isnull=True, **target_lookup(target)
    )
    for row in rows:
        await decide_remote_follow(row, True)
    return len(rows)


async def remote_followers(target: Target) -> list[RemoteActor]:
    lookup = target_lookup(target)
    rows = await Follow.filter(
        status=FollowStatus.ACCEPTED, follower_remote_id__not_isnull=True, **lookup
    ).prefetch_related("follower_remote")
    return [row.follower_remote for row in rows]


async def start_outgoing_follow(
    local: Target | None, target: RemoteActor, activity_uri: str, *, is_relay: bool = False
) -> OutgoingFollow:
    kind, key = local_actors.ref(local)
    if await OutgoingFollow.filter(local_kind=kind, local_key=key, target=target).exists():
        raise Conflict(f"already following {target.handle}")
    return await OutgoingFollow.create(
        local_kind=kind, local_key=key, target=target, activity_uri=activity_uri, is_relay=is_relay
    )


async def answer_outgoing_follow(
    target: RemoteActor, activity_uri: str | None, accepted: bool
) -> OutgoingFollow:
    """Apply an Accept/Reject: it must answer a follow we sent to that same actor."""
    query = OutgoingFollow.filter(target=target, status=FollowStatus.PENDING)
    if activity_uri:
        query = query.filter(activity_uri=activity_uri)
    row = await query.first()
    if row is None:
        raise NotFound("no pending follow of ours matches this answer")
    new = FollowStatus.ACCEPTED if accepted else FollowStatus.REJECTED
    FOLLOW_GRAPH.check(row.status, new)
    row.status = new
    await row.save(update_fields=["status"])
    return row


async def stop_outgoing_follow(local: Target | None, target: RemoteActor) -> OutgoingFollow:
    kind, key = local_actors.ref(local)
    row = await OutgoingFollow.get_or_none(local_kind=kind, local_key=key, target=target)
    if row is None:
        raise NotFound(f"not following {target.handle}")
    await row.delete()
    return row


async def request_follow(local: Target | None, target_uri: str, *, is_relay: bool = False) -> None:
    """Ask federation to make `local` (None: the node itself) follow a remote actor."""
    kind, key = local_actors.ref(local)
    await events.emit(events.RemoteFollowRequested(kind.value, key, target_uri, is_relay))


async def request_unfollow(local: Target | None, target_uri: str) -> None:
    kind, key = local_actors.ref(local)
    await events.emit(events.RemoteUnfollowRequested(kind.value, key, target_uri))


async def outgoing_follow_status(local: Target | None, target_uri: str) -> str | None:
    """Whether `local` follows the remote actor `target_uri`: its status, or None."""
    kind, key = local_actors.ref(local)
    row = await OutgoingFollow.get_or_none(local_kind=kind, local_key=key, target__uri=target_uri)
    return None if row is None else str(row.status)
