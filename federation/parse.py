"""Incoming ActivityStreams to our values, with the checks every document must pass.

Parsers accept the shapes other software sends, ignore properties they do not know,
and raise `ParseError` (never anything else) for what they cannot use.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from federation.vocab import PUBLIC_ALIASES, as_list, id_of, type_of
from node import validation
from node.services.remote_actors import RemoteActorData
from node.services.remote_posts import RemotePostData
from node.taxonomy import BY_SLUG as CATEGORY_SLUGS
from node.text import clean_line, html_to_text, sanitise_html

CATEGORY_BASE = "https://nabuur.org/ns/category/"  # fixed namespace, see FEDERATION.md
ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})


class ParseError(ValueError):
    """A document we cannot use; the message says why, briefly."""


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def is_http_url(value: object) -> bool:
    if not isinstance(value, str) or len(value) > 500:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # "http://[": an unclosed IPv6 address
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def same_host(a: str, b: str) -> bool:
    return host_of(a) == host_of(b)


def _text(value: object, limit: int) -> str:
    return clean_line(value)[:limit] if isinstance(value, str) else ""


def parse_actor(document: dict[str, Any], fetched_from: str) -> RemoteActorData:
    """An actor document fetched from `fetched_from`, with its key checked."""
    actor_id = document.get("id")
    if not is_http_url(actor_id) or actor_id != fetched_from.split("#", 1)[0]:
        raise ParseError("actor id does not match where it was fetched from")
    if type_of(document) not in ACTOR_TYPES:
        raise ParseError(f"not an actor: {document.get('type')!r}")
    inbox = document.get("inbox")
    if not is_http_url(inbox) or not same_host(inbox, actor_id):
        raise ParseError("actor has no usable inbox on its own host")
    key = document.get("publicKey")
    key = key[0] if isinstance(key, list) and key else key
    if not isinstance(key, dict):
        raise ParseError("actor has no publicKey")
    key_id, owner, pem = key.get("id"), key.get("owner"), key.get("publicKeyPem")
    if owner != actor_id:
        raise ParseError("the key's owner is not the actor")
    if not is_http_url(key_id) or not same_host(key_id, actor_id):
        raise ParseError("the key id is not on the actor's host")
    if not isinstance(pem, str) or "PUBLIC KEY" not in pem:
        raise ParseError("the key is not a PEM public key")
    endpoints = document.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    icon = document.get("icon")
    icon_url = id_of(icon.get("url")) if isinstance(icon, dict) else None
    summary = document.get("summary")
    return RemoteActorData(
        uri=actor_id,
        domain=host_of(actor_id),
        actor_type=document["type"],
        username=_text(document.get("preferredUsername"), 100),
        display_name=_text(document.get("name"), 200),
        summary_html=sanitise_html(summary)[:5000] if isinstance(summary, str) else "",
        url=id_of(document.get("url")) if is_http_url(id_of(document.get("url"))) else None,
        icon_url=icon_url if is_http_url(icon_url) else None,
        inbox=inbox,
        shared_inbox=shared if is_http_url(shared) else None,
        followers_url=document.get("followers") if is_http_url(document.get("followers")) else None,
        key_id=key_id,
        public_key_pem=pem,
        manually_approves_followers=document.get("manuallyApprovesFollowers") is True,
    )


@dataclass(frozen=True, slots=True)
class NoteData:
    id: str
    attributed_to: str
    in_reply_to: str | None
    html: str  # sanitised
    text: str
    to: list[str]
    cc: list[str]

    @property
    def is_public(self) -> bool:
        return any(a in PUBLIC_ALIASES for a in self.to + self.cc)


def parse_note(obj: object, actor_uri: str) -> NoteData:
    """A Note (or Article/Page/Question) published by `actor_uri`, origin-checked."""
    if not isinstance(obj, dict):
        raise ParseError("object is not embedded")
    note_id = obj.get("id")
    if not is_http_url(note_id):
        raise ParseError("object has no id")
    if not same_host(note_id, actor_uri):
        raise ParseError("object id is not on the actor's host")
    attributed = id_of(as_list(obj.get("attributedTo"))[0] if obj.get("attributedTo") else None)
    if attributed != actor_uri:
        raise ParseError("attributedTo is not the actor")
    content = obj.get("content")
    if not isinstance(content, str):
        content_map = obj.get("contentMap")
        texts = content_map.values() if isinstance(content_map, dict) else ()
        content = next((text for text in texts if isinstance(text, str)), "")
    html = sanitise_html(content[:100_000])
    reply_to = id_of(obj.get("inReplyTo"))
    return NoteData(
        id=note_id,
        attributed_to=attributed,
        in_reply_to=reply_to if is_http_url(reply_to) else None,
        html=html,
        text=html_to_text(html),
        to=[a for a in (id_of(x) for x in as_list(obj.get("to"))) if a],
        cc=[a for a in (id_of(x) for x in as_list(obj.get("cc"))) if a],
    )


PROPOSAL_TYPES = frozenset({"Note", "Proposal", "Page", "Article"})
MAX_LANGUAGES = 20
# A BCP 47 tag as contentMap keys carry it: a language, then subtags ("pt-BR", "zh-Hant").
_LANGUAGE_KEY = re.compile(r"([A-Za-z]{2,3})((?:-[A-Za-z0-9]{1,8})*)")


def language_of(key: object) -> str | None:
    """A contentMap key as the tag we store (at most 8 characters: "pt-BR" stays,
    "zh-Hant-TW" becomes "zh"), or None for a key that names no language we know
    ("xx", "", markup): such entries are ignored, the rest of the object is kept."""
    if not isinstance(key, str):
        return None
    match = _LANGUAGE_KEY.fullmatch(key.replace("_", "-"))
    if match is None or not validation.is_language(match.group(1).lower()):
        return None
    primary = match.group(1).lower()
    tag = primary + match.group(2)
    return tag if len(tag) <= 8 else primary


def _quantity(value: object) -> int | None:
    """`{"hasNumericalValue": "2"}`, or a bare number as older drafts sent it."""
    raw = value.get("hasNumericalValue") if isinstance(value, dict) else value
    try:
        number = int(float(raw))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # OverflowError: "1e999" is infinite
        return None
    return number if 0 <= number <= 10_000 else None


# No help is asked for outside these years; at datetime's own ends (years 1 and 9999) a
# time cannot even be moved to UTC or to a reader's time zone.
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return parsed if EARLIEST <= parsed < LATEST else None


def is_service(obj: object) -> bool:
    """A service of another node's directory: a Note carrying our `service` object
    (FEDERATION.md, "Services"). Never a request or offer, whatever else it says."""
    return (
        isinstance(obj, dict)
        and type_of(obj) in PROPOSAL_TYPES
        and isinstance(obj.get("service"), dict)
    )


def is_proposal(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and type_of(obj) in PROPOSAL_TYPES
        and obj.get("purpose") in ("request", "offer")
        and not is_service(obj)
    )


def parse_proposal(obj: object, actor_uri: str) -> RemotePostData:
    """A request or offer (FEP-0837 on a Note or a Proposal), origin-checked.

    Tolerates older drafts (bare numbers, `Proposal` type) and unknown properties.
    """
    if not is_proposal(obj):
        raise ParseError("not a request or offer")
    assert isinstance(obj, dict)
    note = parse_note(obj, actor_uri)
    content_map = obj.get("contentMap") if isinstance(obj.get("contentMap"), dict) else {}
    languages: dict[str, str] = {}
    for key, html in itertools.islice(content_map.items(), MAX_LANGUAGES):
        lang = language_of(key)
        if lang and lang not in languages and isinstance(html, str):
            languages[lang] = sanitise_html(html)[:20_000]
    languages = languages or {"": note.html}
    intent = obj.get("publishes") if isinstance(obj.get("publishes"), dict) else {}
    conforms = id_of(intent.get("resourceConformsTo")) or ""
    category = conforms.rsplit("/", 1)[-1] if conforms.startswith(CATEGORY_BASE) else "other"
    place = obj.get("location") if isinstance(obj.get("location"), dict) else {}
    lat, lon = place.get("latitude"), place.get("longitude")
    coordinates_ok = isinstance(lat, int | float) and isinstance(lon, int | float)
    name = obj.get("name")
    return RemotePostData(
        object_uri=note.id,
        kind=obj["purpose"],
        title=_text(name, 200) if isinstance(name, str) else note.text[:120],
        language=next(iter(languages)),
        content_map=languages,
        category=category if category in CATEGORY_SLUGS else "other",
        place_name=_text(place.get("name"), 200),
        latitude=float(lat) if coordinates_ok and -90 <= lat <= 90 else None,
        longitude=float(lon) if coordinates_ok and -180 <= lon <= 180 else None,
        starts_at=_time(obj.get("startTime")),
        ends_at=_time(obj.get("endTime")),
        helpers_needed=_quantity(intent.get("resourceQuantity")),
        slots_left=_quantity(intent.get("availableQuantity")),
        finished=intent.get("finished") is True,
        url=id_of(obj.get("url")) if is_http_url(id_of(obj.get("url"))) else note.id,
        published_at=_time(obj.get("published")),
        public=note.is_public,
    )


MAX_MENTIONS = 20


def mentions(obj: object) -> list[str]:
    """The ids that an object's `Mention` tags point at (a bounded number)."""
    if not isinstance(obj, dict):
        return []
    found = [
        tag["href"]
        for tag in as_list(obj.get("tag"))[:100]
        if isinstance(tag, dict) and tag.get("type") == "Mention" and is_http_url(tag.get("href"))
    ]
    return list(dict.fromkeys(found))[:MAX_MENTIONS]
