"""Domain events, stored with the change that caused them (see `node.models.events`).

Services call `emit` inside their transaction. Federation consumes the stored rows and
turns them into activities; nothing here knows about ActivityPub.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from node.models import Event


@dataclass(frozen=True, slots=True)
class PostPublished:
    post_id: str


@dataclass(frozen=True, slots=True)
class PostEdited:
    post_id: str


@dataclass(frozen=True, slots=True)
class PostStatusChanged:
    post_id: str
    old: str
    new: str
    by_account_id: int | None  # None when the node itself changed it (expiry)


@dataclass(frozen=True, slots=True)
class ResponseCreated:
    response_id: str
    post_id: str


@dataclass(frozen=True, slots=True)
class OfferStatusChanged:
    response_id: str
    post_id: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class FollowChanged:
    follow_id: int
    status: str  # a FollowStatus, or "removed"
    # A person here approved or refused a pending remote follower: the follower must be told.
    decided_locally: bool = False


@dataclass(frozen=True, slots=True)
class RemoteFollowRequested:
    """One of our actors should follow a remote actor (a node, a relay, a person)."""

    local_kind: str  # a LocalActorKind
    local_key: int | None
    target_uri: str
    is_relay: bool = False


@dataclass(frozen=True, slots=True)
class RemoteUnfollowRequested:
    local_kind: str
    local_key: int | None
    target_uri: str


@dataclass(frozen=True, slots=True)
class PartnerRemoved:
    """A partner on another node no longer shares a request: it gets the Note without
    its mention, so its node stops showing it."""

    post_id: str
    actor_uri: str


@dataclass(frozen=True, slots=True)
class ActorChanged:
    """A neighbourhood's or organisation's profile changed: its followers get an Update."""

    kind: str  # "neighbourhood" or "organisation" (a LocalActorKind)
    key: int


@dataclass(frozen=True, slots=True)
class PostHidden:
    """A moderator hid a post: everyone who was sent it gets a Delete."""

    post_id: str


@dataclass(frozen=True, slots=True)
class ResponseHidden:
    """A moderator hid a local response: its Note is deleted for others."""

    response_id: str


@dataclass(frozen=True, slots=True)
class AccountSuspensionFederated:
    """A suspension not lifted for 30 days: the actor is deleted for other servers."""

    account_id: int


@dataclass(frozen=True, slots=True)
class ReportForwarded:
    """The reporter agreed: the report goes to the reported content's server as a Flag
    from the instance actor (without the reporter's name)."""

    report_id: int


DomainEvent = (
    PostPublished
    | PostEdited
    | PostStatusChanged
    | ResponseCreated
    | OfferStatusChanged
    | FollowChanged
    | ActorChanged
    | PartnerRemoved
    | PostHidden
    | ResponseHidden
    | AccountSuspensionFederated
    | ReportForwarded
)


async def emit(event: DomainEvent) -> Event:
    """Store `event`; call inside the service's transaction so both commit or neither."""
    return await Event.create(kind=type(event).__name__, payload=asdict(event))
