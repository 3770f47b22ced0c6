"""Organisations: the list and creating them (node admins); editing the profile and the
icon (node admins and the organisation's coordinators)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import admins_only, back, errors_of, logged_in, me, texts_by_language
from admin.rendering import render
from node import uris
from node.errors import InvalidInput, PermissionDenied
from node.images import MAX_UPLOAD_BYTES, process_icon_async
from node.models import Organisation, OrganisationKind
from node.services import media, neighbourhoods, organisations
from node.services.organisations import OrganisationForm
from web.shell.forms import Form, read_form, read_upload

LIST = f"{uris.ADMIN}/organisations"
KINDS = [kind.value for kind in OrganisationKind]


def profile_path(slug: str) -> str:
    return f"{uris.dashboard(slug)}/profile"


def _form_of(form: Form, languages: tuple[str, ...]) -> OrganisationForm:
    return OrganisationForm(
        name=form.get("name"),
        kind=form.get("kind"),
        description=texts_by_language(form, "description", languages),
        website=form.get("website"),
        contact=form.get("contact"),
        neighbourhoods=form.getlist("neighbourhoods"),
        show_staff_names=form.get("show_staff_names") == "yes",
    )


async def _values_of(org: Organisation) -> dict[str, object]:
    values: dict[str, object] = {
        "name": org.name,
        "slug": org.slug,
        "kind": org.kind,
        "website": org.website or "",
        "contact": org.contact,
        "show_staff_names": "yes" if org.show_staff_names else "",
        "neighbourhoods": await organisations.area_slugs(org),
    }
    values.update({f"description_{lang}": text for lang, text in org.description.items()})
    return values


def _values_from(form: Form) -> dict[str, object]:
    return {**form.values(), "neighbourhoods": form.getlist("neighbourhoods")}


async def _page(
    request: Request,
    org: Organisation | None,
    values: dict[str, object],
    errors: dict[str, str],
    icon_error: str = "",
) -> Response:
    return await render(
        request,
        "organisation_form.html",
        {
            "org": org,
            "values": values,
            "errors": errors,
            "kinds": KINDS,
            "all_neighbourhoods": await neighbourhoods.list_neighbourhoods(),
            "icon_url": await media.path_of(org.icon_id) if org else None,
            "icon_error": icon_error,
        },
        status_code=400 if errors or icon_error else 200,
    )


@admins_only
async def organisation_list(request: Request) -> Response:
    return await render(
        request, "organisations.html", {"organisations": await organisations.list_organisations()}
    )


@admins_only
async def new_organisation(request: Request) -> Response:
    values: dict[str, object] = {"kind": OrganisationKind.NGO.value, "neighbourhoods": []}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await read_form(request)
        values = _values_from(form)
        new = _form_of(form, request.app.state.settings.languages)
        try:
            org = await organisations.create_organisation(
                form.get("slug"),
                new.name,
                kind=new.kind,
                description=new.description,
                website=new.website,
                contact=new.contact,
                neighbourhoods=new.neighbourhoods,
                by=me(request),
            )
        except InvalidInput as exc:
            errors = errors_of(request, exc)
        else:
            return back(f"{uris.dashboard(org.slug)}/staff", "created")
    return await _page(request, None, values, errors)


async def _managed(request: Request) -> Organisation:
    org = await organisations.get_organisation(request.path_params["slug"])
    if not await organisations.can_manage(me(request), org):
        raise PermissionDenied("only the organisation's coordinators and the node's admins")
    return org


@logged_in
async def edit_organisation(request: Request) -> Response:
    org = await _managed(request)
    if request.method == "GET":
        return await _page(request, org, await _values_of(org), {})
    form = await read_form(request)
    try:
        await organisations.update_organisation(
            org, _form_of(form, request.app.state.settings.languages), me(request)
        )
    except InvalidInput as exc:
        fresh = await organisations.get_organisation(org.slug)
        return await _page(request, fresh, _values_from(form), errors_of(request, exc))
    return back(profile_path(org.slug), "saved")


@logged_in
async def upload_icon(request: Request) -> Response:
    org = await _managed(request)
    _, data = await read_upload(request, "icon", MAX_UPLOAD_BYTES)
    try:
        image = await process_icon_async(data)
        await organisations.set_icon(org, image, me(request))
    except InvalidInput as exc:
        message = errors_of(request, exc)["icon"]
        return await _page(request, org, await _values_of(org), {}, icon_error=message)
    return back(profile_path(org.slug), "icon")
