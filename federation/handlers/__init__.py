"""Handlers of incoming activities: one small function per activity type and family of
object (see `registry` for how they are registered, `families` for how an object's
family is decided).

Each handler does the same four steps: convert (AS2 to our values, sanitised),
authorise (origin and permissions), persist (through node services), and emit what
follows (an Accept, a notification). Each returns an `Outcome` for the inbox item.
Handler modules import the registry, never this package; importing this package
imports them all, which registers their handlers.
"""

from __future__ import annotations

from federation.handlers.registry import (
    HANDLERS,
    Family,
    Handler,
    Incoming,
    Outcome,
    handler_for,
    handles,
)

# isort: split
from federation.handlers import (
    actors,
    agreements,
    blocks,
    follows,
    notes,
    posts,
    reactions,
    reports,
    services,
    unknown,
)

__all__ = [
    "HANDLERS",
    "Family",
    "Handler",
    "Incoming",
    "Outcome",
    "actors",
    "agreements",
    "blocks",
    "follows",
    "handler_for",
    "handles",
    "notes",
    "posts",
    "reactions",
    "reports",
    "services",
    "unknown",
]
