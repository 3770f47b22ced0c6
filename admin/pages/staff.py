"""An organisation's staff at /admin/o/{slug}/staff: everyone of the staff sees who is on
the team; coordinators and node admins add people, change roles, remove them, and make
staff invitation links that land a new account in the organisation."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import back, errors_of, logged_in, me
from admin.pages.invitations import lifetime, link
from admin.rendering import render
from node import uris, validation
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_, gettext
from node.models import Organisation, StaffRole
from node.services import accounts, dashboards, organisations, signups
from web.shell.forms import read_form

STAFF_ROLES = [role.value for role in StaffRole]
PROBLEMS = {
    NotFound: N_("There is no account with this username."),
    Conflict: N_("This person is already staff of the organisation."),
}


def _number(raw: str) -> int:
    return validation.as_id(raw) or 0


def staff_path(slug: str) -> str:
    return f"{uris.dashboard(slug)}/staff"


async def _page(
    request: Request,
    org: Organisation,
    errors: dict[str, str] | None = None,
    created: str | None = None,
) -> Response:
    manage = await organisations.can_manage(me(request), org)
    active = await signups.active_invitations(org) if manage else []
    return await render(
        request,
        "staff.html",
        {
            "org": org,
            "members": await organisations.staff_of(org),
            "manage": manage,
            "staff_roles": STAFF_ROLES,
            "errors": errors or {},
            "created": created,
            "active": [(invitation, link(request, invitation.code)) for invitation in active],
        },
        status_code=400 if errors else 200,
    )


@logged_in
async def staff(request: Request) -> Response:
    org = await organisations.get_organisation(request.path_params["slug"])
    await dashboards.require_dashboard(me(request), org)
    if request.method == "GET":
        return await _page(request, org)
    if not await organisations.can_manage(me(request), org):
        raise PermissionDenied("only coordinators and admins manage the staff")
    form = await read_form(request)
    action = form.get("action")
    by = me(request)
    try:
        if action == "invite":
            invitation = await signups.create_invitation(
                by,
                organisation=org,
                role=form.get("staff_role"),
                uses=validation.integer("uses", form.get("uses") or "1", 1, 50),
                lifetime=lifetime(form.get("days")),
            )
            return await _page(request, org, created=link(request, invitation.code))
        if action == "revoke":
            await signups.revoke_invitation(_number(form.get("invitation")), org, by=by)
            return back(staff_path(org.slug), "revoked")
        account = await accounts.get_account(form.get("username").lstrip("@"))
        if action == "add":
            await organisations.add_staff(org, account, form.get("staff_role"), by=by)
        elif action == "role":
            await organisations.set_staff_role(org, account, form.get("staff_role"), by=by)
        elif action == "remove":
            await organisations.remove_staff(org, account, by=by)
    except InvalidInput as exc:
        return await _page(request, org, {action: next(iter(errors_of(request, exc).values()))})
    except (NotFound, Conflict) as exc:
        locale = request.app.state.renderer.locale_for(request)
        message = PROBLEMS[NotFound if isinstance(exc, NotFound) else Conflict]
        return await _page(request, org, {action: gettext(locale, message)})
    return back(staff_path(org.slug), "staff")
