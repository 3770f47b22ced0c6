"""Responses to a help post: comments, and offers to help that the author accepts."""

import uuid
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from node.states import OfferStatus


class ResponseKind(StrEnum):
    COMMENT = "comment"
    OFFER = "offer"  # "I can help": takes one of the post's helper slots once accepted
    SERVICE = "service"  # points the author to a service of the directory
    THANKS = "thanks"  # the author's public thank-you to the helpers, once the request is done


class Response(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    post = fields.ForeignKeyField(
        "nabuur.HelpPost", related_name="responses", on_delete=fields.CASCADE
    )
    # A local account, or a remote actor (a Mastodon reply); exactly one is set.
    author = fields.ForeignKeyField(
        "nabuur.Account", related_name="responses", null=True, on_delete=fields.CASCADE
    )
    remote_author = fields.ForeignKeyField(
        "nabuur.RemoteActor", related_name="responses", null=True, on_delete=fields.CASCADE
    )
    # For remote replies: the Note's id, and its content sanitised to our allowlist.
    object_uri = fields.CharField(max_length=500, null=True, unique=True)
    body_html = fields.TextField(null=True)
    # Came as a FEP-0837 Offer(Agreement) (its activity id is `object_uri`): answered with
    # Accept or Reject of that Offer rather than a message.
    via_agreement = fields.BooleanField(default=False, db_default=False)
    kind = fields.CharEnumField(ResponseKind, max_length=10)
    # For SERVICE responses: the service pointed to (gone if the service was removed).
    service = fields.ForeignKeyField(
        "nabuur.Service", related_name="pointers", null=True, on_delete=fields.SET_NULL
    )
    body = fields.TextField(default="")
    # Only offers have a status; comments keep None.
    offer_status = fields.CharEnumField(OfferStatus, max_length=10, null=True)
    # Hidden by a moderator: not shown, and its Note (if ours) deleted for others.
    hidden_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "responses"
        # (author, offer status): every logged-in page asks which posts the viewer helps
        # on (`visibility._relations`); without it each page scanned the whole table.
        indexes = (("post_id", "created_at"), ("author_id", "offer_status"))
