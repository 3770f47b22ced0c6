"""The node's home page: its neighbourhoods and the newest open posts."""

from starlette.requests import Request
from starlette.responses import Response

from node.services import listings, neighbourhoods, remote_posts
from web.pages.cards import cards_from_rows
from web.shell.page_cache import for_anonymous

NEWEST = 10


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
        },
    )
