"""`nabuur check`: a healthy node passes; each kind of trouble is named with what to do.

The troubles are made for real: migrations rolled back, queue rows aged in the database,
keys removed from actor rows, a database server that is not there.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from node import db, keys, node_check
from node.backup_tables import code_migrations
from node.config import Settings, load_settings
from node.models import (
    Delivery,
    DeliveryStatus,
    Event,
    InboxItem,
    InboxStatus,
    MailKind,
    MailMessage,
    Neighbourhood,
    NodeSettings,
    Organisation,
    OutboxActivity,
)
from node.timeutil import utcnow
from tests import factories
from tests.test_cli import assert_one_line_error, nabuur

pytest_plugins = ["tests.backup_fixtures"]


def _settings(url: str, **env: str) -> Settings:
    return load_settings({"NABUUR_DATABASE_URL": url, **env})


@pytest.fixture
async def node_url(database: str) -> AsyncIterator[str]:
    """A healthy initialised node with a neighbourhood and an organisation; the ORM is
    closed again, so that the check opens the database as the command does."""
    await factories.node_row()
    await factories.neighbourhood("jette-centre")
    await factories.organisation("tussen-buren")
    await db.close_database()
    yield database


async def test_a_healthy_node_passes(tmp_path: Path, node_url: str) -> None:
    result = await asyncio.to_thread(nabuur, "check", cwd=tmp_path, database=node_url)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "No problem found."
    assert not [line for line in lines if line.startswith("problem:")]
    assert any(line.startswith("ok: migrations: all") for line in lines)
    clock = next(line for line in lines if line.startswith("ok: clock"))
    assert ("not applicable" in clock) == db.is_sqlite(node_url)


def test_migrations_behind_are_counted_with_the_command(
    tmp_path: Path, new_database: Callable[..., str]
) -> None:
    url = new_database()
    asyncio.run(db.migrate(url, target=code_migrations()[-2]))  # one rolled back
    result = nabuur("check", cwd=tmp_path, database=url)
    assert result.returncode == 1
    assert "problem: the database is 1 migration(s) behind: run `nabuur migrate`" in result.stdout


def test_a_node_not_initialised_and_no_database_at_all(
    tmp_path: Path, new_database: Callable[..., str]
) -> None:
    result = nabuur("check", cwd=tmp_path, database=new_database())
    assert result.returncode == 1
    assert "problem: this node is not initialised: run `nabuur init`" in result.stdout
    missing = nabuur("check", cwd=tmp_path, database=f"sqlite://{tmp_path / 'none.sqlite3'}")
    assert missing.returncode == 1 and "there is no database at" in missing.stdout
    assert not (tmp_path / "none.sqlite3").exists()


def test_an_unreachable_database_server(tmp_path: Path) -> None:
    url = "postgres://nabuur:hunter2-secret@127.0.0.1:1/nabuur"  # nothing listens on port 1
    result = nabuur("check", cwd=tmp_path, database=url)
    assert result.returncode == 1
    assert "problem: cannot reach the database" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr and "Traceback" not in result.stderr


async def _age(model: type, ids: list[int], **values: object) -> None:
    await model.filter(id__in=ids).update(**values)


async def _stuck_rows(minutes: int) -> None:
    """An inbox item, a delivery and an event due `minutes` ago, one lease long expired."""
    old = utcnow() - timedelta(minutes=minutes)
    item = await InboxItem.create(
        activity_id=f"https://peer.example/a/{uuid.uuid4()}",
        activity_type="Create",
        actor_uri="https://peer.example/users/alice",
        payload={},
    )
    await _age(InboxItem, [item.id], received_at=old, locked_until=old)
    key = uuid.uuid4()
    activity = await OutboxActivity.create(
        id=key,
        activity_uri=f"https://nabuur.test/activities/{key}",
        activity_type="Create",
        actor_kind="instance",
        payload={},
    )
    await Delivery.create(
        activity=activity,
        inbox="https://peer.example/inbox",
        host="peer.example",
        next_attempt_at=old,
    )
    event = await Event.create(kind="PostPublished", payload={})
    await _age(Event, [event.id], created_at=old)
    await MailMessage.create(
        to_address="els@example.be",
        kind=MailKind.NOTIFY,
        language="nl",
        subject="s",
        text_body="t",
        html_body="h",
        message_id=f"<{key}@nabuur.test>",
        next_attempt_at=old,
    )


async def test_stuck_queues_are_problems(node_url: str) -> None:
    await db.open_database(node_url)
    try:
        await _stuck_rows(minutes=45)
    finally:
        await db.close_database()
    report = await node_check.check(_settings(node_url))
    stuck = [p for p in report.problems if "stuck" in p]
    assert [p.split(":")[0] for p in stuck] == [
        "received activities",
        "deliveries",
        "e-mails",
        "events to federate",
    ]
    assert "1 of them claimed by a worker that stopped" in stuck[0]
    assert all("45 min" in p and "nabuur worker" in p for p in stuck)


async def test_a_queue_that_moves_but_lags_is_a_note(node_url: str) -> None:
    await db.open_database(node_url)
    try:
        await _stuck_rows(minutes=30)
        await InboxItem.create(
            activity_id="https://peer.example/a/done",
            activity_type="Like",
            actor_uri="https://peer.example/users/alice",
            payload={},
            status=InboxStatus.PROCESSED,
            processed_at=utcnow() - timedelta(minutes=1),
        )
        # Young rows are no finding at all, whatever else the queue holds.
        await Delivery.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=utcnow())
        await Event.all().update(created_at=utcnow())
        await MailMessage.all().update(next_attempt_at=utcnow())
    finally:
        await db.close_database()
    report = await node_check.check(_settings(node_url))
    assert not [p for p in report.problems if "queue" in p or "stuck" in p]
    assert [n.split(":")[0] for n in report.notes] == ["received activities"]
    assert "the workers are behind" in report.notes[0]


async def test_missing_and_broken_keys_then_make_keys(tmp_path: Path, node_url: str) -> None:
    other_private, _ = keys.generate_key_pair_sync()
    await db.open_database(node_url)
    try:
        await Neighbourhood.filter(slug="jette-centre").update(private_key_pem=None)
        await NodeSettings.filter(id=1).update(public_key_pem=None, private_key_pem=None)
        await Organisation.filter(slug="tussen-buren").update(private_key_pem=other_private)
        await factories.account("greet")  # no keys yet: normal
    finally:
        await db.close_database()
    result = await asyncio.to_thread(nabuur, "check", cwd=tmp_path, database=node_url)
    assert result.returncode == 1
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    assert problems == [
        "problem: the node's instance actor has no key pair: restore it from a backup if it "
        "had keys before, else run `nabuur check --make-keys`",
        "problem: neighbourhood 'jette-centre' has no key pair: restore it from a backup if "
        "it had keys before, else run `nabuur check --make-keys`",
        "problem: organisation 'tussen-buren' has a public key that is not its private "
        "key's: restore its keys from a backup",
    ]
    fixed = await asyncio.to_thread(nabuur, "check", "--make-keys", cwd=tmp_path, database=node_url)
    assert "note: made a new key pair for neighbourhood 'jette-centre'" in fixed.stdout
    assert "note: made a new key pair for the node's instance actor" in fixed.stdout
    assert fixed.returncode == 1  # the mismatched pair is left for a person to judge
    assert "greet" not in fixed.stdout  # residents get theirs when they first federate


async def test_clock_skew_against_postgresql(
    monkeypatch: pytest.MonkeyPatch, node_url: str
) -> None:
    if db.is_sqlite(node_url):
        report = await node_check.check(_settings(node_url))
        assert any("not applicable" in line for line in report.fine)
        return
    real = node_check.utcnow
    monkeypatch.setattr(node_check, "utcnow", lambda: real() + timedelta(minutes=3))
    report = await node_check.check(_settings(node_url))
    [skew] = [p for p in report.problems if "clock" in p]
    assert skew.startswith("this machine's clock is 180 s ahead of the database server's")


@pytest.mark.parametrize(
    ("env", "words"),
    [
        (
            {"NABUUR_TRUSTED_PROXIES": "10.0.0.1,0.0.0.0/0"},
            "NABUUR_TRUSTED_PROXIES trusts 0.0.0.0/0",
        ),
        ({"NABUUR_TRUSTED_PROXIES": "::/0"}, "trusts ::/0"),
        ({"NABUUR_BASE_URL": "http://buren.example.be"}, "is plain http"),
        ({"NABUUR_HOST": "0.0.0.0"}, "NABUUR_BASE_URL is not set while the node listens"),  # noqa: S104
        ({"NABUUR_HOST": "192.0.2.10"}, "http://192.0.2.10:8000 is plain http"),
        (
            {"NABUUR_BASE_URL": "https://buren.example.be", "NABUUR_ALLOW_PRIVATE_ADDRESSES": "1"},
            "NABUUR_ALLOW_PRIVATE_ADDRESSES is on",
        ),
        ({"NABUUR_BASE_URL": "https://buren.example.be"}, None),
        (
            {"NABUUR_SMTP_URL": "smtp://mail.example.be", "NABUUR_MAIL_FROM": "b@example.be"},
            "talks to mail.example.be without TLS",
        ),
        ({"NABUUR_SMTP_URL": "smtps://u:p@mail.example.be"}, "NABUUR_MAIL_FROM is not set"),
        ({"NABUUR_SIGNUP_REQUIRES_EMAIL": "1"}, "addresses could never be confirmed"),
        (
            {
                "NABUUR_BASE_URL": "https://buren.example.be",
                "NABUUR_SMTP_URL": "smtp://127.0.0.1:25",
                "NABUUR_MAIL_FROM": "Buren <b@example.be>",
            },
            None,
        ),
        ({"NABUUR_BASE_URL": "http://localhost:8123", "NABUUR_ALLOW_PRIVATE_ADDRESSES": "1"}, None),
    ],
)
def test_risky_settings(env: dict[str, str], words: str | None) -> None:
    report = node_check.Report()
    node_check.check_settings(_settings("sqlite://x.sqlite3", **env), report)
    if words is None:
        assert report.problems == [] and report.fine
    else:
        assert any(words in problem for problem in report.problems), report.problems


def test_every_command_line_error_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(nabuur("check", "--frobnicate", cwd=tmp_path), "unrecognized")
