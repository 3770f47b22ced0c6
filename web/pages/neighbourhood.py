"""A neighbourhood's public page: its open requests and offers, filters, following."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node import uris
from node.errors import Conflict, NotFound
from node.models import PostKind
from node.services import (
    follows,
    listings,
    neighbourhoods,
    remote_posts,
    service_matching,
    surveys,
)
from node.taxonomy import BY_SLUG, CATEGORIES
from node.timeutil import utcnow
from web.pages.cards import cards_from_rows
from web.pages.feeds import feed_links
from web.pages.remote_follow import form_headers
from web.pages.services import summaries
from web.shell.forms import read_form
from web.shell.page_cache import for_anonymous
from web.shell.session import viewer

WHEN_CHOICES = ("today", "week", "flexible")
PER_SECTION = 20
FILTERED = 100


def _filters(request: Request) -> dict[str, str]:
    """The filters asked for; unknown values are ignored rather than refused."""
    query = request.query_params
    kind = query.get("kind", "")
    category = query.get("category", "")
    when = query.get("when", "")
    return {
        "kind": kind if kind in (PostKind.REQUEST, PostKind.OFFER) else "",
        "category": category if category in BY_SLUG else "",
        "when": when if when in WHEN_CHOICES else "",
    }


def _window(when: str, zone) -> tuple[datetime, datetime] | None:
    today = datetime.combine(utcnow().astimezone(zone).date(), time(0), tzinfo=zone)
    if when == "today":
        return today, today + timedelta(days=1)
    if when == "week":
        return today, today + timedelta(days=7)
    return None


@for_anonymous
async def neighbourhood(request: Request) -> Response:
    renderer = request.app.state.renderer
    settings = request.app.state.settings
    locale = renderer.locale_for(request)
    account = viewer(request)
    hood = await neighbourhoods.get_neighbourhood(request.path_params["slug"])
    chosen = _filters(request)
    # Both kinds show their newest few; filtering on one kind shows more of it.
    kinds = [chosen["kind"]] if chosen["kind"] else [PostKind.REQUEST, PostKind.OFFER]
    limit = FILTERED if chosen["kind"] else PER_SECTION
    listed: list = []
    more: dict[str, bool] = {}
    per_kind = await listings.open_card_rows_per_kind(
        hood,
        account,
        kinds,
        category=chosen["category"] or None,
        starts_between=_window(chosen["when"], renderer.zone),
        flexible_only=chosen["when"] == "flexible",
        limit=limit + 1,
    )
    for kind, found in per_kind.items():
        more[kind] = len(found) > limit
        listed.extend(found[:limit])
    cards = await cards_from_rows(listed, locale)
    description_lang = (
        locale if locale in hood.description else next(iter(hood.description), locale)
    )
    following = await follows.is_following(account, hood)
    return await renderer.render(
        request,
        "neighbourhood.html",
        {
            "hood": hood,
            "description": hood.description.get(description_lang, ""),
            "description_lang": description_lang,
            "requests": [c for c in cards if c.kind == PostKind.REQUEST],
            "offers": [c for c in cards if c.kind == PostKind.OFFER],
            "filters": chosen,
            "more": more,
            "filtered": any(chosen.values()),
            "categories": CATEGORIES,
            "following": following,
            "handle": f"@{hood.slug}@{settings.domain}",
            "nearby": await remote_posts.nearby(hood),
            "surveys": [
                (
                    survey,
                    survey.question_in(locale),
                    locale if locale in survey.question else survey.language,
                )
                for survey in await surveys.open_surveys(hood)
            ],
            "may_survey": await surveys.may_publish_in(account, hood),
            "services": summaries(await service_matching.serving(hood.id), locale),
            "activitypub_url": uris.absolute(settings, uris.neighbourhood(hood.slug)),
            "feeds": feed_links(settings, uris.neighbourhood(hood.slug), hood.name),
            "calendar_url": uris.calendar(uris.neighbourhood(hood.slug)),
        },
        headers=form_headers(settings),
    )


async def follow(request: Request) -> Response:
    """Follow or stop following the neighbourhood (the form says which)."""
    form = await read_form(request)
    hood = await neighbourhoods.get_neighbourhood(request.path_params["slug"])
    account = viewer(request)
    page = uris.neighbourhood(hood.slug)
    if account is None:
        return RedirectResponse(f"/login?next={page}", status_code=303)
    try:
        if form.get("follow") == "no":
            await follows.unfollow(account, hood)
        else:
            await follows.follow(account, hood)
    except (Conflict, NotFound):
        pass  # already as asked: a second click changes nothing
    return RedirectResponse(page, status_code=303)
