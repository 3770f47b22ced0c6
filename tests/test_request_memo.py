"""`node.request_memo`: an answer asked twice while one GET is served is asked once; no
answer outlives its request, and forms and workers always ask afresh."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from node import raw_sql
from node.app import create_app
from node.config import Settings
from node.request_memo import RequestMemo, remembered
from node.services import sessions
from tests import factories
from web.shell.session import SESSION_COOKIE


def counting_app() -> tuple[Starlette, list[str]]:
    asked: list[str] = []

    async def ask(key: str) -> str:
        async def question() -> str:
            asked.append(key)
            return f"{key}#{len(asked)}"

        return await remembered(("q", key), question)

    async def page(request: Request) -> PlainTextResponse:
        answers = [
            await ask("staff"),
            await ask("staff"),
            await ask("connector"),
            await ask("staff"),
        ]
        return PlainTextResponse(" ".join(answers))

    routes = [Route("/", page, methods=["GET", "HEAD", "POST"])]
    return Starlette(routes=routes, middleware=[Middleware(RequestMemo)]), asked


def client_of(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_a_get_asks_each_question_once_and_forgets_at_its_end() -> None:
    app, asked = counting_app()
    async with client_of(app) as client:
        first = await client.get("/")
        assert first.text == "staff#1 staff#1 connector#2 staff#1"
        second = await client.get("/")  # a new request asks again
        assert second.text == "staff#3 staff#3 connector#4 staff#3"
        assert (await client.head("/")).status_code == 200
    assert asked == ["staff", "connector"] * 3


async def test_a_form_post_asks_every_time() -> None:
    app, asked = counting_app()
    async with client_of(app) as client:
        answer = await client.post("/")
    assert answer.text == "staff#1 staff#2 connector#3 staff#4"
    assert len(asked) == 4


async def test_outside_a_request_every_question_is_asked() -> None:
    asked: list[int] = []

    async def question() -> int:
        asked.append(1)
        return len(asked)

    assert [await remembered("k", question) for _ in range(3)] == [1, 2, 3]


async def test_a_request_page_reads_the_viewers_staff_membership_once(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the node's own app: a staff member's view of their organisation's request asks
    "staff of it?" from several rules, and the database once (with the other questions
    about the viewer and the post, `post_roles`); the page's header asks its own."""
    hood = await factories.neighbourhood("jette-centre")
    els, karim = await factories.account("els"), await factories.account("karim")
    await factories.organisation("buurthuis", staff=[els, karim])
    post = await factories.post(els, hood, organisation="buurthuis")  # karim views it
    reads: list[str] = []
    rows, named_rows = raw_sql.rows, raw_sql.named_rows

    async def counting_rows(sql: str, params: list[object]) -> list[object]:
        if "memberships" in sql:
            reads.append(sql)
        return await rows(sql, params)

    async def counting_named_rows(sql: str, params: list[object]) -> list[dict]:
        if "memberships" in sql:
            reads.append(sql)
        return await named_rows(sql, params)

    monkeypatch.setattr(raw_sql, "rows", counting_rows)
    monkeypatch.setattr(raw_sql, "named_rows", counting_named_rows)
    app = create_app(Settings(database_url=database), manage_database=False)
    async with client_of(app) as client:
        client.cookies.set(SESSION_COOKIE, await sessions.start_session(karim))
        page = await client.get(f"/r/{post.id}")
        assert page.status_code == 200 and 'action="/logout"' in page.text
        assert len(reads) == 2, reads  # the viewer's roles on the post; the header's link
        await client.get(f"/r/{post.id}")  # the next request asks again
    assert len(reads) == 4
