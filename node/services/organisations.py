"""Organisations and their staff."""

from __future__ import annotations

from collections.abc import Mapping

from node import keys, validation
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.models import Account, Membership, Organisation, OrganisationKind, StaffRole


async def create_organisation(
    slug: str,
    name: str,
    *,
    kind: OrganisationKind | str = OrganisationKind.NGO,
    description: Mapping[str, str] | None = None,
    website: str | None = None,
) -> Organisation:
    clean_slug = validation.slug("slug", slug)
    try:
        org_kind = OrganisationKind(kind)
    except ValueError:
        raise InvalidInput("kind", "expected ngo, commune_service or other") from None
    site = validation.optional_line("website", website, max_len=300)
    if site and not site.startswith(("https://", "http://")):
        raise InvalidInput("website", "must start with https://")
    if await Organisation.filter(slug=clean_slug).exists():
        raise Conflict(f"an organisation {clean_slug!r} exists")
    private_pem, public_pem = await keys.generate_key_pair()
    return await Organisation.create(
        private_key_pem=private_pem,
        public_key_pem=public_pem,
        slug=clean_slug,
        name=validation.line("name", name, min_len=2, max_len=120),
        kind=org_kind,
        description=validation.translated_text("description", description, max_len=2000),
        website=site,
    )


async def get_organisation(slug: str) -> Organisation:
    org = await Organisation.get_or_none(slug=slug)
    if org is None:
        raise NotFound(f"no organisation {slug!r}")
    return org


async def membership(account: Account | None, organisation_id: int | None) -> Membership | None:
    if account is None or organisation_id is None or not account.is_active:
        return None
    return await Membership.get_or_none(account_id=account.id, organisation_id=organisation_id)


async def is_staff(account: Account | None, organisation_id: int | None) -> bool:
    return await membership(account, organisation_id) is not None


async def add_staff(
    organisation: Organisation,
    account: Account,
    role: StaffRole | str = StaffRole.STAFF,
    *,
    by: Account | None = None,
) -> Membership:
    """Make `account` staff; `by` (when given) must be a coordinator or a node admin."""
    if by is not None and by.role != "admin":
        granted = await membership(by, organisation.id)
        if granted is None or granted.role != StaffRole.COORDINATOR:
            raise PermissionDenied("only a coordinator of the organisation can add staff")
    if await Membership.filter(organisation=organisation, account=account).exists():
        raise Conflict(f"@{account.username} is already staff of {organisation.name}")
    return await Membership.create(organisation=organisation, account=account, role=StaffRole(role))


async def staff_organisation_ids(account: Account | None) -> list[int]:
    if account is None or not account.is_active:
        return []
    return await Membership.filter(account_id=account.id).values_list("organisation_id", flat=True)


async def staff_account_ids(organisation_id: int) -> list[int]:
    return await Membership.filter(organisation_id=organisation_id).values_list(
        "account_id", flat=True
    )
