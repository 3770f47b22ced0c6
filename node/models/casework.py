"""Following an organisation's requests up: private notes and contacts, and partners.

Case entries belong to one organisation and are seen only by its staff: never
federated, never in feeds, never in exports to anyone else. Partners are organisations
that share a request with the one that posted it (here, or on another Nabuur node).
"""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class CaseEntryKind(StrEnum):
    NOTE = "note"
    CONTACT = "contact"  # a call, a visit, a message: when, with whom, what was said


class CaseEntry(Model):
    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField(
        "nabuur.HelpPost", related_name="case_entries", on_delete=fields.CASCADE
    )
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name="case_entries", on_delete=fields.CASCADE
    )
    author = fields.ForeignKeyField(
        "nabuur.Account", related_name="case_entries", null=True, on_delete=fields.SET_NULL
    )
    kind = fields.CharEnumField(CaseEntryKind, max_length=10)
    occurred_at = fields.DatetimeField()
    counterpart = fields.CharField(max_length=120, default="")  # with whom (contacts)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "case_entries"
        indexes = (("post_id", "organisation_id", "occurred_at"),)


class PostPartner(Model):
    """A partner organisation of one of our posts: here (it manages helpers too) or on
    another node (its actor is mentioned on the published Note)."""

    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField(
        "nabuur.HelpPost", related_name="partners", on_delete=fields.CASCADE
    )
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name="partner_posts", null=True, on_delete=fields.CASCADE
    )
    remote_actor = fields.ForeignKeyField(
        "nabuur.RemoteActor", related_name="partner_posts", null=True, on_delete=fields.CASCADE
    )
    added_by = fields.ForeignKeyField(
        "nabuur.Account", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "post_partners"
        unique_together = (("post", "organisation"), ("post", "remote_actor"))
        # Every logged-in page of a staff member looks up its organisations' partnered
        # posts (`visibility._relations`): without it, a scan of the whole table.
        indexes = (("organisation_id",),)


class RemotePostPartner(Model):
    """A request of another node that names one of our organisations as partner."""

    id = fields.IntField(primary_key=True)
    remote_post = fields.ForeignKeyField(
        "nabuur.RemotePost", related_name="partners", on_delete=fields.CASCADE
    )
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name="remote_partner_posts", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "remote_post_partners"
        unique_together = (("remote_post", "organisation"),)
