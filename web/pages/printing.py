"""Printed window cards, posters and request sheets (PDF; see `node.printing`).

`/n/{slug}/card.pdf` (A6) and `/n/{slug}/poster.pdf` (A4) are public like the
neighbourhood's page; `/r/{id}/sheet.pdf` is for the people who manage the request.
`?lang=nl|fr|en|nl-fr` picks the language (nl-fr: both on one sheet); without it, the
visitor's. Drawing a PDF is CPU work (about 20 ms): it runs in a thread, off the
event loop, so other visitors are not kept waiting.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node import printing, uris
from node.errors import NotFound
from node.i18n import N_, gettext
from node.services import print_data
from web.shell.session import viewer

BAD_LANGUAGE = N_("Something is wrong with this request")
BAD_LANGUAGE_DETAIL = N_("Unknown language for printing. Choose one of: %(choices)s.")
PUBLIC_CACHE = "public, max-age=300"


async def _languages(request: Request) -> tuple[str, tuple[str, ...]] | Response:
    """(`?lang=` value, its languages), the visitor's language when none is asked, or
    the 400 page for an unknown value."""
    raw = request.query_params.get("lang")
    locale = request.app.state.renderer.locale_for(request)
    if raw is None:
        return locale, (locale,)
    languages = printing.languages_of(raw)
    if languages is not None:
        return raw, languages
    message = gettext(locale, BAD_LANGUAGE_DETAIL) % {
        "choices": ", ".join(printing.LANGUAGE_CHOICES)
    }
    return await request.app.state.renderer.render(
        request,
        "error.html",
        {"heading": gettext(locale, BAD_LANGUAGE), "message": message},
        status_code=400,
    )


def _pdf(body: bytes, filename: str, cache_control: str, *, varies: bool) -> Response:
    headers = {
        "content-disposition": f'inline; filename="{filename}"',
        "cache-control": cache_control,
    }
    if varies:  # the language followed the visitor
        headers["vary"] = "Accept-Language, Cookie"
    return Response(body, media_type="application/pdf", headers=headers)


async def _node_name(request: Request) -> str:
    return (await request.app.state.profile_cache.get()).name


async def _neighbourhood_pdf(request: Request, kind: str) -> Response:
    chosen = await _languages(request)
    if isinstance(chosen, Response):
        return chosen
    choice, languages = chosen
    settings = request.app.state.settings
    data = await print_data.neighbourhood_print(
        settings, request.path_params["slug"], await _node_name(request)
    )
    draw = printing.window_card if kind == "card" else printing.poster
    body = await asyncio.to_thread(draw, data, languages)
    name = "window-card" if kind == "card" else "poster"
    explicit = "lang" in request.query_params
    cache = PUBLIC_CACHE if explicit else "private, max-age=300"
    return _pdf(body, f"{data.slug}-{name}-{choice}.pdf", cache, varies=not explicit)


async def window_card(request: Request) -> Response:
    return await _neighbourhood_pdf(request, "card")


async def poster(request: Request) -> Response:
    return await _neighbourhood_pdf(request, "poster")


async def request_sheet(request: Request) -> Response:
    """The request's sheet, for its managers: others who see the request get 403, those
    who do not see it 404, anonymous visitors log in first."""
    raw = request.path_params["post_id"]
    if uris.id_key(raw) is None:
        raise NotFound("no such post")
    account = viewer(request)
    if account is None:
        return RedirectResponse(f"/login?next={uris.post_sheet(raw)}", status_code=303)
    chosen = await _languages(request)
    if isinstance(chosen, Response):
        return chosen
    choice, languages = chosen
    post = await print_data.printable_post(account, raw)
    data = await print_data.request_print(
        request.app.state.settings, post, await _node_name(request)
    )
    body = await asyncio.to_thread(printing.request_sheet, data, languages)
    return _pdf(body, f"request-{post.id}-{choice}.pdf", "private, no-store", varies=False)
