"""What a printed card, poster or sheet shows: plain values, no models, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

# `?lang=` on the print routes: one language, or Dutch and French on one sheet (Brussels).
LANGUAGE_CHOICES: dict[str, tuple[str, ...]] = {
    "nl": ("nl",),
    "fr": ("fr",),
    "en": ("en",),
    "nl-fr": ("nl", "fr"),
}


def languages_of(choice: str) -> tuple[str, ...] | None:
    """The languages a `?lang=` value asks for, or None when it names none we print."""
    return LANGUAGE_CHOICES.get(choice)


@dataclass(frozen=True, slots=True)
class OfflineContact:
    """How to ask for help without internet (set by the neighbourhood's connectors)."""

    phone: str = ""
    office: str = ""
    hours: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.phone or self.office or self.hours)


@dataclass(frozen=True, slots=True)
class NeighbourhoodPrint:
    """A window card's or poster's content."""

    slug: str
    name: str
    commune: str
    url: str  # the neighbourhood page, absolute: the QR code
    handle: str  # @slug@domain, to follow it from Mastodon and the like
    contact: OfflineContact
    node_name: str


@dataclass(frozen=True, slots=True)
class PostText:
    """A request's title and description in one language its author wrote."""

    language: str
    title: str
    description: str


@dataclass(frozen=True, slots=True)
class RequestPrint:
    """A request sheet's content: only what the public page shows, and coarser.

    No field here may ever hold the private address or a client's label."""

    is_request: bool  # a request for help, or an offer
    texts: tuple[PostText, ...]  # the original first
    category: str  # slug (node.taxonomy)
    starts_at: datetime | None  # None: flexible
    ends_at: datetime | None
    timezone: str
    neighbourhood: str
    commune: str
    helpers_needed: int
    url: str  # the request's page, absolute: the QR code
    contact: OfflineContact
    node_name: str
    printed_on: date
    status: str = "open"  # node.states.PostStatus
    helpers_accepted: int = 0

    @property
    def free_places(self) -> int:
        return max(self.helpers_needed - self.helpers_accepted, 0)

    @property
    def finished(self) -> str | None:
        """Why nobody should answer any more: "done", "withdrawn", "expired", or
        "filled" (a request with no free helper place); None while help is wanted."""
        if self.status in ("done", "withdrawn", "expired"):
            return self.status
        if self.is_request and self.free_places == 0:
            return "filled"
        return None
