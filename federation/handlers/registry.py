"""The registry of inbox handlers, by activity type and by the family of its object.

`@handles("Update", objects=Family.ACTOR)` registers a handler for updates of actors;
without `objects` a handler takes every object of its activity type. The worker asks
`federation.handlers.families` what the object is, then `handler_for(type, family)`:
the handler for that family, else the one for any object. Handlers, their `Incoming`
and `Outcome` live here, apart from the package that imports every handler module, so
that a handler module never imports the package it is part of.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from federation.context import Federation
from node.models import RemoteActor
from node.states import INBOX_GRAPH, InboxStatus


class Family(StrEnum):
    """What an activity's object is, as far as handling goes."""

    ACTOR = "actor"  # Person, Group, Organization, Application, Service; a Delete of oneself
    NOTE = "note"  # Note, Article, Page, Question: replies to our posts
    POST = "post"  # a request or offer from another node (FEP-0837)
    SERVICE = "service"  # a service of another node's directory (a Note with `service`)
    FOLLOW = "follow"  # a Follow activity (what Accept, Reject and Undo name)
    REACTION = "reaction"  # a Like or an Announce (what Undo names)
    AGREEMENT = "agreement"  # an Agreement (what Offer carries, FEP-0837)
    OTHER = "other"  # nothing above: no object, an id we never stored, an unknown type


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one inbox item: always a move that INBOX_GRAPH allows."""

    status: InboxStatus
    note: str = ""

    def __post_init__(self) -> None:
        INBOX_GRAPH.check(InboxStatus.PENDING, self.status)

    @classmethod
    def processed(cls, note: str = "") -> Outcome:
        return cls(InboxStatus.PROCESSED, note)

    @classmethod
    def ignored(cls, note: str) -> Outcome:
        return cls(InboxStatus.IGNORED, note)

    @classmethod
    def rejected(cls, note: str) -> Outcome:
        return cls(InboxStatus.REJECTED, note)

    @classmethod
    def retry(cls, note: str) -> Outcome:
        return cls(InboxStatus.RETRY, note)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One stored activity, its sender (already verified as the actor), and the runtime."""

    fed: Federation
    actor: RemoteActor
    activity: dict[str, Any]
    # Shared by the items of one worker transaction: what one looked up, the next reuses
    # (many replies to one popular post in a row).
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def object(self) -> Any:
        return self.activity.get("object")


Handler = Callable[[Incoming], Awaitable[Outcome]]
# (activity type, family); family None: any object.
HANDLERS: dict[tuple[str, Family | None], Handler] = {}


def _families(objects: Family | str | Iterable[Family | str] | None) -> list[Family | None]:
    if objects is None:
        return [None]
    if isinstance(objects, str):  # a Family is a str too
        return [Family(objects)]
    return [Family(o) for o in objects]


def handles(
    *types: str, objects: Family | str | Iterable[Family | str] | None = None
) -> Callable[[Handler], Handler]:
    """Register a handler for `types` of activities about `objects` (default: any)."""
    families = _families(objects)

    def register(handler: Handler) -> Handler:
        for activity_type in types:
            for family in families:
                key = (activity_type, family)
                if key in HANDLERS:
                    raise RuntimeError(f"two handlers for {activity_type} of {family or 'any'}")
                HANDLERS[key] = handler
        return handler

    return register


def by_family(activity_type: str) -> bool:
    """Whether some handler of `activity_type` takes only one family of objects."""
    return any(t == activity_type and f is not None for t, f in HANDLERS)


def handler_for(activity_type: str, family: Family | None = None) -> Handler | None:
    """The handler for this family of objects, else the one for any object."""
    if family is not None:
        handler = HANDLERS.get((activity_type, family))
        if handler is not None:
            return handler
    return HANDLERS.get((activity_type, None))
