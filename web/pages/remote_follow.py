"""Remote follow and remote answer: from a visitor's fediverse address to their server.

A visitor with an account elsewhere (Mastodon, say) gives their address on a
neighbourhood's, organisation's or person's page, or on a request's page. We look up
their server's `http://ostatus.org/schema/1.0/subscribe` template by WebFinger and send
them there (303) with the URL of our actor or post; their server then asks them to
confirm the follow, or shows the post so that they can reply. Works without JavaScript.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from federation.lookup import LookupFailed, fill_template, parse_handle, subscribe_template
from node import uris
from node.config import Settings
from node.errors import NotFound
from node.i18n import N_, gettext
from node.services import local_actors, posts
from web.shell.forms import local_path, read_form
from web.shell.rendering import SECURITY_HEADERS

log = logging.getLogger("nabuur.web")

MAX_HANDLE = 300
INVALID = N_("Enter your fediverse address as @name@server, for example @anna@mastodon.social.")
FAILURES = {
    "blocked": N_("This node does not exchange messages with that server."),
    "refused": N_("That server cannot be contacted from this node."),
    "unreachable": N_("Your server could not be reached. Check the address and try again."),
    "timeout": N_("Your server took too long to answer. Please try again in a moment."),
    "not_found": N_("Your server does not know this account. Check the address."),
    "no_template": N_(
        "Your server does not offer this. Search for %(address)s in your app instead."
    ),
    "not_actor": N_("This address is not an account. Check the address and try again."),
}


def form_headers(settings: Settings) -> dict[str, str]:
    """The security headers of a page with this form: the form may lead to another server.

    Browsers apply `form-action` to the redirect that follows a form, so it must allow
    the visitor's server, whichever it is.
    """
    targets = "'self' https:" + (" http:" if settings.allow_private_addresses else "")
    policy = SECURITY_HEADERS["content-security-policy"]
    return {
        "content-security-policy": policy.replace("form-action 'self'", f"form-action {targets}")
    }


@dataclass(frozen=True, slots=True)
class Target:
    """What the visitor wants to follow or answer, on this node."""

    path: str
    kind: str  # account, organisation, neighbourhood or post
    name: str
    address: str  # the handle to search for elsewhere, or the post's URL


async def find_target(settings: Settings, path: str) -> Target:
    """The local actor or visible post at `path`; NotFound for anything else."""
    path = local_path(path, "")
    ref = uris.parse(settings, uris.absolute(settings, path)) if path else None
    if ref is None or ref.sub is not None:
        raise NotFound("not a local actor or post")
    if ref.kind == "post":
        post = await posts.get_post(ref.key, None)  # NotFound unless anyone may see it
        return Target(path, "post", post.title, uris.absolute(settings, path))
    found = None
    if ref.kind in local_actors.HANDLE_KINDS:  # not the instance actor: it has no page
        found = await local_actors.by_url(settings, uris.absolute(settings, path))
    if found is None:
        raise NotFound("no such local actor")
    name = local_actors.display_name(found, settings.name)
    return Target(path, ref.kind, name, local_actors.handle(settings, found))


async def _page(
    request: Request, target: Target, handle: str = "", error: str = "", status_code: int = 200
) -> Response:
    settings = request.app.state.settings
    return await request.app.state.renderer.render(
        request,
        "remote_follow.html",
        {
            "target": target,
            "remote_target": target.path,
            "remote_kind": "answer" if target.kind == "post" else "follow",
            "remote_values": {"handle": handle},
            "remote_errors": {"handle": error} if error else {},
            "remote_open": True,
        },
        status_code=status_code,
        headers=form_headers(settings),
    )


async def remote_follow(request: Request) -> Response:
    """GET: the form on its own page. POST: off to the visitor's server, or the form again."""
    settings = request.app.state.settings
    if request.method == "GET":
        target = await find_target(settings, request.query_params.get("target", ""))
        return await _page(request, target)
    form = await read_form(request)
    target = await find_target(settings, form.get("target"))
    locale = request.app.state.renderer.locale_for(request)
    text = form.get("handle")[:MAX_HANDLE]
    handle = parse_handle(text)
    if handle is None:
        return await _page(request, target, text, gettext(locale, INVALID), 400)
    try:
        template = await subscribe_template(request.app.state.federation, handle)
    except LookupFailed as exc:
        log.info("remote follow via %s failed: %s", handle.host, exc)
        message = gettext(locale, FAILURES[exc.reason]) % {"address": target.address}
        status = 404 if exc.reason == "not_found" else 400
        return await _page(request, target, text, message, status)
    return RedirectResponse(fill_template(template, uris.absolute(settings, target.path)), 303)
