"""/admin/federation/health: how delivering to other servers and receiving from them goes
(node admins).

Known servers with their last success and failure, the unavailable ones and why,
deliveries waiting or failed per server, the latest failed and retrying deliveries
(retry now or cancel, one by one or per server), and the inbox queue with its last
errors. Everything is read through `node.services.federation_health`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import admins_only, back, me, page_number
from admin.rendering import render
from node import uris, validation
from node.errors import Conflict, InvalidInput
from node.i18n import N_, gettext
from node.services import federation_health
from web.shell.forms import read_form

PATH = f"{uris.ADMIN}/federation/health"
DONE = {
    "retried": N_("The delivery goes out at the next round, within seconds."),
    "cancelled": N_("The delivery is cancelled."),
    "host-retried": N_("The server counts as available again; what waits for it goes out now."),
    "host-cancelled": N_("Every delivery waiting for this server is cancelled."),
    "unchanged": N_("This delivery was sent or cancelled in the meantime."),
    "busy": N_("This delivery is being sent right now; look again in a minute."),
}
BAD_DELIVERY = N_("This is not a delivery of this list.")


@admins_only
async def health(request: Request) -> Response:
    locale = request.app.state.renderer.locale_for(request)
    done = request.query_params.get("done", "")
    page = page_number(request.query_params.get("page"))
    return await render(
        request,
        "federation_health.html",
        {
            "servers": await federation_health.servers(page),
            "failed": await federation_health.failed_deliveries(),
            "retrying": await federation_health.retrying_deliveries(),
            "inbox": await federation_health.inbox_queue(),
            "notice": gettext(locale, DONE[done]) if done in DONE else None,
        },
    )


def _delivery_id(text: str) -> int:
    number = validation.as_id(text, big=True)
    if number is None:
        raise InvalidInput("delivery", BAD_DELIVERY)
    return number


@admins_only
async def delivery_action(request: Request) -> Response:
    """Retry now or cancel one delivery."""
    form = await read_form(request)
    delivery_id = _delivery_id(form.get("delivery"))
    action = form.get("action")
    if action not in ("retry", "cancel"):
        raise InvalidInput("action", N_("Choose retry or cancel."))
    try:
        if action == "retry":
            count = await federation_health.retry_delivery(delivery_id, me(request))
        else:
            count = await federation_health.cancel_delivery(delivery_id, me(request))
    except Conflict:  # sent or cancelled meanwhile (another admin, a worker)
        return back(PATH, "unchanged")
    if count == 0:
        return back(PATH, "busy")
    return back(PATH, "retried" if action == "retry" else "cancelled")


@admins_only
async def server_action(request: Request) -> Response:
    """Retry now (and count as available again) or cancel everything for one server."""
    form = await read_form(request)
    host = federation_health.clean_host(form.get("host"))
    action = form.get("action")
    if action == "retry":
        await federation_health.retry_server(host, me(request))
        return back(PATH, "host-retried")
    if action == "cancel":
        await federation_health.cancel_server(host, me(request))
        return back(PATH, "host-cancelled")
    raise InvalidInput("action", N_("Choose retry or cancel."))
