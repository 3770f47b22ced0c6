"""Answers asked more than once while one page is made: remembered for that request only.

A request page asks "is this resident staff of the post's organisation?" four times and
"a connector of its neighbourhood?" twice, from the rules of different parts of the page
(`node.services.permissions` and friends), each time a statement. While a GET or HEAD
request is served (`RequestMemo`, mounted by the app factory), `remembered` keeps each
answer until the request ends; nothing outlives it, and outside a request (forms, the
workers, tests calling services) every question is asked afresh. Only questions whose
answers a GET cannot change belong here: who is staff of what (and of which post's
partners), who connects which neighbourhood, whose offer is accepted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

T = TypeVar("T")

_memo: ContextVar[dict[Hashable, object] | None] = ContextVar("request_memo", default=None)
_READING = frozenset({"GET", "HEAD"})


async def remembered(key: Hashable, ask: Callable[[], Awaitable[T]]) -> T:
    """`ask()`'s answer, asked once per GET request for `key`; asked each time otherwise."""
    memo = _memo.get()
    if memo is None:
        return await ask()
    if key in memo:
        return memo[key]  # type: ignore[return-value]
    answer = memo[key] = await ask()
    return answer


@contextmanager
def serving_a_get() -> Iterator[None]:
    """Remember answers until the block ends (what `RequestMemo` does for each GET)."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def asking_once() -> bool:
    """Whether answers are being remembered: a GET or HEAD request is being served."""
    return _memo.get() is not None


def remember(key: Hashable, answer: object) -> None:
    """Keep `answer` for `key` as if `remembered` had asked it (a statement that answers
    several questions at once); an answer already kept stays, and outside a GET nothing
    is kept."""
    memo = _memo.get()
    if memo is not None:
        memo.setdefault(key, answer)


class RequestMemo:
    """Pure ASGI: a fresh memo for each GET or HEAD request, none for the others."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _READING:
            await self.app(scope, receive, send)
            return
        with serving_a_get():
            await self.app(scope, receive, send)
