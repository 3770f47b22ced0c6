"""Sign-up links: for anyone (node admins), or into an organisation's staff (its
coordinators and the admins, from the organisation's staff page)."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import admins_only, back, errors_of, me
from admin.rendering import render
from node import uris, validation
from node.errors import InvalidInput
from node.services import signups
from web.shell.forms import read_form

PATH = f"{uris.ADMIN}/invitations"


def link(request: Request, code: str) -> str:
    return uris.absolute(request.app.state.settings, f"/signup?invite={code}")


def lifetime(raw: str) -> timedelta:
    return timedelta(days=validation.integer("days", raw or "14", 1, 365))


@admins_only
async def invitations(request: Request) -> Response:
    values = {"uses": "1", "days": "14"}
    errors: dict[str, str] = {}
    created = None
    if request.method == "POST":
        form = await read_form(request)
        if form.get("action") == "revoke":
            raw = form.get("invitation")
            number = validation.as_id(raw) or 0
            await signups.revoke_invitation(number, None, by=me(request))
            return back(PATH, "revoked")
        values = form.values()
        try:
            invitation = await signups.create_invitation(
                me(request),
                uses=validation.integer("uses", form.get("uses") or "1", 1, 1000),
                lifetime=lifetime(form.get("days")),
            )
        except InvalidInput as exc:
            errors = errors_of(request, exc)
        else:
            created = link(request, invitation.code)
    active = await signups.active_invitations(None)
    profile = await request.app.state.profile_cache.get()
    return await render(
        request,
        "invitations.html",
        {
            "values": values,
            "errors": errors,
            "created": created,
            "active": [(invitation, link(request, invitation.code)) for invitation in active],
            "policy": profile.signups,
        },
        status_code=400 if errors else 200,
    )
