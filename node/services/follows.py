"""Follows of neighbourhoods, organisations and accounts by local accounts.

Local follows of a neighbourhood are accepted at once: a neighbourhood that approves its
followers does so for other servers only (partner nodes, see `remote_follows`); its
residents just follow. Organisations and residents that approve their followers decide
on each follow, from here or elsewhere (`follow_requests`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from node import db, events
from node import raw_sql as sql
from node.errors import Conflict, NotFound
from node.models import Account, Follow, FollowTarget, Neighbourhood, NotificationKind, Organisation
from node.services import follow_requests
from node.services.notifications import notify
from node.states import FOLLOW_GRAPH, FollowStatus


class ThisNode:
    """The node's own (instance) actor as a follow target."""

    def __repr__(self) -> str:
        return "<this node>"


THIS_NODE = ThisNode()
Target = Neighbourhood | Organisation | Account | ThisNode


def target_lookup(target: Target) -> dict[str, object]:
    """The filter that finds follows of `target`."""
    if isinstance(target, ThisNode):
        return {"target_kind": FollowTarget.INSTANCE}
    return {k: v for k, v in target_fields(target).items() if k != "target_kind"}


def target_fields(target: Target) -> dict[str, object]:
    if isinstance(target, ThisNode):
        return {"target_kind": FollowTarget.INSTANCE}
    if isinstance(target, Neighbourhood):
        return {"target_kind": FollowTarget.NEIGHBOURHOOD, "neighbourhood": target}
    if isinstance(target, Organisation):
        return {"target_kind": FollowTarget.ORGANISATION, "organisation": target}
    return {"target_kind": FollowTarget.ACCOUNT, "account": target}


async def follow(follower: Account, target: Target) -> Follow:
    if isinstance(target, Account) and target.id == follower.id:
        raise Conflict("you cannot follow yourself")
    fields = target_fields(target)
    lookup = target_lookup(target)
    async with db.atomic():
        if await Follow.filter(follower=follower, **lookup).exists():
            raise Conflict("you already follow this")
        row = await Follow.create(follower=follower, **fields)
        if follow_requests.approves_followers(target):
            await follow_requests.ask(target, local=follower)
            return row
        FOLLOW_GRAPH.check(row.status, FollowStatus.ACCEPTED)
        row.status = FollowStatus.ACCEPTED
        await row.save(update_fields=["status"])
        await events.emit(events.FollowChanged(row.id, row.status.value))
        if isinstance(target, Account):
            await notify(target.id, NotificationKind.FOLLOW, actor=follower)
    return row


async def unfollow(follower: Account, target: Target) -> None:
    lookup = target_lookup(target)
    async with db.atomic():
        row = await Follow.get_or_none(follower=follower, **lookup)
        if row is None:
            raise NotFound("you do not follow this")
        await events.emit(events.FollowChanged(row.id, "removed"))
        await row.delete()


async def follower_count(target: Target) -> int:
    lookup = target_lookup(target)
    return await Follow.filter(status=FollowStatus.ACCEPTED, **lookup).count()


async def is_following(follower: Account | None, target: Target) -> bool:
    """Whether `follower` follows `target` (an accepted follow)."""
    return await follow_status(follower, target) == FollowStatus.ACCEPTED


async def follow_status(follower: Account | None, target: Target) -> FollowStatus | None:
    """Where `follower`'s follow of `target` stands: accepted, pending, or None."""
    if follower is None:
        return None
    # Asked by every page with a follow button: a hand-written read (`node.raw_sql`).
    lookups: dict[str, object] = {"follower_id": follower.id}
    for key, value in target_lookup(target).items():
        if key == "target_kind":
            lookups[key] = value
        else:
            lookups[f"{key}_id"] = value.id  # type: ignore[attr-defined]
    condition, params = sql.where(lookups, {"": "f"})
    found = await sql.rows(f"SELECT f.status FROM follows f WHERE {condition} LIMIT 1", params)  # noqa: S608
    return FollowStatus(found[0][0]) if found else None


@dataclass(frozen=True, slots=True)
class FollowerEntry:
    """One accepted follower, for the followed organisation's own staff (the public and
    other servers see only the count: who follows a social-services NGO is sensitive)."""

    name: str
    handle: str
    local: bool
    since: datetime


async def followers_of(target: Target, *, limit: int = 500) -> list[FollowerEntry]:
    """Who follows `target`, newest first: residents here and accounts elsewhere."""
    rows = (
        await Follow.filter(status=FollowStatus.ACCEPTED, **target_lookup(target))
        .order_by("-created_at")
        .limit(limit)
        .prefetch_related("follower", "follower_remote")
    )
    found = []
    for row in rows:
        if row.follower is not None:
            who = row.follower
            found.append(FollowerEntry(who.display_name, f"@{who.username}", True, row.created_at))
        elif row.follower_remote is not None:
            remote = row.follower_remote
            name = remote.display_name or remote.username
            found.append(FollowerEntry(name, remote.handle, False, row.created_at))
    return found
