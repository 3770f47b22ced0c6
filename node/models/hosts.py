"""How reachable other servers have been, so a dead one stops costing deliveries."""

from tortoise import fields
from tortoise.models import Model


class HostHealth(Model):
    id = fields.IntField(primary_key=True)
    host = fields.CharField(max_length=255, unique=True)
    # Distinct UTC days (ISO dates) on which deliveries to this host failed, oldest first.
    failure_days = fields.JSONField(default=list)
    unavailable = fields.BooleanField(default=False)
    # For the federation health page: when a delivery last succeeded or failed, and why.
    last_success_at = fields.DatetimeField(null=True)
    last_failure_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=300, default="", db_default="")
    changed_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "host_health"
