"""Moderation: domain policies, reports (from residents here and `Flag`s from other
servers), and what moderators decide about them."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class DomainPolicy(StrEnum):
    # Mastodon's severities: suspend is nothing in, nothing out; limit keeps follows
    # working but takes the domain's content out of public listings here.
    SUSPEND = "suspend"
    LIMIT = "limit"
    ALLOW = "allow"  # listed for federation mode "allowlist" (partner networks)


class DomainRule(Model):
    id = fields.IntField(primary_key=True)
    domain = fields.CharField(max_length=255, unique=True)
    policy = fields.CharEnumField(DomainPolicy, max_length=8)
    # The private comment: seen by this node's admins only.
    reason = fields.CharField(max_length=300, default="")
    # Shown on the node's about page, and exported as Mastodon's #public_comment.
    public_comment = fields.CharField(max_length=300, default="", db_default="")
    # Mastodon's other columns, kept so an imported list exports unchanged.
    reject_media = fields.BooleanField(default=False, db_default=False)
    reject_reports = fields.BooleanField(default=False, db_default=False)
    obfuscate = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True, null=True)

    class Meta:
        table = "domain_rules"


class ReportCategory(StrEnum):
    SPAM = "spam"
    ABUSE = "abuse"  # abuse or harassment
    PERSONAL_DATA = "personal_data"  # someone's personal data
    DANGEROUS = "dangerous"  # a dangerous or illegal request
    OTHER = "other"


class Resolution(StrEnum):
    """What a moderator did about a report (recorded when it is resolved)."""

    NO_ACTION = "no_action"
    HIDDEN = "hidden"  # the post or response was hidden
    WARNED = "warned"
    SILENCED = "silenced"
    SUSPENDED = "suspended"
    REMOTE_LIMITED = "remote_limited"
    REMOTE_SUSPENDED = "remote_suspended"


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
    category = fields.CharField(max_length=16, default="other", db_default="other")
    comment = fields.TextField(default="")
    # What the URIs resolved to here, when they did (at most one of each).
    post = fields.ForeignKeyField(
        "nabuur.HelpPost", related_name="reports", null=True, on_delete=fields.SET_NULL
    )
    response = fields.ForeignKeyField(
        "nabuur.Response", related_name="reports", null=True, on_delete=fields.SET_NULL
    )
    account = fields.ForeignKeyField(
        "nabuur.Account", related_name="reports_about", null=True, on_delete=fields.SET_NULL
    )
    remote_actor = fields.ForeignKeyField(
        "nabuur.RemoteActor", related_name="reports_about", null=True, on_delete=fields.SET_NULL
    )
    remote_post = fields.ForeignKeyField(
        "nabuur.RemotePost", related_name="reports", null=True, on_delete=fields.SET_NULL
    )
    # The organisation whose post it is about: its coordinators see the report too.
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name="reports", null=True, on_delete=fields.SET_NULL
    )
    # The reporter agreed that it goes, without their name, to the content's server.
    forward = fields.BooleanField(default=False, db_default=False)
    forwarded_at = fields.DatetimeField(null=True)
    # The moderator who took it on, and who resolved it how.
    handler = fields.ForeignKeyField(
        "nabuur.Account", related_name="reports_handled", null=True, on_delete=fields.SET_NULL
    )
    resolved_by = fields.ForeignKeyField(
        "nabuur.Account", related_name="reports_resolved", null=True, on_delete=fields.SET_NULL
    )
    resolution = fields.CharField(max_length=20, default="", db_default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    resolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "reports"
        indexes = (("resolved_at", "created_at"), ("organisation_id", "resolved_at"))
