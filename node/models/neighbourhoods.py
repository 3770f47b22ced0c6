"""Neighbourhoods the node serves, each with a coarse area, and their connectors."""

from tortoise import fields
from tortoise.models import Model


class Neighbourhood(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=40, unique=True)
    name = fields.CharField(max_length=100)
    commune = fields.CharField(max_length=100, default="")
    country = fields.CharField(max_length=2, default="BE")
    # Translated descriptions: {"nl": "...", "fr": "..."}
    description = fields.JSONField(default=dict)
    # Coarse area: a centre with a radius, or a polygon [[lon, lat], ...]. Never a house.
    centre_lat = fields.FloatField(null=True)
    centre_lon = fields.FloatField(null=True)
    radius_m = fields.IntField(null=True)
    polygon = fields.JSONField(null=True)
    # How to ask for help without internet, printed on window cards and posters: set by
    # the neighbourhood's connectors or an admin.
    help_phone = fields.CharField(max_length=40, default="", db_default="")
    help_office = fields.CharField(max_length=200, default="", db_default="")
    help_hours = fields.CharField(max_length=100, default="", db_default="")
    icon = fields.ForeignKeyField(
        "nabuur.MediaFile", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # Archived neighbourhoods take no new posts and leave the lists; their actor and
    # pages stay (their URL is a federated id).
    archived_at = fields.DatetimeField(null=True)
    # Follows from other servers wait for an admin's approval (partner networks).
    manually_approves_followers = fields.BooleanField(default=False, db_default=False)
    # The actor's RSA key pair for HTTP signatures (see node.keys); never serialised.
    public_key_pem = fields.TextField(null=True)
    private_key_pem = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True, null=True)

    class Meta:
        table = "neighbourhoods"


class Connector(Model):
    """A resident who links people in a neighbourhood and may take posts down there."""

    id = fields.IntField(primary_key=True)
    neighbourhood = fields.ForeignKeyField(
        "nabuur.Neighbourhood", related_name="connectors", on_delete=fields.CASCADE
    )
    account = fields.ForeignKeyField(
        "nabuur.Account", related_name="connected_neighbourhoods", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "neighbourhood_connectors"
        unique_together = (("neighbourhood", "account"),)
