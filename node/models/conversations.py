"""The private conversation of a request: its author (or the organisation's staff) and
the accepted helpers agree on the details. Never public, never in feeds."""

import uuid

from tortoise import fields
from tortoise.models import Model


class ConversationMessage(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    post = fields.ForeignKeyField(
        "nabuur.HelpPost", related_name="conversation", on_delete=fields.CASCADE
    )
    # A local account, or a remote helper (their direct reply); exactly one is set.
    author = fields.ForeignKeyField(
        "nabuur.Account", related_name="conversation_messages", null=True, on_delete=fields.CASCADE
    )
    remote_author = fields.ForeignKeyField(
        "nabuur.RemoteActor",
        related_name="conversation_messages",
        null=True,
        on_delete=fields.CASCADE,
    )
    # Written for the organisation by one of its staff: shown with the organisation's name.
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # Plain text for local messages; remote ones keep their Note's id and sanitised HTML.
    body = fields.TextField(default="")
    body_html = fields.TextField(null=True)
    object_uri = fields.CharField(max_length=500, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "conversation_messages"
        indexes = (("post_id", "created_at"),)
