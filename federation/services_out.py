"""Services of the directory on the wire: a `Note` by the organisation, sent to its
followers, served at the service's URL.

A service is a `Note` (Mastodon shows a Note in full and drops unknown types) that
Mastodon readers read as a small card in each language of `contentMap`: the name, the
description, how to reach it, what it costs, where it serves, a link and hashtags.
Other nodes read the same facts from the `service` object under our fixed namespace
(FEDERATION.md, "Services"). It has no FEP-0837 `purpose`: it is neither a request nor
an offer, and `federation.parse.is_proposal` refuses any object carrying `service`.

Called by the event consumer for `ServiceChanged` (`Create` the first time, `Update`
with `updated` after) and `ServiceRemoved` (`Delete` of a `Tombstone`); the document
route serves the Note to a fetch that asks for ActivityStreams.
"""

from __future__ import annotations

import html
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from federation import activities, outbox, proposals
from federation.context import Federation
from federation.documents import activity_json, not_found
from federation.parse import CATEGORY_BASE
from federation.vocab import AS_CONTEXT, PUBLIC
from node import uris
from node.config import Settings
from node.i18n import N_, translations
from node.models import Neighbourhood, Organisation, Service, ServiceArea
from node.services.remote_follows import remote_followers
from node.taxonomy import BY_SLUG
from node.taxonomy import hashtag as category_hashtag
from node.timeutil import utcnow

NABUUR_NS = proposals.NABUUR_NS

# Our terms for services, all under the fixed namespace (never a node's own URL).
CONTEXT: list[Any] = [
    AS_CONTEXT,
    {
        "nabuur": NABUUR_NS,
        "Hashtag": "as:Hashtag",
        "service": "nabuur:service",
        "DirectoryService": "nabuur:DirectoryService",
        "categories": {"@id": "nabuur:categories", "@type": "@id"},
        "areaServed": {"@id": "nabuur:areaServed", "@type": "@id"},
        "telephone": "nabuur:telephone",
        "email": "nabuur:email",
        "openingHours": {"@id": "nabuur:openingHours", "@container": "@language"},
        "address": "nabuur:address",
        "website": {"@id": "nabuur:website", "@type": "@id"},
        "free": "nabuur:free",
    },
]
SERVICE_TYPE = "DirectoryService"

LABEL = N_("Service")
FREE = N_("Free of charge")
PAID = N_("A fee applies")
SERVES = N_("Serves: %(areas)s")
# Creating a service stamps `created_at` and `updated_at` microseconds apart.
EDIT_GRACE = timedelta(seconds=1)


def note_id(settings: Settings, service_id: uuid.UUID | str) -> str:
    return uris.absolute(settings, uris.service(service_id))


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _hashtag(name: str, href: str) -> str:
    return (
        f'<a href="{html.escape(href)}" class="mention hashtag" rel="tag">'
        f"#<span>{_text(name)}</span></a>"
    )


def _tags_in(slug: str, locale: str) -> list[str]:
    local = category_hashtag(slug, locale)
    return [slug] if local is None or local.casefold() == slug.casefold() else [slug, local]


def _category_href(settings: Settings, slug: str) -> str:
    return uris.absolute(settings, uris.SERVICES) + f"?category={quote(slug)}"


def languages_of(service: Service) -> list[str]:
    """The languages the service is written in, its lead language first."""
    written = [lang for lang, name in service.name.items() if name]
    return sorted(written, key=lambda lang: (lang != service.language, lang)) or [service.language]


def render_content(
    settings: Settings, service: Service, language: str, areas: list[tuple[str, str]]
) -> str:
    """The HTML a Mastodon reader sees in `language`."""
    locale = language if language in settings.languages else "en"
    gettext = translations(locale).gettext
    name, description = service.text_in(language)
    heading = gettext(proposals.HEADING) % {"label": gettext(LABEL), "title": _text(name)}
    parts = [f"<p><strong>{heading}</strong></p>"]
    for paragraph in (p for p in description.split("\n\n") if p.strip()):
        parts.append(f"<p>{_text(paragraph.strip()).replace(chr(10), '<br>')}</p>")
    hours = service.hours.get(language) or service.hours.get(service.language, "")
    facts = [
        f"📞 {_text(service.phone)}" if service.phone else "",
        f"✉️ {_text(service.email)}" if service.email else "",
        f"🕒 {_text(hours)}" if hours else "",
        f"📍 {_text(service.address)}" if service.address else "",
        f'🔗 <a href="{html.escape(service.website)}">{_text(service.website)}</a>'
        if service.website
        else "",
        f"💶 {gettext(FREE if service.free else PAID)}",
    ]
    parts.append("<p>" + "<br>".join(fact for fact in facts if fact) + "</p>")
    if areas:
        names = ", ".join(_text(area_name) for _, area_name in areas)
        parts.append(f"<p>{gettext(SERVES) % {'areas': names}}</p>")
    page = note_id(settings, service.id)
    tags = [
        _hashtag(tag, _category_href(settings, slug))
        for slug in service.categories
        if slug in BY_SLUG
        for tag in _tags_in(slug, locale)
    ]
    tags.append(_hashtag("nabuur", uris.absolute(settings, uris.SERVICES)))
    link = f'<a href="{html.escape(page)}">{html.escape(page)}</a>'
    parts.append(f"<p>{link} {' '.join(tags)}</p>")
    return "".join(parts)


def _hashtag_tags(
    settings: Settings, service: Service, languages: list[str]
) -> list[dict[str, str]]:
    named: dict[str, tuple[str, str]] = {}
    for slug in (s for s in service.categories if s in BY_SLUG):
        for lang in languages:
            locale = lang if lang in settings.languages else "en"
            for tag in _tags_in(slug, locale):
                named.setdefault(tag.casefold(), (tag, _category_href(settings, slug)))
    named.setdefault("nabuur", ("nabuur", uris.absolute(settings, uris.SERVICES)))
    return [{"type": "Hashtag", "href": href, "name": f"#{name}"} for name, href in named.values()]


def edited_at(service: Service) -> datetime | None:
    """When the service changed after it was created, or None if it never did."""
    created, updated = service.created_at, service.updated_at
    if created is None or updated is None or updated - created <= EDIT_GRACE:
        return None
    return updated


def service_to_note(
    settings: Settings, service: Service, areas: list[tuple[str, str]]
) -> dict[str, Any]:
    """The Note for `service` (needs `organisation` loaded); `areas` are the (Group URL,
    name) of the neighbourhoods it serves."""
    org_path = uris.organisation(service.organisation.slug)
    org_url = uris.absolute(settings, org_path)
    the_id = note_id(settings, service.id)
    languages = languages_of(service)
    content_map = {lang: render_content(settings, service, lang, areas) for lang in languages}
    description: dict[str, Any] = {
        "type": SERVICE_TYPE,
        "nameMap": {lang: service.name[lang] for lang in languages if service.name.get(lang)},
        "categories": [CATEGORY_BASE + slug for slug in service.categories if slug in BY_SLUG],
        "areaServed": [{"type": "Group", "id": url, "name": name} for url, name in areas],
        "free": service.free,
    }
    optional = {
        "telephone": service.phone,
        "email": service.email,
        "openingHours": {lang: text for lang, text in service.hours.items() if text},
        "address": service.address,
        "website": service.website,
    }
    description |= {key: value for key, value in optional.items() if value}
    note: dict[str, Any] = {
        "@context": CONTEXT,
        "id": the_id,
        "type": "Note",
        "attributedTo": org_url,
        "to": [PUBLIC],
        "cc": [uris.absolute(settings, uris.followers(org_path))],
        "name": service.text_in(service.language)[0],
        "content": content_map[languages[0]],
        "contentMap": content_map,
        "url": the_id,
        "published": activities.isoformat(service.created_at),
        "tag": _hashtag_tags(settings, service, languages),
        "service": description,
    }
    if (changed := edited_at(service)) is not None:
        note["updated"] = activities.isoformat(changed)
    return note


async def areas_of(settings: Settings, service: Service) -> list[tuple[str, str]]:
    """(Group URL, name) of the neighbourhoods `service` serves, by name."""
    if service.everywhere:
        hoods = await Neighbourhood.filter(archived_at=None).order_by("name")
    else:
        rows = await ServiceArea.filter(service=service).prefetch_related("neighbourhood")
        hoods = sorted((row.neighbourhood for row in rows), key=lambda h: h.name)
    return [(uris.absolute(settings, uris.neighbourhood(h.slug)), h.name) for h in hoods]


async def load_note(settings: Settings, service_id: uuid.UUID | str) -> dict[str, Any] | None:
    service = await Service.get_or_none(id=service_id).prefetch_related("organisation")
    if service is None:
        return None
    return service_to_note(settings, service, await areas_of(settings, service))


async def service_document(request: Request) -> Response:
    """GET /services/{id} as ActivityStreams: the Note, or 404."""
    service_id = uris.id_key(request.path_params["service_id"])
    if service_id is None:
        return not_found("object")
    note = await load_note(request.app.state.settings, service_id)
    return not_found("object") if note is None else activity_json(note)


async def _followers(organisation: Organisation) -> set[str]:
    return {f.delivery_inbox for f in await remote_followers(organisation)}


async def on_service_changed(fed: Federation, payload: dict) -> str | None:
    """Create to the organisation's followers the first time; Update after, to them and
    to every server that was sent the service before."""
    service_id = uuid.UUID(payload["service_id"])
    service = await Service.get_or_none(id=service_id).prefetch_related("organisation")
    if service is None:
        return None  # deleted since: its ServiceRemoved sends the Delete
    note = service_to_note(fed.settings, service, await areas_of(fed.settings, service))
    inboxes = await _followers(service.organisation)
    kind = "Create" if payload.get("created") else "Update"
    if kind == "Update":
        # Mastodon applies an Update only when `updated` is later than the last it saw.
        note.setdefault("updated", activities.isoformat(service.updated_at or utcnow()))
        inboxes = await outbox.with_earlier(
            inboxes, await outbox.inboxes_sent(object_uri=note["id"])
        )
    _, activity_id = outbox.new_activity_id(fed)
    activity = activities.about_post(kind, activity_id, note["attributedTo"], note, note)
    await outbox.enqueue(
        fed, service.organisation, activity, sorted(inboxes), object_uri=note["id"]
    )
    return f"{kind} of {note['id']} to {len(inboxes)} inbox(es)"


async def on_service_removed(fed: Federation, payload: dict) -> str | None:
    """Delete of the Tombstone to the followers and every server sent it before; what
    was not sent yet is cancelled."""
    organisation = await Organisation.get_or_none(id=payload["organisation_id"])
    if organisation is None:
        return None  # the organisation went too: its actor is gone with its services
    the_id = note_id(fed.settings, payload["service_id"])
    await outbox.cancel_pending(the_id)
    earlier = await outbox.inboxes_sent(object_uri=the_id)
    inboxes = await outbox.with_earlier(await _followers(organisation), earlier)
    org_url = uris.absolute(fed.settings, uris.organisation(organisation.slug))
    followers = uris.absolute(fed.settings, uris.followers(uris.organisation(organisation.slug)))
    addressed = {"to": [PUBLIC], "cc": [followers]}
    _, activity_id = outbox.new_activity_id(fed)
    tombstone = activities.tombstone(the_id, utcnow())
    activity = activities.about_post("Delete", activity_id, org_url, tombstone, addressed)
    await outbox.enqueue(fed, organisation, activity, sorted(inboxes), object_uri=the_id)
    await outbox.unlist(the_id)
    return f"Delete of {the_id} to {len(inboxes)} inbox(es)"
