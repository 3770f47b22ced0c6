"""E-mail: the durable queue of messages to send, and the single-use tokens they carry.

A message is rendered (subject, plain text, HTML, in its reader's language) when it is
queued, so sending is only SMTP: a worker claims rows with a lease, as deliveries are.
"""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from node.states import MailStatus


class MailKind(StrEnum):
    CONFIRM = "confirm"  # confirm an e-mail address
    RESET = "reset"  # reset a password
    NOTIFY = "notify"  # one notification, sent at once
    DIGEST = "digest"  # the day's notifications and new requests


class MailMessage(Model):
    id = fields.BigIntField(primary_key=True)
    account = fields.ForeignKeyField(
        "nabuur.Account", related_name="mail_messages", null=True, on_delete=fields.SET_NULL
    )
    to_address = fields.CharField(max_length=254)
    kind = fields.CharEnumField(MailKind, max_length=10)
    language = fields.CharField(max_length=5)
    subject = fields.CharField(max_length=300)
    text_body = fields.TextField()
    html_body = fields.TextField()
    # Extra headers (List-Unsubscribe, List-Unsubscribe-Post), as a name -> value map.
    headers = fields.JSONField(default=dict)
    # Our Message-ID, fixed when queued: a retry after a lost answer is the same message.
    message_id = fields.CharField(max_length=200, unique=True)
    status = fields.CharEnumField(MailStatus, max_length=10, default=MailStatus.PENDING)
    attempts = fields.SmallIntField(default=0)
    next_attempt_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mail_messages"
        indexes = (("status", "next_attempt_at"),)


class TokenPurpose(StrEnum):
    CONFIRM = "confirm"
    RESET = "reset"


class EmailToken(Model):
    """A link's secret, stored hashed: used once, before it expires."""

    id = fields.IntField(primary_key=True)
    account = fields.ForeignKeyField(
        "nabuur.Account", related_name="email_tokens", on_delete=fields.CASCADE
    )
    purpose = fields.CharEnumField(TokenPurpose, max_length=10)
    token_hash = fields.CharField(max_length=64, unique=True)  # sha256 hex of the secret
    # The address being confirmed (a confirmation is void once the address changed).
    email = fields.CharField(max_length=254)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "email_tokens"
