"""Partner nodes and relays (the admins' page /admin/federation/network).

Which remote actors follow the node, its neighbourhoods and organisations (counted per
server in SQL, the latest listed), the follows our node, neighbourhoods and organisations
made of others, relays, and the decisions admins take: follow or stop following a
partner as one of our actors, subscribe to a relay or leave it, approve or refuse a
follower of a neighbourhood that approves its followers. Residents' own follows are
their business and are not shown. Every decision is recorded in the audit log; sending
is left to federation (an event in the same transaction, see `remote_follows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tortoise.functions import Count

from node import db, validation
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.models import (
    Account,
    Follow,
    FollowTarget,
    LocalActorKind,
    Neighbourhood,
    Organisation,
    OutgoingFollow,
    RemoteActor,
    Role,
)
from node.services import audit, local_actors, remote_follows
from node.services.follows import THIS_NODE, Target
from node.states import FollowStatus

SHOWN_FOLLOWERS = 300  # the latest follows listed; counts cover them all
SHOWN_SERVERS = 100
SHOWN_FOLLOWS = 300
PARTNER_KINDS = (FollowTarget.INSTANCE, FollowTarget.NEIGHBOURHOOD, FollowTarget.ORGANISATION)
OUR_KINDS = (LocalActorKind.INSTANCE, LocalActorKind.NEIGHBOURHOOD, LocalActorKind.ORGANISATION)
# What a node follows as a partner: neighbourhoods (Group), organisations, whole nodes
# (their instance actor: Application or Service); people follow people themselves.
FOLLOWABLE_TYPES = ("Group", "Organization", "Application", "Service")
CHOOSE_FOLLOWER = N_("Choose who follows: the node, one of its neighbourhoods or organisations.")


def _require_admin(by: Account) -> None:
    if by.role != Role.ADMIN or not by.is_active:
        raise PermissionDenied("partner nodes and relays are for the node's admins")


@dataclass(frozen=True, slots=True)
class OurActor:
    """The node or one of its neighbourhoods or organisations, as the page names it."""

    kind: str  # "instance", "neighbourhood" or "organisation"
    slug: str  # "" for the node
    name: str  # "" for the node: the page says "this node"

    @property
    def choice(self) -> str:
        """Its value in the page's "who follows" list."""
        return "node" if self.kind == "instance" else f"{self.kind[0]}:{self.slug}"


NODE = OurActor("instance", "", "")


def _ours(actor: Target | None) -> OurActor:
    if isinstance(actor, Neighbourhood):
        return OurActor("neighbourhood", actor.slug, actor.name)
    if isinstance(actor, Organisation):
        return OurActor("organisation", actor.slug, actor.name)
    return NODE


async def follower_choices() -> list[OurActor]:
    """Who may follow a partner: the node, then neighbourhoods and organisations by name."""
    hoods = await Neighbourhood.filter(archived_at=None).order_by("name")
    orgs = await Organisation.all().order_by("name")
    return [NODE, *(_ours(h) for h in hoods), *(_ours(o) for o in orgs)]


async def actor_of_choice(value: str) -> Target:
    """The actor a "who follows" value names (`node`, `n:slug`, `o:slug`)."""
    kind, _, slug = (value or "").partition(":")
    if kind == "node" and not slug:
        return THIS_NODE
    clean = slug if validation.as_slug(slug) == slug else None  # exactly as the list gave it
    found: Target | None = None
    if clean and kind == "n":
        found = await Neighbourhood.get_or_none(slug=clean, archived_at=None)
    elif clean and kind == "o":
        found = await Organisation.get_or_none(slug=clean)
    if found is None:
        raise InvalidInput("as_actor", CHOOSE_FOLLOWER)
    return found


# --- who follows us ----------------------------------------------------------------------


@dataclass(slots=True)
class Follower:
    follow_id: int
    actor: RemoteActor
    ours: OurActor
    status: str
    since: datetime


@dataclass(slots=True)
class Server:
    """One server whose actors follow ours: counts of all, and the latest listed."""

    domain: str
    accepted: int = 0
    pending: int = 0
    rejected: int = 0
    followers: list[Follower] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.accepted + self.pending + self.rejected


def _follower_of(row: Follow) -> Follower:
    ours = _ours(row.neighbourhood or row.organisation)
    return Follower(row.id, row.follower_remote, ours, str(row.status), row.created_at)


def _partner_follows():  # type: ignore[no-untyped-def]
    return Follow.filter(follower_remote_id__not_isnull=True, target_kind__in=PARTNER_KINDS)


async def followers_by_server() -> list[Server]:
    """Servers following the node, its neighbourhoods or organisations, most first."""
    counts = (
        await _partner_follows()
        .annotate(n=Count("id"))
        .group_by("follower_remote__domain", "status")
        .values("follower_remote__domain", "status", "n")
    )
    servers: dict[str, Server] = {}
    for row in counts:
        server = servers.setdefault(
            row["follower_remote__domain"], Server(row["follower_remote__domain"])
        )
        setattr(server, str(FollowStatus(row["status"])), row["n"])
    ranked = sorted(servers.values(), key=lambda s: (-s.total, s.domain))[:SHOWN_SERVERS]
    shown = {s.domain: s for s in ranked}
    rows = (
        await _partner_follows()
        .filter(follower_remote__domain__in=list(shown))
        .order_by("-created_at", "-id")
        .limit(SHOWN_FOLLOWERS)
        .prefetch_related("follower_remote", "neighbourhood", "organisation")
    )
    for row in rows:
        shown[row.follower_remote.domain].followers.append(_follower_of(row))
    return ranked


async def pending_followers() -> list[Follower]:
    """Follows from other servers waiting for an admin's decision, oldest first."""
    rows = (
        await _partner_follows()
        .filter(status=FollowStatus.PENDING)
        .order_by("created_at", "id")
        .limit(SHOWN_FOLLOWERS)
        .prefetch_related("follower_remote", "neighbourhood", "organisation")
    )
    return [_follower_of(row) for row in rows]


async def decide_follower(follow_id: int, accept: bool, by: Account) -> Follow:
    """Approve (an Accept goes out) or refuse (a Reject) a waiting follower."""
    _require_admin(by)
    row = await _partner_follows().get_or_none(id=follow_id).prefetch_related("follower_remote")
    if row is None:
        raise NotFound(f"no follow {follow_id} from another server")
    action = "federation.follower_accepted" if accept else "federation.follower_rejected"
    async with db.atomic():
        await remote_follows.decide_remote_follow(row, accept)  # Conflict: decided before
        await audit.record(
            by,
            action,
            f"actor:{row.follower_remote.uri}"[:200],
            detail={"follow": row.id, "target": row.target_kind.value},
        )
    return row


# --- whom we follow ------------------------------------------------------------------------


@dataclass(slots=True)
class OurFollow:
    id: int
    ours: OurActor
    target: RemoteActor
    status: str
    since: datetime


async def _names(rows: list[OutgoingFollow]) -> dict[tuple[str, int | None], OurActor]:
    hood_ids = [r.local_key for r in rows if r.local_kind == LocalActorKind.NEIGHBOURHOOD]
    org_ids = [r.local_key for r in rows if r.local_kind == LocalActorKind.ORGANISATION]
    names: dict[tuple[str, int | None], OurActor] = {("instance", None): NODE}
    for hood in await Neighbourhood.filter(id__in=hood_ids) if hood_ids else []:
        names["neighbourhood", hood.id] = _ours(hood)
    for org in await Organisation.filter(id__in=org_ids) if org_ids else []:
        names["organisation", org.id] = _ours(org)
    return names


async def _outgoing(*, relays: bool) -> list[OurFollow]:
    rows = (
        await OutgoingFollow.filter(is_relay=relays, local_kind__in=OUR_KINDS)
        .order_by("-created_at", "-id")
        .limit(SHOWN_FOLLOWS)
        .select_related("target")
    )
    names = await _names(rows)
    return [
        OurFollow(
            r.id,
            names.get((r.local_kind.value, r.local_key), NODE),
            r.target,
            str(r.status),
            r.created_at,
        )
        for r in rows
    ]


async def our_follows() -> list[OurFollow]:
    """Partners followed by the node, its neighbourhoods and organisations, newest first."""
    return await _outgoing(relays=False)


async def relays() -> list[OurFollow]:
    """Relays the node subscribed to, newest first, with the relay's answer."""
    return await _outgoing(relays=True)


async def follow_partner(
    local: Target, actor_uri: str, by: Account, *, relay: bool = False
) -> None:
    """Ask federation to make `local` follow a remote actor (or subscribe to a relay)."""
    _require_admin(by)
    if await remote_follows.outgoing_follow_status(local, actor_uri) is not None:
        raise Conflict("already following")
    ours = _ours(local)
    action = "relay.subscribed" if relay else "federation.follow_requested"
    async with db.atomic():
        await remote_follows.request_follow(local, actor_uri, is_relay=relay)
        await audit.record(
            by,
            action,
            f"actor:{actor_uri}"[:200],
            detail={"uri": actor_uri, "as": ours.choice},
        )


async def unfollow_partner(follow_id: int, by: Account, *, relay: bool = False) -> OurFollow:
    """Ask federation to stop a follow of ours (an Undo goes out) or leave a relay."""
    _require_admin(by)
    row = (
        await OutgoingFollow.filter(id=follow_id, is_relay=relay, local_kind__in=OUR_KINDS)
        .select_related("target")
        .first()
    )
    if row is None:
        raise NotFound(f"no follow {follow_id} of ours")
    local = await local_actors.load(row.local_kind, row.local_key)
    ours = _ours(local)
    action = "relay.unsubscribed" if relay else "federation.unfollow_requested"
    async with db.atomic():
        await remote_follows.request_unfollow(local, row.target.uri)
        await audit.record(
            by,
            action,
            f"actor:{row.target.uri}"[:200],
            detail={"uri": row.target.uri, "as": ours.choice},
        )
    return OurFollow(row.id, ours, row.target, str(row.status), row.created_at)
