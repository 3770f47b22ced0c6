"""Rendering an admin page: its navigation (what this person may open) and the notice
after a form was saved, around the page's own template in `admin/templates/`."""

from __future__ import annotations

import functools
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from admin.audit_labels import action_label
from node.i18n import N_, gettext
from node.models import Role
from node.services import neighbourhoods, organisations, surveys
from web.shell.session import viewer

DONE = {
    "created": N_("Created."),
    "saved": N_("Your changes are saved."),
    "archived": N_("The neighbourhood is archived: it takes no new posts."),
    "restored": N_("The neighbourhood is back in the lists."),
    "icon": N_("The new icon is saved."),
    "connector": N_("The connectors are updated."),
    "role": N_("The role is changed."),
    "staff": N_("The staff list is updated."),
    "invited": N_("The invitation link is ready: copy it and send it."),
    "revoked": N_("The link no longer works."),
    "renewed": N_("The selected posts stay up 30 more days."),
    "assigned": N_("The post is assigned."),
    "unassigned": N_("The whole team follows the post up again."),
    "note": N_("Your note is saved. Only your organisation's staff see it."),
    "partner": N_("The partners are updated."),
    "survey": N_("The survey is published."),
    "survey_withdrawn": N_("The survey is withdrawn."),
    "service_removed": N_("The service is removed."),
}


async def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    account = viewer(request)
    locale = request.app.state.renderer.locale_for(request)
    done = request.query_params.get("done", "")
    mine = await organisations.staff_organisations(account)
    is_admin = account is not None and account.role == Role.ADMIN
    is_moderator = account is not None and account.is_staff_of_node
    return await request.app.state.renderer.render(
        request,
        f"admin/{template}",
        {
            "is_admin": is_admin,
            "is_moderator": is_moderator,
            "action_label": functools.partial(action_label, locale),
            "my_organisations": mine,
            "dashboard": is_moderator or bool(mine),
            "may_survey": await surveys.may_publish_anywhere(account),
            # Connectors set how to ask their neighbourhood for help without internet.
            "my_neighbourhoods": await neighbourhoods.connected_to(account) if account else [],
            "notice": gettext(locale, DONE[done]) if done in DONE else None,
            "errors": {},
            "values": {},
            **(context or {}),
        },
        status_code=status_code,
    )
