"""Help posts: requests ("asks") and offers, the heart of the node."""

import uuid
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from node.states import PostStatus


class PostKind(StrEnum):
    REQUEST = "request"
    OFFER = "offer"


class Visibility(StrEnum):
    PUBLIC = "public"
    # Approved followers of the posting actor (the organisation, or the author).
    FOLLOWERS = "followers"
    # Accounts of this node that live in the post's neighbourhood or follow it.
    NEIGHBOURS = "neighbours"
    MEMBERS = "members"  # logged-in accounts of this node


class HelpPost(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    kind = fields.CharEnumField(PostKind, max_length=10)
    title = fields.CharField(max_length=120)
    description = fields.TextField(default="")
    language = fields.CharField(max_length=8)
    # Other languages the author wrote: {"fr": {"title": "...", "description": "..."}}
    translations = fields.JSONField(default=dict)
    category = fields.CharField(max_length=20)
    neighbourhood = fields.ForeignKeyField(
        "nabuur.Neighbourhood", related_name="posts", on_delete=fields.RESTRICT
    )
    # Public, coarse hint such as "near the station"; the address itself is private.
    area_hint = fields.CharField(max_length=80, null=True)
    private_location = fields.CharField(max_length=200, null=True)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    helpers_needed = fields.SmallIntField(default=1)
    status = fields.CharEnumField(PostStatus, max_length=12, default=PostStatus.OPEN)
    status_changed_at = fields.DatetimeField(auto_now_add=True)
    visibility = fields.CharEnumField(Visibility, max_length=10, default=Visibility.PUBLIC)
    expires_at = fields.DatetimeField()
    author = fields.ForeignKeyField(
        "nabuur.Account", related_name="posts", on_delete=fields.RESTRICT
    )
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name="posts", null=True, on_delete=fields.RESTRICT
    )
    # Posted by staff for a client: a pseudonymous label, never a name, and consent.
    # In the post's other languages the label is `translations[lang]["on_behalf_label"]`.
    on_behalf_label = fields.CharField(max_length=80, null=True)
    client_consent_at = fields.DatetimeField(null=True)
    # The staff member who follows an organisation's request up (its dashboard).
    assignee = fields.ForeignKeyField(
        "nabuur.Account", related_name="assigned_posts", null=True, on_delete=fields.SET_NULL
    )
    # Hidden by a moderator (the reason is told to the author and kept in the audit
    # log): gone from pages, listings and feeds, its URL answers 410, a Delete went out.
    hidden_at = fields.DatetimeField(null=True)
    hidden_reason = fields.CharField(max_length=500, default="", db_default="")
    # Kept for the needs figures (events are pruned): when the first offer of help came,
    # and when the first helper was accepted. Set once, never moved back.
    first_offer_at = fields.DatetimeField(null=True)
    matched_at = fields.DatetimeField(null=True)
    # The author closed it as done with a service someone pointed to.
    solved_by_service = fields.ForeignKeyField(
        "nabuur.Service", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "help_posts"
        indexes = (
            ("status", "expires_at"),
            ("neighbourhood_id", "status", "created_at"),
            # A listing shows open and matched posts of one kind, newest first: with the
            # kind before created_at the database walks this index in order and stops at the
            # page's last card instead of sorting every open post of the neighbourhood.
            ("neighbourhood_id", "kind", "created_at"),
            ("organisation_id", "status", "created_at"),
            ("created_at",),
            # The needs figures find the months whose posts changed since they last looked.
            ("updated_at",),
        )

    @property
    def is_flexible(self) -> bool:
        return self.starts_at is None

    @property
    def languages(self) -> list[str]:
        return [self.language, *(lang for lang in self.translations if lang != self.language)]

    def text_in(self, language: str) -> tuple[str, str, str]:
        """(title, description, language actually used) in `language` when written in it."""
        other = self.translations.get(language)
        if other and language != self.language:
            return other["title"], other.get("description", ""), language
        return self.title, self.description, self.language

    def label_in(self, language: str) -> str | None:
        """The client's label in `language` when staff wrote one, else the main one."""
        other = self.translations.get(language)
        if other and language != self.language and other.get("on_behalf_label"):
            return other["on_behalf_label"]
        return self.on_behalf_label
