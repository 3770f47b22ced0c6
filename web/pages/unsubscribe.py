"""The unsubscribe link of notification e-mails (`/email/unsubscribe/{token}`).

GET shows what the link does and one button; it changes nothing, because mail scanners
and link previews open links on their own. POST turns off all notification e-mail
(`node.services.unsubscribe.apply`). That POST is also RFC 8058's one-click unsubscribe:
a mail client sends `List-Unsubscribe=One-Click` with no cookie and no CSRF token, so
this route does not read its form through `read_form` (which would refuse it): the
token in the address, an HMAC only the node can make, is what authorises it, and the
body is not needed. A bad token is a 400 page and changes nothing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from node import uris
from node.i18n import N_, gettext
from node.services import unsubscribe

PATH = uris.UNSUBSCRIBE + "/{token}"
# The address holds the secret: no cache keeps it, no other site is told it.
_HEADERS = {"cache-control": "no-store", "referrer-policy": "no-referrer"}
BAD_LINK = N_("This link does not work")
BAD_LINK_WHY = N_(
    "It may be incomplete, or your e-mail address has changed since it was sent. "
    "You can choose which e-mail you receive in your settings."
)


async def unsubscribe_page(request: Request) -> Response:
    settings = request.app.state.settings
    value = request.path_params["token"]
    if request.method == "POST":
        account = await unsubscribe.apply(settings, value)
    else:
        account = await unsubscribe.check(settings, value)
    renderer = request.app.state.renderer
    if account is None:
        locale = renderer.locale_for(request)
        return await renderer.render(
            request,
            "error.html",
            {"heading": gettext(locale, BAD_LINK), "message": gettext(locale, BAD_LINK_WHY)},
            status_code=400,
            headers=_HEADERS,
        )
    # The link is the account's, opened in whatever browser: its language, as its e-mail.
    offered = settings.languages
    language = next((code for code in account.languages if code in offered), None)
    return await renderer.render(
        request,
        "unsubscribe.html",
        {"done": request.method == "POST", "action": f"{uris.UNSUBSCRIBE}/{value}"},
        headers=_HEADERS,
        locale=language,
    )
