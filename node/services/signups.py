"""Who may create an account: open sign-ups, invitations, or neither (the node's choice).

A staff invitation also makes its new account staff of an organisation (or, opened by
someone who already has an account, adds them). It works whatever the sign-up policy:
the organisation's coordinator or an admin chose this person.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import timedelta

from tortoise.expressions import F

from node import db, validation
from node.errors import InvalidInput, PermissionDenied
from node.i18n import N_
from node.models import Account, Invitation, Neighbourhood, Organisation, Role, StaffRole
from node.passwords import hash_password
from node.services import audit, organisations, signup_limits
from node.services.accounts import check_new_account, store_account
from node.timeutil import utcnow

OPEN, INVITATION, CLOSED = "open", "invitation", "closed"
INVITATION_LIFETIME = timedelta(days=14)


async def may_invite(account: Account, organisation: Organisation | None) -> bool:
    """Whether `account` may make (and so revoke, and keep valid) an invitation: into an
    organisation's staff, its coordinators and the admins; a node sign-up link, admins."""
    if organisation is not None:
        return await organisations.can_manage(account, organisation)
    return account.is_active and account.role == Role.ADMIN


async def create_invitation(
    by: Account | None,
    *,
    uses: int = 1,
    lifetime: timedelta = INVITATION_LIFETIME,
    organisation: Organisation | None = None,
    role: StaffRole | str = StaffRole.STAFF,
) -> Invitation:
    """A sign-up link's code; with `organisation`, a staff invitation into it.

    `by` (None: the command line) must be an admin, or for a staff invitation a
    coordinator of that organisation.
    """
    if not 1 <= uses <= 1000:
        raise InvalidInput("uses", N_("must be between %(low)d and %(high)d"), low=1, high=1000)
    if by is not None and not await may_invite(by, organisation):
        raise PermissionDenied("only an organisation's coordinators or an admin invite")
    if organisation is not None:
        try:
            role = StaffRole(role)
        except ValueError:
            raise InvalidInput("role", N_("choose one of the options")) from None
    async with db.atomic():
        invitation = await Invitation.create(
            code=secrets.token_urlsafe(16),
            created_by=by,
            uses_left=uses,
            expires_at=utcnow() + lifetime,
            organisation=organisation,
            staff_role=str(role) if organisation is not None else None,
        )
        await audit.record(
            by,
            "invitation.created",
            f"organisation:{organisation.slug}" if organisation else "node",
            organisation=organisation,
            detail={"uses": uses, "days": lifetime.days, "role": invitation.staff_role},
        )
    return invitation


async def active_invitations(organisation: Organisation | None) -> list[Invitation]:
    """Invitations still usable: the node's general ones (None), or one organisation's."""
    query = Invitation.filter(uses_left__gt=0, expires_at__gt=utcnow())
    query = (
        query.filter(organisation_id=None)
        if organisation is None
        else query.filter(organisation_id=organisation.id)
    )
    return await query.order_by("-created_at").limit(50)


_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def revoke_invitation(
    invitation_id: int, organisation: Organisation | None, *, by: Account
) -> None:
    """Stop a link from working: a staff invitation (its organisation's managers), or a
    sign-up link of the node (admins)."""
    if not await may_invite(by, organisation):
        raise PermissionDenied("only its organisation's coordinators or an admin")
    org_id = organisation.id if organisation is not None else None
    async with db.atomic():
        revoked = await Invitation.filter(id=invitation_id, organisation_id=org_id).update(
            uses_left=0
        )
        if revoked:
            await audit.record(
                by, "invitation.revoked", f"invitation:{invitation_id}", organisation=organisation
            )


async def valid_invitation(code: str | None) -> Invitation | None:
    """The invitation behind `code` while it is usable (with its organisation loaded).

    An invitation is only as good as its maker: one made by someone who has since been
    suspended, or no longer manages the organisation (or is no longer an admin), is void.
    """
    if not code or not _CODE.match(code):
        return None
    invite = await Invitation.get_or_none(
        code=code, uses_left__gt=0, expires_at__gt=utcnow()
    ).select_related("organisation", "created_by")
    if invite is None or invite.created_by is None:  # None: the operator, by command
        return invite
    return invite if await may_invite(invite.created_by, invite.organisation) else None


async def _spend(invite: Invitation) -> None:
    # Spent in the caller's transaction, and only while uses are left, so two people
    # cannot both spend the last use.
    spent = await Invitation.filter(id=invite.id, uses_left__gt=0).update(
        uses_left=F("uses_left") - 1
    )
    if not spent:
        raise InvalidInput("invitation", N_("this invitation is unknown, used or expired"))


async def _join(invite: Invitation, account: Account) -> None:
    """Make `account` staff as the staff invitation says (the invitation authorises it)."""
    await organisations.add_staff(invite.organisation, account, invite.staff_role or "staff")


async def join_with_invitation(account: Account, code: str | None) -> Organisation:
    """Someone with an account opens a staff invitation: they join its organisation."""
    invite = await valid_invitation(code)
    if invite is None or invite.organisation is None:
        raise InvalidInput("invitation", N_("this invitation is unknown, used or expired"))
    async with db.atomic():
        await _join(invite, account)
        await _spend(invite)
    return invite.organisation


async def sign_up(
    policy: str,
    *,
    username: str,
    display_name: str,
    password: str,
    languages: Sequence[str],
    email: str | None = None,
    home_neighbourhood: str | None = None,
    invitation: str | None = None,
    address: str | None = None,
    limits: signup_limits.Limits | None = None,
) -> Account:
    """Create a resident's account if the node's `policy` lets this person sign up.

    Everything that costs no more than a query is checked first (the policy and the
    invitation, the neighbourhood, the name being free, the other fields, the password
    rules); only then is the attempt counted against `limits` for `address` (None: the
    command line and tests, not limited) and the password hashed. SignupsLimited when
    over a limit.
    """
    invite = await valid_invitation(invitation) if invitation else None
    staff_invite = invite is not None and invite.organisation_id is not None
    if policy == CLOSED and not staff_invite:
        raise PermissionDenied("this node does not take new accounts")
    if policy == INVITATION and invite is None:
        raise InvalidInput("invitation", N_("this invitation is unknown, used or expired"))
    hood = None
    if home_neighbourhood:
        slug = validation.as_slug(home_neighbourhood)
        hood = await Neighbourhood.get_or_none(slug=slug) if slug else None
        if hood is None:
            raise InvalidInput("home_neighbourhood", N_("no such neighbourhood"))
    new = await check_new_account(
        username, display_name, password=password, email=email, languages=languages
    )
    if limits is not None:
        await signup_limits.admit(address, limits, staff_invite=staff_invite)
    # Hashed before the transaction: it takes a while, and may wait for a free place.
    password_hash = await hash_password(password)
    if invite is None:
        return await store_account(new, password_hash=password_hash, home_neighbourhood=hood)
    async with db.atomic():
        account = await store_account(new, password_hash=password_hash, home_neighbourhood=hood)
        if staff_invite:
            await _join(invite, account)
        await _spend(invite)
    return account
