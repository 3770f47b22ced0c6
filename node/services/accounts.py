"""Accounts: creating residents and admins, logging in, roles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from node import db, names, validation
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.models import Account, Neighbourhood, Organisation, Role
from node.passwords import hash_password, needs_rehash, verify_password
from node.services import audit
from node.timeutil import utcnow

MIN_PASSWORD = 10
MAX_PASSWORD = 1024


def check_password(password: str | None) -> str:
    if password is None or len(password) < MIN_PASSWORD:
        raise InvalidInput("password", N_("needs at least %(min)d characters"), min=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(
            "password", N_("is too long (at most %(max)d characters)"), max=MAX_PASSWORD
        )
    return password


def check_languages(languages: Sequence[str]) -> list[str]:
    tags = [validation.language_tag("languages", lang) for lang in languages]
    if not tags:
        raise InvalidInput("languages", N_("choose at least one language"))
    return list(dict.fromkeys(tags))


async def check_display_name(value: str | None) -> str:
    """A display name that does not read as one of the node's organisations."""
    shown = validation.line("display_name", value, max_len=80)
    for org_name, slug in await Organisation.all().values_list("name", "slug"):
        if any(names.imitates(shown, part) for part in [*names.protected_parts(org_name), slug]):
            raise InvalidInput(
                "display_name",
                N_("this reads like the organisation %(name)s: choose a name of your own"),
                name=org_name,
            )
    return shown


@dataclass(frozen=True, slots=True)
class NewAccount:
    """A new account's values after every cheap check, before anything costly is done."""

    username: str
    display_name: str
    email: str | None
    languages: list[str]
    password: str | None = field(repr=False)


async def check_new_account(
    username: str,
    display_name: str,
    *,
    password: str | None = None,
    email: str | None = None,
    languages: Sequence[str] = ("nl",),
) -> NewAccount:
    """Check everything about a new account that costs no more than a query: the name
    (free, compared as stored: lowercase), the display name, the address, the languages
    and the password rules. InvalidInput or Conflict; nothing is hashed or generated."""
    name = validation.username(username)
    shown = await check_display_name(display_name)
    address = validation.email(email)
    langs = check_languages(languages)
    # None means "no password yet"; an empty string is a password that is too short.
    if password is not None:
        check_password(password)
    if await Account.filter(username__iexact=name).exists():
        raise Conflict(f"the username {name!r} is taken")
    if address and await Account.filter(email__iexact=address).exists():
        raise Conflict("an account with this e-mail address exists")
    return NewAccount(name, shown, address, langs, password)


async def store_account(
    new: NewAccount,
    *,
    password_hash: str | None,
    role: Role = Role.RESIDENT,
    home_neighbourhood: Neighbourhood | None = None,
) -> Account:
    """Insert a checked account. Its actor key pair is made when first needed
    (node.services.actor_keys), not now: most accounts never federate."""
    try:
        return await Account.create(
            username=new.username,
            display_name=new.display_name,
            email=new.email,
            password_hash=password_hash,
            languages_csv=",".join(new.languages),
            role=role,
            home_neighbourhood=home_neighbourhood,
        )
    except IntegrityError:  # a concurrent sign-up took the name between check and insert
        raise Conflict(f"the username {new.username!r} is taken") from None


async def create_account(
    username: str,
    display_name: str,
    *,
    password: str | None = None,
    email: str | None = None,
    languages: Sequence[str] = ("nl",),
    role: Role = Role.RESIDENT,
    home_neighbourhood: Neighbourhood | None = None,
) -> Account:
    """Create a local account: the cheap checks first, then the password (if any) is
    hashed off the event loop, then the row is stored."""
    new = await check_new_account(
        username, display_name, password=password, email=email, languages=languages
    )
    password_hash = await hash_password(new.password) if new.password is not None else None
    return await store_account(
        new, password_hash=password_hash, role=role, home_neighbourhood=home_neighbourhood
    )


async def get_account(username: str) -> Account:
    name = validation.as_username(username)
    account = await Account.get_or_none(username=name) if name else None
    if account is None:
        raise NotFound(f"no account @{username}")
    return account


async def get_active_account(username: str) -> Account:
    """An account that may be shown and followed; NotFound for unknown or suspended ones."""
    name = validation.as_username(username)
    account = await Account.get_or_none(username=name, is_active=True) if name else None
    if account is None:
        raise NotFound(f"no account @{username}")
    return account


class AccountSuspended(PermissionDenied):
    """The credentials are right but the moderators suspended the account."""


async def authenticate(username: str, password: str) -> Account | None:
    """The active account for these credentials, or None; same cost whether it exists.

    AccountSuspended when they are right for a suspended account: its owner is told
    why they cannot log in (only someone who knows the password learns it)."""
    name = validation.as_username(username)
    account = await Account.get_or_none(username=name) if name else None
    stored = account.password_hash if account else None
    if not await verify_password(stored, password or ""):
        return None
    assert account is not None and stored is not None
    if not account.is_active:
        if account.suspended_at is not None:
            raise AccountSuspended("this account is suspended")
        return None
    account.last_login_at = utcnow()
    if needs_rehash(stored):
        account.password_hash = await hash_password(password)
    await account.save(update_fields=["last_login_at", "password_hash"])
    return account


async def set_role(account: Account, role: Role | str, *, by: Account | None = None) -> Account:
    """Change the node role; `by` (when given) must be an admin. The last active admin
    keeps the role: a node without one could not be run from the browser."""
    if by is not None and (by.role != Role.ADMIN or not by.is_active):
        raise PermissionDenied("only the node's admins change roles")
    try:
        new = Role(role)
    except ValueError:
        raise InvalidInput("role", N_("choose one of the options")) from None
    async with db.atomic():
        if account.role == Role.ADMIN and new != Role.ADMIN:
            # Lock the admins' rows (PostgreSQL), so that two admins demoting each other
            # at the same moment cannot both see the other one still there.
            admins = len(await Account.filter(role=Role.ADMIN, is_active=True).select_for_update())
            if admins <= 1 and account.is_active:
                raise InvalidInput(
                    "role", N_("this is the last admin: make someone else admin first")
                )
        old = account.role
        account.role = new
        await account.save(update_fields=["role"])
        if old != new:
            await audit.record(
                by,
                "account.role",
                f"account:{account.username}",
                detail={"old": str(old), "new": new.value},
            )
    return account


SEARCH_PAGE = 50


async def search_accounts(text: str = "", *, page: int = 1) -> tuple[list[Account], int]:
    """Accounts whose username, name or e-mail contains `text`; (one page, total)."""
    query = Account.all()
    text = text.replace("\x00", "").strip()[:80]
    if text:
        query = query.filter(
            Q(username__icontains=text) | Q(display_name__icontains=text) | Q(email__icontains=text)
        )
    total = await query.count()
    rows = (
        await query.order_by("username").offset((max(page, 1) - 1) * SEARCH_PAGE).limit(SEARCH_PAGE)
    )
    return list(rows), total


async def change_password(account: Account, current: str, new: str) -> Account:
    """Set a new password after checking the current one (the caller ends other sessions)."""
    if not await verify_password(account.password_hash, current or ""):
        raise InvalidInput("current_password", N_("this is not your current password"))
    account.password_hash = await hash_password(check_password(new))
    await account.save(update_fields=["password_hash"])
    return account


async def set_interface_language(account: Account, language: str) -> Account:
    """Put `language` first among the account's languages: pages are shown in it."""
    tag = validation.language_tag("language", language)
    account.languages_csv = ",".join(dict.fromkeys([tag, *account.languages]))[:40]
    await account.save(update_fields=["languages_csv"])
    return account
