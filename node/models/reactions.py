"""Likes and boosts of help posts by remote actors: counted, and undone by `Undo`."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ReactionKind(StrEnum):
    LIKE = "like"
    ANNOUNCE = "announce"


class Reaction(Model):
    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField(
        "nabuur.HelpPost", related_name="reactions", on_delete=fields.CASCADE
    )
    actor = fields.ForeignKeyField(
        "nabuur.RemoteActor", related_name="reactions", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(ReactionKind, max_length=10)
    activity_uri = fields.CharField(max_length=500, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reactions"
        unique_together = (("post", "actor", "kind"),)
