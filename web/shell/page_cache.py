"""A few seconds of memory for the pages anonymous visitors see.

A request shared on Mastodon brings hundreds of visitors to one page within seconds;
they all see the same HTML, so each server process renders it once and serves that copy
for `page_cache_seconds`. Only anonymous GETs are kept (people who are logged in always
get a fresh page), and the CSRF token of the page's forms is put in per visitor, so no
visitor ever receives another's token. A form posted to this process empties the cache;
other processes catch up when their copies expire.
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from web.shell import csrf

# Stands in for the visitor's CSRF token in stored pages; never a valid token.
TOKEN_PLACEHOLDER = "\x00csrf\x00"  # noqa: S105 - not a secret


@dataclass(frozen=True, slots=True)
class CachedPage:
    html: str
    headers: tuple[tuple[str, str], ...]
    expires: float


class PageCache:
    """A size-bounded, least-recently-used store of rendered pages."""

    def __init__(self, seconds: float, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self._pages: OrderedDict[tuple[str, str, str], CachedPage] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    def get(self, key: tuple[str, str, str]) -> CachedPage | None:
        page = self._pages.get(key)
        if page is None or page.expires < time.monotonic():
            self.misses += 1
            return None
        self._pages.move_to_end(key)
        self.hits += 1
        return page

    def put(self, key: tuple[str, str, str], html: str, headers: dict[str, str]) -> None:
        size = len(html)
        if size > self.max_bytes // 8:
            return  # one huge page must not push out everything else
        old = self._pages.pop(key, None)
        if old is not None:
            self._bytes -= len(old.html)
        self._pages[key] = CachedPage(html, tuple(headers.items()), time.monotonic() + self.seconds)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, dropped = self._pages.popitem(last=False)
            self._bytes -= len(dropped.html)

    def clear(self) -> None:
        self._pages.clear()
        self._bytes = 0


Handler = Callable[[Request], Awaitable[Response]]


def for_anonymous(handler: Handler) -> Handler:
    """Serve `handler`'s page from the cache to anonymous visitors when it is fresh."""

    @functools.wraps(handler)
    async def cached(request: Request) -> Response:
        cache: PageCache = request.app.state.page_cache
        if not cache.enabled or request.method != "GET" or request.state.account is not None:
            return await handler(request)
        locale = request.app.state.renderer.locale_for(request)
        key = (request.url.path, request.url.query, locale)
        page = cache.get(key)
        if page is None:
            request.state.cache_key = key
            return await handler(request)
        html = page.html.replace(TOKEN_PLACEHOLDER, csrf.token(request))
        return HTMLResponse(html, headers=dict(page.headers))

    return cached
