"""Domain events, stored with the change that caused them (see `node.models.events`).

Services call `emit` inside their transaction. Federation consumes the stored rows and
turns them into activities; nothing here knows about ActivityPub.

Each event declares what the queue needs to know of it (`Declared`): whether other
servers may need to hear of it at all, and whether it goes before the others. An event
that needs no federation is stored already handled: it stays readable as history (and
is pruned with the other handled events, `node.services.housekeeping`), but is never
queued, so that thousands of them (one per reply) cannot delay one that federates.
`tests/test_event_queue.py` checks that these declarations and federation's consumers
agree both ways.
"""

from __future__ import annotations

import typing
from dataclasses import asdict, dataclass
from typing import ClassVar

from node import queue_signals, raw_sql
from node.models import Event
from node.timeutil import utcnow


class Declared:
    """What every event says about itself to the federation queue."""

    __slots__ = ()
    # Whether other servers may need to hear of this kind (federation consumes it).
    federates: ClassVar[bool] = True
    # Claimed before the others: a person just did it and expects others to see it soon
    # (publishing, editing, hiding, answering a follower). Kinds that come in bursts
    # (expiry of many posts, suspensions federated by a job) wait their turn after these.
    urgent: ClassVar[bool] = False

    def needs_federation(self) -> bool:
        """Whether this event must be queued for federation (some kinds decide per event)."""
        return self.federates


@dataclass(frozen=True, slots=True)
class PostPublished(Declared):
    post_id: str
    urgent = True


@dataclass(frozen=True, slots=True)
class PostEdited(Declared):
    post_id: str
    urgent = True


@dataclass(frozen=True, slots=True)
class PostStatusChanged(Declared):
    post_id: str
    old: str
    new: str
    by_account_id: int | None  # None when the node itself changed it (expiry)


@dataclass(frozen=True, slots=True)
class ResponseCreated(Declared):
    """A reply was stored. No other server needs to hear of it: a remote reply came from
    its author's server, a local one stays here; the team is notified directly."""

    response_id: str
    post_id: str
    federates = False


@dataclass(frozen=True, slots=True)
class OfferStatusChanged(Declared):
    response_id: str
    post_id: str
    old: str
    new: str
    urgent = True


@dataclass(frozen=True, slots=True)
class FollowChanged(Declared):
    follow_id: int
    status: str  # a FollowStatus, or "removed"
    # A person here approved or refused a pending remote follower: the follower must be told.
    decided_locally: bool = False
    urgent = True

    def needs_federation(self) -> bool:
        # A follow that arrived from elsewhere was answered by the inbox already.
        return self.decided_locally


@dataclass(frozen=True, slots=True)
class RemoteFollowRequested(Declared):
    """One of our actors should follow a remote actor (a node, a relay, a person)."""

    local_kind: str  # a LocalActorKind
    local_key: int | None
    target_uri: str
    is_relay: bool = False
    urgent = True


@dataclass(frozen=True, slots=True)
class RemoteUnfollowRequested(Declared):
    local_kind: str
    local_key: int | None
    target_uri: str
    urgent = True


@dataclass(frozen=True, slots=True)
class PartnerRemoved(Declared):
    """A partner on another node no longer shares a request: it gets the Note without
    its mention, so its node stops showing it."""

    post_id: str
    actor_uri: str
    urgent = True


@dataclass(frozen=True, slots=True)
class ActorChanged(Declared):
    """A neighbourhood's or organisation's profile changed: its followers get an Update."""

    kind: str  # "neighbourhood" or "organisation" (a LocalActorKind)
    key: int
    urgent = True


@dataclass(frozen=True, slots=True)
class PostHidden(Declared):
    """A moderator hid a post: everyone who was sent it gets a Delete."""

    post_id: str
    urgent = True


@dataclass(frozen=True, slots=True)
class ResponseHidden(Declared):
    """A moderator hid a local response: its Note is deleted for others."""

    response_id: str
    urgent = True


@dataclass(frozen=True, slots=True)
class AccountSuspensionFederated(Declared):
    """A suspension not lifted for 30 days: the actor is deleted for other servers."""

    account_id: int


@dataclass(frozen=True, slots=True)
class ReportForwarded(Declared):
    """The reporter agreed: the report goes to the reported content's server as a Flag
    from the instance actor (without the reporter's name)."""

    report_id: int
    urgent = True


@dataclass(frozen=True, slots=True)
class ServiceChanged(Declared):
    """A service of the directory was created or edited: its organisation's followers
    get a `Create` the first time, an `Update` after."""

    service_id: str
    created: bool
    urgent = True


@dataclass(frozen=True, slots=True)
class ServiceRemoved(Declared):
    """A service was deleted; its row is gone, so the event carries what the `Delete`
    needs."""

    service_id: str
    organisation_id: int
    urgent = True


@dataclass(frozen=True, slots=True)
class SurveyPublished(Declared):
    """The neighbourhood's Group publishes the survey as a `Question`."""

    survey_id: str
    urgent = True


@dataclass(frozen=True, slots=True)
class SurveyCountsChanged(Declared):
    """New counts (debounced while open) or the final ones at closing: an `Update` of
    the `Question` to the Group's followers and to the remote voters."""

    survey_id: str
    final: bool


@dataclass(frozen=True, slots=True)
class SurveyWithdrawn(Declared):
    """Taken down by its author or a moderator: a `Delete` of the `Question`."""

    survey_id: str
    neighbourhood_id: int
    urgent = True


@dataclass(frozen=True, slots=True)
class ConversationMessagePosted(Declared):
    """A message in a request's private conversation: remote participants get it as a
    direct Note (the one who wrote it excepted)."""

    message_id: str
    post_id: str
    urgent = True


@dataclass(frozen=True, slots=True)
class HelpersThanked(Declared):
    """The author thanked the helpers of a done request (a `THANKS` response): remote
    helpers get the thank-you as a direct Note."""

    response_id: str
    post_id: str


DomainEvent = (
    PostPublished
    | PostEdited
    | PostStatusChanged
    | ResponseCreated
    | OfferStatusChanged
    | FollowChanged
    | RemoteFollowRequested
    | RemoteUnfollowRequested
    | ActorChanged
    | PartnerRemoved
    | PostHidden
    | ResponseHidden
    | AccountSuspensionFederated
    | ReportForwarded
    | ServiceChanged
    | ServiceRemoved
    | SurveyPublished
    | SurveyCountsChanged
    | SurveyWithdrawn
    | ConversationMessagePosted
    | HelpersThanked
)


ALL_EVENTS: tuple[type[Declared], ...] = typing.get_args(DomainEvent)
# The kinds federation claims first (`federation.event_consumer`).
URGENT_KINDS = frozenset(kind.__name__ for kind in ALL_EVENTS if kind.federates and kind.urgent)


_PAYLOAD = Event._meta.fields_map["payload"]  # its encoding, as the ORM writes it


async def emit(event: DomainEvent) -> None:
    """Store `event`; call inside the service's transaction so both commit or neither.

    An event no other server needs is stored handled: history, not work (see above)."""
    handled_at = None if event.needs_federation() else utcnow()
    # Hand-written INSERT (`node.raw_sql`): every reply from another server
    # emits one, and tortoise's `create` cost more CPU than the database did.
    values = {
        "kind": type(event).__name__,
        "payload": _PAYLOAD.to_db_value(asdict(event), Event),
        "created_at": utcnow(),
        "handled_at": handled_at,
        "locked_until": None,
        "attempts": 0,
    }
    await raw_sql.insert_row(Event, values)
    if handled_at is None:  # queued: workers in other processes wake at the commit
        await queue_signals.notify(queue_signals.EVENTS)
