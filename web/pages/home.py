"""The node's home page: its neighbourhoods and the newest open posts."""

from starlette.requests import Request
from starlette.responses import Response

from node.services import email_addresses, listings, neighbourhoods, remote_posts
from web.pages.cards import cards_from_rows
from web.shell.page_cache import for_anonymous
from web.shell.session import viewer

NEWEST = 10


async def _welcome(request: Request) -> dict[str, object] | None:
    """What the page just after sign-up (`/?welcome=1`) says: welcome, and the address
    the confirmation link went to while it is unconfirmed. The address shown is the one
    the settings page shows (`email_addresses.shown`), so an address another account
    has gets the same words as a free one."""
    account = viewer(request)
    if account is None or request.query_params.get("welcome") != "1":
        return None
    address = None
    if request.app.state.settings.mail_enabled:
        address, confirmed = await email_addresses.shown(account)
        if confirmed:
            address = None
    return {"email": address}


@for_anonymous
async def home(request: Request) -> Response:
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    hoods = await neighbourhoods.list_neighbourhoods()
    counts = await listings.open_counts(viewer=None)
    newest = await listings.open_card_rows(None, viewer=None, limit=NEWEST)
    for hood in hoods:
        hood.open_count = counts.get(hood.id, 0)
    return await renderer.render(
        request,
        "home.html",
        {
            "neighbourhoods": hoods,
            "cards": await cards_from_rows(newest, locale),
            "nearby": await remote_posts.nearby(None),
            "welcome": await _welcome(request),
        },
    )
