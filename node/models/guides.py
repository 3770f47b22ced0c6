"""Guides for helpers edited on this node: the node's own (replacing the shipped
default of a category) or an organisation's, for its own requests."""

from tortoise import fields
from tortoise.models import Model


class GuideText(Model):
    id = fields.IntField(primary_key=True)
    # None: the node's guide, edited by its admins.
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name="guides", null=True, on_delete=fields.CASCADE
    )
    category = fields.CharField(max_length=20)  # a category slug, or "general"
    language = fields.CharField(max_length=8)
    points = fields.JSONField(default=list)  # short points, as in node/guides/*.toml
    updated_by = fields.ForeignKeyField(
        "nabuur.Account", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "guide_texts"
        unique_together = (("organisation", "category", "language"),)
