"""`nabuur send-test-mail ADDRESS`: check the e-mail settings by sending one message now.

The message goes through the queue like any other (so it is the real path: the same
sender, headers and connection settings), but is sent at once by this command, which
waits for the outcome and prints it: sent, or the SMTP server's answer (never the
password). A test message that could not be sent is cancelled rather than retried
later: the admin fixes the settings and runs the command again.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time

from node import db, mail_sender, mail_settings, validation
from node.cli_common import CLIError, require_ready, run
from node.config import Settings
from node.errors import InvalidInput
from node.leases import claimable
from node.models import MailKind, MailMessage
from node.services import mail_queue
from node.states import MAIL_GRAPH, MailStatus
from node.timeutil import utcnow

NOT_CONFIGURED = (
    "e-mail is not configured: set NABUUR_SMTP_URL (smtp://HOST, smtp+starttls://USER:PASS@HOST"
    " or smtps://USER:PASS@HOST) and NABUUR_MAIL_FROM (the sender's address)"
)
# A worker of another process may have taken the message first: wait for its outcome.
WAIT_SECONDS = 3 * mail_sender.SMTP_TIMEOUT


def _message(settings: Settings) -> tuple[str, str, str]:
    subject = f"Test message from {settings.name}"
    text = (
        f"This is a test message from the Nabuur node {settings.name} ({settings.public_url}),"
        " sent with `nabuur send-test-mail`.\n\nIf you can read it, the node can send e-mail.\n"
    )
    html = (
        "<p>This is a test message from the Nabuur node "
        f'<a href="{settings.public_url}">{settings.name}</a>, sent with '
        "<code>nabuur send-test-mail</code>.</p><p>If you can read it, the node can send "
        "e-mail.</p>"
    )
    return subject, text, html


async def _outcome(settings: Settings, row_id: int) -> MailMessage:
    """The message once it was tried: by us, or by a worker that claimed it first."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        await mail_sender.send_once(settings, only=[row_id])
        row = await MailMessage.get(id=row_id)
        if row.status != MailStatus.PENDING or row.attempts > 0:
            return row
        if time.monotonic() > deadline:
            return row
        await asyncio.sleep(0.5)


async def _send_test(settings: Settings, address: str) -> str:
    await db.open_database(settings.database_url)
    try:
        await require_ready(settings)
        subject, text, html = _message(settings)
        row = await mail_queue.enqueue(
            settings,
            to=address,
            kind=MailKind.NOTIFY,
            language=settings.languages[0],
            subject=subject,
            text=text,
            html=html,
        )
        if row is None:
            raise CLIError(NOT_CONFIGURED)
        row = await _outcome(settings, row.id)
        if row.status == MailStatus.SENT:
            return row.message_id
        if row.status == MailStatus.PENDING:
            # Not retried later: the admin runs this again once the settings are fixed.
            MAIL_GRAPH.check(MailStatus.PENDING, MailStatus.CANCELLED)
            await MailMessage.filter(claimable(utcnow()), id=row.id, status=row.status).update(
                status=MailStatus.CANCELLED
            )
            problem = row.last_error or "no answer yet from the mail sender"
            raise CLIError(f"could not send the test message: {problem}")
        raise CLIError(f"the SMTP server refused the test message: {row.last_error}")
    finally:
        await db.close_database()


def cmd_send_test_mail(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.mail_enabled or settings.smtp_url is None:
        raise CLIError(NOT_CONFIGURED)
    try:
        address = validation.email(args.address)
    except InvalidInput:
        address = None
    if address is None:
        raise CLIError(f"not an e-mail address: {args.address!r}")
    server = mail_settings.parse(settings.smtp_url)
    # The outcome is printed below, once: not the sender's log line as well.
    logging.getLogger("nabuur.mail").setLevel(logging.ERROR)
    message_id = run(_send_test(settings, address))
    print(
        f"Sent a test message to {address} via {server.host}:{server.port} "
        f"(Message-ID {message_id}).\n"
        "If it does not arrive, look in the spam folder and in the mail server's log."
    )
    return 0


def add_mail_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    test = sub.add_parser("send-test-mail", help="send one e-mail now to check the e-mail settings")
    test.add_argument("address", help="where to send it (your own address)")
    test.epilog = (
        "Uses NABUUR_SMTP_URL and NABUUR_MAIL_FROM; prints the SMTP server's answer "
        "when the message is refused."
    )
    test.set_defaults(handler=cmd_send_test_mail)
