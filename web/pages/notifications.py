"""An account's notifications: responses, accepted helpers, follows, status changes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node.services import notifications
from web.shell.forms import read_form
from web.shell.session import viewer


async def notification_list(request: Request) -> Response:
    account = viewer(request)
    if account is None:
        return RedirectResponse("/login?next=/notifications", status_code=303)
    if request.method == "POST":
        await read_form(request)
        await notifications.mark_all_read(account)
        return RedirectResponse("/notifications", status_code=303)
    items = await notifications.list_notifications(account)
    # Seen is read: the badge goes on this very page and the next (the items keep their
    # unread mark for this once, loaded before).
    await notifications.mark_seen(account, items)
    return await request.app.state.renderer.render(request, "notifications.html", {"items": items})
