"""Follows: of our actors (by local accounts or remote actors), and of remote actors by ours."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from node.states import FollowStatus


class LocalActorKind(StrEnum):
    """Which kind of our actors a row names: what is followed, or who follows elsewhere."""

    INSTANCE = "instance"  # the node itself (other nodes and relays follow it)
    ACCOUNT = "account"
    ORGANISATION = "organisation"
    NEIGHBOURHOOD = "neighbourhood"


# The same notion under the name follows of our actors have always used.
FollowTarget = LocalActorKind
# Stored with each field's schema (migrations 0002, 0003): kept so no migration is due.
_TARGET_KIND_DESCRIPTION = (
    "INSTANCE: instance\nNEIGHBOURHOOD: neighbourhood\nORGANISATION: organisation\nACCOUNT: account"
)


class Follow(Model):
    """A follow of a local actor, by a local account or by a remote actor."""

    id = fields.IntField(primary_key=True)
    # Exactly one follower is set.
    follower = fields.ForeignKeyField(
        "nabuur.Account", related_name="following", null=True, on_delete=fields.CASCADE
    )
    follower_remote = fields.ForeignKeyField(
        "nabuur.RemoteActor", related_name="following", null=True, on_delete=fields.CASCADE
    )
    # The remote Follow activity's id, answered by Accept/Reject and matched by Undo.
    activity_uri = fields.CharField(max_length=500, null=True, unique=True)
    target_kind = fields.CharEnumField(
        LocalActorKind, max_length=14, description=_TARGET_KIND_DESCRIPTION
    )
    # Exactly one of these is set, matching target_kind (none for the instance).
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
            ("follower_remote", "neighbourhood"),
            ("follower_remote", "organisation"),
            ("follower_remote", "account"),
        )


class OutgoingFollow(Model):
    """A follow of a remote actor (a neighbouring node, a relay) by one of our actors."""

    id = fields.IntField(primary_key=True)
    local_kind = fields.CharEnumField(LocalActorKind, max_length=14)
    local_key = fields.IntField(null=True)  # the local actor's id; null for the instance
    target = fields.ForeignKeyField(
        "nabuur.RemoteActor", related_name="followers", on_delete=fields.CASCADE
    )
    activity_uri = fields.CharField(max_length=500, unique=True)
    status = fields.CharEnumField(FollowStatus, max_length=10, default=FollowStatus.PENDING)
    is_relay = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outgoing_follows"
        unique_together = (("local_kind", "local_key", "target"),)
