"""/admin/o/{slug}/followers: who follows the organisation and who asks to, for its own
staff only; its coordinators (and the node's admins) approve, refuse and remove
followers, and choose whether followers need approval.

Others (visitors, other servers, even with a signed request) see a count: the list of
residents following a social-services organisation says too much about them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import back, logged_in, me
from admin.rendering import render
from node import uris
from node.errors import InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.services import dashboards, follow_requests, organisations
from web.shell.forms import read_form


@logged_in
async def followers(request: Request) -> Response:
    org = await organisations.get_organisation(request.path_params["slug"])
    account = me(request)
    await dashboards.require_dashboard(account, org)
    page = uris.dashboard(org.slug) + "/followers"
    if request.method == "POST":
        form = await read_form(request)
        if not await follow_requests.may_decide(account, org):
            raise PermissionDenied("only the organisation's coordinators or an admin decide")
        action = form.get("action")
        try:
            if action == "approval":
                await follow_requests.set_approval(account, org, form.get("approve") == "yes")
            elif action == "remove":
                await follow_requests.remove_follower(
                    account, org, follow_requests.follow_id(form.get("follow_id"))
                )
            elif action in ("approve", "refuse"):
                follow_id = follow_requests.follow_id(form.get("follow_id"))
                await follow_requests.decide(account, org, follow_id, action == "approve")
            else:
                raise InvalidInput("action", N_("choose one of the options"))
        except NotFound:
            pass  # decided already (by another coordinator): the list shows where it stands
        return back(page, "saved")
    rows = await follow_requests.followers_and_requests(org)
    return await render(
        request,
        "org_followers.html",
        {
            "org": org,
            "requests": [r for r in rows if r.pending],
            "followers": [r for r in rows if not r.pending],
            "may_decide": await follow_requests.may_decide(account, org),
        },
    )
