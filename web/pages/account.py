"""Logging in and out, signing up, the password and the interface language."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node import client_address, uris
from node.errors import Conflict, InvalidInput, PermissionDenied, RateLimited
from node.i18n import N_, gettext, translations
from node.services import (
    accounts,
    email_addresses,
    login_limits,
    neighbourhoods,
    sessions,
    signup_limits,
    signups,
)
from web.pages import preferences
from web.shell import known_devices
from web.shell.forms import field_error, local_path, read_form
from web.shell.session import (
    LANGUAGE_COOKIE,
    clear_session,
    cookie_options,
    renew_csrf_seed,
    set_session,
    viewer,
)

WRONG_CREDENTIALS = N_("The username or password is not right.")
TRY_LATER = N_("Too many wrong passwords: try again in %(minutes)d minutes at most.")
SUSPENDED = N_("The moderators of this node suspended this account, so you cannot log in.")
# Only when the node gives an address: a node set up without one has nowhere to point.
SUSPENDED_CONTACT = N_("If you think this is a mistake, write to %(email)s.")
ONE_YEAR = 365 * 24 * 3600


def _address(request: Request) -> str | None:
    """The client's address, through the proxies NABUUR_TRUSTED_PROXIES names only."""
    return client_address.from_scope(request.scope, request.app.state.settings.trusted_proxies)


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def _logged_in(request: Request, account, next_path: str) -> Response:
    settings = request.app.state.settings
    # A new session on every log-in: a token planted before it is worth nothing.
    await sessions.end_session(request.state.session_token)
    token = await sessions.start_session(account)
    response = _redirect(next_path)
    set_session(response, settings, token)
    renew_csrf_seed(request, response, settings)
    return response


async def login(request: Request) -> Response:
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    next_path = local_path(request.query_params.get("next"))
    values: dict[str, str] = {"next": next_path}
    errors: dict[str, str] = {}
    wait_seconds = 0
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        username = form.get("username")[:100]
        values = {"username": username, "next": local_path(form.get("next"))}
        address = _address(request)
        # A browser that logged in to this account before is not held back by failures
        # from elsewhere (node.services.login_limits says exactly how).
        device = await known_devices.known_device(request, username)
        try:
            await login_limits.check(username, address, device)
            account = await accounts.authenticate(username, form.get("password"))
        except RateLimited as exc:
            wait_seconds = exc.retry_after
            status = 429
        except accounts.AccountSuspended:
            errors["_form"] = gettext(locale, SUSPENDED)
            contact = (await request.app.state.profile_cache.get()).contact_email
            if contact:
                errors["_form"] += " " + gettext(locale, SUSPENDED_CONTACT) % {"email": contact}
            status = 403
        else:
            if account is not None:
                await login_limits.record_success(username, address, device)
                response = await _logged_in(request, account, values["next"])
                await known_devices.remember(request, response, account.username)
                return response
            await login_limits.record_failure(username, address, device)
            errors["_form"] = gettext(locale, WRONG_CREDENTIALS)
            status = 400
    response = await renderer.render(
        request,
        "login.html",
        {
            "values": values,
            "errors": errors,
            "wait_seconds": wait_seconds,
            "wait_minutes": max(1, math.ceil(wait_seconds / 60)),
            "mail_enabled": request.app.state.settings.mail_enabled,
        },
        status_code=status,
    )
    if wait_seconds:
        response.headers["retry-after"] = str(wait_seconds)
    return response


async def logout(request: Request) -> Response:
    await read_form(request)
    await sessions.end_session(request.state.session_token)
    settings = request.app.state.settings
    response = _redirect("/")
    clear_session(response, settings)
    renew_csrf_seed(request, response, settings)
    return response


# Sign-ups are limited per hour (node.services.signup_limits): say which limit, and when.
SIGNUPS_FROM_HERE = N_("Too many accounts were made from this connection in the last hour.")
SIGNUPS_ON_NODE = N_(
    "This node has taken many new accounts in the last hour: it takes no more for now."
)


def _signups_limited(locale: str, exc: signup_limits.SignupsLimited) -> str:
    reason = SIGNUPS_FROM_HERE if exc.scope == "address" else SIGNUPS_ON_NODE
    minutes = max(1, math.ceil(exc.retry_after / 60))
    wait = translations(locale).ngettext(
        "Try again in %(num)d minute.", "Try again in %(num)d minutes.", minutes
    )
    return gettext(locale, reason) + " " + wait % {"num": minutes}


async def signup(request: Request) -> Response:
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    profile = await request.app.state.profile_cache.get()
    policy = profile.signups
    invitation = request.query_params.get("invite", "")
    values: dict[str, str] = {"invitation": invitation, "language": locale}
    errors: dict[str, str] = {}
    status = 200
    retry_after = 0
    if request.method == "POST":
        form = await read_form(request)
        values = form.values()
        invitation = values.get("invitation", "")
        languages = [values.get("language") or locale, *form.getlist("languages")]
        settings = request.app.state.settings
        try:
            typed = await email_addresses.for_signup(settings, values.get("email"))
            # Another account's address: made without it, and answered all the same
            # (saying so would tell who has an account here).
            email = await email_addresses.free_or_none(typed)
            account = await signups.sign_up(
                policy,
                username=values.get("username", ""),
                display_name=values.get("display_name", ""),
                password=values.get("password", ""),
                languages=languages,
                email=email,
                home_neighbourhood=values.get("home_neighbourhood") or None,
                invitation=values.get("invitation"),
                address=_address(request),
                limits=signup_limits.Limits.from_settings(request.app.state.settings),
            )
        except signup_limits.SignupsLimited as exc:
            errors["_form"] = _signups_limited(locale, exc)
            status, retry_after = 429, exc.retry_after
        except InvalidInput as exc:
            errors[exc.field] = field_error(locale, exc)
            status = 400
        except Conflict:
            errors["username"] = gettext(locale, N_("This username is taken. Choose another."))
            status = 400
        except PermissionDenied:
            status = 403
        else:
            await email_addresses.after_signup(settings, account, typed, node_name=profile.name)
            response = await _logged_in(request, account, "/?welcome=1")
            # Signing up proves the password as well as a log-in does.
            await known_devices.remember(request, response, account.username)
            return response
    hoods = await neighbourhoods.list_neighbourhoods()
    invite = await signups.valid_invitation(invitation)
    rules, rules_lang = profile.rules_in(locale)
    response = await renderer.render(
        request,
        "signup.html",
        {
            "policy": policy,
            "values": values,
            "errors": errors,
            "neighbourhoods": [
                ("", gettext(locale, N_("Choose later"))),
                *[(h.slug, h.name) for h in hoods],
            ],
            # A staff invitation: the page says which organisation it joins.
            "joins": invite.organisation if invite is not None else None,
            "rules": rules,
            "rules_lang": rules_lang,
            # No e-mail on this node: no address asked for.
            "mail_enabled": request.app.state.settings.mail_enabled,
            "email_required": request.app.state.settings.signup_requires_email,
        },
        status_code=status,
    )
    if retry_after:
        response.headers["retry-after"] = str(retry_after)
    return response


async def join(request: Request) -> Response:
    """Someone with an account opens a staff invitation and joins the organisation."""
    form = await read_form(request)
    account = viewer(request)
    code = form.get("invitation")
    if account is None:
        return _redirect(f"/login?next=/signup?invite={code}")
    try:
        organisation = await signups.join_with_invitation(account, code)
    except (InvalidInput, Conflict):
        return _redirect(f"/signup?invite={code}&problem=join")
    return _redirect(uris.dashboard(organisation.slug))


async def settings_page(request: Request) -> Response:
    account = viewer(request)
    if account is None:
        return _redirect("/login?next=/settings")
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    errors: dict[str, str] = {}
    status = 200
    changed = request.query_params.get("changed") == "password"
    if request.method == "POST":
        form = await read_form(request)
        if form.get("new_password") != form.get("repeat_password"):
            errors["repeat_password"] = gettext(locale, N_("The two new passwords differ."))
            status = 400
        else:
            # Guessing the current password from an open session counts as failed
            # log-ins: the same delays apply (a session left open on a shared computer).
            address = _address(request)
            device = await known_devices.known_device(request, account.username)
            try:
                await login_limits.check(account.username, address, device)
                await accounts.change_password(
                    account, form.get("current_password"), form.get("new_password")
                )
            except RateLimited as exc:
                errors["current_password"] = gettext(locale, TRY_LATER) % {
                    "minutes": max(1, math.ceil(exc.retry_after / 60))
                }
                status = 429
            except InvalidInput as exc:
                if exc.field == "current_password":
                    await login_limits.record_failure(account.username, address, device)
                errors[exc.field if exc.field != "password" else "new_password"] = field_error(
                    locale, exc
                )
                status = 400
            else:
                # Anyone else logged in as this account (a lost phone, say) is logged out.
                await sessions.end_other_sessions(account, keep=request.state.session_token)
                return _redirect("/settings?changed=password")
    return await renderer.render(
        request,
        "settings.html",
        {
            "values": {},
            "errors": errors,
            "changed": changed,
            # E-mail and profile choices (web.pages.preferences posts them).
            **await preferences.settings_context(request, account),
        },
        status_code=status,
    )


async def language(request: Request) -> Response:
    """The language switch: remembered in a cookie, and for an account in its preferences."""
    form = await read_form(request)
    settings = request.app.state.settings
    chosen = form.get("language")
    response = _redirect(local_path(form.get("next")))
    if chosen in settings.languages:
        response.set_cookie(LANGUAGE_COOKIE, chosen, **cookie_options(settings, ONE_YEAR))
        account = viewer(request)
        if account is not None:
            await accounts.set_interface_language(account, chosen)
    return response
