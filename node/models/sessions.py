"""Logged-in sessions, failed log-in attempts and sign-up invitations."""

from tortoise import fields
from tortoise.models import Model


class Session(Model):
    """A browser logged in as an account.

    The cookie holds a random token; only its SHA-256 is stored, so a copy of the
    database opens no live session. The row holds nothing but the account.
    """

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    account = fields.ForeignKeyField(
        "nabuur.Account", related_name="sessions", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "sessions"


class LoginFailure(Model):
    """One failed log-in, counted per account name and per address for rate limiting."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=200, db_index=True)
    at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "login_failures"


class RateEvent(Model):
    """One attempt counted against a limit (a sign-up from an address, say), shared by
    all processes; rows older than the longest window are purged."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=200)
    at = fields.DatetimeField()

    class Meta:
        table = "rate_events"
        indexes = (("key", "at"),)


class UsedToken(Model):
    """A value that may be used once while it is valid (a signature on a GET of a
    private object, a single-use link): the unique key makes a second use fail."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=100, unique=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "used_tokens"


class Invitation(Model):
    """A code that lets someone sign up when the node does not take open sign-ups."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    created_by = fields.ForeignKeyField(
        "nabuur.Account", related_name="invitations", null=True, on_delete=fields.SET_NULL
    )
    uses_left = fields.IntField(default=1)
    # A staff invitation: the new account joins this organisation in this role.
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name="invitations", null=True, on_delete=fields.CASCADE
    )
    staff_role = fields.CharField(max_length=16, null=True)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "invitations"
