"""A test browser for the residents' pages: keeps cookies, reads CSRF tokens from forms."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import httpx

from node.app import create_app
from node.config import Settings
from node.models import Account
from node.services import sessions
from web.shell.session import SESSION_COOKIE

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        return await self.http.get(path, **kwargs)  # type: ignore[arg-type]

    async def token(self, page: str = "/login") -> str:
        """The CSRF token of the first form on `page` (and the cookie it comes with)."""
        response = await self.http.get(page)
        found = _TOKEN.search(response.text)
        assert found, f"no form with a CSRF token on {page} ({response.status_code})"
        return found.group(1)

    async def submit(
        self, path: str, fields: Mapping[str, str] | list[tuple[str, str]], *, page: str = "/login"
    ) -> httpx.Response:
        """Post a form the way a browser does after loading `page`."""
        pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
        pairs.append(("csrf_token", await self.token(page)))
        return await self.http.post(
            path,
            content=urlencode(pairs),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )

    async def log_in_as(self, account: Account) -> None:
        """A session without the password round trip (argon2 is slow on purpose)."""
        token = await sessions.start_session(account)
        self.http.cookies.set(SESSION_COOKIE, token)

    def log_out_locally(self) -> None:
        self.http.cookies.clear()


@asynccontextmanager
async def browser(database: str, **settings: object) -> AsyncIterator[Browser]:
    app = create_app(Settings(database_url=database, **settings), manage_database=False)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4711))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"accept-language": "en"}
    ) as http:
        yield Browser(http)
