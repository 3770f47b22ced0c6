"""Actors on other servers, as we last fetched them (Mastodon accounts, other nodes, relays)."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class RemoteStanding(StrEnum):
    """What moderators here decided about one remote account."""

    NORMAL = ""
    LIMITED = "limited"  # its content is hidden from listings here; follows still work
    SUSPENDED = "suspended"  # its content is hidden and its activities are dropped


class RemoteActor(Model):
    id = fields.IntField(primary_key=True)
    uri = fields.CharField(max_length=500, unique=True)  # the actor's ActivityPub id
    domain = fields.CharField(max_length=255, db_index=True)
    actor_type = fields.CharField(max_length=20, default="Person")
    username = fields.CharField(max_length=100, default="")  # preferredUsername
    display_name = fields.CharField(max_length=200, default="")
    summary_html = fields.TextField(default="")  # sanitised
    url = fields.CharField(max_length=500, null=True)  # profile page
    icon_url = fields.CharField(max_length=500, null=True)
    inbox = fields.CharField(max_length=500)
    shared_inbox = fields.CharField(max_length=500, null=True)
    followers_url = fields.CharField(max_length=500, null=True)
    key_id = fields.CharField(max_length=500, unique=True)
    public_key_pem = fields.TextField()
    manually_approves_followers = fields.BooleanField(default=False)
    # Whether it understands FEP-1b12 Announce(Create) from groups, when it says so.
    supports_group_announces = fields.BooleanField(default=False)
    standing = fields.CharField(max_length=10, default="", db_default="")
    fetched_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField(null=True)

    class Meta:
        table = "remote_actors"

    @property
    def handle(self) -> str:
        return f"@{self.username}@{self.domain}" if self.username else self.uri

    @property
    def delivery_inbox(self) -> str:
        return self.shared_inbox or self.inbox
