"""A neighbourhood's public page: its open requests and offers."""

from starlette.requests import Request
from starlette.responses import Response

from node import uris
from node.models import PostKind
from node.services import neighbourhoods, posts, remote_posts
from web.pages.cards import build_cards


async def neighbourhood(request: Request) -> Response:
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    hood = await neighbourhoods.get_neighbourhood(request.path_params["slug"])
    listed = await posts.list_open_posts(hood, viewer=None, limit=100)
    cards = await build_cards(listed, locale)
    description_lang = (
        locale if locale in hood.description else next(iter(hood.description), locale)
    )
    return renderer.render(
        request,
        "neighbourhood.html",
        {
            "hood": hood,
            "description": hood.description.get(description_lang, ""),
            "description_lang": description_lang,
            "requests": [c for c in cards if c.kind == PostKind.REQUEST],
            "offers": [c for c in cards if c.kind == PostKind.OFFER],
            "nearby": await remote_posts.nearby(hood),
            "activitypub_url": uris.absolute(
                request.app.state.settings, uris.neighbourhood(hood.slug)
            ),
        },
    )
