"""Local accounts: residents, neighbourhood connectors, moderators and admins."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    RESIDENT = "resident"
    MODERATOR = "moderator"
    ADMIN = "admin"


class MailFrequency(StrEnum):
    """How a person wants their notifications by e-mail."""

    IMMEDIATE = "immediate"  # one e-mail per notification, soon after it happens
    DAILY = "daily"  # one digest a day of what they have not read yet
    NONE = "none"


class Account(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=30, unique=True)
    display_name = fields.CharField(max_length=80)
    email = fields.CharField(max_length=254, null=True, unique=True)
    # Set when the person followed the link sent to `email`; nothing but that link's
    # e-mail (and a password reset) goes to an address not confirmed.
    email_confirmed_at = fields.DatetimeField(null=True)
    mail_frequency = fields.CharEnumField(
        MailFrequency, max_length=10, default=MailFrequency.IMMEDIATE, db_default="immediate"
    )
    # New requests in the neighbourhoods they follow, in the daily digest (opt-in).
    mail_new_requests = fields.BooleanField(default=False, db_default=False)
    # When the last daily digest was made: the next one covers what came after.
    mail_digest_at = fields.DatetimeField(null=True)
    # Shows the requests they helped with on their public profile (their choice).
    show_helped = fields.BooleanField(default=False, db_default=False)
    # argon2id hash; null for accounts that cannot log in (e.g. invited, not yet set up)
    password_hash = fields.CharField(max_length=200, null=True)
    role = fields.CharEnumField(Role, max_length=16, default=Role.RESIDENT)
    languages_csv = fields.CharField(max_length=40, default="nl")
    home_neighbourhood = fields.ForeignKeyField(
        "nabuur.Neighbourhood", related_name="residents", null=True, on_delete=fields.SET_NULL
    )
    is_active = fields.BooleanField(default=True)
    # Locked accounts approve each follower; others accept follows at once.
    manually_approves_followers = fields.BooleanField(default=False, db_default=False)
    # The actor's RSA key pair for HTTP signatures (see node.keys); never serialised.
    public_key_pem = fields.TextField(null=True)
    private_key_pem = fields.TextField(null=True)
    # Moderation: a silenced account's posts stay out of listings and reach followers
    # only; a suspended one cannot log in, its content is hidden and its actor answers
    # 410. A suspension not lifted within 30 days is federated as a Delete of the actor
    # (`suspension_federated_at`); an admin may still lift it here.
    silenced_at = fields.DatetimeField(null=True)
    suspended_at = fields.DatetimeField(null=True)
    suspension_federated_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "accounts"

    @property
    def languages(self) -> list[str]:
        return [lang for lang in self.languages_csv.split(",") if lang]

    @property
    def is_staff_of_node(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN)

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def is_silenced(self) -> bool:
        return self.silenced_at is not None

    def __repr__(self) -> str:
        return f"<Account @{self.username}>"
