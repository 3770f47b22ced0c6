"""The `nabuur` command: help everywhere, one-line errors, nothing written on bad input."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from node import db
from node.models import Account, NodeSettings, Role
from node.services.node_setup import is_initialised

ROOT = Path(__file__).resolve().parent.parent
GOOD_PASSWORD = "correct horse battery"


def nabuur(
    *args: str, cwd: Path, database: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NABUUR_")}
    environ["PYTHONPATH"] = str(ROOT)
    if database:
        environ["NABUUR_DATABASE_URL"] = database
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "node.cli", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def init_node(tmp_path: Path, url: str) -> None:
    """`nabuur init` with the admin els, which must succeed."""
    init = nabuur(
        "init",
        "--admin-username",
        "els",
        cwd=tmp_path,
        database=url,
        NABUUR_ADMIN_PASSWORD=GOOD_PASSWORD,
    )
    assert init.returncode == 0, init.stderr


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


async def _state(url: str) -> tuple[bool, list[str]]:
    await db.open_database(url)
    try:
        return await is_initialised(), [
            a.username for a in await Account.filter(role=Role.ADMIN).order_by("id")
        ]
    finally:
        await db.close_database()


@pytest.mark.parametrize(
    "command",
    [
        "",
        "init",
        "run",
        "demo",
        "migrate",
        "createadmin",
        "invite",
        "worker",
        "follow",
        "unfollow",
        "block",
        "unblock",
        "relay",
    ],
)
def test_help_on_every_command(tmp_path: Path, command: str) -> None:
    result = nabuur(*([command] if command else []), "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "usage: nabuur" in result.stdout


def test_unknown_command_and_bad_flag(tmp_path: Path) -> None:
    assert_one_line_error(nabuur("frobnicate", cwd=tmp_path), "invalid choice")
    assert_one_line_error(nabuur("run", "--port", "eighty", cwd=tmp_path), "--port")
    assert_one_line_error(nabuur("run", "--port", "70000", cwd=tmp_path), "PORT", "65535")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NABUUR_LANGUAGES", "de"),
        ("NABUUR_FEDERATION_MODE", "sometimes"),
        ("NABUUR_BASE_URL", "buren.example.be"),
        ("NABUUR_DATABASE_URL", "mysql://root@localhost/nabuur"),
    ],
)
def test_bad_settings_stop_with_the_setting_named(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = nabuur("run", cwd=tmp_path, **{variable: value})
    assert_one_line_error(result, variable)


def test_run_without_database_says_what_to_do(tmp_path: Path) -> None:
    result = nabuur("run", cwd=tmp_path, database=f"sqlite://{tmp_path}/none.sqlite3")
    assert_one_line_error(result, "nabuur init")
    assert not (tmp_path / "none.sqlite3").exists()


@pytest.mark.parametrize(
    ("args", "password", "field"),
    [
        (["--admin-username", "Bad Name!"], GOOD_PASSWORD, "username"),
        (["--admin-username", "els", "--email", "not-an-address"], GOOD_PASSWORD, "email"),
        (["--admin-username", "els"], "short", "password"),
    ],
)
def test_init_with_bad_input_writes_nothing(
    tmp_path: Path, empty_database_url: str, args: list[str], password: str, field: str
) -> None:
    result = nabuur(
        "init", *args, cwd=tmp_path, database=empty_database_url, NABUUR_ADMIN_PASSWORD=password
    )
    assert_one_line_error(result, field)
    path = db.sqlite_path(empty_database_url)
    if path is not None:
        assert not path.exists()
    else:
        asyncio.run(_assert_no_tables(empty_database_url))


async def _assert_no_tables(url: str) -> None:
    await db.open_database(url)
    try:
        from tortoise import connections

        rows = await connections.get("default").execute_query_dict(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        assert rows == []
    finally:
        await db.close_database()


def test_init_without_password_source_fails_cleanly(tmp_path: Path) -> None:
    result = nabuur("init", "--admin-username", "els", cwd=tmp_path)
    assert_one_line_error(result, "NABUUR_ADMIN_PASSWORD")
    assert not (tmp_path / "data").exists()


def test_init_then_createadmin_then_errors(tmp_path: Path, empty_database_url: str) -> None:
    url = empty_database_url
    first = nabuur(
        "init",
        "--admin-username",
        "els",
        cwd=tmp_path,
        database=url,
        NABUUR_ADMIN_PASSWORD=GOOD_PASSWORD,
    )
    assert first.returncode == 0, first.stderr
    assert "applied 0001_initial" in first.stdout
    assert GOOD_PASSWORD not in first.stdout + first.stderr

    again = nabuur(
        "init",
        "--admin-username",
        "karim",
        cwd=tmp_path,
        database=url,
        NABUUR_ADMIN_PASSWORD=GOOD_PASSWORD,
    )
    assert_one_line_error(again, "already initialised")

    added = nabuur(
        "createadmin",
        "--username",
        "karim",
        cwd=tmp_path,
        database=url,
        NABUUR_ADMIN_PASSWORD=GOOD_PASSWORD,
    )
    assert added.returncode == 0, added.stderr
    taken = nabuur(
        "createadmin",
        "--username",
        "karim",
        cwd=tmp_path,
        database=url,
        NABUUR_ADMIN_PASSWORD=GOOD_PASSWORD,
    )
    assert_one_line_error(taken, "taken")

    initialised, admins = asyncio.run(_state(url))
    assert initialised
    assert admins == ["els", "karim"]

    migrate = nabuur("migrate", cwd=tmp_path, database=url)
    assert migrate.returncode == 0
    assert "up to date" in migrate.stdout


def test_secret_key_is_generated_and_never_printed(tmp_path: Path, empty_database_url: str) -> None:
    result = nabuur(
        "init",
        "--admin-username",
        "els",
        cwd=tmp_path,
        database=empty_database_url,
        NABUUR_ADMIN_PASSWORD=GOOD_PASSWORD,
    )
    assert result.returncode == 0, result.stderr

    async def secret() -> str:
        await db.open_database(empty_database_url)
        try:
            return (await NodeSettings.get(id=1)).secret_key
        finally:
            await db.close_database()

    key = asyncio.run(secret())
    assert len(key) >= 48
    assert key not in result.stdout + result.stderr


def test_migrate_creates_and_reports(tmp_path: Path, empty_database_url: str) -> None:
    result = nabuur("migrate", cwd=tmp_path, database=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert "applied 0001_initial" in result.stdout
    assert "migration(s) applied" in result.stdout
    serve = nabuur("run", cwd=tmp_path, database=empty_database_url)
    assert_one_line_error(serve, "not initialised", "nabuur init")


def test_unreachable_postgres_is_one_line(tmp_path: Path) -> None:
    result = nabuur("migrate", cwd=tmp_path, database="postgres://nobody@127.0.0.1:9/nabuur")
    assert_one_line_error(result, "database")


def test_block_and_unblock(tmp_path: Path, empty_database_url: str) -> None:
    url = empty_database_url
    init_node(tmp_path, url)
    assert_one_line_error(nabuur("block", "not a domain", cwd=tmp_path, database=url), "domain")
    assert nabuur("block", "spam.example", cwd=tmp_path, database=url).returncode == 0
    assert nabuur("unblock", "spam.example", cwd=tmp_path, database=url).returncode == 0
    again = nabuur("unblock", "spam.example", cwd=tmp_path, database=url)
    assert_one_line_error(again, "not blocked")
    assert_one_line_error(
        nabuur("relay", "subscribe", "relay.example", cwd=tmp_path, database=url), "URL"
    )


def test_worker_works_the_queues_and_stops_on_signal(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/node.sqlite3"
    init_node(tmp_path, url)
    # A follow of an actor nobody answers for: the worker tries, and tries again later.
    assert nabuur("follow", "http://127.0.0.1:9/actor", cwd=tmp_path, database=url).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("NABUUR_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "NABUUR_DATABASE_URL": url,
        "NABUUR_ALLOW_PRIVATE_ADDRESSES": "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        attempts = 0
        while time.monotonic() < deadline and not attempts:
            time.sleep(0.3)
            with sqlite3.connect(f"{tmp_path}/node.sqlite3") as conn:
                [(attempts,)] = conn.execute(
                    "SELECT attempts FROM events WHERE kind = 'RemoteFollowRequested'"
                ).fetchall()
        assert attempts >= 1
        second = nabuur("worker", cwd=tmp_path, database=url)
        assert second.returncode == 1 and "Traceback" not in second.stderr
        assert "another process already works the queues" in second.stderr.splitlines()[-1]
    finally:
        worker.send_signal(signal.SIGINT)
        output, _ = worker.communicate(timeout=15)
    assert worker.returncode == 0, output
    assert "Traceback" not in output


def test_invite_prints_a_sign_up_link(tmp_path: Path, empty_database_url: str) -> None:
    url = empty_database_url
    init_node(tmp_path, url)
    made = nabuur("invite", "--uses", "3", cwd=tmp_path, database=url, NABUUR_SIGNUPS="invitation")
    assert made.returncode == 0, made.stderr
    assert "usable 3 times" in made.stdout
    assert "/signup?invite=" in made.stdout
    assert_one_line_error(
        nabuur("invite", "--uses", "0", cwd=tmp_path, database=url), "uses", "between"
    )
    assert_one_line_error(nabuur("invite", "--days", "900", cwd=tmp_path, database=url), "days")
