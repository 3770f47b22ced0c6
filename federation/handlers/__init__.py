"""Handlers of incoming activities: one small function per activity type.

Each handler does the same four steps: convert (AS2 to our values, sanitised),
authorise (origin and permissions), persist (through node services), and emit what
follows (an Accept, a notification). Each returns an `Outcome` for the inbox item.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from federation.context import Federation
from node.models import InboxStatus, RemoteActor


@dataclass(frozen=True, slots=True)
class Outcome:
    status: InboxStatus
    note: str = ""

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
HANDLERS: dict[str, Handler] = {}


def handles(*types: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for activity_type in types:
            if activity_type in HANDLERS:
                raise RuntimeError(f"two handlers for {activity_type}")
            HANDLERS[activity_type] = handler
        return handler

    return register


def handler_for(activity_type: str) -> Handler | None:
    return HANDLERS.get(activity_type)


# Importing the modules registers their handlers.
from federation.handlers import (  # noqa: E402, F401
    actors,
    agreements,
    blocks,
    follows,
    notes,
    reactions,
    reports,
)
