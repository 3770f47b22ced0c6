"""`/authorize_interaction?uri=...`: where other servers send our residents to follow.

Our WebFinger advertises it as the `http://ostatus.org/schema/1.0/subscribe` template.
A resident who clicks "follow" on someone's profile elsewhere and gives their Nabuur
address lands here (after logging in): a remote actor is shown with a Follow button;
a URL of this node leads to its page; anything else gets a message saying why not.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from federation.lookup import LookupFailed, actor_uri_for_handle, parse_handle, remote_actor
from node import uris
from node.i18n import N_, gettext
from node.services import local_actors, remote_follows
from node.services.remote_actors import RemoteActorData
from node.text import sanitise_html
from web.shell.forms import local_path, read_form
from web.shell.lookup_messages import LOOKUP_FAILURES
from web.shell.session import viewer

log = logging.getLogger("nabuur.web")

PATH = "/authorize_interaction"
MAX_URI = 2000
MISSING = N_("There is no address to look up. Go back and try again.")
NOT_HERE = N_("There is nothing at this address on this node.")
FAILURES = LOOKUP_FAILURES | {
    "not_actor": N_(
        "Only people, groups and organisations on other servers can be followed from here."
    ),
}
FOLLOW_REQUESTED = N_("Your follow request has been sent. You will see their posts once accepted.")


def _login(uri: str) -> RedirectResponse:
    back = f"{PATH}?{urlencode({'uri': uri})}"
    return RedirectResponse(f"/login?{urlencode({'next': back})}", status_code=303)


def _here(path: str) -> RedirectResponse | None:
    target = local_path(path, "")
    return RedirectResponse(target, status_code=303) if target else None


class _Local(Exception):
    """The address names something on this node: go there."""

    def __init__(self, path: str | None) -> None:
        self.path = path


async def _remote_uri(request: Request, uri: str) -> str:
    """The remote actor id that `uri` (a URL or a handle) names; _Local for our own."""
    settings = request.app.state.settings
    handle = None if uri.startswith(("http://", "https://")) else parse_handle(uri)
    if handle is not None and handle.host == settings.domain.lower():
        found = await local_actors.by_handle_name(settings, handle.user.lower())
        raise _Local(local_actors.path(found) if found is not None else None)
    if handle is not None:
        return await actor_uri_for_handle(request.app.state.federation, handle)
    if uris.is_local(settings, uri):
        parts = urlsplit(uri)
        raise _Local(parts.path + (f"?{parts.query}" if parts.query else ""))
    return uri


async def _following(account, actor: RemoteActorData) -> str | None:
    return await remote_follows.outgoing_follow_status(account, actor.uri)


async def _page(
    request: Request, *, actor: RemoteActorData | None = None, message: str = "", status: int = 200
) -> Response:
    locale = request.app.state.renderer.locale_for(request)
    done = request.query_params.get("done") == "follow"
    context = {
        "actor": actor,
        "actor_handle": f"@{actor.username}@{actor.domain}" if actor and actor.username else "",
        # Sanitised when parsed; again here, as every remote HTML is before it is shown.
        "summary": Markup(sanitise_html(actor.summary_html)) if actor else "",  # noqa: S704
        "following": await _following(viewer(request), actor) if actor else None,
        "message": message,
        "notice": gettext(locale, FOLLOW_REQUESTED) if done and actor else "",
    }
    return await request.app.state.renderer.render(
        request, "authorize_interaction.html", context, status_code=status
    )


async def _look_up(request: Request, uri: str) -> Response | RemoteActorData:
    """The remote actor that `uri` names, or the response to give instead."""
    locale = request.app.state.renderer.locale_for(request)
    if not uri:
        return await _page(request, message=gettext(locale, MISSING), status=400)
    try:
        actor_uri = await _remote_uri(request, uri)
        return await remote_actor(request.app.state.federation, actor_uri)
    except _Local as local:
        found = _here(local.path or "")
        return found or await _page(request, message=gettext(locale, NOT_HERE), status=404)
    except LookupFailed as exc:
        log.info("authorize_interaction for %s failed: %s", uri[:200], exc)
        status = 404 if exc.reason == "not_found" else 400
        return await _page(request, message=gettext(locale, FAILURES[exc.reason]), status=status)


async def authorize_interaction(request: Request) -> Response:
    """GET: show what `uri` names. POST: follow it (the Follow button)."""
    if request.method == "POST":
        form = await read_form(request)
        uri = form.get("uri").strip()[:MAX_URI]
    else:
        uri = request.query_params.get("uri", "").strip()[:MAX_URI]
    account = viewer(request)
    if account is None:
        return _login(uri)
    found = await _look_up(request, uri)
    if isinstance(found, Response):
        return found
    if request.method == "GET":
        return await _page(request, actor=found)
    if await _following(account, found) is None:  # a second click sends nothing more
        await remote_follows.request_follow(account, found.uri)
    query = urlencode({"uri": found.uri, "done": "follow"})
    return RedirectResponse(f"{PATH}?{query}", status_code=303)
