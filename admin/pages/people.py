"""People and roles: finding accounts, the node role, connector of a neighbourhood, and
staff of an organisation (node admins)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import admins_only, back, errors_of, me, page_number
from admin.rendering import render
from node import uris
from node.errors import Conflict, InvalidInput, NotFound
from node.i18n import N_, gettext
from node.models import Account, Role, StaffRole
from node.services import accounts, neighbourhoods, organisations
from web.shell.forms import read_form

LIST = f"{uris.ADMIN}/people"
ROLES = [role.value for role in Role]
STAFF_ROLES = [role.value for role in StaffRole]
PROBLEMS = {
    "member": N_("This person is already staff of that organisation."),
    "connector": N_("This person is already a connector there."),
    "missing": N_("That organisation or neighbourhood does not exist."),
}


def person_path(username: str) -> str:
    return f"{LIST}/{username}"


@admins_only
async def people(request: Request) -> Response:
    query = request.query_params.get("q", "")
    page = page_number(request.query_params.get("page"))
    found, total = await accounts.search_accounts(query, page=page)
    pages = max(1, -(-total // accounts.SEARCH_PAGE))
    return await render(
        request,
        "people.html",
        {"accounts": found, "total": total, "q": query[:80], "page": page, "pages": pages},
    )


async def _person_page(
    request: Request, account: Account, errors: dict[str, str] | None = None
) -> Response:
    return await render(
        request,
        "person.html",
        {
            "person": account,
            "roles": ROLES,
            "staff_roles": STAFF_ROLES,
            "memberships": await organisations.memberships_of(account),
            "connected": await neighbourhoods.connected_to(account),
            "all_organisations": await organisations.list_organisations(),
            "all_neighbourhoods": await neighbourhoods.list_neighbourhoods(),
            "errors": errors or {},
        },
        status_code=400 if errors else 200,
    )


@admins_only
async def person(request: Request) -> Response:
    account = await accounts.get_account(request.path_params["username"])
    if request.method == "GET":
        return await _person_page(request, account)
    form = await read_form(request)
    by = me(request)
    locale = request.app.state.renderer.locale_for(request)
    action = form.get("action")
    try:
        if action == "role":
            await accounts.set_role(account, form.get("role"), by=by)
            return back(person_path(account.username), "role")
        if action in ("add_staff", "remove_staff"):
            org = await organisations.get_organisation(form.get("organisation"))
            if action == "add_staff":
                await organisations.add_staff(org, account, form.get("staff_role"), by=by)
            else:
                await organisations.remove_staff(org, account, by=by)
            return back(person_path(account.username), "staff")
        if action in ("add_connector", "remove_connector"):
            hood = await neighbourhoods.get_neighbourhood(form.get("neighbourhood"))
            if action == "add_connector":
                await neighbourhoods.add_connector(hood, account, by=by)
            else:
                await neighbourhoods.remove_connector(hood, account, by)
            return back(person_path(account.username), "connector")
    except InvalidInput as exc:
        errors = errors_of(request, exc)
        if action != "role":  # shown at the form that was sent
            errors = {action: next(iter(errors.values()))}
        return await _person_page(request, account, errors)
    except Conflict:
        problem = "member" if action == "add_staff" else "connector"
        return await _person_page(request, account, {action: gettext(locale, PROBLEMS[problem])})
    except NotFound:
        return await _person_page(request, account, {action: gettext(locale, PROBLEMS["missing"])})
    return back(person_path(account.username))
