"""The node's own row: its name, secret key and instance-actor keys (never logged or shown)."""

from tortoise import fields
from tortoise.models import Model


class NodeSettings(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    secret_key = fields.CharField(max_length=128)
    # Keys of the instance actor, which signs fetches and follows other nodes and relays.
    public_key_pem = fields.TextField(null=True)
    private_key_pem = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "node_settings"

    def __repr__(self) -> str:  # keeps the secret out of tracebacks and logs
        return f"<NodeSettings {self.name!r}>"
