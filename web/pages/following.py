"""Following people and organisations from their profile, and a resident's own
followers: who asks, who follows, and whether each follower needs approval.

Organisations approve followers by default and residents may choose to, because
followers see followers-only posts (`node.services.follow_requests`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node import uris
from node.errors import Conflict, InvalidInput, NotFound
from node.i18n import N_
from node.services import accounts, follow_requests, follows, organisations
from node.services.follows import Target
from web.shell.forms import read_form
from web.shell.session import viewer


async def _target(request: Request) -> tuple[Target, str]:
    if "username" in request.path_params:
        account = await accounts.get_active_account(request.path_params["username"])
        return account, uris.account(account.username)
    org = await organisations.get_organisation(request.path_params["slug"])
    return org, uris.organisation(org.slug)


async def follow_context(request: Request, target: Target) -> dict[str, object]:
    """What the profile's follow button needs: where the viewer stands, and whether the
    followed approves each follower."""
    me = viewer(request)
    own = me is not None and me == target
    return {
        "follow_state": None if own else await follows.follow_status(me, target),
        "follow_offered": me is not None and not own,
        "follow_approved": follow_requests.approves_followers(target),
    }


async def follow(request: Request) -> Response:
    """Follow, ask to follow, or stop following (or stop asking): the form says which."""
    form = await read_form(request)
    target, page = await _target(request)
    account = viewer(request)
    if account is None:
        return RedirectResponse(f"/login?next={page}", status_code=303)
    try:
        if form.get("follow") == "no":
            await follows.unfollow(account, target)
        else:
            await follows.follow(account, target)
    except (Conflict, NotFound):
        pass  # already as asked (or following oneself): a second click changes nothing
    return RedirectResponse(page, status_code=303)


FOLLOWERS_PATH = "/settings/followers"


async def my_followers(request: Request) -> Response:
    """A resident's followers and requests; approve, refuse, remove; approval on or off."""
    me = viewer(request)
    if me is None:
        return RedirectResponse(f"/login?next={FOLLOWERS_PATH}", status_code=303)
    if request.method == "POST":
        form = await read_form(request)
        action = form.get("action")
        try:
            if action == "approval":
                await follow_requests.set_approval(me, me, form.get("approve") == "yes")
            elif action in ("approve", "refuse", "remove"):
                follow_id = follow_requests.follow_id(form.get("follow_id"))
                if action == "remove":
                    await follow_requests.remove_follower(me, me, follow_id)
                else:
                    await follow_requests.decide(me, me, follow_id, action == "approve")
            else:
                raise InvalidInput("action", N_("choose one of the options"))
        except NotFound:
            pass  # decided already (another tab): the list shows where it stands
        return RedirectResponse(FOLLOWERS_PATH + "?done=1", status_code=303)
    rows = await follow_requests.followers_and_requests(me)
    return await request.app.state.renderer.render(
        request,
        "followers.html",
        {
            "requests": [r for r in rows if r.pending],
            "followers": [r for r in rows if not r.pending],
            "approves": me.manually_approves_followers,
            "done": request.query_params.get("done") == "1",
        },
    )
