"""Public profile pages of residents and organisations (also their ActivityPub `url`)."""

from babel.dates import format_datetime
from starlette.requests import Request
from starlette.responses import Response

from node import uris
from node.models import Account
from node.services import accounts, helped, listings, organisations, removals, service_directory
from web.pages.cards import cards_from_rows
from web.pages.feeds import feed_links
from web.pages.following import follow_context
from web.pages.post import removed_page
from web.pages.remote_follow import form_headers
from web.pages.services import summaries
from web.shell.page_cache import for_anonymous
from web.shell.session import viewer


async def _cards(request: Request, **match: object) -> list:
    """Open posts the viewer may see (followers see followers-only posts here too)."""
    locale = request.app.state.renderer.locale_for(request)
    rows = await listings.open_card_rows(None, viewer(request), limit=50, **match)
    return await cards_from_rows(rows, locale)


async def _helped(request: Request, person: Account) -> dict | None:
    """The requests `person` helped with, as their profile shows them to this viewer
    (None: not shown), each with the month it was done in the viewer's language."""
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    found = await helped.for_profile(person, viewer(request), locale)
    if found is None:
        return None
    return {
        "only_you": found.only_you,
        "items": [
            (item, format_datetime(item.done_at, "LLLL yyyy", tzinfo=renderer.zone, locale=locale))
            for item in found.items
        ],
    }


def _description(texts: dict[str, str], locale: str) -> tuple[str, str]:
    lang = locale if locale in texts else next(iter(texts), locale)
    return texts.get(lang, ""), lang


@for_anonymous
async def person(request: Request) -> Response:
    if await removals.suspended_account(request.path_params["username"]):
        return await removed_page(request, "account")
    account = await accounts.get_active_account(request.path_params["username"])
    settings = request.app.state.settings
    # Posts made for an organisation appear on its page, not on the staff member's.
    cards = await _cards(request, author_id=account.id, organisation_id=None)
    return await request.app.state.renderer.render(
        request,
        "profile.html",
        {
            "name": account.display_name,
            "handle": f"@{account.username}@{settings.domain}",
            "description": "",
            "description_lang": "",
            "cards": cards,
            "activitypub_url": uris.absolute(settings, uris.account(account.username)),
            "report_path": f"/report?account={account.username}",
            "follow_path": uris.account(account.username),
            **await follow_context(request, account),
            "helped": await _helped(request, account),
        },
        headers=form_headers(settings),
    )


@for_anonymous
async def organisation(request: Request) -> Response:
    org = await organisations.get_organisation(request.path_params["slug"])
    settings = request.app.state.settings
    locale = request.app.state.renderer.locale_for(request)
    description, lang = _description(org.description, locale)
    return await request.app.state.renderer.render(
        request,
        "profile.html",
        {
            "name": org.name,
            "handle": f"@{org.slug}@{settings.domain}",
            "description": description,
            "description_lang": lang,
            "cards": await _cards(request, organisation_id=org.id),
            "activitypub_url": uris.absolute(settings, uris.organisation(org.slug)),
            "report_path": f"/report?organisation={org.slug}",
            "follow_path": uris.organisation(org.slug),
            **await follow_context(request, org),
            "feeds": feed_links(settings, uris.organisation(org.slug), org.name),
            "calendar_url": uris.calendar(uris.organisation(org.slug)),
            "services": summaries(await service_directory.list_for_organisation(org), locale),
        },
        headers=form_headers(settings),
    )
