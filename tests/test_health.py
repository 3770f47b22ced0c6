"""/healthz (alive) and /readyz (may be sent work), and JSON log lines, on both backends.

/readyz answers 503 naming what is wrong: a database that does not answer, migrations
behind, a node not initialised, or a queue with work due for over a minute and none done.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from node import db, readiness
from node.app import create_app
from node.config import Settings
from node.logs import JsonFormatter
from node.logs import configure as configure_logging
from node.models import Delivery, Event, HostHealth, InboxItem, InboxStatus, OutboxActivity
from node.timeutil import utcnow
from tests import factories

BASE = "http://nabuur.test"
LONG_AGO = timedelta(minutes=5)
LATELY = timedelta(seconds=10)


@contextlib.asynccontextmanager
async def client_for(url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=url, base_url=BASE), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        try:
            yield client
        finally:
            await app.state.federation.close()


@pytest.fixture
async def client(database: str) -> AsyncIterator[httpx.AsyncClient]:
    await factories.node_row()
    async with client_for(database) as started:
        yield started


async def ready(client: httpx.AsyncClient) -> tuple[int, dict[str, str]]:
    response = await client.get("/readyz")
    body = response.json()
    assert body["status"] == ("ok" if response.status_code == 200 else "unavailable")
    assert response.headers["cache-control"] == "no-store"
    return response.status_code, body["checks"]


async def test_a_healthy_node_is_alive_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok", "database": "ok"}
    status, checks = await ready(client)
    assert status == 200
    assert checks == dict.fromkeys(
        ("database", "migrations", "initialised", "inbox", "deliveries", "events"), "ok"
    )


async def test_a_node_not_initialised_is_not_ready(database: str) -> None:
    async with client_for(database) as client:
        status, checks = await ready(client)
    assert status == 503
    assert "nabuur init" in checks["initialised"]


@pytest.mark.slow  # migrates a database from nothing: ~10 s
async def test_migrations_behind_make_it_not_ready(empty_database_url: str) -> None:
    url = empty_database_url
    await db.open_database(url)  # nothing applied at all
    try:
        async with client_for(url) as client:
            status, checks = await ready(client)
            assert status == 503
            assert checks["migrations"].startswith(
                f"{len(await db.pending_migrations(url))} migration(s) not applied"
            )
    finally:
        await db.close_database()
    await db.migrate(url, target="0010_moderation")  # an earlier schema
    await db.open_database(url)
    try:
        behind = len(await db.pending_migrations(url))
        assert behind >= 1
        async with client_for(url) as client:
            status, checks = await ready(client)
        assert status == 503
        assert checks["migrations"] == f"{behind} migration(s) not applied: run `nabuur migrate`"
        assert "initialised" not in checks  # tables may be missing: not looked at
    finally:
        await db.close_database()


async def test_a_database_that_went_away_makes_it_not_ready(
    client: httpx.AsyncClient, database: str
) -> None:
    assert (await client.get("/readyz")).status_code == 200
    assert (await client.get("/healthz")).status_code == 200
    await db.close_database()
    try:
        status, checks = await ready(client)
        assert status == 503
        assert checks == {"database": "unreachable"}
        assert (await client.get("/healthz")).status_code == 503
    finally:
        await db.open_database(database)


async def _inbox_item(received_ago: timedelta, **fields: object) -> InboxItem:
    key = uuid.uuid4()
    item = await InboxItem.create(
        activity_id=f"https://remote.example/activities/{key}",
        activity_type="Follow",
        actor_uri="https://remote.example/users/a",
        payload={},
        **fields,
    )
    await InboxItem.filter(id=item.id).update(received_at=utcnow() - received_ago)
    return item


async def test_a_stuck_inbox_makes_it_not_ready_and_a_busy_one_does_not(
    client: httpx.AsyncClient,
) -> None:
    first = await _inbox_item(LATELY)  # just arrived: not late yet
    await _inbox_item(timedelta(0))
    assert (await ready(client))[0] == 200
    # The first has waited five minutes, and nothing else was done meanwhile.
    await InboxItem.filter(id=first.id).update(received_at=utcnow() - LONG_AGO)
    status, checks = await ready(client)
    assert status == 503
    assert checks["inbox"].startswith("stuck: 2 due, the oldest waiting 30")
    assert checks["deliveries"] == checks["events"] == "ok"
    # A worker that finished an item ten seconds ago is behind, not stuck.
    await _inbox_item(LONG_AGO, status=InboxStatus.PROCESSED, processed_at=utcnow() - LATELY)
    assert (await ready(client))[0] == 200
    # A retry that came due long ago counts from when it came due.
    await InboxItem.filter(status=InboxStatus.PENDING).delete()
    await _inbox_item(
        LONG_AGO, status=InboxStatus.RETRY, next_attempt_at=utcnow() + timedelta(minutes=1)
    )
    await InboxItem.filter(status=InboxStatus.PROCESSED).update(processed_at=utcnow() - LONG_AGO)
    assert (await ready(client))[0] == 200  # not due yet
    await InboxItem.filter(status=InboxStatus.RETRY).update(next_attempt_at=utcnow() - LONG_AGO)
    status, checks = await ready(client)
    assert status == 503 and checks["inbox"].startswith("stuck: 1 due")


async def test_stuck_deliveries_make_it_not_ready(client: httpx.AsyncClient) -> None:
    key = uuid.uuid4()
    activity = await OutboxActivity.create(
        id=key,
        activity_uri=f"{BASE}/activities/{key}",
        activity_type="Create",
        actor_kind="instance",
        payload={},
    )
    await Delivery.create(
        activity=activity,
        inbox="https://remote.example/inbox",
        host="remote.example",
        next_attempt_at=utcnow() - LONG_AGO,
    )
    status, checks = await ready(client)
    assert status == 503
    assert checks["deliveries"].startswith("stuck: 1 due, the oldest waiting 30")
    assert "nothing was done lately" in checks["deliveries"]
    # Any attempt lately, to any host, shows a worker at work.
    await HostHealth.create(host="other.example", last_failure_at=utcnow() - LATELY)
    assert (await ready(client))[0] == 200


async def test_stuck_events_make_it_not_ready(client: httpx.AsyncClient) -> None:
    event = await Event.create(kind="PostPublished", payload={})
    await Event.filter(id=event.id).update(created_at=utcnow() - LONG_AGO)
    status, checks = await ready(client)
    assert status == 503 and checks["events"].startswith("stuck: 1 due")
    # Leased (a worker has it) or backing off: not due, so not stuck.
    await Event.filter(id=event.id).update(locked_until=utcnow() + timedelta(minutes=1))
    assert (await ready(client))[0] == 200
    await Event.filter(id=event.id).update(locked_until=None, handled_at=utcnow())
    assert (await ready(client))[0] == 200


async def test_readiness_remembers_current_migrations(database: str) -> None:
    await factories.node_row()
    settings = Settings(database_url=database)
    assert readiness.is_ready(await readiness.check(settings))
    assert database in readiness._migrated  # no migration plan computed again


# --- JSON log lines ------------------------------------------------------------------------


@pytest.fixture
def json_log() -> AsyncIterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("INFO", "json")
    assert isinstance(root.handlers[0].formatter, JsonFormatter)
    lines = io.StringIO()
    root.handlers[0].setStream(lines)  # type: ignore[attr-defined]
    client_log = logging.getLogger("httpx")  # the test's client, not the node
    client_log.disabled = True
    try:
        yield lines
    finally:
        client_log.disabled = False
        root.handlers[:], _ = saved
        root.setLevel(saved[1])


async def test_json_log_lines_parse_and_carry_no_secret(
    client: httpx.AsyncClient, json_log: io.StringIO
) -> None:
    secret = "reset-token-that-must-not-be-logged"
    await client.get(f"/signup?invite={secret}", headers={"authorization": f"Bearer {secret}"})
    await client.get("/no-such-page", headers={"cookie": f"nabuur_session={secret}"})
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("nabuur.test").exception("handling failed for %s", "x")
    text = json_log.getvalue()
    assert secret not in text
    lines = [json.loads(line) for line in text.splitlines()]
    requests = [line for line in lines if line["logger"] == "nabuur.http"]
    assert [(r["method"], r["path"], r["status"]) for r in requests] == [
        ("GET", "/signup", 200),
        ("GET", "/no-such-page", 404),
    ]
    for line in lines:
        assert line["time"].endswith("+00:00") and line["level"] in ("INFO", "WARNING", "ERROR")
        assert isinstance(line["message"], str) and isinstance(line["pid"], int)
    assert all(isinstance(r["duration_ms"], float) for r in requests)
    failed = lines[-1]
    assert failed["message"] == "handling failed for x" and failed["level"] == "ERROR"
    assert "ValueError: boom" in failed["exception"]
