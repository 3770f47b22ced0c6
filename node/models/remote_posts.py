"""Requests and offers published on other nodes (or FEP-0837 software) that reach us.

Kept in sync by the owner's `Update` and `Delete`; shown under "nearby, on other nodes".
"""

from tortoise import fields
from tortoise.models import Model


class RemotePost(Model):
    id = fields.IntField(primary_key=True)
    object_uri = fields.CharField(max_length=500, unique=True)
    actor = fields.ForeignKeyField(
        "nabuur.RemoteActor", related_name="posts", on_delete=fields.CASCADE
    )
    # The group that announced it to us, when it came that way.
    via = fields.ForeignKeyField(
        "nabuur.RemoteActor", related_name="announced_posts", null=True, on_delete=fields.SET_NULL
    )
    kind = fields.CharField(max_length=10)  # request | offer
    title = fields.CharField(max_length=200, default="")
    language = fields.CharField(max_length=8, default="")
    content_map = fields.JSONField(default=dict)  # {language: sanitised HTML}
    category = fields.CharField(max_length=20, default="other")
    place_name = fields.CharField(max_length=200, default="")
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    helpers_needed = fields.SmallIntField(null=True)
    slots_left = fields.SmallIntField(null=True)
    finished = fields.BooleanField(default=False)
    url = fields.CharField(max_length=500, null=True)
    # Addressed to everyone: only such posts are listed on our public pages.
    public = fields.BooleanField(default=True, db_default=True)
    # Kept only because it names one of our organisations as partner (nobody here
    # follows its author): shown on that organisation's dashboard, nowhere else.
    partner_only = fields.BooleanField(default=False, db_default=False)
    published_at = fields.DatetimeField(null=True)
    fetched_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "remote_posts"
        indexes = (("finished", "published_at"),)

    @property
    def status(self) -> str:
        if self.finished:
            return "done"
        if self.slots_left == 0:
            return "matched"
        return "open"
