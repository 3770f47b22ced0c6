"""The regional needs view: partners' figures read through the guarded client, and
/admin/needs/region combining them with this node's.

In process, a small partner server on loopback answers well or badly (unreachable,
invalid, too big, too slow, pointing elsewhere) and each answer becomes a status, never
an error; then two real node processes: A follows B, and A's page shows B's figures.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from admin.pages.needs_region import chart, combine
from federation.needs_fetch import Cell, Figures, Hood, fetch_partner, fetch_partners
from node.models import LocalActorKind, OutgoingFollow, RemoteActor
from node.services import needs_aggregate, sessions
from node.states import FollowStatus
from tests import factories
from tests.fakeremote import serve
from tests.federation_fixtures import Node, serving
from tests.nodes import NodeProcess, eventually, get_json, run_script
from web.shell.session import SESSION_COOKIE

MONTH = datetime.now(UTC).strftime("%Y-%m")


class Partner:
    """A partner node's discovery and figures, served as each test wants them."""

    def __init__(self) -> None:
        self.base = ""
        self.needs: Any = None  # the /needs.json body (a dict) or raw bytes
        self.needs_data: str | None = "/needs.json"  # relative to base, or absolute
        self.nodeinfo_status = 200
        self.delay = 0.0
        self._runner: web.AppRunner | None = None

    async def start(self) -> Partner:
        app = web.Application()
        app.router.add_get("/.well-known/nodeinfo", self._links)
        app.router.add_get("/nodeinfo/2.1", self._nodeinfo)
        app.router.add_get("/needs.json", self._needs)
        self._runner, self.base = await serve(app)
        self.needs = self.figures(posted=12)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def figures(self, posted: int | None) -> dict[str, Any]:
        hood = f"{self.base}/n/zuid"
        return {
            "version": 1,
            "node": self.base,
            "generated": "2026-12-04T18:00:00Z",
            "suppressedBelow": 5,
            "neighbourhoods": [{"id": hood, "name": "Zuid", "commune": "Jette", "country": "BE"}],
            "cells": [
                {
                    "neighbourhood": hood,
                    "category": "transport",
                    "month": MONTH,
                    "kind": "request",
                    "posted": posted,
                    "matched": 0,
                    "done": 0,
                    "expired": 0,
                }
            ],
        }

    async def _links(self, request: web.Request) -> web.Response:
        schema = "http://nodeinfo.diaspora.software/ns/schema/2.1"
        href = f"{self.base}/nodeinfo/2.1"
        return web.json_response({"links": [{"rel": schema, "href": href}]})

    async def _nodeinfo(self, request: web.Request) -> web.Response:
        if self.nodeinfo_status != 200:
            return web.json_response({}, status=self.nodeinfo_status)
        metadata: dict[str, Any] = {"nodeName": "Buren Zuid"}
        if self.needs_data is not None:
            absolute = self.needs_data.startswith("http")
            metadata["needsData"] = self.needs_data if absolute else self.base + self.needs_data
        return web.json_response({"version": "2.1", "metadata": metadata})

    async def _needs(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(self.delay)
        if isinstance(self.needs, bytes):
            return web.Response(body=self.needs, content_type="application/json")
        return web.json_response(self.needs)


@pytest.fixture
async def partner() -> AsyncIterator[Partner]:
    server = await Partner().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def node(database: str) -> AsyncIterator[Node]:
    async with serving(database) as started:
        yield started


async def test_a_partner_that_answers_well_is_ok(node: Node, partner: Partner) -> None:
    result = await fetch_partner(node.fed, partner.base)
    assert (result.status, result.reason, result.name) == ("ok", "", "Buren Zuid")
    assert result.figures is not None and result.figures.cells[0].posted == 12


async def test_each_bad_answer_is_a_status_not_an_error(node: Node, partner: Partner) -> None:
    async def status() -> tuple[str, str]:
        result = await fetch_partner(node.fed, partner.base)
        assert result.figures is None
        return result.status, result.reason

    partner.needs = partner.figures(posted=3)  # a count that should have been suppressed
    assert await status() == ("invalid", "cell posted: a count under 5 must be suppressed")
    partner.needs = b"[" * 10 + b"not json"
    assert await status() == ("invalid", "not JSON")
    partner.needs = b'{"padding": "' + b"x" * (1024 * 1024) + b'"}'
    assert (await status())[0] == "invalid"  # over 1 MiB: not read to the end
    partner.needs = partner.figures(posted=12)
    partner.needs_data = "https://elsewhere.example/needs.json"
    assert await status() == ("invalid", f"needsData: not a URL on {partner.base}")
    partner.needs_data = None
    assert await status() == ("invalid", "NodeInfo has no metadata.needsData")
    partner.needs_data = "/needs.json"
    partner.nodeinfo_status = 500
    assert await status() == ("unreachable", "status 500")
    closed = await fetch_partner(node.fed, "http://127.0.0.1:9")  # nothing listens there
    assert closed.status == "unreachable" and closed.reason.startswith("network error")


async def test_partners_are_read_together_within_the_deadline(node: Node, partner: Partner) -> None:
    partner.delay = 5.0
    started = asyncio.get_running_loop().time()
    [slow] = await fetch_partners(node.fed, [partner.base], seconds=0.5)
    assert (slow.status, slow.reason) == ("unreachable", "timed out")
    assert asyncio.get_running_loop().time() - started < 3
    assert await fetch_partners(node.fed, []) == []


async def _follow(base: str) -> None:
    actor = await RemoteActor.create(
        uri=f"{base}/actor",
        domain=base.split("://", 1)[1],
        actor_type="Application",
        inbox=f"{base}/actor/inbox",
        key_id=f"{base}/actor#main-key",
        public_key_pem="-",
        fetched_at=datetime.now(UTC),
    )
    await OutgoingFollow.create(
        local_kind=LocalActorKind.INSTANCE,
        local_key=None,
        target=actor,
        activity_uri=f"http://nabuur.test/activities/follow-{actor.id}",
        status=FollowStatus.ACCEPTED,
    )


async def test_the_region_page_combines_our_figures_with_partners(
    node: Node, partner: Partner
) -> None:
    hood = await factories.neighbourhood("centrum")
    author = await factories.account()
    for _ in range(5):  # counts are rounded to five: five stay five
        await factories.post(author, hood, category="transport")
    await _follow(partner.base)
    await _follow("http://127.0.0.1:9")  # a partner that never answers
    assert await needs_aggregate.partner_origins(node.settings) == [
        partner.base,
        "http://127.0.0.1:9",
    ]
    admin = await factories.admin(languages=["en"])
    node.client.cookies.set(SESSION_COOKIE, await sessions.start_session(admin))
    page = await node.client.get("/admin/needs/region", params={"category": "transport"})
    assert page.status_code == 200, page.text
    html = page.text
    assert "Buren Zuid" in html and "invalid figures" not in html
    assert re.search(r"<strong>127\.0\.0\.1:9</strong>.*?unreachable", html, re.S)
    # This month: 5 here, 12 there (as the partner sent it), in the table and two bars.
    row = re.search(rf"<th scope=\"row\">{MONTH}</th>(.*?)</tr>", html, re.S)
    assert row is not None
    assert re.findall(r">(\d+\+?)</td>", row.group(1)) == ["5", "12"]
    assert f"Buren Zuid, {MONTH}: 12" in html and f"{MONTH}: 5" in html
    # Another category: nothing counted on either side.
    other = await node.client.get("/admin/needs/region", params={"category": "garden"})
    row = re.search(rf"<th scope=\"row\">{MONTH}</th>(.*?)</tr>", other.text, re.S)
    assert row is not None and re.findall(r">(\d+\+?)</td>", row.group(1)) == ["0", "0"]
    # A partner sending what it should have suppressed shows as invalid.
    partner.needs = partner.figures(posted=2)
    assert "invalid figures" in (await node.client.get("/admin/needs/region")).text


async def test_the_region_page_is_for_admins_and_checks_its_filters(node: Node) -> None:
    anonymous = await node.client.get("/admin/needs/region")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    resident = await factories.account()
    node.client.cookies.set(SESSION_COOKIE, await sessions.start_session(resident))
    assert (await node.client.get("/admin/needs/region")).status_code == 403
    admin = await factories.admin(languages=["en"])
    node.client.cookies.set(SESSION_COOKIE, await sessions.start_session(admin))
    for bad in ({"category": "../etc"}, {"kind": "everything"}, {"category": "A B"}):
        assert (await node.client.get("/admin/needs/region", params=bad)).status_code == 400
    empty = await node.client.get("/admin/needs/region")
    assert empty.status_code == 200 and "follows no other node yet" in empty.text


def test_sums_with_suppressed_counts_are_lower_bounds() -> None:
    hood = Hood("https://p.example/n/zuid", "Zuid", "Jette", "BE")
    cells = [
        Cell(hood.id, "meals", "2026-10", "request", 7, 5, None, 0),
        Cell(hood.id, "meals", "2026-11", "offer", None, 0, 0, 0),
        Cell(hood.id, "garden", "2026-11", "request", 9, 0, 0, 0),
    ]
    figures = Figures("https://p.example", datetime.now(UTC), {hood.id: hood}, cells)
    [column], [row] = combine([("P", figures)], "meals", "")
    assert str(column.totals["posted"]) == "8+"  # 7, and at least one suppressed
    assert str(column.totals["done"]) == "1+" and str(column.totals["expired"]) == "0"
    assert str(column.by_month["2026-10"]) == "7" and row.name == "Zuid"
    [requests], _ = combine([("P", figures)], "", "request")
    assert {m: str(t) for m, t in requests.by_month.items()} == {"2026-10": "7", "2026-11": "9"}
    months = ["2026-09", "2026-10", "2026-11"]
    drawn = chart([requests], months)
    assert drawn["peak"] == 9
    assert [(s.title, s.height) for s in drawn["segments"]] == [
        ("P, 2026-10: 7", 140),
        ("P, 2026-11: 9", 180),
    ]


# --- two real nodes ---------------------------------------------------------------------

SEED_SCRIPT = """
import asyncio, sys
from node import db
from node.models import Account
from node.services import posts

async def main(url, count):
    await db.open_database(url)
    try:
        author = await Account.get(username="marleen")
        for n in range(int(count)):
            draft = posts.PostDraft(kind="request", title=f"Kinderopvang {n}",
                                    category="childcare", neighbourhood="jette-centre",
                                    language="nl", description="Wie past op?")
            await posts.create_post(author, draft)
    finally:
        await db.close_database()

asyncio.run(main(*sys.argv[1:3]))
"""


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProcess]]:
    workdir = tmp_path_factory.mktemp("region")
    started = {name: NodeProcess(workdir, name).start() for name in ("a", "b")}
    try:
        for node in started.values():
            node.wait_ready(seconds=240)  # two demo seeds at once on a busy machine
        yield started
    finally:
        for node in started.values():
            node.stop()


def _posted(document: dict[str, Any], category: str) -> int:
    return sum(
        1 if c["posted"] is None else c["posted"]  # the page's lower bound
        for c in document["cells"]
        if c["category"] == category and c["month"] == MONTH
    )


@pytest.mark.slow
async def test_node_a_sees_node_b_figures_after_following_it(
    two_nodes: dict[str, NodeProcess], tmp_path: Path
) -> None:
    a, b = two_nodes["a"], two_nodes["b"]
    run_script(b, SEED_SCRIPT, "7")
    assert a.cli("follow", b.url("/actor")).returncode == 0
    accepted = "SELECT status FROM outgoing_follows WHERE status = 'accepted'"
    await eventually(lambda: a.query(accepted), seconds=30)
    assert a.cli("role", "tom", "admin").returncode == 0

    info = await get_json(b.url("/nodeinfo/2.1"))
    assert info["metadata"]["needsData"] == b.url("/needs.json")
    expected = _posted(await get_json(b.url("/needs.json")), "childcare")
    assert expected >= 7
    ours = _posted(await get_json(a.url("/needs.json")), "childcare")

    async with httpx.AsyncClient(base_url=a.base, headers={"accept-language": "en"}) as http:
        login = await http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token is not None
        form = {"username": "tom", "password": "nabuur-demo-2026", "csrf_token": token[1]}
        assert (await http.post("/login", data=form)).status_code == 303
        page = await http.get("/admin/needs/region", params={"category": "childcare"})
    assert page.status_code == 200, page.text
    html = page.text
    assert f"({b.base})" in html
    status = re.search(rf"\({re.escape(b.base)}\):\s*(\w+)", html)
    assert status is not None and status[1] == "ok", html
    row = re.search(rf"<th scope=\"row\">{MONTH}</th>(.*?)</tr>", html, re.S)
    assert row is not None
    assert re.findall(r">(\d+)\+?</td>", row.group(1)) == [str(ours), str(expected)]
    assert "Traceback" not in a.log_tail(200)
