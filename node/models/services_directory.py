"""Signposting: the services organisations and the commune offer (bulky-waste pick-up,
meals on wheels, the social desk), and those that partner nodes publish to us."""

import uuid

from tortoise import fields
from tortoise.models import Model


class Service(Model):
    """A service of one of our organisations (its URL is its federated id)."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name="services", on_delete=fields.CASCADE
    )
    language = fields.CharField(max_length=8)  # the language `name` and `description` lead in
    name = fields.JSONField(default=dict)  # {"nl": "Gratis ophaling grofvuil", "fr": ...}
    description = fields.JSONField(default=dict)
    categories = fields.JSONField(default=list)  # category slugs it answers
    # Serves every neighbourhood of the node, or only those in ServiceArea.
    everywhere = fields.BooleanField(default=True, db_default=True)
    phone = fields.CharField(max_length=40, default="", db_default="")
    email = fields.CharField(max_length=254, default="", db_default="")
    hours = fields.JSONField(default=dict)  # opening hours as text per language
    address = fields.CharField(max_length=200, default="", db_default="")  # an office
    website = fields.CharField(max_length=300, null=True)  # http(s) only
    free = fields.BooleanField(default=True, db_default=True)
    created_by = fields.ForeignKeyField(
        "nabuur.Account", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "services"
        indexes = (("organisation_id", "created_at"),)

    def text_in(self, language: str) -> tuple[str, str]:
        """(name, description) in `language` when written in it, else the lead language."""
        lang = language if self.name.get(language) else self.language
        return self.name.get(lang, ""), self.description.get(lang, "")


class ServiceArea(Model):
    """A neighbourhood a service serves (when it does not serve them all)."""

    id = fields.IntField(primary_key=True)
    service = fields.ForeignKeyField(
        "nabuur.Service", related_name="areas", on_delete=fields.CASCADE
    )
    neighbourhood = fields.ForeignKeyField(
        "nabuur.Neighbourhood", related_name="service_areas", on_delete=fields.CASCADE
    )

    class Meta:
        table = "service_areas"
        unique_together = (("service", "neighbourhood"),)


class RemoteService(Model):
    """A service published by an actor we follow on another node: "services nearby"."""

    id = fields.IntField(primary_key=True)
    object_uri = fields.CharField(max_length=500, unique=True)
    actor = fields.ForeignKeyField(
        "nabuur.RemoteActor", related_name="services", on_delete=fields.CASCADE
    )
    language = fields.CharField(max_length=8, default="")
    name_map = fields.JSONField(default=dict)  # {language: plain text}
    content_map = fields.JSONField(default=dict)  # {language: sanitised HTML}
    categories = fields.JSONField(default=list)
    places = fields.JSONField(default=list)  # names of the areas it serves
    phone = fields.CharField(max_length=40, default="")
    email = fields.CharField(max_length=254, default="")
    hours_map = fields.JSONField(default=dict)
    address = fields.CharField(max_length=200, default="")
    website = fields.CharField(max_length=300, null=True)
    free = fields.BooleanField(null=True)
    url = fields.CharField(max_length=500, null=True)
    published_at = fields.DatetimeField(null=True)
    fetched_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "remote_services"
