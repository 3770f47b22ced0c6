"""/admin/n/{slug}/contact: how to ask the neighbourhood for help without internet (a
phone number, an office, opening hours), printed on its window cards and posters.

For the node's admins and the neighbourhood's connectors; other people who are logged
in get 403, anonymous visitors log in first, an unknown neighbourhood is not found.
A bad value shows the form again with each field's error, and nothing is stored.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import back, errors_of, logged_in, me
from admin.rendering import render
from node import uris
from node.errors import InvalidInput, PermissionDenied
from node.models import Neighbourhood
from node.services import neighbourhoods, offline_contact
from web.shell.forms import read_form


def contact_path(slug: str) -> str:
    return f"{uris.ADMIN}/n/{slug}/contact"


def _values_of(hood: Neighbourhood) -> dict[str, str]:
    return {
        "help_phone": hood.help_phone,
        "help_office": hood.help_office,
        "help_hours": hood.help_hours,
    }


@logged_in
async def contact(request: Request) -> Response:
    hood = await neighbourhoods.get_neighbourhood(request.path_params["slug"])
    account = me(request)
    if not await offline_contact.may_edit(account, hood):
        raise PermissionDenied("for admins and the neighbourhood's connectors")
    values, errors = _values_of(hood), {}
    if request.method == "POST":
        form = await read_form(request)
        values = {key: form.get(key) for key in values}
        try:
            await offline_contact.set_contact(
                hood,
                offline_contact.ContactForm(
                    values["help_phone"], values["help_office"], values["help_hours"]
                ),
                account,
            )
        except InvalidInput as exc:
            errors = errors_of(request, exc)
        else:
            return back(contact_path(hood.slug), "saved")
    return await render(
        request,
        "neighbourhood_contact.html",
        {
            "hood": hood,
            "values": values,
            "errors": errors,
            "action": contact_path(hood.slug),
            "limits": (
                offline_contact.PHONE_MAX,
                offline_contact.OFFICE_MAX,
                offline_contact.HOURS_MAX,
            ),
        },
        status_code=400 if errors else 200,
    )
