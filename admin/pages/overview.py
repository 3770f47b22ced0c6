"""/admin: where admins start (with what is left to set up) and staff find their
organisations' dashboards."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin.guard import logged_in, me
from admin.rendering import render
from node import uris
from node.errors import PermissionDenied
from node.models import Role
from node.services import node_setup, organisations, surveys


@logged_in
async def overview(request: Request) -> Response:
    account = me(request)
    mine = await organisations.staff_organisations(account)
    if account.role != Role.ADMIN:
        if account.role == Role.MODERATOR and not mine:
            return RedirectResponse("/admin/moderation", status_code=303)
        if not mine and await surveys.may_publish_anywhere(account):
            return RedirectResponse(uris.ADMIN_SURVEYS, status_code=303)  # a connector
        if not mine:
            raise PermissionDenied("no dashboard for this account")
        if len(mine) == 1:  # straight to the one dashboard a social worker uses
            return RedirectResponse(uris.dashboard(mine[0].slug), status_code=303)
    settings = request.app.state.settings
    checklist = await node_setup.checklist(settings) if account.role == Role.ADMIN else None
    return await render(request, "overview.html", {"checklist": checklist, "organisations": mine})
