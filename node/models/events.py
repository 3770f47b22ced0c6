"""Domain events stored in the same transaction as the change that caused them.

This is a transactional outbox: federation reads unhandled events and turns them into
activities and deliveries, so a crash after commit loses nothing and a rollback
publishes nothing.
"""

from tortoise import fields
from tortoise.models import Model


class Event(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=40)
    payload = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    handled_at = fields.DatetimeField(null=True)
    locked_until = fields.DatetimeField(null=True)  # a consumer's lease
    attempts = fields.SmallIntField(default=0, db_default=0)

    class Meta:
        table = "events"
