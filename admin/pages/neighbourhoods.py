"""Node administration of neighbourhoods: the list, creating, editing (texts, area,
icon), archiving, and their connectors."""

from __future__ import annotations

import contextlib
import json

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import admins_only, back, errors_of, me, texts_by_language
from admin.rendering import render
from node import geo, uris
from node.errors import Conflict, InvalidInput, NotFound
from node.i18n import N_, gettext
from node.images import MAX_UPLOAD_BYTES, process_icon_async
from node.models import Neighbourhood
from node.services import accounts, media, neighbourhoods
from node.services.neighbourhoods import NeighbourhoodForm
from web.shell.forms import Form, read_form, read_upload

LIST = f"{uris.ADMIN}/neighbourhoods"
NO_SUCH_ACCOUNT = N_("There is no account with this username.")
ALREADY_CONNECTOR = N_("This person is already a connector here.")


def _edit_path(slug: str) -> str:
    return f"{LIST}/{slug}"


def _form_of(form: Form, languages: tuple[str, ...]) -> NeighbourhoodForm:
    return NeighbourhoodForm(
        name=form.get("name"),
        commune=form.get("commune"),
        country=form.get("country"),
        description=texts_by_language(form, "description", languages),
        area_kind=form.get("area_kind", "circle"),
        centre=form.get("centre"),
        radius_m=form.get("radius_m"),
        geojson=form.get("geojson"),
        manually_approves_followers=form.get("manually_approves_followers") == "yes",
    )


def _values_of(hood: Neighbourhood) -> dict[str, str]:
    values = {
        "name": hood.name,
        "slug": hood.slug,
        "commune": hood.commune,
        "country": hood.country,
        "area_kind": "polygon" if hood.polygon else "circle",
        "centre": f"{hood.centre_lat}, {hood.centre_lon}" if hood.centre_lat is not None else "",
        "radius_m": str(hood.radius_m or ""),
        "geojson": json.dumps({"type": "Polygon", "coordinates": [hood.polygon]})
        if hood.polygon
        else "",
        "manually_approves_followers": "yes" if hood.manually_approves_followers else "",
    }
    values.update({f"description_{lang}": text for lang, text in hood.description.items()})
    return values


def outline_of(hood: Neighbourhood) -> geo.Outline | None:
    """The area to draw, if the neighbourhood has one."""
    centre = (hood.centre_lat, hood.centre_lon) if hood.centre_lat is not None else None
    if hood.polygon:
        return geo.outline(ring=hood.polygon, centre=centre)  # type: ignore[arg-type]
    if centre is not None and hood.radius_m:
        return geo.outline(centre=centre, radius_m=hood.radius_m)  # type: ignore[arg-type]
    return None


@admins_only
async def neighbourhood_list(request: Request) -> Response:
    hoods = await neighbourhoods.list_neighbourhoods(include_archived=True)
    return await render(request, "neighbourhoods.html", {"neighbourhoods": hoods})


@admins_only
async def new_neighbourhood(request: Request) -> Response:
    languages = request.app.state.settings.languages
    values: dict[str, str] = {"country": "BE", "area_kind": "circle", "radius_m": "800"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await read_form(request)
        values = form.values()
        try:
            hood = await neighbourhoods.create_from_form(
                form.get("slug"), _form_of(form, languages), me(request)
            )
        except InvalidInput as exc:
            errors = errors_of(request, exc)
        else:
            return back(_edit_path(hood.slug), "created")
    return await render(
        request,
        "neighbourhood_form.html",
        {"hood": None, "values": values, "errors": errors, "outline": None},
        status_code=400 if errors else 200,
    )


async def _edit_page(
    request: Request,
    hood: Neighbourhood,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    icon_error: str = "",
    connector_error: str = "",
) -> Response:
    failed = errors or icon_error or connector_error
    return await render(
        request,
        "neighbourhood_form.html",
        {
            "hood": hood,
            "values": values,
            "errors": errors,
            "outline": outline_of(hood),
            "icon_url": await media.path_of(hood.icon_id),
            "icon_error": icon_error,
            "connectors": await neighbourhoods.connectors_of(hood),
            "connector_error": connector_error,
        },
        status_code=400 if failed else 200,
    )


@admins_only
async def edit_neighbourhood(request: Request) -> Response:
    hood = await neighbourhoods.get_neighbourhood(request.path_params["slug"])
    if request.method == "GET":
        return await _edit_page(request, hood, _values_of(hood), {})
    form = await read_form(request)
    try:
        await neighbourhoods.update_from_form(
            hood, _form_of(form, request.app.state.settings.languages), me(request)
        )
    except InvalidInput as exc:
        fresh = await neighbourhoods.get_neighbourhood(hood.slug)  # nothing was saved
        return await _edit_page(request, fresh, form.values(), errors_of(request, exc))
    return back(_edit_path(hood.slug), "saved")


@admins_only
async def archive(request: Request) -> Response:
    hood = await neighbourhoods.get_neighbourhood(request.path_params["slug"])
    form = await read_form(request)
    archived = form.get("archived") == "yes"
    with contextlib.suppress(Conflict):  # a second click: already as asked
        await neighbourhoods.set_archived(hood, archived, me(request))
    return back(_edit_path(hood.slug), "archived" if archived else "restored")


@admins_only
async def upload_icon(request: Request) -> Response:
    hood = await neighbourhoods.get_neighbourhood(request.path_params["slug"])
    _, data = await read_upload(request, "icon", MAX_UPLOAD_BYTES)
    try:
        image = await process_icon_async(data)
        await neighbourhoods.set_icon(hood, image, me(request))
    except InvalidInput as exc:
        message = errors_of(request, exc)["icon"]
        return await _edit_page(request, hood, _values_of(hood), {}, icon_error=message)
    return back(_edit_path(hood.slug), "icon")


@admins_only
async def connectors(request: Request) -> Response:
    """Add (by username) or remove a connector of the neighbourhood."""
    hood = await neighbourhoods.get_neighbourhood(request.path_params["slug"])
    form = await read_form(request)
    try:
        account = await accounts.get_account(form.get("username").lstrip("@"))
        if form.get("action") == "remove":
            await neighbourhoods.remove_connector(hood, account, me(request))
        else:
            await neighbourhoods.add_connector(hood, account, by=me(request))
    except NotFound:
        message = NO_SUCH_ACCOUNT
    except Conflict:
        message = ALREADY_CONNECTOR
    else:
        return back(_edit_path(hood.slug), "connector")
    locale = request.app.state.renderer.locale_for(request)
    return await _edit_page(
        request, hood, _values_of(hood), {}, connector_error=gettext(locale, message)
    )
