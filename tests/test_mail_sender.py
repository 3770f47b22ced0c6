"""The mail sender against a real SMTP server (aiosmtpd), on SQLite and PostgreSQL.

A queued message arrives whole (text and HTML, our headers, UTF-8); a server that is
down loses nothing and costs one connection per batch, and once back each message
arrives exactly once; a 5xx fails a message for good, a 4xx retries it; concurrent
senders never send a message twice; a node without e-mail settings starts and queues
nothing; the running node wakes its sender at once; passwords never reach logs or
errors; finished mail is pruned; `nabuur send-test-mail` tells the admin what happened.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node import db, mail_retry, queue_signals
from node.app import create_app
from node.config import Settings
from node.mail_sender import send_once
from node.models import MailKind, MailMessage
from node.queue_signals import Listener
from node.services import housekeeping, mail_queue
from node.services.node_setup import initialise_node
from node.states import MailStatus
from node.timeutil import utcnow
from tests.conftest import _truncate_postgres
from tests.smtp_server import MAIL_FROM, SmtpTestServer, mail_settings
from tests.test_cli import assert_one_line_error, init_node, nabuur

SUBJECT = "Één boodschap voor café Ça va — merci"
PASSWORD = "s3cr3t-Pässwörd"


async def queue(settings: Settings, to: str = "anna@example.org", **options: object) -> MailMessage:
    fields: dict[str, object] = {
        "kind": MailKind.NOTIFY,
        "language": "nl",
        "subject": SUBJECT,
        "text": "Dag Anna,\n\nJan vraagt hulp bij de boodschappen. Één keer per week.\n",
        "html": "<p>Dag Anna,</p><p>Jan vraagt hulp bij de <b>boodschappen</b>.</p>",
    }
    row = await mail_queue.enqueue(settings, to=to, **(fields | options))  # type: ignore[arg-type]
    assert row is not None
    return row


async def make_due() -> None:
    await MailMessage.filter(status=MailStatus.PENDING).update(next_attempt_at=utcnow())


async def statuses() -> list[str]:
    return [row.status for row in await MailMessage.all().order_by("id")]


@pytest.fixture
def settings(smtp_server: SmtpTestServer, database: str) -> Settings:
    return mail_settings(Settings(database_url=database), smtp_server)


# --- sending ------------------------------------------------------------------------------


async def test_a_queued_message_arrives_whole(settings: Settings, smtp_server) -> None:
    headers = {
        "List-Unsubscribe": "<https://nabuur.test/email/unsubscribe/abc>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Subject": "not this one",  # the sender's own headers cannot be overridden
    }
    row = await queue(settings, headers=headers)
    assert await send_once(settings) == 1
    [message] = await smtp_server.wait_for(1)
    assert message["Subject"] == SUBJECT
    assert message["From"] == MAIL_FROM
    assert message["To"] == "anna@example.org"
    assert message["Message-ID"] == row.message_id
    assert message["Date"] is not None
    assert message["List-Unsubscribe"] == headers["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text, html = list(message.iter_parts())
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert text.get_content_charset() == "utf-8"
    assert "Één keer per week." in text.get_content()
    assert "<b>boodschappen</b>" in html.get_content()
    assert smtp_server.envelopes == [("buren@nabuur.test", ["anna@example.org"])]
    stored = await MailMessage.get(id=row.id)
    assert (stored.status, stored.attempts, stored.locked_until) == (MailStatus.SENT, 1, None)
    assert stored.sent_at is not None and stored.last_error == ""
    assert await send_once(settings) == 0  # nothing is sent twice
    assert len(smtp_server.messages) == 1


async def test_long_ascii_headers_go_out_plain_and_accents_encoded(
    settings: Settings, smtp_server
) -> None:
    # A mail client offers one-click unsubscribe (RFC 8058) only when it can read the URL:
    # RFC 2047 encoded words (=?utf-8?q?=3Chttps...?=) hide it. Read the bytes as sent.
    url = "https://nabuur.test/email/unsubscribe/" + "A1b2-C3d4_" * 12
    assert len(url) >= 120
    subject = (SUBJECT + " — ") * 4  # longer than a line, accented
    headers = {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    row = await queue(settings, subject=subject, headers=headers)
    assert await send_once(settings) == 1
    [message] = await smtp_server.wait_for(1)
    raw = smtp_server.raw[0]
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n")
    lines = head.split(b"\n")
    assert f"List-Unsubscribe: <{url}>".encode() in lines
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in lines
    assert f"Message-ID: {row.message_id}".encode() in lines
    assert b"=?" not in b"\n".join(
        line for line in lines if not line.startswith((b"Subject:", b" ", b"\t"))
    )
    # The accented subject is still encoded, in encoded words RFC 2047 allows (≤ 75).
    assert head.isascii() and all(len(line) <= 998 for line in lines)
    words = re.findall(rb"=\?[^?]+\?[bqBQ]\?[^?]*\?=", head)
    assert words and all(len(word) <= 75 for word in words)
    assert message["Subject"] == subject
    assert message["List-Unsubscribe"] == f"<{url}>"


async def test_a_header_with_a_line_break_fails_the_message_not_the_batch(
    settings: Settings, smtp_server
) -> None:
    bad = await queue(settings, headers={"X-Evil": "a\r\nBcc: victim@example.org"})
    good = await queue(settings, to="bert@example.org")
    assert await send_once(settings) == 2
    assert [m["To"] for m in await smtp_server.wait_for(1)] == ["bert@example.org"]
    assert (await MailMessage.get(id=bad.id)).status == MailStatus.FAILED
    assert (await MailMessage.get(id=good.id)).status == MailStatus.SENT


async def test_a_server_that_is_down_loses_nothing_and_costs_one_connection_per_batch(
    settings: Settings, smtp_server
) -> None:
    rows = [await queue(settings, to=f"buur{i}@example.org") for i in range(5)]
    connections = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    smtp_server.stop()
    broken = await asyncio.start_server(hang_up, "127.0.0.1", smtp_server.port)
    try:
        assert await send_once(settings) == 5
    finally:
        broken.close()
        await broken.wait_closed()
    assert connections == 1
    after = utcnow()
    for row in await MailMessage.all():
        assert row.status == MailStatus.PENDING and row.attempts == 1
        assert row.next_attempt_at > after + timedelta(seconds=40)
        assert row.last_error and row.locked_until is None
    assert await send_once(settings) == 0  # not due yet: no new connection

    await make_due()  # now nobody listens at all: connection refused
    assert await send_once(settings) == 5
    assert await statuses() == [MailStatus.PENDING] * 5
    assert {r.attempts for r in await MailMessage.all()} == {2}

    smtp_server.start()
    await make_due()
    assert await send_once(settings) == 5
    await smtp_server.wait_for(5)
    assert await send_once(settings) == 0
    received = smtp_server.by_message_id()
    assert sorted(received) == sorted(row.message_id for row in rows)
    assert all(len(copies) == 1 for copies in received.values())
    assert await statuses() == [MailStatus.SENT] * 5


async def test_a_permanent_refusal_fails_the_message_without_retry(
    settings: Settings, smtp_server
) -> None:
    smtp_server.reject("gone@example.org", 550)
    gone = await queue(settings, to="gone@example.org")
    kept = await queue(settings, to="anna@example.org")
    assert await send_once(settings) == 2
    assert [m["To"] for m in await smtp_server.wait_for(1)] == ["anna@example.org"]
    failed = await MailMessage.get(id=gone.id)
    assert failed.status == MailStatus.FAILED and failed.last_error.startswith("550")
    assert (await MailMessage.get(id=kept.id)).status == MailStatus.SENT
    smtp_server.accept("gone@example.org")
    await MailMessage.filter(id=gone.id).update(next_attempt_at=utcnow())
    assert await send_once(settings) == 0  # failed is final
    assert len(smtp_server.messages) == 1


async def test_a_temporary_refusal_is_retried_later(settings: Settings, smtp_server) -> None:
    smtp_server.reject("busy@example.org", 451)
    row = await queue(settings, to="busy@example.org")
    before = utcnow()
    assert await send_once(settings) == 1
    waiting = await MailMessage.get(id=row.id)
    assert waiting.status == MailStatus.PENDING and waiting.attempts == 1
    assert waiting.last_error.startswith("451")
    assert (
        before + timedelta(seconds=47) < waiting.next_attempt_at < utcnow() + timedelta(seconds=73)
    )
    assert await send_once(settings) == 0
    smtp_server.accept("busy@example.org")
    await make_due()
    assert await send_once(settings) == 1
    [message] = await smtp_server.wait_for(1)
    assert message["Message-ID"] == row.message_id
    sent = await MailMessage.get(id=row.id)
    assert (sent.status, sent.attempts) == (MailStatus.SENT, 2)


async def test_temporary_failures_give_up_after_two_days(settings: Settings, smtp_server) -> None:
    smtp_server.reject("busy@example.org", 451)
    row = await queue(settings, to="busy@example.org")
    await MailMessage.filter(id=row.id).update(created_at=utcnow() - timedelta(days=2, hours=1))
    assert await send_once(settings) == 1
    failed = await MailMessage.get(id=row.id)
    assert failed.status == MailStatus.FAILED and "gave up after 1 attempts" in failed.last_error


async def test_concurrent_senders_never_send_a_message_twice(
    settings: Settings, smtp_server
) -> None:
    rows = [await queue(settings, to=f"buur{i}@example.org") for i in range(40)]

    async def sender() -> None:
        while await send_once(settings, limit=3):
            pass

    await asyncio.wait_for(asyncio.gather(*(sender() for _ in range(4))), 60)
    await smtp_server.wait_for(40)
    received = smtp_server.by_message_id()
    assert sorted(received) == sorted(row.message_id for row in rows)
    assert all(len(copies) == 1 for copies in received.values())
    assert await statuses() == [MailStatus.SENT] * 40
    assert {row.attempts for row in await MailMessage.all()} == {1}


async def test_starttls_is_required_not_hoped_for(settings: Settings, smtp_server) -> None:
    # The test server offers no STARTTLS: nothing may go over the plain connection.
    starttls = replace(settings, smtp_url=f"smtp+starttls://127.0.0.1:{smtp_server.port}")
    row = await queue(starttls)
    assert await send_once(starttls) == 1
    waiting = await MailMessage.get(id=row.id)
    assert waiting.status == MailStatus.PENDING and "STARTTLS" in waiting.last_error
    assert smtp_server.messages == []


async def test_cancelled_while_queued_is_not_sent(settings: Settings, smtp_server) -> None:
    row = await queue(settings)
    await MailMessage.filter(id=row.id).update(status=MailStatus.CANCELLED)
    assert await send_once(settings) == 0
    await asyncio.sleep(0.1)
    assert smtp_server.messages == []


# --- no e-mail settings -------------------------------------------------------------------


async def test_without_mail_settings_nothing_is_queued_or_sent(database: str, smtp_server) -> None:
    plain = Settings(database_url=database)
    assert not plain.mail_enabled
    assert (
        await mail_queue.enqueue(
            plain,
            to="anna@example.org",
            kind=MailKind.NOTIFY,
            language="nl",
            subject="s",
            text="t",
            html="h",
        )
        is None
    )
    assert await MailMessage.all().count() == 0
    assert await send_once(plain) == 0
    half = replace(plain, mail_from=MAIL_FROM)  # a sender without a server is no e-mail
    assert not half.mail_enabled and await send_once(half) == 0


# --- the running node ---------------------------------------------------------------------


async def _initialised(database_url: str) -> None:
    await db.open_database(database_url)
    try:
        if not db.is_sqlite(database_url):
            await _truncate_postgres()
        await initialise_node("Testnode", "els", "a long enough password")
    finally:
        await db.close_database()


async def test_the_node_wakes_its_sender_when_mail_is_queued(
    database_url: str, smtp_server
) -> None:
    await _initialised(database_url)
    settings = mail_settings(Settings(database_url=database_url), smtp_server)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await asyncio.sleep(0.3)  # the worker's first look finds nothing and sleeps
        started = time.monotonic()
        row = await queue(settings)
        [message] = await smtp_server.wait_for(1, timeout=10)
        # Woken, not polled: well under the poll interval.
        assert time.monotonic() - started < 2.5
        assert message["Message-ID"] == row.message_id
    assert len(smtp_server.messages) == 1


async def test_a_node_without_mail_settings_starts_and_queues_nothing(
    database_url: str, smtp_server
) -> None:
    await _initialised(database_url)
    settings = Settings(database_url=database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert (
            await mail_queue.enqueue(
                settings,
                to="a@example.org",
                kind=MailKind.NOTIFY,
                language="en",
                subject="s",
                text="t",
                html="h",
            )
            is None
        )
        assert await MailMessage.all().count() == 0


async def test_queued_mail_notifies_other_processes_at_the_commit(
    settings: Settings, database: str
) -> None:
    if db.is_sqlite(database):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    from tortoise.transactions import in_transaction

    woken = asyncio.Event()
    listener = Listener(database, {queue_signals.MAIL: woken})
    listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        await asyncio.sleep(0.1)
        woken.clear()
        async with in_transaction():
            await queue(settings)
            await asyncio.sleep(0.2)
            assert not woken.is_set()  # not before the commit
        await asyncio.wait_for(woken.wait(), 5)
    finally:
        await listener.stop()


# --- secrets ------------------------------------------------------------------------------


async def test_the_password_never_reaches_logs_or_errors(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = SmtpTestServer(users={"buren": PASSWORD})
    server.start()
    try:
        good = replace(
            Settings(database_url=database),
            smtp_url=server.url_with_login("buren", PASSWORD),
            mail_from=MAIL_FROM,
        )
        wrong = replace(good, smtp_url=server.url_with_login("buren", PASSWORD + "x"))
        with caplog.at_level(logging.DEBUG):
            await queue(good)
            assert await send_once(good) == 1
            assert server.logins == ["buren"]
            await server.wait_for(1)
            refused = await queue(wrong, to="bert@example.org")
            assert await send_once(wrong) == 1
            row = await MailMessage.get(id=refused.id)
            assert row.status == MailStatus.PENDING and "refused the login" in row.last_error
            server.stop()
            await make_due()
            assert await send_once(wrong) == 1
        assert "mail via 127.0.0.1" in caplog.text  # the batches were logged
        for secret in (PASSWORD, PASSWORD + "x", "s3cr3t"):
            assert secret not in caplog.text
            assert all(secret not in r.last_error for r in await MailMessage.all())
        assert PASSWORD not in repr(good)
    finally:
        server.stop()


# --- housekeeping -------------------------------------------------------------------------


async def test_finished_mail_is_pruned_after_the_retention(settings: Settings) -> None:
    old = utcnow() - timedelta(days=20)
    kept, pruned = [], []
    for status in MailStatus:
        young = await queue(settings, to=f"young-{status}@example.org")
        aged = await queue(settings, to=f"old-{status}@example.org")
        await MailMessage.filter(id__in=[young.id, aged.id]).update(status=status)
        await MailMessage.filter(id=aged.id).update(created_at=old)
        kept.append(young.id)
        (kept if status == MailStatus.PENDING else pruned).append(aged.id)
    assert await housekeeping.prune(settings) == len(pruned)
    assert sorted(await MailMessage.all().values_list("id", flat=True)) == sorted(kept)


# --- the retry policy ---------------------------------------------------------------------


@given(attempts=st.integers(1, 100), seed=st.integers(0, 2**32))
def test_backoff_grows_with_jitter_and_a_cap(attempts: int, seed: int) -> None:
    delay = mail_retry.backoff(attempts, random.Random(seed))
    base = min(mail_retry.FIRST_DELAY * 2 ** min(attempts - 1, 20), mail_retry.MAX_DELAY)
    assert base * (1 - mail_retry.JITTER) <= delay <= min(base * 1.2, mail_retry.MAX_DELAY)
    assert delay <= mail_retry.MAX_DELAY


def test_the_policy_gives_up_after_enough_attempts_or_two_days() -> None:
    now = utcnow()
    assert mail_retry.next_attempt(1, now, now) is not None
    assert mail_retry.next_attempt(mail_retry.MAX_ATTEMPTS, now, now) is None
    assert mail_retry.next_attempt(3, now - timedelta(days=2), now) is None
    assert [mail_retry.is_permanent(c) for c in (550, 554, 451, 421, None)] == [
        True,
        True,
        False,
        False,
        False,
    ]


# --- nabuur send-test-mail ----------------------------------------------------------------


def test_send_test_mail_sends_now_or_says_why_not(tmp_path: Path, smtp_server) -> None:
    url = f"sqlite://{tmp_path}/node.sqlite3"
    init_node(tmp_path, url)
    env = {"NABUUR_SMTP_URL": smtp_server.url, "NABUUR_MAIL_FROM": MAIL_FROM}
    result = nabuur("send-test-mail", "Els@Example.org", cwd=tmp_path, database=url, **env)
    assert result.returncode == 0, result.stderr
    assert "Sent a test message to els@example.org via 127.0.0.1" in result.stdout
    [message] = smtp_server.messages
    assert message["To"] == "els@example.org" and "Test message from" in message["Subject"]

    smtp_server.reject("gone@example.org", 550)
    refused = nabuur("send-test-mail", "gone@example.org", cwd=tmp_path, database=url, **env)
    assert_one_line_error(refused, "refused", "550")

    bad = nabuur("send-test-mail", "not an address", cwd=tmp_path, database=url, **env)
    assert_one_line_error(bad, "not an e-mail address")

    # The same node without settings, then with a password and a server that is down.
    missing = nabuur("send-test-mail", "els@example.org", cwd=tmp_path, database=url)
    assert_one_line_error(missing, "not configured", "NABUUR_SMTP_URL", "NABUUR_MAIL_FROM")
    smtp_server.stop()
    env["NABUUR_SMTP_URL"] = smtp_server.url_with_login("buren", PASSWORD)
    down = nabuur("send-test-mail", "els@example.org", cwd=tmp_path, database=url, **env)
    assert_one_line_error(down, "could not send", "cannot connect to 127.0.0.1")
    assert PASSWORD not in down.stderr + down.stdout
    assert "s3cr3t" not in down.stderr + down.stdout


# --- metrics ------------------------------------------------------------------------------


async def test_metrics_count_mail_by_status(settings: Settings, smtp_server) -> None:
    from node import queue_stats

    smtp_server.reject("gone@example.org", 550)
    await queue(settings)
    await queue(settings, to="gone@example.org")
    await send_once(settings)
    await queue(settings, to="later@example.org")
    families = {name: values for name, _, _, values in (await queue_stats.collect()).families()}
    assert families["nabuur_mail_messages"] == {
        "pending": 1,
        "sent": 1,
        "failed": 1,
        "cancelled": 0,
    }
