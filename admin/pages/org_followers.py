"""/admin/o/{slug}/followers: who follows the organisation, for its own staff only.

Others (visitors, other servers, even with a signed request) see a count: the list of
residents following a social-services organisation says too much about them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import logged_in, me
from admin.rendering import render
from node.services import dashboards, follows, organisations


@logged_in
async def followers(request: Request) -> Response:
    org = await organisations.get_organisation(request.path_params["slug"])
    await dashboards.require_dashboard(me(request), org)
    return await render(
        request, "org_followers.html", {"org": org, "followers": await follows.followers_of(org)}
    )
