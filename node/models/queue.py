"""Durable queues of federation: activities received and activities to deliver.

Rows are the truth: a crash between receipt and processing, or between a change and its
delivery, loses nothing. Workers claim rows with a lease (`locked_until`).
"""

import uuid

from tortoise import fields
from tortoise.models import Model

# The statuses are declared with their graphs; re-exported here for the models' users.
from node.states import DeliveryStatus, InboxStatus


class InboxItem(Model):
    id = fields.BigIntField(primary_key=True)
    activity_id = fields.CharField(max_length=500, unique=True)
    activity_type = fields.CharField(max_length=40)
    actor_uri = fields.CharField(max_length=500)
    payload = fields.JSONField()
    status = fields.CharEnumField(InboxStatus, max_length=10, default=InboxStatus.PENDING)
    attempts = fields.SmallIntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    locked_until = fields.DatetimeField(null=True)
    outcome = fields.CharField(max_length=300, default="")
    received_at = fields.DatetimeField(auto_now_add=True)
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbox_items"
        indexes = (("status", "id"),)


class OutboxActivity(Model):
    """An activity built once, with its stable id, signed at each delivery."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    activity_uri = fields.CharField(max_length=500, unique=True)
    activity_type = fields.CharField(max_length=40)
    # Which local actor signs it: "instance", "account", "organisation" or "neighbourhood".
    actor_kind = fields.CharField(max_length=14)
    actor_key = fields.IntField(null=True)  # the local actor's id; null for the instance
    payload = fields.JSONField()
    # The object it is about (a post's id URL), so deleting it can cancel what is pending.
    object_uri = fields.CharField(max_length=500, null=True, db_index=True)
    # Addressed to Public: listed in the actor's outbox.
    public = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox_activities"
        indexes = (("actor_kind", "actor_key", "public", "created_at"),)


class Delivery(Model):
    id = fields.BigIntField(primary_key=True)
    activity = fields.ForeignKeyField(
        "nabuur.OutboxActivity", related_name="deliveries", on_delete=fields.CASCADE
    )
    inbox = fields.CharField(max_length=500)
    host = fields.CharField(max_length=255, db_index=True)
    status = fields.CharEnumField(DeliveryStatus, max_length=10, default=DeliveryStatus.PENDING)
    attempts = fields.SmallIntField(default=0)
    next_attempt_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    last_status = fields.SmallIntField(null=True)
    last_error = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "deliveries"
        unique_together = (("activity", "inbox"),)
        indexes = (("status", "next_attempt_at"),)
