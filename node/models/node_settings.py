"""The node's own row: its secret key and instance-actor keys (never logged or shown), and
what its admins set in the browser: name, tagline, description, rules, contact, sign-ups."""

from tortoise import fields
from tortoise.models import Model


class NodeSettings(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    secret_key = fields.CharField(max_length=128)
    # Keys of the instance actor, which signs fetches and follows other nodes and relays.
    public_key_pem = fields.TextField(null=True)
    private_key_pem = fields.TextField(null=True)
    # Set by admins at /admin/settings; a value pinned in the operator's configuration
    # (environment or TOML) wins over these (see node.services.node_profile).
    # Texts per language ({"nl": "..."}); null on rows older than these columns.
    tagline = fields.JSONField(null=True)
    description = fields.JSONField(null=True)
    rules = fields.JSONField(null=True)  # {"nl": "one rule per line"}
    contact_email = fields.CharField(max_length=254, null=True)
    signups = fields.CharField(max_length=12, null=True)  # None: the configured default
    federation_mode = fields.CharField(max_length=10, null=True)  # open | allowlist | off
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True, null=True)

    class Meta:
        table = "node_settings"

    def __repr__(self) -> str:  # keeps the secret out of tracebacks and logs
        return f"<NodeSettings {self.name!r}>"
