"""/admin/federation/network: partner nodes and relays (node admins).

Follow a neighbouring node's neighbourhood or organisation, or a whole node, as the node
or one of its neighbourhoods or organisations; see which servers follow ours; approve
or refuse followers of neighbourhoods that approve them; subscribe to relays. An address
is looked up (read only) before anything is stored, so a typo, an unknown account, a
blocked server or one of our own addresses is answered on the page, with nothing sent.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import admins_only, back, errors_of, me
from admin.rendering import render
from federation.lookup import (
    LookupFailed,
    actor_uri_for_handle,
    parse_handle,
    remote_actor,
)
from node import uris, validation
from node.errors import Conflict, InvalidInput
from node.i18n import N_, gettext
from node.services import partnerships
from node.services.remote_actors import RemoteActorData
from web.shell.forms import read_form
from web.shell.lookup_messages import LOOKUP_FAILURES

log = logging.getLogger("nabuur.admin")

PATH = f"{uris.ADMIN}/federation/network"
MAX_ADDRESS = 500
PROBLEMS = LOOKUP_FAILURES | {
    "missing": N_("Give an address: @name@server, or the URL of its page on that server."),
    "bad": N_("This is not an address: write @name@server.example or https://server.example/…"),
    "ours": N_("This address is on this node: follow only neighbourhoods and nodes elsewhere."),
    "person": N_(
        "This address is a person's account: partner nodes follow neighbourhoods, "
        "organisations and nodes."
    ),
    "already": N_("This is followed already (or the request is on its way)."),
}
DONE = {
    "follow": N_("The follow is on its way; the list shows when the other server accepts."),
    "unfollow": N_("The follow is being stopped; the other server is told."),
    "relay": N_("The subscription is on its way; the list shows when the relay accepts."),
    "unrelay": N_("The node is leaving the relay."),
    "accepted": N_("The follower is approved; their server is told."),
    "rejected": N_("The follower is refused; their server is told."),
    "decided": N_("This follower was decided already."),
}


class Problem(Exception):
    """An address the page cannot follow; `key` is one of PROBLEMS."""

    def __init__(self, key: str, field: str = "address") -> None:
        super().__init__(key)
        self.key = key
        self.field = field


def _address(text: str) -> str:
    address = text.strip()
    if not address:
        raise Problem("missing")
    if len(address) > MAX_ADDRESS or any(ch.isspace() or ord(ch) < 32 for ch in address):
        raise Problem("bad")
    return address


async def _actor_uri(request: Request, address: str) -> str:
    """The remote actor id an address names: a URL, `@user@host`, or a node's domain."""
    settings = request.app.state.settings
    if address.startswith(("https://", "http://")):
        if uris.is_local(settings, address):
            raise Problem("ours")
        return address
    if "@" not in address and "/" not in address:
        # A whole node: its instance actor, whose WebFinger name is the domain (Mastodon
        # and Nabuur alike; a port is not part of the name).
        address = f"{address.rsplit(':', 1)[0]}@{address}"
    handle = parse_handle(address)
    if handle is None:
        raise Problem("bad")
    if handle.host == settings.domain.lower():
        raise Problem("ours")
    uri = await actor_uri_for_handle(request.app.state.federation, handle)
    if uris.is_local(settings, uri):
        raise Problem("ours")
    return uri


async def _look_up(request: Request, uri: str) -> RemoteActorData:
    if uris.is_local(request.app.state.settings, uri):
        raise Problem("ours")
    return await remote_actor(request.app.state.federation, uri)


def _relay_candidates(url: str) -> list[str]:
    """A relay is given by its actor or its inbox: from `…/inbox`, try `…` and `/actor`
    (ActivityRelay and pub-relay use /actor and /inbox, LitePub relays /relay/inbox)."""
    parts = urlsplit(url)
    if not parts.path.rstrip("/").endswith("/inbox"):
        return [url]
    base = parts.path.rstrip("/").removesuffix("/inbox")
    paths = [base] if base else []
    paths.append("/actor")
    return [url, *(urlunsplit((parts.scheme, parts.netloc, p, "", "")) for p in paths)]


async def _relay_actor(request: Request, address: str) -> RemoteActorData:
    if not address.startswith(("https://", "http://")):
        raise Problem("bad")
    if uris.is_local(request.app.state.settings, address):
        raise Problem("ours")
    failure: LookupFailed | None = None
    for candidate in _relay_candidates(address):
        try:
            return await _look_up(request, candidate)
        except LookupFailed as exc:
            if exc.reason in ("blocked", "refused"):  # the same for every candidate
                raise
            failure = failure or exc  # an inbox often answers 405 to a GET: try the next
    assert failure is not None
    raise failure


async def _page(
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    locale = request.app.state.renderer.locale_for(request)
    done = request.query_params.get("done", "")
    return await render(
        request,
        "federation_network.html",
        {
            "choices": await partnerships.follower_choices(),
            "servers": await partnerships.followers_by_server(),
            "pending": await partnerships.pending_followers(),
            "follows": await partnerships.our_follows(),
            "relays": await partnerships.relays(),
            "errors": errors or {},
            "values": values or {},
            "notice": gettext(locale, DONE[done]) if done in DONE else None,
        },
        status_code=status,
    )


def _problem_page(request: Request, exc: Exception, form_values: dict[str, str]) -> Problem:
    """The problem to show for an exception of a look-up or of the service."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, LookupFailed):
        log.info("partner look-up of %s failed: %s", form_values.get("address", "")[:200], exc)
        return Problem(exc.reason)
    return Problem("already")


async def _answer_problem(
    request: Request, problem: Problem, form_values: dict[str, str], prefix: str
) -> Response:
    locale = request.app.state.renderer.locale_for(request)
    errors = {f"{prefix}{problem.field}": gettext(locale, PROBLEMS[problem.key])}
    values = {f"{prefix}{k}": v for k, v in form_values.items()}
    return await _page(
        request, errors=errors, values=values, status=404 if problem.key == "not_found" else 400
    )


@admins_only
async def network(request: Request) -> Response:
    return await _page(request)


@admins_only
async def follow(request: Request) -> Response:
    """Follow a partner (by address) as the node, a neighbourhood or an organisation."""
    form = await read_form(request)
    values = {"address": form.get("address")[:MAX_ADDRESS], "as_actor": form.get("as_actor")}
    try:
        local = await partnerships.actor_of_choice(form.get("as_actor"))
        address = _address(form.get("address"))
        actor = await _look_up(request, await _actor_uri(request, address))
        if actor.actor_type not in partnerships.FOLLOWABLE_TYPES:
            raise Problem("person")
        await partnerships.follow_partner(local, actor.uri, me(request))
    except InvalidInput as exc:
        return await _page(request, errors=errors_of(request, exc), values=values, status=400)
    except (Problem, LookupFailed, Conflict) as exc:
        return await _answer_problem(request, _problem_page(request, exc, values), values, "")
    return back(PATH, "follow")


@admins_only
async def subscribe_relay(request: Request) -> Response:
    form = await read_form(request)
    values = {"address": form.get("relay_address")[:MAX_ADDRESS]}
    try:
        actor = await _relay_actor(request, _address(form.get("relay_address")))
        await partnerships.follow_partner(None, actor.uri, me(request), relay=True)
    except (Problem, LookupFailed, Conflict) as exc:
        return await _answer_problem(request, _problem_page(request, exc, values), values, "relay_")
    return back(PATH, "relay")


def _row_id(text: str) -> int:
    """A row's id from a hidden field: a malformed one is a bad request (400)."""
    number = validation.as_id(text)
    if number is None:
        raise InvalidInput("follow", N_("This is not a follow of this list."))
    return number


@admins_only
async def unfollow(request: Request) -> Response:
    form = await read_form(request)
    relay = form.get("relay") == "yes"
    await partnerships.unfollow_partner(_row_id(form.get("follow")), me(request), relay=relay)
    return back(PATH, "unrelay" if relay else "unfollow")


@admins_only
async def decide(request: Request) -> Response:
    """Approve or refuse a follower waiting for a neighbourhood's approval."""
    form = await read_form(request)
    decision = form.get("decision")
    if decision not in ("accept", "reject"):
        raise InvalidInput("decision", N_("Choose approve or refuse."))
    try:
        await partnerships.decide_follower(
            _row_id(form.get("follow")), decision == "accept", me(request)
        )
    except Conflict:  # a second click, or another admin was quicker
        return back(PATH, "decided")
    return back(PATH, "accepted" if decision == "accept" else "rejected")
