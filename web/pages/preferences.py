"""The settings page's e-mail address, e-mail notifications and profile choices.

The password part of /settings is `web.pages.account.settings_page`; it adds
`settings_context` to its page. Each form here posts to its own path, shows its errors
on the settings page (400, nothing changed), and goes back to /settings when done.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node.errors import InvalidFields, InvalidInput
from node.services import account_preferences, email_addresses
from web.shell.errors import error_page
from web.shell.forms import field_error, read_form
from web.shell.session import viewer

EMAIL_PATH = "/settings/email"
RESEND_PATH = "/settings/email/resend"
PREFERENCES_PATH = "/settings/preferences"
# ?changed=... after a form here: which notice the settings page shows.
NOTICES = ("email", "email_later", "email_removed", "resent", "resend_later", "preferences")


async def settings_context(
    request: Request,
    account: Any,
    *,
    email_values: dict[str, str] | None = None,
    email_errors: dict[str, str] | None = None,
    pref_values: dict[str, str] | None = None,
    pref_errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What settings.html needs for the parts of this module."""
    prefs = account_preferences.of(account)
    changed = request.query_params.get("changed", "")
    # What a new address shows, also for one another account has (email_addresses.shown).
    address, confirmed = await email_addresses.shown(account)
    return {
        "mail_enabled": request.app.state.settings.mail_enabled,
        "email_values": email_values or {"email": address or ""},
        "email_errors": email_errors or {},
        "email_confirmed": confirmed,
        "pref_values": pref_values
        or {
            "mail_frequency": prefs.mail_frequency.value,
            "mail_new_requests": "1" if prefs.mail_new_requests else "",
            "show_helped": "1" if prefs.show_helped else "",
        },
        "pref_errors": pref_errors or {},
        "notice": changed if changed in NOTICES else "",
    }


def _back(changed: str) -> RedirectResponse:
    return RedirectResponse(f"/settings?changed={changed}", status_code=303)


async def _settings_again(request: Request, account: Any, status: int, **parts: Any) -> Response:
    context = {"values": {}, "errors": {}, "changed": False}
    context.update(await settings_context(request, account, **parts))
    return await request.app.state.renderer.render(
        request, "settings.html", context, status_code=status
    )


async def change_email(request: Request) -> Response:
    """Set, change or remove (the "remove" button, or an empty field) the address."""
    account = viewer(request)
    settings = request.app.state.settings
    if not settings.mail_enabled:
        return await error_page(request, 404)
    if account is None:
        return RedirectResponse("/login?next=/settings", status_code=303)
    form = await read_form(request)
    typed = "" if form.has("remove") else form.get("email")[:300]
    locale = request.app.state.renderer.locale_for(request)
    profile = await request.app.state.profile_cache.get()
    try:
        changed = await email_addresses.set_email(settings, account, typed, node_name=profile.name)
    except InvalidInput as exc:
        return await _settings_again(
            request,
            account,
            400,
            email_values={"email": typed},
            email_errors={"email": field_error(locale, exc)},
        )
    if changed == "unchanged":
        return RedirectResponse("/settings", status_code=303)
    return _back({"removed": "email_removed", "sent": "email"}.get(changed, "email_later"))


async def resend_confirmation(request: Request) -> Response:
    account = viewer(request)
    settings = request.app.state.settings
    if not settings.mail_enabled:
        return await error_page(request, 404)
    if account is None:
        return RedirectResponse("/login?next=/settings", status_code=303)
    await read_form(request)
    address, confirmed = await email_addresses.shown(account)
    if address is None or confirmed:
        return RedirectResponse("/settings", status_code=303)
    profile = await request.app.state.profile_cache.get()
    sent = await email_addresses.resend(settings, account, node_name=profile.name)
    return _back("resent" if sent else "resend_later")


async def save_preferences(request: Request) -> Response:
    """E-mail notifications (when this node sends e-mail) and the profile's choice."""
    account = viewer(request)
    if account is None:
        return RedirectResponse("/login?next=/settings", status_code=303)
    form = await read_form(request)
    mail = request.app.state.settings.mail_enabled
    values = {
        "mail_frequency": form.get("mail_frequency")[:50],
        "mail_new_requests": form.get("mail_new_requests")[:50],
        "show_helped": form.get("show_helped")[:50],
    }
    try:
        await account_preferences.update(
            account,
            # Without e-mail on this node the form has no such fields: left as they are.
            mail_frequency=values["mail_frequency"] if mail else None,
            mail_new_requests=values["mail_new_requests"] if mail else None,
            show_helped=values["show_helped"],
        )
    except InvalidFields as exc:
        locale = request.app.state.renderer.locale_for(request)
        errors = {error.field: field_error(locale, error) for error in exc.errors}
        return await _settings_again(request, account, 400, pref_values=values, pref_errors=errors)
    return _back("preferences")
