"""A database that is away, full or read-only: 503 with Retry-After, never 202 then lost.

PostgreSQL goes away for real: the database stops accepting connections
(`ALLOW_CONNECTIONS false`) and the node's backends are terminated; then it comes back,
and the same app (no restart) answers 202 and 200 again.

SQLite faults are SQLite's own errors, made on the node's live connection. Tests run as
root, and root ignores file modes, so `chmod a-w` on the file reproduces nothing. On
the open connection, `PRAGMA query_only = ON` makes every write fail with SQLITE_READONLY
("attempt to write a readonly database") and `PRAGMA max_page_count` at the current size
makes a write that needs a page fail with SQLITE_FULL ("database or disk is full"): the
codes a read-only file or a full disk give. For start-up, the file itself is made
immutable (`chattr +i`, which binds root too): SQLite then opens it read-only, reads
work and only a write tells.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tortoise import connections

from node import db
from node.models import InboxItem, RemoteActor
from node.services.remote_actors import RemoteActorData, upsert_remote_actor
from tests.conftest import _pg_admin
from tests.factories import node_row
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import Node, serving
from tests.nodes import free_port
from tests.test_cli import init_node, nabuur
from tests.webclient import browser

POSTGRES = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def name_of(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


async def post_like(node: Node, remote: FakeRemote, **extra: object) -> tuple[str, int, dict]:
    activity = remote.activity("alice", "Like", remote.object_url("note"), **extra)
    response = await node.post_activity(remote, "alice", activity)
    return activity["id"], response.status_code, dict(response.headers)


async def stored(activity_id: str) -> bool:
    return await InboxItem.filter(activity_id=activity_id).exists()


@pytest.fixture
async def node(database: str) -> AsyncIterator[Node]:
    async with serving(database) as started:
        yield started


@POSTGRES
async def test_postgres_away_gives_503_and_the_node_comes_back(
    node: Node, remote: FakeRemote, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    first, status, _ = await post_like(node, remote)
    assert status == 202 and await stored(first)
    name = name_of(database)
    await _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        await _pg_admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        caplog.set_level(logging.INFO)
        refused = []
        for _ in range(3):
            activity_id, status, headers = await post_like(node, remote)
            refused.append(activity_id)
            assert status == 503, "an activity the node could not store was answered"
            assert int(headers["retry-after"]) > 0
        page = await node.client.get("/", headers={"accept-language": "nl"})
        assert page.status_code == 503
        assert int(page.headers["retry-after"]) > 0
        assert '<html lang="nl">' in page.text and "Terug naar de startpagina" in page.text
        english = await node.client.get("/about", headers={"accept-language": "en"})
        assert english.status_code == 503 and "Temporarily unavailable" in english.text
    finally:
        await _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    # No restart: the same app answers again, and what was answered 202 is there.
    again, status, _ = await post_like(node, remote)
    assert status == 202
    assert await stored(first) and await stored(again)
    assert not [a for a in refused if await stored(a)]  # 503 ones: the sender retries
    assert (await node.client.get("/")).status_code == 200
    inbox_errors = [r for r in caplog.records if r.name == "nabuur.inbox" and r.levelno >= 40]
    assert len(inbox_errors) == 1, [r.getMessage() for r in inbox_errors]  # once a streak
    assert inbox_errors[0].exc_info is None and "database" in inbox_errors[0].getMessage()


SQLITE_FAULTS = {
    # the fault as SQLite reports it, how to make it on the connection, and how to undo it
    "read-only": ("PRAGMA query_only = ON", "PRAGMA query_only = OFF", "writable"),
    "full": (None, "PRAGMA max_page_count = 1073741823", "free space"),
}


async def make_fault(kind: str) -> None:
    connection = connections.get("default")
    if kind == "full":
        rows = await connection.execute_query_dict("PRAGMA page_count")
        await connection.execute_script(f"PRAGMA max_page_count = {rows[0]['page_count']}")
    else:
        await connection.execute_script(SQLITE_FAULTS[kind][0] or "")


@SQLITE
@pytest.mark.parametrize("kind", list(SQLITE_FAULTS))
async def test_a_read_only_or_full_sqlite_database_is_reported(
    kind: str, node: Node, remote: FakeRemote, caplog: pytest.LogCaptureFixture
) -> None:
    known, status, _ = await post_like(node, remote)  # alice is stored: only the item waits
    assert status == 202
    await make_fault(kind)
    caplog.set_level(logging.INFO)
    big = {"summary": "x" * 20_000}  # needs new pages, wherever the table has room left
    for _ in range(3):
        activity_id, status, headers = await post_like(node, remote, **big)
        assert status == 503 and int(headers["retry-after"]) > 0
        assert not await stored(activity_id)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]  # once per streak
    message = errors[0].getMessage()
    assert kind in message and SQLITE_FAULTS[kind][2] in message, message
    assert errors[0].exc_info is None  # a known fault: said plainly, no traceback
    await connections.get("default").execute_script(SQLITE_FAULTS[kind][1])
    again, status, _ = await post_like(node, remote, **big)
    assert status == 202 and await stored(again) and await stored(known)
    assert any("works again" in r.getMessage() for r in caplog.records)


@SQLITE
async def test_a_page_that_writes_on_a_read_only_database_is_a_503_page(database: str) -> None:
    await node_row()
    async with browser(database) as visitor:
        await make_fault("read-only")
        response = await visitor.submit(
            "/login", {"username": "nobody", "password": "wrong"}, page="/login"
        )
        assert response.status_code == 503
        assert int(response.headers["retry-after"]) > 0
        assert "Temporarily unavailable" in response.text and "Traceback" not in response.text


@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[list[Path]]:
    """Files made immutable (`chattr +i`) for a test; made mutable again after it."""
    files: list[Path] = []
    yield files
    for path in files:
        subprocess.run(["chattr", "-i", str(path)], check=False)


@pytest.mark.slow
def test_run_on_a_read_only_database_file_stops_with_a_plain_message(
    tmp_path: Path, immutable: list[Path]
) -> None:
    path = tmp_path / "node.sqlite3"
    url = f"sqlite://{path}"
    init_node(tmp_path, url)
    made = shutil.which("chattr") and subprocess.run(
        ["chattr", "+i", str(path)], capture_output=True, check=False
    )
    if not made or made.returncode != 0:
        pytest.skip("chattr +i is not available here (needs CAP_LINUX_IMMUTABLE)")
    immutable.append(path)
    result = nabuur("run", "--port", str(free_port()), cwd=tmp_path, database=url)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "read-only" in lines[0] and "writable" in lines[0], lines[0]


def actor_data(n: int) -> RemoteActorData:
    uri = "https://burst.test/users/new"
    return RemoteActorData(
        uri=uri,
        domain="burst.test",
        actor_type="Person",
        username="new",
        display_name=f"New sender {n}",
        summary_html="",
        url=None,
        icon_url=None,
        inbox=f"{uri}/inbox",
        shared_inbox="https://burst.test/inbox",
        followers_url=None,
        key_id=f"{uri}#main-key",
        public_key_pem=f"KEY {n}",
        manually_approves_followers=n % 2 == 0,
    )


@pytest.mark.parametrize("database_url", ["postgres", "sqlite"], indirect=True)
async def test_a_cold_burst_of_upserts_of_one_new_actor(database: str) -> None:
    # As many at once as the pool has connections, several times over.
    results = await asyncio.gather(
        *(upsert_remote_actor(actor_data(n)) for n in range(40)), return_exceptions=True
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len({r.id for r in results if isinstance(r, RemoteActor)}) == 1
    assert await RemoteActor.filter(uri="https://burst.test/users/new").count() == 1
    await RemoteActor.filter(uri="https://burst.test/users/new").update(standing="limited")
    final = await upsert_remote_actor(actor_data(41))  # a refresh: the latest fields win
    row = await RemoteActor.get(uri="https://burst.test/users/new")
    assert row.id == final.id == results[0].id  # type: ignore[union-attr]
    assert (row.display_name, row.public_key_pem) == ("New sender 41", "KEY 41")
    assert row.manually_approves_followers is False
    assert row.standing == "limited"  # ours, not the document's: kept


LOCKOUTS = {
    # how the node is locked out, how it is let in again, and words of the advice
    "nologin": ("ALTER ROLE {role} NOLOGIN", "ALTER ROLE {role} LOGIN", "pg_hba.conf"),
    "no-such-database": (
        'ALTER DATABASE "{name}" RENAME TO "{name}_away"',
        'ALTER DATABASE "{name}_away" RENAME TO "{name}"',
        "database name in the settings",
    ),
}


async def lock_out(name: str, role: str, sql: str) -> None:
    """Run `sql` with the node's sessions cut, so that its next connection meets it."""
    await _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    await _pg_admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )
    try:
        await _pg_admin(sql.format(role=role, name=name))
    finally:
        for database in (name, f"{name}_away"):
            await _pg_admin(
                f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_database WHERE datname = '{database}')"
                f' THEN ALTER DATABASE "{database}" ALLOW_CONNECTIONS true; END IF; END $$'
            )


@POSTGRES
@pytest.mark.parametrize("how", list(LOCKOUTS))
async def test_a_refused_login_or_a_missing_database_is_a_503_said_once(
    how: str, database: str, remote: FakeRemote, caplog: pytest.LogCaptureFixture
) -> None:
    # The node logs in as its own role (a superuser, to skip grants) that can be locked out.
    role = f"nabuur_node_{secrets.token_hex(3)}"
    await _pg_admin(f"CREATE ROLE {role} LOGIN SUPERUSER")
    name = name_of(database)
    await db.close_database()
    await db.open_database(database.replace("postgres@", f"{role}@", 1))
    try:
        async with serving(database) as node:
            _, status, _ = await post_like(node, remote)
            assert status == 202
            lock, unlock, advice = LOCKOUTS[how]
            await lock_out(name, role, lock)
            caplog.set_level(logging.INFO)
            try:
                for path in ("/", "/about", "/"):
                    page = await node.client.get(path)
                    assert page.status_code == 503, page.text[:300]
                    assert int(page.headers["retry-after"]) > 0
                _, status, headers = await post_like(node, remote)
                assert status == 503 and int(headers["retry-after"]) > 0
            finally:
                await _pg_admin(unlock.format(role=role, name=name))
            assert (await node.client.get("/")).status_code == 200  # no restart
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        by_logger = {r.name for r in errors}
        assert len(errors) == len(by_logger), [r.getMessage() for r in errors]  # once each
        assert all(r.exc_info is None for r in errors), [r.getMessage() for r in errors]
        assert any(advice in r.getMessage() for r in errors), [r.getMessage() for r in errors]
    finally:
        await db.close_database()
        await _pg_admin(f"DROP ROLE IF EXISTS {role}")
        await db.open_database(database)
