"""People and roles: finding accounts, the node role, connector of a neighbourhood, and
staff of an organisation (node admins); warning, limiting and suspending one account
with a reason, without a report too (moderators and admins, see `node.services.sanctions`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import admins_only, back, errors_of, me, moderators_only, page_number
from admin.rendering import render
from node import uris
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_, gettext
from node.models import Account, Role, StaffRole
from node.services import accounts, audit, neighbourhoods, organisations, sanctions
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
            **await _moderation(request, account),
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


# ---- moderation of one account (moderators and admins) -------------------------------

SANCTIONS = {
    "warn": (sanctions.warn_account, "warned"),
    "silence": (sanctions.silence_account, "silenced"),
    "unsilence": (sanctions.lift_silence, "unsilenced"),
    "suspend": (sanctions.suspend_account, "suspended"),
    "unsuspend": (sanctions.lift_suspension, "unsuspended"),
}
SANCTION_DONE = {
    "warned": N_("The warning is sent."),
    "silenced": N_("The account is limited: its posts left the lists and reach followers only."),
    "unsilenced": N_("The limit is lifted: its posts are listed again."),
    "suspended": N_("The account is suspended: it cannot log in and its content is hidden."),
    "unsuspended": N_("The suspension is lifted: the account and its content are back."),
    "unchanged": N_("Nothing changed: the account was already so."),
}
NOT_YOURS = N_(
    "You cannot do this: moderators do not act on the node's staff, nobody on themselves, "
    "and only admins lift a suspension."
)


def moderation_path(username: str) -> str:
    return f"{person_path(username)}/moderation"


async def _moderation(request: Request, account: Account) -> dict:
    """What the moderation section shows: the state, the history and the notice."""
    locale = request.app.state.renderer.locale_for(request)
    done = request.query_params.get("done", "")
    shown = {
        "history": await audit.history_of(f"account:{account.username}"),
        "can_lift": me(request).role == Role.ADMIN,
    }
    if done in SANCTION_DONE:  # other notices are the admin pages' own (admin.rendering)
        shown["notice"] = gettext(locale, SANCTION_DONE[done])
    return shown


@moderators_only
async def moderation(request: Request) -> Response:
    """Warn, limit (silence), suspend, or lift, with a reason; without a report too."""
    account = await accounts.get_account(request.path_params["username"])
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        action = form.get("action")
        if action not in SANCTIONS:
            errors["_form"] = gettext(request.app.state.renderer.locale_for(request), NOT_YOURS)
            status = 400
        else:
            run, done = SANCTIONS[action]
            try:
                changed = await run(me(request), account, form.get("reason"))
            except InvalidInput as exc:
                errors = {f"reason-{action}": next(iter(errors_of(request, exc).values()))}
                status = 400
            except PermissionDenied:
                locale = request.app.state.renderer.locale_for(request)
                errors = {f"reason-{action}": gettext(locale, NOT_YOURS)}
                status = 403
            else:
                return back(moderation_path(account.username), done if changed else "unchanged")
    return await render(
        request,
        "person_moderation.html",
        {"person": account, "errors": errors, **await _moderation(request, account)},
        status_code=status,
    )
