"""The node's own row: its name and the generated secret key (never logged, never shown)."""

from tortoise import fields
from tortoise.models import Model


class NodeSettings(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    secret_key = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "node_settings"

    def __repr__(self) -> str:  # keeps the secret out of tracebacks and logs
        return f"<NodeSettings {self.name!r}>"
