"""The directory of services in the dashboard: the list (all of them for admins, their
organisations' for staff), adding, editing and deleting a service."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import back, errors_of, logged_in, me, texts_by_language
from admin.rendering import render
from node import uris
from node.errors import InvalidInput, PermissionDenied
from node.i18n import N_
from node.models import Organisation, Service
from node.services import neighbourhoods, service_directory
from node.services.service_directory import ServiceForm
from node.taxonomy import CATEGORIES
from web.shell.forms import Form, read_form

AREA_EVERYWHERE, AREA_LISTED = "everywhere", "listed"


def edit_path(service: Service) -> str:
    return f"{uris.ADMIN_SERVICES}/{service.id}"


def _form_of(form: Form, languages: tuple[str, ...]) -> ServiceForm:
    return ServiceForm(
        language=form.get("language"),
        name=texts_by_language(form, "name", languages),
        description=texts_by_language(form, "description", languages),
        categories=form.getlist("categories"),
        everywhere=form.get("area", AREA_EVERYWHERE) != AREA_LISTED,
        neighbourhoods=form.getlist("neighbourhoods"),
        phone=form.get("phone"),
        email=form.get("email"),
        hours=texts_by_language(form, "hours", languages),
        address=form.get("address"),
        website=form.get("website"),
        free=form.get("free", "yes") != "no",
    )


def _values_from(form: Form) -> dict[str, object]:
    return {
        **form.values(),
        "categories": form.getlist("categories"),
        "neighbourhoods": form.getlist("neighbourhoods"),
    }


def _values_of(data: ServiceForm, organisation: str = "") -> dict[str, object]:
    values: dict[str, object] = {
        "organisation": organisation,
        "language": data.language,
        "categories": list(data.categories),
        "area": AREA_EVERYWHERE if data.everywhere else AREA_LISTED,
        "neighbourhoods": [str(hood) for hood in data.neighbourhoods],
        "phone": data.phone,
        "email": data.email,
        "address": data.address,
        "website": data.website,
        "free": "yes" if data.free else "no",
    }
    for prefix, texts in (
        ("name", data.name),
        ("description", data.description),
        ("hours", data.hours),
    ):
        values.update({f"{prefix}_{lang}": text for lang, text in texts.items()})
    return values


async def _page(
    request: Request,
    service: Service | None,
    values: dict[str, object],
    errors: dict[str, str],
    choices: list[Organisation],
) -> Response:
    return await render(
        request,
        "service_form.html",
        {
            "service": service,
            "values": values,
            "errors": errors,
            "organisations": choices,
            "categories": CATEGORIES,
            "all_neighbourhoods": await neighbourhoods.list_neighbourhoods(),
        },
        status_code=400 if errors else 200,
    )


async def _choices(request: Request) -> list[Organisation]:
    """The organisations this person keeps services for; none: not their page."""
    found = await service_directory.organisations_for(me(request))
    if not found:
        raise PermissionDenied("the directory is kept by organisations' staff and admins")
    return found


@logged_in
async def service_list(request: Request) -> Response:
    choices = await _choices(request)
    return await render(
        request,
        "services.html",
        {
            "services": await service_directory.manageable(me(request)),
            "organisations": choices,
            "edit_path": edit_path,
        },
    )


@logged_in
async def new_service(request: Request) -> Response:
    choices = await _choices(request)
    languages = request.app.state.settings.languages
    if request.method == "GET":
        lead = request.app.state.renderer.locale_for(request)
        slug = choices[0].slug if len(choices) == 1 else ""
        return await _page(request, None, _values_of(ServiceForm(language=lead), slug), {}, choices)
    form = await read_form(request)
    org = next((o for o in choices if o.slug == form.get("organisation")), None)
    try:
        if org is None:
            # Another organisation's slug is refused like an unknown one: the list
            # offered holds only those this person keeps services for.
            raise InvalidInput("organisation", N_("choose one of the options"))
        service = await service_directory.create_service(
            org, _form_of(form, languages), me(request)
        )
    except InvalidInput as exc:
        return await _page(request, None, _values_from(form), errors_of(request, exc), choices)
    return back(edit_path(service), "created")


@logged_in
async def edit_service(request: Request) -> Response:
    service = await service_directory.get_managed_service(
        request.path_params["service_id"], me(request)
    )
    choices = await _choices(request)
    if request.method == "GET":
        data = await service_directory.form_of(service)
        values = _values_of(data, service.organisation.slug)
        return await _page(request, service, values, {}, choices)
    form = await read_form(request)
    try:
        await service_directory.update_service(
            service, _form_of(form, request.app.state.settings.languages), me(request)
        )
    except InvalidInput as exc:
        fresh = await service_directory.get_service(service.id)
        return await _page(request, fresh, _values_from(form), errors_of(request, exc), choices)
    return back(edit_path(service), "saved")


@logged_in
async def delete_service(request: Request) -> Response:
    service = await service_directory.get_managed_service(
        request.path_params["service_id"], me(request)
    )
    await read_form(request)
    await service_directory.delete_service(service, me(request))
    return back(uris.ADMIN_SERVICES, "service_removed")
