"""Follows of a neighbourhood, an organisation or an account."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from node.states import FollowStatus


class FollowTarget(StrEnum):
    NEIGHBOURHOOD = "neighbourhood"
    ORGANISATION = "organisation"
    ACCOUNT = "account"


class Follow(Model):
    id = fields.IntField(primary_key=True)
    follower = fields.ForeignKeyField(
        "nabuur.Account", related_name="following", on_delete=fields.CASCADE
    )
    target_kind = fields.CharEnumField(FollowTarget, max_length=14)
    # Exactly one of these is set, matching target_kind.
    neighbourhood = fields.ForeignKeyField(
        "nabuur.Neighbourhood", related_name="followers", null=True, on_delete=fields.CASCADE
    )
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name="followers", null=True, on_delete=fields.CASCADE
    )
    account = fields.ForeignKeyField(
        "nabuur.Account", related_name="followers", null=True, on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(FollowStatus, max_length=10, default=FollowStatus.PENDING)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "follows"
        unique_together = (
            ("follower", "neighbourhood"),
            ("follower", "organisation"),
            ("follower", "account"),
        )
