"""Organisations (NGOs, commune services) and their staff."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class OrganisationKind(StrEnum):
    NGO = "ngo"
    COMMUNE_SERVICE = "commune_service"
    ASSOCIATION = "association"  # a shop or an association
    OTHER = "other"


class StaffRole(StrEnum):
    STAFF = "staff"  # posts and follows up requests, also on behalf of clients
    COORDINATOR = "coordinator"  # as staff, and manages who is staff


class Organisation(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=40, unique=True)
    name = fields.CharField(max_length=120)
    kind = fields.CharEnumField(OrganisationKind, max_length=20, default=OrganisationKind.NGO)
    # Translated descriptions: {"nl": "...", "fr": "..."}
    description = fields.JSONField(default=dict)
    website = fields.CharField(max_length=300, null=True)
    # How residents reach it, shown on its page: "Mon–Fri 9–12, 02 123 45 67".
    contact = fields.CharField(max_length=200, default="", db_default="")
    icon = fields.ForeignKeyField(
        "nabuur.MediaFile", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # The organisation speaks with one voice: its staff's names are not shown on its
    # posts and messages unless it chooses so.
    show_staff_names = fields.BooleanField(default=False, db_default=False)
    # Followers see the organisation's followers-only posts, so each is approved by its
    # staff unless the organisation chooses to accept everyone.
    manually_approves_followers = fields.BooleanField(default=True, db_default=True)
    # The actor's RSA key pair for HTTP signatures (see node.keys); never serialised.
    public_key_pem = fields.TextField(null=True)
    private_key_pem = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True, null=True)

    class Meta:
        table = "organisations"


class Membership(Model):
    id = fields.IntField(primary_key=True)
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name="memberships", on_delete=fields.CASCADE
    )
    account = fields.ForeignKeyField(
        "nabuur.Account", related_name="memberships", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(StaffRole, max_length=16, default=StaffRole.STAFF)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "memberships"
        unique_together = (("organisation", "account"),)


class OrganisationArea(Model):
    """A neighbourhood an organisation works in."""

    id = fields.IntField(primary_key=True)
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name="areas", on_delete=fields.CASCADE
    )
    neighbourhood = fields.ForeignKeyField(
        "nabuur.Neighbourhood", related_name="organisation_areas", on_delete=fields.CASCADE
    )

    class Meta:
        table = "organisation_areas"
        unique_together = (("organisation", "neighbourhood"),)
