"""Who is asking: the logged-in account and the CSRF seed of each request.

A pure ASGI middleware reads two cookies. `nabuur_session` holds a session token (the
account is looked up in the database; visitors without the cookie cost no query).
`nabuur_csrf` holds a random seed that CSRF tokens are derived from; it is set on the
first page that renders a form. Both are HttpOnly and SameSite=Lax, and Secure when
the node is served over https.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request, cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.config import Settings
from node.services import node_setup, sessions

SESSION_COOKIE = "nabuur_session"
CSRF_COOKIE = "nabuur_csrf"
LANGUAGE_COOKIE = "nabuur_lang"
CSRF_SEED_BYTES = 24


def _cookies(scope: Scope) -> dict[str, str]:
    # Starlette's own parser, as Request.cookies uses: lenient with malformed headers.
    for name, value in scope["headers"]:
        if name == b"cookie":
            return cookie_parser(value.decode("latin-1"))
    return {}


def cookie_options(settings: Settings, max_age: int | None) -> dict[str, Any]:
    return {
        "max_age": max_age,
        "path": "/",
        "httponly": True,
        "samesite": "lax",
        "secure": settings.public_url.startswith("https://"),
    }


class SessionMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._csrf_key: bytes | None = None

    async def csrf_key(self) -> bytes:
        if self._csrf_key is None:
            secret = self.settings.secret_key or await node_setup.secret_key_or_none()
            if secret is None:
                # An uninitialised node (tests that build rows themselves): a key for
                # this process only, which is all a single test process needs.
                secret = secrets.token_urlsafe(48)
            self._csrf_key = hashlib.sha256(b"nabuur-csrf\0" + secret.encode()).digest()
        return self._csrf_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        state = scope.setdefault("state", {})
        token = cookies.get(SESSION_COOKIE)
        state["session_token"] = token
        state["account"] = await sessions.account_for(token) if token else None
        state["language_cookie"] = cookies.get(LANGUAGE_COOKIE)
        seed = cookies.get(CSRF_COOKIE)
        state["csrf_seed_new"] = not seed or len(seed) > 64
        state["csrf_seed"] = (
            secrets.token_urlsafe(CSRF_SEED_BYTES) if state["csrf_seed_new"] else seed
        )
        state["csrf_used"] = False
        state["csrf_token"] = None  # computed once, when a form first asks for it
        state["csrf_key"] = await self.csrf_key()

        async def send_with_cookie(message: Message) -> None:
            # The seed is only handed out with a page that used it in a form.
            if (
                message["type"] == "http.response.start"
                and state["csrf_used"]
                and state["csrf_seed_new"]
            ):
                holder = Response()
                holder.set_cookie(
                    CSRF_COOKIE, state["csrf_seed"], **cookie_options(self.settings, None)
                )
                headers = MutableHeaders(scope=message)
                for value in holder.headers.getlist("set-cookie"):
                    headers.append("set-cookie", value)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def set_session(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, **cookie_options(settings, int(sessions.LIFETIME.total_seconds()))
    )


def renew_csrf_seed(request: Request, response: Response, settings: Settings) -> None:
    """A fresh seed at log-in and log-out, so tokens seen before do not carry over."""
    seed = secrets.token_urlsafe(CSRF_SEED_BYTES)
    request.state.csrf_seed = seed
    request.state.csrf_seed_new = False
    request.state.csrf_token = None
    response.set_cookie(CSRF_COOKIE, seed, **cookie_options(settings, None))


def clear_session(response: Response, settings: Settings) -> None:
    options = cookie_options(settings, None)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=options["secure"],
        httponly=True,
        samesite="lax",
    )


def viewer(request: Request) -> Any:
    """The logged-in account, or None."""
    return getattr(request.state, "account", None)
