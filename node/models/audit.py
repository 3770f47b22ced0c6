"""The audit log: who did what, when, on what, and why.

Every administrative act (neighbourhoods, organisations, roles, settings), every step of
a request's follow-up (posted on someone's behalf with consent, status changes, helpers
accepted, assignments, who saw the private address) is one row. Rows are only added.
"""

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    actor = fields.ForeignKeyField(
        "nabuur.Account", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    # The actor's name when it happened (None: the node itself, e.g. expiry).
    actor_name = fields.CharField(max_length=80, default="")
    action = fields.CharField(max_length=40, db_index=True)
    # What it is about, as "kind:key", e.g. "neighbourhood:jette-centre" or "account:els".
    subject = fields.CharField(max_length=200, default="")
    post = fields.ForeignKeyField(
        "nabuur.HelpPost", related_name="audit_entries", null=True, on_delete=fields.CASCADE
    )
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    detail = fields.JSONField(default=dict)
    reason = fields.TextField(default="")

    class Meta:
        table = "audit_entries"
        indexes = (("post_id", "at"), ("organisation_id", "at"))
