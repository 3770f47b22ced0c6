"""Organisations: their profile (kind, texts, website, contact, icon, neighbourhoods), and
who is staff.

Node admins create organisations; admins and the organisation's coordinators edit its
profile and manage its staff. The command line passes no `by` (its operator runs the
node). Profile changes reach other servers as an `Update` of the Organization actor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from node import db, events, keys, raw_sql, validation
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.images import ProcessedImage
from node.models import (
    Account,
    HelpPost,
    Membership,
    Neighbourhood,
    Organisation,
    OrganisationArea,
    OrganisationKind,
    RemotePost,
    Role,
    StaffRole,
)
from node.request_memo import remembered
from node.services import audit, media
from node.services.handles import check_free


def _is_admin(account: Account | None) -> bool:
    return account is not None and account.is_active and account.role == Role.ADMIN


async def membership(account: Account | None, organisation_id: int | None) -> Membership | None:
    if account is None or organisation_id is None or not account.is_active:
        return None
    # Asked by every request page, several times (permissions): a hand-written read
    # (`node.raw_sql`), once per page (`node.request_memo`).
    lookups = {"account_id": account.id, "organisation_id": organisation_id}
    found = await remembered(
        membership_key(account.id, organisation_id),
        lambda: raw_sql.select(Membership, lookups, limit=1),
    )
    return found[0] if found else None


def membership_key(account_id: int, organisation_id: int) -> tuple[object, ...]:
    """What `membership` is remembered under while a page is made (`node.request_memo`):
    the list of that account's memberships of that organisation (none or one)."""
    return ("membership", account_id, organisation_id)


async def is_staff(account: Account | None, organisation_id: int | None) -> bool:
    return await membership(account, organisation_id) is not None


async def is_coordinator(account: Account | None, organisation_id: int | None) -> bool:
    found = await membership(account, organisation_id)
    return found is not None and found.role == StaffRole.COORDINATOR


async def can_manage(account: Account | None, organisation: Organisation) -> bool:
    """Edit the profile and manage staff: the node's admins and its coordinators."""
    return _is_admin(account) or await is_coordinator(account, organisation.id)


async def _require_manager(by: Account | None, organisation: Organisation) -> None:
    if by is not None and not await can_manage(by, organisation):
        raise PermissionDenied("only a coordinator of the organisation or an admin can do this")


@dataclass(slots=True)
class OrganisationForm:
    """What the admin form sends."""

    name: str = ""
    kind: str = OrganisationKind.NGO
    description: Mapping[str, str] = field(default_factory=dict)
    website: str = ""
    contact: str = ""
    neighbourhoods: Sequence[str] = ()  # slugs
    show_staff_names: bool = False


def _website(value: str | None) -> str | None:
    site = validation.optional_line("website", value, max_len=300)
    if site and not site.startswith(("https://", "http://")):
        raise InvalidInput("website", N_("must start with https:// or http://"))
    if site and (" " in site or len(site.split("://", 1)[1]) < 4):
        raise InvalidInput("website", N_("is not a web address"))
    return site


def _staff_role(value: StaffRole | str) -> StaffRole:
    try:
        return StaffRole(value)
    except ValueError:
        raise InvalidInput("role", N_("choose one of the options")) from None


def _kind(value: str) -> OrganisationKind:
    try:
        return OrganisationKind(value)
    except ValueError:
        raise InvalidInput("kind", N_("choose one of the options")) from None


async def _form_values(
    form: OrganisationForm, checker: validation.FieldChecker
) -> tuple[dict[str, object], list[Neighbourhood]]:
    check = checker.check
    check("name", lambda: validation.line("name", form.name, min_len=2, max_len=120))
    check("kind", lambda: _kind(form.kind))
    check(
        "description",
        lambda: validation.written_texts("description", form.description, max_len=2000),
    )
    check("website", lambda: _website(form.website))
    check("contact", lambda: validation.optional_line("contact", form.contact, max_len=200) or "")
    check("show_staff_names", lambda: bool(form.show_staff_names))
    wanted = set(form.neighbourhoods)
    slugs = [slug for slug in (validation.as_slug(s) for s in wanted) if slug]
    hoods = list(await Neighbourhood.filter(slug__in=slugs)) if slugs else []
    if len(hoods) != len(wanted):
        checker.errors.append(InvalidInput("neighbourhoods", N_("no such neighbourhood")))
    values = checker.done()
    values.pop("slug", None)
    return values, hoods


async def _set_areas(org: Organisation, hoods: list[Neighbourhood]) -> None:
    await OrganisationArea.filter(organisation=org).delete()
    await OrganisationArea.bulk_create(
        [OrganisationArea(organisation=org, neighbourhood=hood) for hood in hoods]
    )


async def create_organisation(
    slug: str,
    name: str,
    *,
    kind: OrganisationKind | str = OrganisationKind.NGO,
    description: Mapping[str, str] | None = None,
    website: str | None = None,
    contact: str = "",
    neighbourhoods: Sequence[str] = (),
    by: Account | None = None,
) -> Organisation:
    """Create an organisation (admins only when `by` is given); InvalidFields lists all
    bad fields, the slug's too."""
    if by is not None and not _is_admin(by):
        raise PermissionDenied("only the node's admins create organisations")
    form = OrganisationForm(
        name=name,
        kind=str(kind),
        description=description or {},
        website=website or "",
        contact=contact,
        neighbourhoods=neighbourhoods,
    )
    checker = validation.FieldChecker()
    clean_slug = await checker.check_async("slug", lambda: check_free("slug", slug))
    values, hoods = await _form_values(form, checker)
    private_pem, public_pem = await keys.generate_key_pair()
    async with db.atomic():
        org = await Organisation.create(
            slug=clean_slug, private_key_pem=private_pem, public_key_pem=public_pem, **values
        )
        await _set_areas(org, hoods)
        await audit.record(by, "organisation.created", f"organisation:{org.slug}", organisation=org)
    return org


async def update_organisation(org: Organisation, form: OrganisationForm, by: Account) -> None:
    """Save the profile form; followers elsewhere get an Update of the Organization."""
    await _require_manager(by, org)
    values, hoods = await _form_values(form, validation.FieldChecker())
    for key, value in values.items():
        setattr(org, key, value)
    async with db.atomic():
        await org.save(update_fields=[*values, "updated_at"])  # an icon saved meanwhile stays
        await _set_areas(org, hoods)
        await audit.record(by, "organisation.edited", f"organisation:{org.slug}", organisation=org)
        await events.emit(events.ActorChanged("organisation", org.id))


async def set_icon(org: Organisation, image: ProcessedImage, by: Account) -> None:
    await _require_manager(by, org)
    async with db.atomic():
        stored = await media.store(image)
        org.icon_id = stored.id
        await org.save(update_fields=["icon_id", "updated_at"])
        await audit.record(by, "organisation.icon", f"organisation:{org.slug}", organisation=org)
        await events.emit(events.ActorChanged("organisation", org.id))


async def get_organisation(slug: str) -> Organisation:
    clean = validation.as_slug(slug)
    org = await Organisation.get_or_none(slug=clean) if clean else None
    if org is None:
        raise NotFound(f"no organisation {slug[:60]!r}")
    return org


async def list_organisations() -> list[Organisation]:
    return await Organisation.all().order_by("name")


async def area_slugs(org: Organisation) -> list[str]:
    """Slugs of the neighbourhoods `org` works in."""
    return await OrganisationArea.filter(organisation=org).values_list(
        "neighbourhood__slug", flat=True
    )


async def add_staff(
    organisation: Organisation,
    account: Account,
    role: StaffRole | str = StaffRole.STAFF,
    *,
    by: Account | None = None,
) -> Membership:
    """Make `account` staff; `by` (when given) must be a coordinator or a node admin."""
    await _require_manager(by, organisation)
    staff_role = _staff_role(role)
    async with db.atomic():
        if await Membership.filter(organisation=organisation, account=account).exists():
            raise Conflict(f"@{account.username} is already staff of {organisation.name}")
        created = await Membership.create(
            organisation=organisation, account=account, role=staff_role
        )
        await audit.record(
            by,
            "staff.added",
            f"account:{account.username}",
            organisation=organisation,
            detail={"role": staff_role.value},
        )
    return created


async def set_staff_role(
    organisation: Organisation, account: Account, role: StaffRole | str, *, by: Account
) -> Membership:
    await _require_manager(by, organisation)
    staff_role = _staff_role(role)
    found = await membership(account, organisation.id)
    if found is None:
        raise NotFound(f"@{account.username} is not staff of {organisation.name}")
    found.role = staff_role
    async with db.atomic():
        await found.save(update_fields=["role"])
        await audit.record(
            by,
            "staff.role",
            f"account:{account.username}",
            organisation=organisation,
            detail={"role": staff_role.value},
        )
    return found


async def remove_staff(organisation: Organisation, account: Account, *, by: Account) -> None:
    await _require_manager(by, organisation)
    async with db.atomic():
        removed = await Membership.filter(organisation=organisation, account=account).delete()
        if not removed:
            raise NotFound(f"@{account.username} is not staff of {organisation.name}")
        # Their requests go back to the whole team, which hears about answers again.
        await HelpPost.filter(organisation=organisation, assignee=account).update(assignee_id=None)
        await audit.record(
            by, "staff.removed", f"account:{account.username}", organisation=organisation
        )


async def staff_of(organisation: Organisation) -> list[Membership]:
    """The organisation's memberships with their accounts, by name."""
    rows = await Membership.filter(organisation=organisation).select_related("account")
    return sorted(rows, key=lambda m: m.account.display_name.casefold())


async def remote_partner_posts(organisation: Organisation, limit: int = 20) -> list[RemotePost]:
    """Requests of organisations on other nodes that name `organisation` as partner."""
    return (
        await RemotePost.filter(partners__organisation_id=organisation.id, finished=False)
        .order_by("-published_at")
        .limit(limit)
        .select_related("actor")
    )


async def memberships_of(account: Account) -> list[Membership]:
    """The organisations `account` is staff of, with the role, by name."""
    rows = await Membership.filter(account=account).select_related("organisation")
    return sorted(rows, key=lambda m: m.organisation.name.casefold())


async def staff_organisation_ids(account: Account | None) -> list[int]:
    if account is None or not account.is_active:
        return []
    return await Membership.filter(account_id=account.id).values_list("organisation_id", flat=True)


async def staff_organisations(account: Account | None) -> list[Organisation]:
    """The organisations `account` is staff of, by name."""
    ids = await staff_organisation_ids(account)
    return await Organisation.filter(id__in=ids).order_by("name") if ids else []


async def staff_account_ids(organisation_id: int) -> list[int]:
    """The organisation's staff who may act (suspended accounts left out)."""
    # Hand-written (see `node.raw_sql`): every reply to an organisation's post asks this.
    found = await raw_sql.named_rows(
        "SELECT m.account_id FROM memberships m JOIN accounts a ON a.id = m.account_id"
        " WHERE m.organisation_id = ? AND a.is_active = ?",
        [organisation_id, True],
    )
    return [row["account_id"] for row in found]
