"""Putting e-mail in the durable queue (`MailMessage`); the sender works it.

Callers render the message (subject, plain text, HTML, in the reader's language) and
call `enqueue` inside their own transaction, so the message exists exactly when the
change that caused it does. Nothing here talks SMTP: a web request never waits for a
mail server, and a mail server that is down never breaks a page.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from node import mail_sender, queue_signals
from node.config import Settings
from node.models import Account, MailKind, MailMessage
from node.states import MailStatus
from node.timeutil import utcnow


def new_message_id(settings: Settings) -> str:
    """A Message-ID in our domain, fixed when queued (a retry sends the same one)."""
    host = settings.domain.split(":")[0]
    return f"<{secrets.token_hex(16)}@{host}>"


async def enqueue(
    settings: Settings,
    *,
    to: str,
    kind: MailKind,
    language: str,
    subject: str,
    text: str,
    html: str,
    account: Account | None = None,
    headers: Mapping[str, str] | None = None,
) -> MailMessage | None:
    """Queue one message; None (nothing queued) when this node sends no e-mail."""
    if not settings.mail_enabled:
        return None
    message = await MailMessage.create(
        account=account,
        to_address=to,
        kind=kind,
        language=language,
        subject=subject,
        text_body=text,
        html_body=html,
        headers=dict(headers or {}),
        message_id=new_message_id(settings),
        next_attempt_at=utcnow(),
    )
    # The sender wakes at once: in this process now, in others at the commit (PostgreSQL).
    await queue_signals.notify(queue_signals.MAIL)
    mail_sender.wake()
    return message


async def cancel_pending(account: Account) -> int:
    """Drop what is still waiting for `account` (its address changed or went away)."""
    return await MailMessage.filter(account_id=account.id, status=MailStatus.PENDING).update(
        status=MailStatus.CANCELLED
    )
