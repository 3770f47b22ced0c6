"""Who may create an account: open sign-ups, invitations, or neither (the node's choice)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from tortoise.expressions import F

from node import db
from node.errors import InvalidInput, PermissionDenied
from node.i18n import N_
from node.models import Account, Invitation, Neighbourhood
from node.services.accounts import create_account
from node.timeutil import utcnow

OPEN, INVITATION, CLOSED = "open", "invitation", "closed"
INVITATION_LIFETIME = timedelta(days=14)


async def create_invitation(
    by: Account | None, *, uses: int = 1, lifetime: timedelta = INVITATION_LIFETIME
) -> Invitation:
    if not 1 <= uses <= 1000:
        raise InvalidInput("uses", N_("must be between %(low)d and %(high)d"), low=1, high=1000)
    return await Invitation.create(
        code=secrets.token_urlsafe(16),
        created_by=by,
        uses_left=uses,
        expires_at=utcnow() + lifetime,
    )


async def valid_invitation(code: str | None) -> Invitation | None:
    if not code or len(code) > 64:
        return None
    return await Invitation.get_or_none(code=code, uses_left__gt=0, expires_at__gt=utcnow())


async def sign_up(
    policy: str,
    *,
    username: str,
    display_name: str,
    password: str,
    languages: Sequence[str],
    home_neighbourhood: str | None = None,
    invitation: str | None = None,
) -> Account:
    """Create a resident's account if the node's `policy` lets this person sign up."""
    if policy == CLOSED:
        raise PermissionDenied("this node does not take new accounts")
    invite = None
    if policy == INVITATION:
        invite = await valid_invitation(invitation)
        if invite is None:
            raise InvalidInput("invitation", N_("this invitation is unknown, used or expired"))
    hood = None
    if home_neighbourhood:
        hood = await Neighbourhood.get_or_none(slug=home_neighbourhood)
        if hood is None:
            raise InvalidInput("home_neighbourhood", N_("no such neighbourhood"))
    if invite is None:
        return await create_account(
            username, display_name, password=password, languages=languages, home_neighbourhood=hood
        )
    async with db.atomic():
        account = await create_account(
            username, display_name, password=password, languages=languages, home_neighbourhood=hood
        )
        # Spent in the same transaction, and only while uses are left, so two people
        # cannot both spend the last use.
        spent = await Invitation.filter(id=invite.id, uses_left__gt=0).update(
            uses_left=F("uses_left") - 1
        )
        if not spent:
            raise InvalidInput("invitation", N_("this invitation is unknown, used or expired"))
    return account
