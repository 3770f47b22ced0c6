"""The public directory of services (signposting): the list, filtered by neighbourhood
and category, and one service's page. Summaries for the neighbourhood page and the
hint while composing a request are built here too."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from node import uris
from node.models import Service
from node.services import neighbourhoods, remote_services, service_directory
from node.taxonomy import BY_SLUG, CATEGORIES
from node.validation import as_slug
from web.shell.page_cache import for_anonymous

_NOT_DIALLED = re.compile(r"[^0-9+]")


@dataclass(frozen=True, slots=True)
class ServiceSummary:
    """A service in a list: its name in the reader's language (else its lead one)."""

    path: str
    name: str
    language: str
    organisation_name: str
    organisation_path: str
    categories: tuple[str, ...]
    free: bool


def shown_language(service: Service, locale: str) -> str:
    """The language a service's texts are shown in: the reader's when written in it."""
    return locale if service.name.get(locale) else service.language


def summaries(services: list[Service], locale: str) -> list[ServiceSummary]:
    """`services` (with their organisation fetched) as list entries."""
    found = []
    for service in services:
        lang = shown_language(service, locale)
        found.append(
            ServiceSummary(
                path=uris.service(service.id),
                name=service.name.get(lang, ""),
                language=lang,
                organisation_name=service.organisation.name,
                organisation_path=uris.organisation(service.organisation.slug),
                categories=tuple(slug for slug in service.categories if slug in BY_SLUG),
                free=service.free,
            )
        )
    return found


@for_anonymous
async def directory(request: Request) -> Response:
    """/services: every service, or those serving a neighbourhood and answering a
    category; an unknown value in the query is ignored, like the neighbourhood's filters."""
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    hoods = await neighbourhoods.list_neighbourhoods()
    wanted_hood = as_slug(request.query_params.get("neighbourhood", ""))
    hood = next((h for h in hoods if h.slug == wanted_hood), None)
    category = request.query_params.get("category", "")
    category = category if category in BY_SLUG else ""
    found = await service_directory.list_services(
        neighbourhood_id=hood.id if hood else None, category=category or None
    )
    return await renderer.render(
        request,
        "services.html",
        {
            "services": summaries(found, locale),
            "hoods": hoods,
            "categories": CATEGORIES,
            "filters": {"neighbourhood": hood.slug if hood else "", "category": category},
            "filtered": bool(hood or category),
            # Partners' services (federated), filtered by the same category.
            "nearby_services": await remote_services.nearby(locale, category=category or None),
        },
    )


@for_anonymous
async def show(request: Request) -> Response:
    """/services/<uuid>: one service (404 for any other spelling of an id)."""
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    service = await service_directory.get_service(request.path_params["service_id"])
    lang = shown_language(service, locale)
    description_lang = lang if service.description.get(lang) else service.language
    hours_lang = locale if service.hours.get(locale) else service.language
    if not service.hours.get(hours_lang):  # hours written only in another language
        hours_lang = next(iter(service.hours), hours_lang)
    return await renderer.render(
        request,
        "service.html",
        {
            "service": service,
            "name": service.name.get(lang, ""),
            "language": lang,
            "description": service.description.get(description_lang, ""),
            "description_language": description_lang,
            "hours": service.hours.get(hours_lang, ""),
            "hours_language": hours_lang,
            "categories": [slug for slug in service.categories if slug in BY_SLUG],
            "areas": await service_directory.areas_of(service),
            "tel": _NOT_DIALLED.sub("", service.phone),
            "organisation": service.organisation,
        },
    )
