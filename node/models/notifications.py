"""Notifications shown to an account: responses, accepted helpers, follows, status changes."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class NotificationKind(StrEnum):
    RESPONSE = "response"  # someone commented or offered help on your post
    ACCEPTED = "accepted"  # your offer of help was accepted
    DECLINED = "declined"  # your offer was declined or you were released
    HELPER_WITHDREW = "helper_withdrew"
    STATUS = "status"  # a post you help with changed status
    FOLLOW = "follow"
    FOLLOW_REQUEST = "follow_request"  # a server asks to follow a neighbourhood
    # Someone asks to follow you, or your organisation when `organisation` is set: the
    # actor when they are here, else their handle in `note`.
    ASKS_TO_FOLLOW = "asks_to_follow"
    # A moderator hid your post or response, warned, silenced or suspended you; the
    # reason is in `note`.
    MODERATION = "moderation"
    REPORT = "report"  # a new report for the moderators or an organisation's coordinators
    NOT_NEEDED = "not_needed"  # your offer was not taken: the request was filled or closed
    MESSAGE = "message"  # a message in the private conversation of a request (`message`)
    THANKED = "thanked"  # the author thanked the helpers of a request you helped with


class Notification(Model):
    id = fields.IntField(primary_key=True)
    recipient = fields.ForeignKeyField(
        "nabuur.Account", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(NotificationKind, max_length=16)
    actor = fields.ForeignKeyField(
        "nabuur.Account",
        related_name="caused_notifications",
        null=True,
        on_delete=fields.SET_NULL,
    )
    # Set when the actor acted for an organisation: the notification names the
    # organisation (its staff's names stay private unless it chooses otherwise).
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name=False, null=True, on_delete=fields.CASCADE
    )
    post = fields.ForeignKeyField(
        "nabuur.HelpPost", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    response = fields.ForeignKeyField(
        "nabuur.Response", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    report = fields.ForeignKeyField(
        "nabuur.Report", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    message = fields.ForeignKeyField(
        "nabuur.ConversationMessage",
        related_name="notifications",
        null=True,
        on_delete=fields.CASCADE,
    )
    # When it went out by e-mail (alone or in a digest); never mailed twice.
    emailed_at = fields.DatetimeField(null=True)
    # What happened, for moderation notices: the action and the moderator's reason.
    note = fields.TextField(default="", db_default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notifications"
        indexes = (("recipient_id", "read_at"),)
