"""The mail sender: claim due e-mails from the queue, send them over SMTP, record each outcome.

A batch of due PENDING `MailMessage` rows is claimed with a lease (`node.leases`; on
PostgreSQL `FOR UPDATE SKIP LOCKED`, so concurrent senders never take the same row) and
sent over one SMTP connection. Each outcome is written as soon as it is known, so a
message the server accepted is marked SENT before the next one goes: a sender killed
mid-batch can send at most one message twice.

- accepted: SENT;
- a 5xx for this message (recipient, sender, content): FAILED, never retried;
- a 4xx, a refused connection, a timeout: still PENDING, tried again later
  (`node.mail_retry`), or FAILED once that gives up.

A server that cannot be reached costs one connection attempt per batch: the whole batch
waits for its next attempt. A connection lost in the middle of a batch hands the
messages not yet tried back to the queue at once; the next batch reconnects.

One log line per batch, with the server's host and port: never its password, never a
message's body. `last_error` holds the server's answer, also without any password.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.generator
import email.policy
import email.utils
import io
import logging
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from node import mail_retry, mail_settings
from node.config import Settings
from node.leases import Leases, claimable, lease_length
from node.models import MailMessage
from node.states import MAIL_GRAPH, MailStatus
from node.timeutil import utcnow

if TYPE_CHECKING:
    import aiosmtplib

log = logging.getLogger("nabuur.mail")

BATCH = 50
SMTP_TIMEOUT = 15.0  # seconds for the connection and for each SMTP command
CLAIMED = MailStatus.PENDING  # a claimed message is pending until its outcome
# Headers the sender sets itself; a queued message cannot override them.
OWN_HEADERS = frozenset(
    {"from", "to", "subject", "date", "message-id", "mime-version", "content-type"}
)

_wakes: weakref.WeakSet[asyncio.Event] = weakref.WeakSet()


def register_wake(event: asyncio.Event) -> None:
    """Have `wake` set `event` (the mail worker's wake-up, in this process)."""
    _wakes.add(event)


def wake() -> None:
    """Tell this process's mail sender that mail was queued: it looks at once.

    Set before the caller's transaction commits: on SQLite the sender's claim waits for
    that commit; on PostgreSQL the commit's NOTIFY wakes it (again) as well."""
    for event in list(_wakes):
        event.set()


def mail_leases(settings: Settings) -> Leases:
    return Leases(MailMessage, lease_length(settings), Q(status=CLAIMED))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt at one message came to."""

    status: str  # "sent", "failed" (for good) or "retry"
    error: str = ""
    connection_lost: bool = False  # the rest of the batch cannot go over this connection


async def _claim(limit: int, leases: Leases, only: Sequence[int] | None) -> list[MailMessage]:
    now = utcnow()
    async with in_transaction():
        query = MailMessage.filter(claimable(now), status=CLAIMED, next_attempt_at__lte=now)
        if only is not None:
            query = query.filter(id__in=list(only))
        rows = (
            await query.order_by("next_attempt_at", "id")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        if rows:
            ids = [row.id for row in rows]
            await MailMessage.filter(id__in=ids).update(locked_until=leases.until())
    leases.hold(row.id for row in rows)
    return rows


class _SendPolicy(email.policy.EmailPolicy):
    """SMTP's policy (CRLF, lines folded at 78), except that an ASCII header value is
    never turned into RFC 2047 encoded words.

    Python folds a word longer than a line (a `List-Unsubscribe` URL, a long
    Message-ID) into `=?utf-8?q?...?=`, which mail clients do not decode there: one-click
    unsubscribe (RFC 8058) would not be offered. Such a header goes out on one line
    instead (RFC 5322 allows 998 characters); accented values are still encoded, in
    encoded words of at most 75 characters (RFC 2047)."""

    def fold_binary(self, name: str, value: str) -> bytes:
        folded = super().fold_binary(name, value)
        text = str(value)
        if b"=?" in folded and text.isascii() and "=?" not in text:
            # Called on the base class: this override would recurse.
            long_lines = self.clone(max_line_length=998)
            return email.policy.EmailPolicy.fold_binary(long_lines, name, value)
        return folded


SEND_POLICY = _SendPolicy(linesep="\r\n")


def flatten(message: EmailMessage, *, utf8: bool = False, eight_bit: bool = True) -> bytes:
    """The bytes of `message` as they go over SMTP (with SEND_POLICY, not the policy
    aiosmtplib's `send_message` would use)."""
    policy = SEND_POLICY.clone(utf8=utf8, cte_type="8bit" if eight_bit else "7bit")
    with io.BytesIO() as out:
        email.generator.BytesGenerator(out, policy=policy).flatten(message)
        return out.getvalue()


def build(settings: Settings, row: MailMessage) -> EmailMessage:
    """The message as sent: text then HTML alternatives, UTF-8, our headers first.

    ValueError when a header cannot be sent (a line break in it: header injection)."""
    message = EmailMessage(policy=SEND_POLICY)
    message["From"] = settings.mail_from or ""
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = email.utils.format_datetime(utcnow())
    message["Message-ID"] = row.message_id
    for name, value in (row.headers or {}).items():
        if name.lower() not in OWN_HEADERS:
            message[name] = str(value)
    message.set_content(row.text_body, charset="utf-8")
    if row.html_body:
        message.add_alternative(row.html_body, subtype="html", charset="utf-8")
    return message


def _clean(text: str, server: mail_settings.SmtpServer) -> str:
    """An error for a log line or `last_error`: one line, short, without the password."""
    text = " ".join(str(text).split())
    if server.password:
        text = text.replace(server.password, "***")
    return text[:250]


def _describe(exc: BaseException, server: mail_settings.SmtpServer) -> tuple[int | None, str]:
    """The SMTP reply code (None: no answer) and a short description of `exc`."""
    import aiosmtplib

    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return first.code, _clean(f"{first.code} {first.message}", server)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # Our settings are wrong, not the message: never a reason to fail it for good.
        return None, _clean(f"the SMTP server refused the login: {exc.code} {exc.message}", server)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code, _clean(f"{exc.code} {exc.message}", server)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return None, f"no answer from {server.host}:{server.port} within {SMTP_TIMEOUT:.0f} s"
    if isinstance(exc, aiosmtplib.SMTPConnectError | ConnectionRefusedError):
        return None, f"cannot connect to {server.host}:{server.port}"
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return None, f"{server.host}:{server.port} closed the connection"
    return None, _clean(f"{type(exc).__name__}: {exc}", server)


async def connect(server: mail_settings.SmtpServer) -> aiosmtplib.SMTP:
    """An open, logged-in SMTP connection; raises aiosmtplib's errors (or OSError)."""
    import aiosmtplib  # only a node that sends e-mail loads it

    smtp = aiosmtplib.SMTP(
        hostname=server.host,
        port=server.port,
        use_tls=server.tls == "tls",
        # smtp:// is plain on purpose (a relay on this machine): no opportunistic TLS,
        # which a local relay's self-signed certificate would make fail.
        start_tls=server.tls == "starttls",
        timeout=SMTP_TIMEOUT,
    )
    await smtp.connect()
    try:
        if server.username:
            await smtp.login(server.username, server.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


async def _deliver(smtp: aiosmtplib.SMTP, message: EmailMessage, sender: str, to: str) -> None:
    """What aiosmtplib's `send_message` does, but flattened with SEND_POLICY."""
    import aiosmtplib

    if smtp.is_ehlo_or_helo_needed:
        try:
            await smtp.ehlo()
        except aiosmtplib.SMTPHeloError:
            await smtp.helo()
    options: list[str] = []
    utf8 = not (sender + to).isascii()
    if utf8:
        if not smtp.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported(
                "an address with non-ASCII characters, but the server does not offer SMTPUTF8"
            )
        options.append("SMTPUTF8")
    eight_bit = smtp.supports_extension("8bitmime")
    if eight_bit:
        options.append("BODY=8BITMIME")
    data = flatten(message, utf8=utf8, eight_bit=eight_bit)
    await smtp.sendmail(sender, [to], data, mail_options=options)


async def _send(
    smtp: aiosmtplib.SMTP, settings: Settings, row: MailMessage, server: mail_settings.SmtpServer
) -> Outcome:
    import aiosmtplib

    try:
        message = build(settings, row)
    except ValueError as exc:
        return Outcome("failed", _clean(f"cannot be sent: {exc}", server))
    sender = email.utils.parseaddr(settings.mail_from or "")[1]
    try:
        await _deliver(smtp, message, sender, row.to_address)
    except ValueError as exc:  # an address aiosmtplib refuses to put on the wire
        return Outcome("failed", _clean(f"invalid address: {exc}", server))
    except aiosmtplib.SMTPNotSupported as exc:  # e.g. an address that needs SMTPUTF8
        return Outcome("failed", _clean(str(exc), server))
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        code, error = _describe(exc, server)
        if mail_retry.is_permanent(code):
            return Outcome("failed", error)
        # A reply to this message leaves the connection usable, except 421 (closing).
        answered = isinstance(
            exc, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused
        )
        lost = not answered or code == 421
        return Outcome("retry", error, connection_lost=lost)
    return Outcome("sent")


async def _record(row: MailMessage, outcome: Outcome, leases: Leases) -> str:
    """Write the outcome of one attempt at once; returns the status it came to."""
    now = utcnow()
    attempts = row.attempts + 1
    changes: dict[str, object] = {"attempts": attempts, "locked_until": None}
    if outcome.status == "sent":
        changes |= {"status": MailStatus.SENT, "sent_at": now, "last_error": ""}
    elif outcome.status == "failed":
        changes |= {"status": MailStatus.FAILED, "last_error": outcome.error}
    else:
        when = mail_retry.next_attempt(attempts, row.created_at, now)
        if when is None:
            error = f"gave up after {attempts} attempts: {outcome.error}"
            changes |= {"status": MailStatus.FAILED, "last_error": error[:300]}
        else:
            changes |= {"next_attempt_at": when, "last_error": outcome.error}
    status = changes.get("status", CLAIMED)
    if status != CLAIMED:
        MAIL_GRAPH.check(CLAIMED, str(status))
    # A claimed row was pending; one cancelled meanwhile (address changed) stays so.
    await MailMessage.filter(id=row.id, status=CLAIMED).update(**changes)
    leases.drop([row.id])
    return "retry" if status == CLAIMED else str(status)


async def send_once(
    settings: Settings,
    limit: int = BATCH,
    *,
    leases: Leases | None = None,
    stopping: asyncio.Event | None = None,
    only: Sequence[int] | None = None,
) -> int:
    """Claim and send one batch of due e-mails (of `only` these ids, if given); returns
    how many were claimed. Nothing when this node sends no e-mail."""
    if not settings.mail_enabled or settings.smtp_url is None:
        return 0
    leases = leases if leases is not None else mail_leases(settings)
    rows = await _claim(limit, leases, only)
    if not rows:
        return 0
    server = mail_settings.parse(settings.smtp_url)
    counts: Counter[str] = Counter()
    problem = ""
    try:
        problem = await _send_batch(settings, server, rows, leases, stopping, counts)
    finally:
        # Rows not tried (stopping, a lost connection) go back to the queue at once.
        await leases.release(row.id for row in rows)
    where = f"{server.host}:{server.port}"
    if counts["retry"] or counts[MailStatus.FAILED]:
        log.warning(
            "mail via %s: %d sent, %d failed, %d to retry, %d not tried (%s)",
            where,
            counts[MailStatus.SENT],
            counts[MailStatus.FAILED],
            counts["retry"],
            len(rows) - sum(counts.values()),
            problem,
        )
    else:
        log.info("mail via %s: %d sent", where, counts[MailStatus.SENT])
    return len(rows)


async def _send_batch(
    settings: Settings,
    server: mail_settings.SmtpServer,
    rows: list[MailMessage],
    leases: Leases,
    stopping: asyncio.Event | None,
    counts: Counter[str],
) -> str:
    """Send `rows` over one connection, counting outcomes; returns the last problem."""
    import aiosmtplib

    try:
        smtp = await connect(server)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        # One attempt for the whole batch: every message waits for its next try.
        _, error = _describe(exc, server)
        for row in rows:
            counts[await _record(row, Outcome("retry", error), leases)] += 1
        return error
    problem = ""
    try:
        for row in rows:
            if stopping is not None and stopping.is_set():
                break
            outcome = await _send(smtp, settings, row, server)
            counts[await _record(row, outcome, leases)] += 1
            problem = outcome.error or problem
            if outcome.connection_lost:
                break
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(smtp.quit(), SMTP_TIMEOUT)
        smtp.close()
    return problem
