"""Services of partner nodes' directories (the SERVICE family): a `Note` carrying our
`service` object (FEDERATION.md, "Services"), created, updated and deleted by the
organisation that publishes it.

Stored only from an actor that the node, a neighbourhood or an organisation here
follows (they are listed publicly as "services nearby"); the origin is checked as for
every Note (its id on the actor's host, `attributedTo` the actor), HTML is sanitised
and every value is bounded.
"""

from __future__ import annotations

import itertools
from typing import Any

from federation.handlers.registry import Family, Incoming, Outcome, handles
from federation.parse import (
    CATEGORY_BASE,
    MAX_LANGUAGES,
    ParseError,
    is_http_url,
    is_service,
    language_of,
    parse_note,
    same_host,
)
from federation.parse import _time as bounded_time
from federation.vocab import as_list, id_of
from node import uris
from node.services import remote_services
from node.services.remote_posts import linkable_url
from node.taxonomy import BY_SLUG as CATEGORY_SLUGS
from node.text import clean_line, sanitise_html

MAX_AREAS = 50
MAX_CATEGORIES = len(CATEGORY_SLUGS)


def _line(value: object, limit: int) -> str:
    return clean_line(value)[:limit] if isinstance(value, str) else ""


def _language_map(value: object, limit: int, *, html: bool = False) -> dict[str, str]:
    """A `{language: text}` map with unknown language keys and non-text values dropped."""
    if not isinstance(value, dict):
        return {}
    found: dict[str, str] = {}
    for key, text in itertools.islice(value.items(), MAX_LANGUAGES):
        lang = language_of(key)
        if lang is None or lang in found or not isinstance(text, str):
            continue
        cleaned = sanitise_html(text[:100_000])[:limit] if html else _line(text, limit)
        if cleaned:
            found[lang] = cleaned
    return found


def _categories(value: object) -> list[str]:
    slugs = []
    for item in as_list(value)[:100]:
        uri = id_of(item) or ""
        slug = uri[len(CATEGORY_BASE) :] if uri.startswith(CATEGORY_BASE) else ""
        if slug in CATEGORY_SLUGS and slug not in slugs:
            slugs.append(slug)
    return slugs[:MAX_CATEGORIES]


def _places(value: object) -> list[str]:
    names = []
    for item in as_list(value)[:MAX_AREAS]:
        name = _line(item.get("name") if isinstance(item, dict) else item, 200)
        if name and name not in names:
            names.append(name)
    return names


def _email(value: object) -> str:
    email = _line(value, 254)
    return email if "@" in email and " " not in email else ""


def parse_service(obj: object, actor_uri: str) -> remote_services.RemoteServiceData:
    """A service published by `actor_uri`, origin-checked, sanitised and bounded."""
    if not is_service(obj):
        raise ParseError("not a service")
    assert isinstance(obj, dict)
    note = parse_note(obj, actor_uri)
    described: dict[str, Any] = obj["service"]
    content_map = _language_map(obj.get("contentMap"), 20_000, html=True)
    content_map = content_map or {"": note.html}
    name_map = _language_map(described.get("nameMap"), 200)
    if not name_map and isinstance(obj.get("name"), str):
        name_map = {next(iter(content_map)): _line(obj["name"], 200)}
    if not any(name_map.values()):
        raise ParseError("a service without a name")
    website = id_of(described.get("website"))
    free = described.get("free")
    return remote_services.RemoteServiceData(
        object_uri=note.id,
        language=next(iter(name_map)),
        name_map=name_map,
        content_map=content_map,
        categories=_categories(described.get("categories")),
        places=_places(described.get("areaServed")),
        phone=_line(described.get("telephone"), 40),
        email=_email(described.get("email")),
        hours_map=_language_map(described.get("openingHours"), 300),
        address=_line(described.get("address"), 200),
        website=website if is_http_url(website) and len(website) <= 300 else None,
        free=free if isinstance(free, bool) else None,
        url=linkable_url(id_of(obj.get("url")), note.id, actor_uri),
        published_at=bounded_time(obj.get("published")),
    )


async def _store(incoming: Incoming, what: str) -> Outcome:
    if not await remote_services.followed_for_everyone(incoming.actor):
        return Outcome.ignored("a service from someone nobody here follows")
    try:
        data = parse_service(incoming.object, incoming.actor.uri)
    except ParseError as exc:
        return Outcome.rejected(str(exc))
    if uris.is_local(incoming.fed.settings, data.object_uri):
        return Outcome.rejected("claims a local id")
    await remote_services.upsert_remote_service(incoming.actor, data)
    return Outcome.processed(f"remote service {what}")


@handles("Create", objects=Family.SERVICE)
async def create(incoming: Incoming) -> Outcome:
    return await _store(incoming, "stored")


@handles("Update", objects=Family.SERVICE)
async def update(incoming: Incoming) -> Outcome:
    """An edit; also stores a service we missed the Create of (followed since)."""
    return await _store(incoming, "updated")


@handles("Delete", objects=Family.SERVICE)
async def delete(incoming: Incoming) -> Outcome:
    """A service this actor published here (classified so by what we hold)."""
    target = id_of(incoming.object)
    if target is None or not same_host(target, incoming.actor.uri):
        return Outcome.rejected("object is not on the actor's host")
    if await remote_services.delete_remote_service(incoming.actor, target):
        return Outcome.processed("remote service removed")
    return Outcome.ignored("nothing of this actor to delete")
