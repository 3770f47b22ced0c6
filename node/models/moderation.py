"""Moderation: domain policies and reports (`Flag`) from here and from other servers."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class DomainPolicy(StrEnum):
    BLOCK = "block"  # nothing in, nothing out
    ALLOW = "allow"  # listed for federation_mode = allowlist


class DomainRule(Model):
    id = fields.IntField(primary_key=True)
    domain = fields.CharField(max_length=255, unique=True)
    policy = fields.CharEnumField(DomainPolicy, max_length=8)
    reason = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "domain_rules"


class Report(Model):
    id = fields.IntField(primary_key=True)
    reporter_remote = fields.ForeignKeyField(
        "nabuur.RemoteActor", related_name="reports_made", null=True, on_delete=fields.SET_NULL
    )
    reporter_account = fields.ForeignKeyField(
        "nabuur.Account", related_name="reports_made", null=True, on_delete=fields.SET_NULL
    )
    activity_uri = fields.CharField(max_length=500, null=True, unique=True)
    # What is reported, as URIs: accounts and posts, here or elsewhere.
    object_uris = fields.JSONField(default=list)
    comment = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    resolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "reports"
