"""Every local URL, built and parsed in one place, so that public ids stay stable.

An actor's id is also its HTML page (content negotiation decides which is served):
`/@{username}` for residents, `/o/{slug}` for organisations, `/n/{slug}` for
neighbourhoods and `/actor` for the node itself. Paths are what pages link to;
`absolute` turns one into the public URL that names it elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import UUID

from node.config import Settings

HOME = "/"
ABOUT = "/about"
HEALTH = "/healthz"
STATIC_PREFIX = "/static"
INSTANCE_ACTOR = "/actor"
SHARED_INBOX = "/inbox"
KEY_FRAGMENT = "#main-key"


def neighbourhood(slug: str) -> str:
    return f"/n/{slug}"


def post(post_id: UUID | str) -> str:
    return f"/r/{post_id}"


def account(username: str) -> str:
    return f"/@{username}"


def organisation(slug: str) -> str:
    return f"/o/{slug}"


def media(name: str) -> str:
    """A stored image, `{sha256}.{png|jpg}`."""
    return f"/media/{name}"


ADMIN = "/admin"


def dashboard(organisation_slug: str) -> str:
    """An organisation's dashboard."""
    return f"{ADMIN}/o/{organisation_slug}"


def case(organisation_slug: str, post_id: UUID | str) -> str:
    """A request as its organisation (or a partner) follows it up."""
    return f"{ADMIN}/o/{organisation_slug}/r/{post_id}"


SERVICES = "/services"
NEEDS_JSON = "/needs.json"  # the node's anonymised needs figures, for partner nodes
ADMIN_NEEDS = f"{ADMIN}/needs"
ADMIN_NEEDS_CSV = f"{ADMIN}/needs.csv"
ADMIN_SERVICES = f"{ADMIN}/services"
ADMIN_SURVEYS = f"{ADMIN}/surveys"
ADMIN_GUIDES = f"{ADMIN}/guides"


def service(service_id: UUID | str) -> str:
    """A service of the directory: its page and its federated id."""
    return f"{SERVICES}/{service_id}"


def survey(survey_id: UUID | str) -> str:
    """A needs survey: its page (vote, results) and its federated `Question` id."""
    return f"/surveys/{survey_id}"


def static(name: str) -> str:
    return f"{STATIC_PREFIX}/{name}"


def activity(activity_id: UUID | str) -> str:
    return f"/activities/{activity_id}"


def response(post_id: UUID | str, response_id: UUID | str) -> str:
    return f"/r/{post_id}/responses/{response_id}"


def conversation(post_id: UUID | str) -> str:
    """The request's private conversation (its participants only)."""
    return f"/r/{post_id}/conversation"


def conversation_message(post_id: UUID | str, message_id: UUID | str) -> str:
    """A message's id: never served to anyone (delivered, not fetched)."""
    return f"/r/{post_id}/conversation/{message_id}"


def post_sheet(post_id: UUID | str) -> str:
    return f"/r/{post_id}/sheet.pdf"


def window_card(slug: str) -> str:
    return f"/n/{slug}/card.pdf"


def poster(slug: str) -> str:
    return f"/n/{slug}/poster.pdf"


# E-mail: the links a message carries (each with its token) and the pages around them.
CONFIRM_EMAIL = "/email/confirm"  # + /{token}
PASSWORD_RESET = "/password/reset"  # noqa: S105 - a path; + /{token} sets a new password
UNSUBSCRIBE = "/email/unsubscribe"  # + /{token}: the page, and the one-click POST


def inbox(actor_path: str) -> str:
    return f"{actor_path}/inbox"


def outbox(actor_path: str) -> str:
    return f"{actor_path}/outbox"


def followers(actor_path: str) -> str:
    return f"{actor_path}/followers"


def following(actor_path: str) -> str:
    return f"{actor_path}/following"


def key_id(actor_url: str) -> str:
    return actor_url + KEY_FRAGMENT


def absolute(settings: Settings, path: str) -> str:
    return settings.public_url + path


@dataclass(frozen=True, slots=True)
class LocalRef:
    """What a local URL names: kind is account, organisation, neighbourhood, instance,
    post, response, message (of a conversation: `key` the post, `sub` the message) or
    activity; `key` its username, slug or id."""

    kind: str
    key: str
    sub: str | None = None  # inbox, outbox, followers, following, or a response id


# A post's, response's or activity's id as its URLs spell it: lowercase, hyphenated.
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_CANONICAL_UUID = re.compile(_UUID)

_PATTERNS = (
    (re.compile(r"^/@([a-z0-9_]+)(?:/(inbox|outbox|followers|following))?$"), "account"),
    (re.compile(r"^/o/([a-z0-9-]+)(?:/(inbox|outbox|followers|following))?$"), "organisation"),
    (re.compile(r"^/n/([a-z0-9-]+)(?:/(inbox|outbox|followers|following))?$"), "neighbourhood"),
    (re.compile(r"^/(actor)(?:/(inbox|outbox|followers|following))?$"), "instance"),
    (re.compile(rf"^/r/({_UUID})(?:/responses/({_UUID}))?$"), "post"),
    (re.compile(rf"^/r/({_UUID})/conversation/({_UUID})$"), "message"),
    (re.compile(rf"^/activities/({_UUID})$"), "activity"),
    (re.compile(rf"^/services/({_UUID})$"), "service"),
    (re.compile(rf"^/surveys/({_UUID})$"), "survey"),
)


def id_key(value: str) -> UUID | None:
    """The id in a URL's path segment, only in the one form our URLs use (lowercase,
    hyphenated): `UUID()` also reads "urn:uuid:…", braces, no hyphens or capitals, and
    one post must not answer at several URLs. None for anything else."""
    return UUID(value) if _CANONICAL_UUID.fullmatch(value) else None


def canonical_id(value: str) -> str | None:
    """`value` in the canonical form when it is another spelling of an id (for a page
    to redirect to its one URL), else None."""
    try:
        return str(UUID(value))
    except ValueError:
        return None


def is_local(settings: Settings, url: str) -> bool:
    """Whether `url` is on this node's origin (scheme, host and port)."""
    try:
        ours, theirs = urlsplit(settings.public_url), urlsplit(url)
    except ValueError:  # not a URL at all ("http://[" is an unclosed IPv6 address)
        return False
    return (ours.scheme, ours.netloc.lower()) == (theirs.scheme, theirs.netloc.lower())


def parse(settings: Settings, url: str) -> LocalRef | None:
    """What a local URL names, or None when it is not ours or names nothing we know."""
    if not is_local(settings, url):
        return None
    parts = urlsplit(url)
    if parts.query:
        return None
    for pattern, kind in _PATTERNS:
        match = pattern.match(parts.path)
        if match:
            sub = match.group(2) if match.lastindex and match.lastindex >= 2 else None
            if kind == "post" and sub:
                return LocalRef("response", match.group(1), sub)
            return LocalRef(kind, match.group(1), sub)
    return None


FEED_FORMATS = ("rss", "atom")


def feed(actor_path: str, fmt: str) -> str:
    """The RSS (`fmt` "rss") or Atom ("atom") feed of a neighbourhood or organisation."""
    if fmt not in FEED_FORMATS:
        raise ValueError(f"no feed format {fmt!r}")
    return f"{actor_path}/feed.{fmt}"


def calendar(actor_path: str) -> str:
    """The iCalendar feed of the dated posts of a neighbourhood or organisation."""
    return f"{actor_path}/calendar.ics"
