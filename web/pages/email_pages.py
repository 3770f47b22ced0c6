"""The pages e-mailed links open: confirming an address, and setting a new password.

A link's GET only shows a page with a button; the button's POST does the work. Mail
filters and link previews open links by themselves, and must not use them up. A link
that cannot be used gets a page that says why: used or expired (410), unknown (400).
These pages are never kept for other visitors, and send no Referer with the secret.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node import client_address
from node.errors import InvalidInput, RateLimited
from node.i18n import N_, gettext
from node.services import email_addresses, password_reset, sessions
from node.services.email_tokens import TokenRefused, TokenState
from web.shell.forms import field_error, read_form
from web.shell.session import renew_csrf_seed, set_session

NO_REFERRER = {"referrer-policy": "no-referrer", "cache-control": "no-store"}
REFUSED = {
    TokenState.USED: N_("This link has been used already: each link works once."),
    TokenState.EXPIRED: N_("This link has expired."),
    TokenState.INVALID: N_("This link is not valid: it may be incomplete, or it was replaced."),
}
PASSWORDS_DIFFER = N_("The two new passwords differ.")


def _refused_status(state: TokenState) -> int:
    return 410 if state in (TokenState.USED, TokenState.EXPIRED) else 400


async def _page(request: Request, template: str, context: dict, status: int = 200) -> Response:
    return await request.app.state.renderer.render(
        request, template, context, status_code=status, headers=NO_REFERRER
    )


async def _refused(request: Request, purpose: str, exc: TokenRefused) -> Response:
    locale = request.app.state.renderer.locale_for(request)
    return await _page(
        request,
        "email_link_refused.html",
        {
            "purpose": purpose,
            "state": str(exc.state),
            "reason": gettext(locale, REFUSED[exc.state]),
            "mail_enabled": request.app.state.settings.mail_enabled,
        },
        _refused_status(exc.state),
    )


async def confirm_email(request: Request) -> Response:
    """`/email/confirm/{token}`: GET shows the button, POST confirms the address."""
    secret = request.path_params["token"]
    try:
        if request.method == "POST":
            await read_form(request)
            account = await email_addresses.confirm(secret)
            return await _page(request, "email_confirmed.html", {"email": account.email})
        account = await email_addresses.pending_confirmation(secret)
    except TokenRefused as exc:
        return await _refused(request, "confirm", exc)
    return await _page(request, "email_confirm.html", {"email": account.email})


async def request_reset(request: Request) -> Response:
    """`/password/reset`: an address in, the same answer whether an account has it."""
    settings = request.app.state.settings
    if not settings.mail_enabled:
        return await _page(request, "password_reset.html", {"mail_enabled": False}, 404)
    locale = request.app.state.renderer.locale_for(request)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    status = 200
    retry_after = 0
    sent = False
    if request.method == "POST":
        form = await read_form(request)
        values = {"email": form.get("email")[:300]}
        address = client_address.from_scope(request.scope, settings.trusted_proxies)
        profile = await request.app.state.profile_cache.get()
        try:
            await password_reset.request(settings, values["email"], address, node_name=profile.name)
        except InvalidInput as exc:
            errors[exc.field] = field_error(locale, exc)
            status = 400
        except RateLimited as exc:
            errors["_form"] = gettext(
                locale, N_("Too many links were asked for from this connection. Try again later.")
            )
            status, retry_after = 429, exc.retry_after
        else:
            sent = True
            values = {}  # the answer page is the same for every address
    response = await _page(
        request,
        "password_reset.html",
        {"mail_enabled": True, "values": values, "errors": errors, "sent": sent},
        status,
    )
    if retry_after:  # as sign-up's 429 does
        response.headers["retry-after"] = str(retry_after)
    return response


async def reset_password(request: Request) -> Response:
    """`/password/reset/{token}`: the new password twice; then logged in, others out."""
    secret = request.path_params["token"]
    settings = request.app.state.settings
    locale = request.app.state.renderer.locale_for(request)
    errors: dict[str, str] = {}
    status = 200
    try:
        account = await password_reset.pending(secret)
        if request.method == "POST":
            form = await read_form(request)
            if form.get("new_password") != form.get("repeat_password"):
                errors["repeat_password"] = gettext(locale, PASSWORDS_DIFFER)
                status = 400
            else:
                try:
                    account = await password_reset.reset(secret, form.get("new_password"))
                except InvalidInput as exc:
                    errors["new_password"] = field_error(locale, exc)
                    status = 400
                else:
                    # The link proved the mailbox: log in afresh (all sessions ended).
                    await sessions.end_session(request.state.session_token)
                    token = await sessions.start_session(account)
                    response = RedirectResponse("/settings?changed=password", status_code=303)
                    set_session(response, settings, token)
                    renew_csrf_seed(request, response, settings)
                    return response
    except TokenRefused as exc:
        return await _refused(request, "reset", exc)
    return await _page(
        request,
        "password_reset_token.html",
        {"username": account.username, "values": {}, "errors": errors, "action": request.url.path},
        status,
    )
