"""The author's thank-you to the helpers of a done request (`node.services.thanks`):
the form on the request's page (`_thanks.html`) posts here."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from node.errors import InvalidInput
from node.services import thanks
from web.pages.post import _acting, _back, _login_first, _page
from web.shell.errors import error_page
from web.shell.forms import field_error, read_form


async def thank(request: Request) -> Response:
    """Post the thank-you; a bad text goes back to the form (400). A stranger gets 403,
    a request not done or already thanked 409 (the domain errors' pages)."""
    form = await read_form(request)
    account, post = await _acting(request)
    if account is None:
        return _login_first(post)
    try:
        await thanks.thank_helpers(account, post, form.get("body"))
    except InvalidInput as exc:
        locale = request.app.state.renderer.locale_for(request)
        errors = {"thanks_body": field_error(locale, exc)}
        values = {"thanks_body": form.get("body")}
        return await _page(request, post, errors=errors, values=values, status_code=400)
    except thanks.AlreadyThanked:
        return await error_page(request, 409, "thanked")
    return _back(post, "done=thanked", "#thanks")
