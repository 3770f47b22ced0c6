"""The no-500 fuzz test's runner: hypothesis searches that send requests and judge them.

Hypothesis runs in a worker thread, one search per route and per form (each with its
own examples and shrinking, so a failure names its form and its smallest input);
every request goes back to the test's event loop, where the app and the database
connections live. An answer is judged where it arrives: never a 5xx nor an exception
(what a browser sees as a dropped connection), and after a 4xx to a POST every table
is as it was (`fuzz_values.snapshot`).

NABUUR_FUZZ_EXAMPLES sets the examples per search (default 3); they are derandomised
unless NABUUR_FUZZ_RANDOM=1. `INPUTS` counts the inputs tried (examples run, shrinking
included) and `SENT` the requests sent (the crawl included), per viewer.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import httpx
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from node.models import Account
from node.services import sessions
from tests.fuzz_routes import HtmlForm, RouteInfo
from tests.fuzz_seed import World
from tests.fuzz_values import (
    LONG,
    NASTY,
    NUMBERS,
    UNICODE,
    Snapshot,
    changed_tables,
    short_repr,
    snapshot,
)
from tests.webclient import Browser
from web.shell.session import CSRF_COOKIE, SESSION_COOKIE

EXAMPLES = int(os.environ.get("NABUUR_FUZZ_EXAMPLES", "3"))
RANDOM = os.environ.get("NABUUR_FUZZ_RANDOM") == "1"
SENT: Counter[str] = Counter()
INPUTS: Counter[str] = Counter()
T = TypeVar("T")
Pairs = list[tuple[str, str]]
MAX_URL = 16 * 1024  # what uvicorn takes in a request line (h11's default limit)


def _segment() -> st.SearchStrategy[str]:
    return st.one_of(UNICODE.filter(bool), NASTY.filter(bool), NUMBERS, LONG).map(
        lambda text: short_repr(quote(text, safe=""))
    )


def path_strategy(route: RouteInfo, world: World) -> st.SearchStrategy[str]:
    """The route's path with real values (from the seeded data) or arbitrary ones."""
    parts = {
        name: st.one_of(st.sampled_from(world.real(route, name)), _segment())
        for name in route.params
    }
    return st.fixed_dictionaries(parts).map(lambda values: short_repr(route.fill(values)))


def real_paths(route: RouteInfo, world: World) -> Iterator[str]:
    """The route filled with each real value of its parameters (as many as the longest)."""
    values = [world.real(route, name) for name in route.params]
    for index in range(max((len(v) for v in values), default=1)):
        yield route.fill(
            {name: v[index % len(v)] for name, v in zip(route.params, values, strict=True)}
        )


def _shown(pairs: Pairs) -> str:
    return repr([(k[:40], v[:80] + ("…" if len(v) > 80 else "")) for k, v in pairs])[:1500]


class Fuzzer:
    """Sends what hypothesis draws as one viewer, and judges each answer."""

    def __init__(self, loop: asyncio.AbstractEventLoop, world: World, viewer: str) -> None:
        self.loop = loop
        self.world = world
        self.viewer = viewer
        self.web: Browser = world.browsers[viewer]
        self.token = ""
        self.cookies: tuple[str | None, str | None] = (None, None)
        self.before: Snapshot | None = None
        self.failures: list[str] = []

    def run(self, coro: Awaitable[T]) -> T:
        """Run `coro` on the test's event loop (called from hypothesis's thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()  # type: ignore[arg-type]

    def search(
        self,
        label: str,
        strategy: st.SearchStrategy[Any],
        check: Callable[[Any], Awaitable[None]],
        examples: Sequence[Any] = (),
    ) -> None:
        """One hypothesis search; a failure is kept (with its label) and the next runs."""

        def attempt(drawn: Any) -> None:
            INPUTS[self.viewer] += 1
            self.run(check(drawn))

        for known in examples:
            attempt = example(known)(attempt)
        runner = settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=not RANDOM,
            database=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )(given(strategy)(attempt))
        try:
            runner()
        except Exception as exc:  # one failing route must not hide the others
            self.failures.append(f"{label}: {type(exc).__name__}: {exc}"[:3000])

    def _cookies(self) -> tuple[str | None, str | None]:
        jar = self.web.http.cookies
        return jar.get(SESSION_COOKIE), jar.get(CSRF_COOKIE)

    async def refresh(self) -> None:
        """After a form that worked: the viewer's role and session back if it changed
        them (a role, a suspension, logging out), and the CSRF token of the session."""
        account = self.world.accounts.get(self.viewer)
        if account is not None:
            await Account.filter(id=account.id).update(
                role=account.role, is_active=True, suspended_at=None, silenced_at=None
            )
            session = self.web.http.cookies.get(SESSION_COOKIE)
            if session is None or await sessions.account_for(session) is None:
                await self.web.log_in_as(account)
        if self._cookies() != self.cookies or not self.token:
            self.token = await self.web.token("/settings" if account else "/login")
            self.cookies = self._cookies()
        self.before = None

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        SENT[self.viewer] += 1
        try:
            return await self.web.http.request(method, path, **kwargs)
        except Exception as exc:  # what a browser sees as a dropped connection
            message = f"{method} {path[:200]} raised {type(exc).__name__}: {exc}"
            raise AssertionError(message) from exc

    async def get(self, drawn: tuple[str, Pairs, dict[str, str]]) -> None:
        path, params, headers = drawn
        target = path + (("&" if "?" in path else "?") + urlencode(params) if params else "")
        if len(target) > MAX_URL:
            return  # servers refuse the request line before the app sees it
        response = await self.send("GET", target, headers=headers)
        assert response.status_code < 500, f"GET {target[:300]!r} answered {response.status_code}"
        self.before = None  # pages may record what was seen (the audit log)

    async def post(self, path: str, pairs: Pairs, body: str = "form") -> None:
        """POST `pairs` and the session's CSRF token, as a form or a body of another kind
        (`length:N`: a form that says its length is N)."""
        fields = [*pairs, ("csrf_token", self.token)]
        kwargs: dict[str, Any] = {}
        if body == "none":
            pass
        elif body == "multipart":
            kwargs = {"data": dict(fields), "files": {"file": ("x.png", b"\x89PNG", "image/png")}}
        elif body == "json":
            kwargs = {
                "json": dict(fields),
                "headers": {"content-type": "application/activity+json"},
            }
        else:
            kwargs = {
                "content": urlencode(fields),
                "headers": {"content-type": "application/x-www-form-urlencoded"},
            }
            if body.startswith("length:"):
                kwargs["headers"]["content-length"] = body.removeprefix("length:")
        await self._judge_post(path, _shown(pairs), kwargs)

    async def submit(self, form: HtmlForm, drawn: tuple[Pairs, bytes]) -> None:
        """Submit `form` with drawn fields (and the drawn file, for an upload form)."""
        pairs, upload = drawn
        if form.method == "GET":  # a search or a filter: its fields go in the URL
            await self.get((form.action, pairs, {"accept": "text/html"}))
            return
        if form.enctype != "multipart/form-data":
            await self.post(form.action, pairs)
            return
        data: dict[str, list[str]] = {}
        for key, value in [*pairs, ("csrf_token", self.token)]:
            data.setdefault(key, []).append(value)
        files = {f.name: ("upload.bin", upload) for f in form.fields if f.kind == "file"}
        await self._judge_post(form.action, _shown(pairs), {"data": data, "files": files})

    async def _judge_post(self, path: str, shown: str, kwargs: dict[str, Any]) -> None:
        if self.before is None:
            self.before = await snapshot()
        response = await self.send("POST", path, **kwargs)
        status = response.status_code
        assert status < 500, f"POST {path} {shown} answered {status}"
        if 400 <= status < 500:
            after = await snapshot()
            changed = changed_tables(self.before, after)
            self.before = after  # one finding, not one for every request after it
            assert not changed, f"POST {path} {shown} answered {status} yet changed {changed}"
        else:
            await self.refresh()
