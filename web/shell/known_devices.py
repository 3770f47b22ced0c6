"""The known-device cookie: how a browser shows it logged in to an account before.

What the cookie holds and what it exempts from is specified in
`node.services.login_limits`; this module reads it from requests and sets it on
responses (HttpOnly, SameSite=Lax, Secure when the node is served over https, a year).
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

from node.services import login_limits, node_setup
from web.shell.session import cookie_options

DEVICE_COOKIE = "nabuur_device"


async def _key(request: Request) -> bytes:
    state = request.app.state
    key = getattr(state, "known_device_key", None)
    if key is None:
        secret = state.settings.secret_key or await node_setup.secret_key_or_none()
        # An uninitialised node (tests that build rows themselves) signs for this
        # process only, as the CSRF middleware does.
        key = login_limits.device_key(secret or secrets.token_urlsafe(48))
        state.known_device_key = key
    return key


async def known_device(request: Request, username: str | None) -> str | None:
    """The device id when this browser logged in to `username` before, else None."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return None
    return login_limits.known_device(cookie, username, await _key(request))


async def remember(request: Request, response: Response, username: str) -> None:
    """After a successful log-in: this browser is a known device of `username`."""
    value = login_limits.remember_device(
        request.cookies.get(DEVICE_COOKIE), username, await _key(request)
    )
    max_age = int(login_limits.DEVICE_LIFETIME.total_seconds())
    response.set_cookie(DEVICE_COOKIE, value, **cookie_options(request.app.state.settings, max_age))
