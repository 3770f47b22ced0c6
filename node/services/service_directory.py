"""The directory of services (signposting): what the commune and the organisations do for
residents (bulky-waste pick-up, meals on wheels, the social desk), and where.

An organisation's staff (any role) keep its own services; the node's admins keep any
organisation's. Every change is checked field by field first (`InvalidFields` lists all
that is wrong and nothing is saved), then stored with its audit entry and its event
(`ServiceChanged`, `ServiceRemoved`) in one transaction, for federation to deliver.
Reading is public: the directory, a service's page, the neighbourhood pages and the hint
shown while a resident composes a request (`node.services.service_matching`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlsplit
from uuid import UUID

from node import db, events, uris, validation
from node.config import SUPPORTED_LANGUAGES
from node.errors import InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.models import Account, Neighbourhood, Organisation, Role, Service, ServiceArea
from node.services import audit, organisations, service_matching
from node.taxonomy import BY_SLUG, CATEGORIES
from node.text import clean_line

NAME_MAX, DESCRIPTION_MAX, HOURS_MAX = 120, 2000, 200
PHONE_MAX, ADDRESS_MAX, WEBSITE_MAX = 40, 200, 300
PHONE_RE = re.compile(r"[0-9 +()\-./]+")
# What a directory shows at most; a node has a few dozen services.
MAX_LISTED = service_matching.MAX_SERVICES


@dataclass(slots=True)
class ServiceForm:
    """What the form sends: texts keyed by language code, neighbourhoods by id."""

    language: str = "nl"  # the lead language: name and description are required in it
    name: Mapping[str, str] = field(default_factory=dict)
    description: Mapping[str, str] = field(default_factory=dict)
    categories: Sequence[str] = ()
    everywhere: bool = True
    neighbourhoods: Sequence[int | str] = ()  # ids, when not everywhere
    phone: str = ""
    email: str = ""
    hours: Mapping[str, str] = field(default_factory=dict)
    address: str = ""
    website: str = ""
    free: bool = True


# Permissions


def _is_admin(account: Account | None) -> bool:
    return account is not None and account.is_active and account.role == Role.ADMIN


async def can_manage(account: Account | None, organisation_id: int) -> bool:
    """Keep the organisation's services: its staff (any role) and the node's admins."""
    return _is_admin(account) or await organisations.is_staff(account, organisation_id)


async def _require(by: Account, organisation_id: int) -> None:
    if not await can_manage(by, organisation_id):
        raise PermissionDenied("only the organisation's staff or an admin keep its services")


async def organisations_for(account: Account | None) -> list[Organisation]:
    """The organisations `account` may add services for, by name."""
    if _is_admin(account):
        return await organisations.list_organisations()
    return await organisations.staff_organisations(account)


# Checking the form


def _language(value: str) -> str:
    lang = (value or "").strip().lower()
    if lang not in SUPPORTED_LANGUAGES:
        raise InvalidInput("language", N_("choose one of the options"))
    return lang


def _texts(form: ServiceForm, lead: str | None, checker: validation.FieldChecker) -> None:
    """Name and description in the lead language; in another, a name wherever there is
    a description (a name alone is fine: the lead description is shown with it); hours
    optional per language. Errors name the language's own box."""
    texts: dict[str, dict[str, str]] = {"name": {}, "description": {}, "hours": {}}
    if {*form.name, *form.description, *form.hours} - set(SUPPORTED_LANGUAGES):
        checker.errors.append(InvalidInput("language", N_("this language is not offered here")))
    for lang in SUPPORTED_LANGUAGES:
        raw_name = form.name.get(lang) or ""
        raw_description = form.description.get(lang) or ""
        lead_here = lang == lead
        named = lead_here or bool(clean_line(raw_description))
        checks = {
            "name": partial(
                validation.line, f"name_{lang}", raw_name, min_len=int(named), max_len=NAME_MAX
            ),
            "description": partial(
                validation.text,
                f"description_{lang}",
                raw_description,
                max_len=DESCRIPTION_MAX,
                required=lead_here,
            ),
            "hours": partial(
                validation.text, f"hours_{lang}", form.hours.get(lang) or "", max_len=HOURS_MAX
            ),
        }
        for kind, check in checks.items():
            value = checker.check(f"{kind}_{lang}", check)
            checker.values.pop(f"{kind}_{lang}", None)
            if value:
                texts[kind][lang] = value
    checker.values.update(texts)


def _categories(values: Sequence[str]) -> list[str]:
    wanted = {(value or "").strip() for value in values} - {""}
    if not wanted:
        raise InvalidInput("categories", N_("choose at least one"))
    if wanted - set(BY_SLUG):
        raise InvalidInput("categories", N_("choose one of the options"))
    return [c.slug for c in CATEGORIES if c.slug in wanted]  # the taxonomy's order


def phone(value: str | None) -> str:
    """A phone number as people write it: digits, spaces and + ( ) - . / only."""
    text = clean_line(value or "")
    if not text:
        return ""
    if len(text) > PHONE_MAX:
        raise InvalidInput("phone", N_("is too long (at most %(max)d characters)"), max=PHONE_MAX)
    if not PHONE_RE.fullmatch(text) or not any(c.isdigit() for c in text):
        raise InvalidInput("phone", N_("use digits, spaces and + ( ) - . / only"))
    return text


def website(value: str | None) -> str | None:
    """An absolute http(s) address, or None; anything a browser might run or read
    another way (`javascript:`, `data:`, spaces, backslashes) is refused."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > WEBSITE_MAX:
        raise InvalidInput(
            "website", N_("is too long (at most %(max)d characters)"), max=WEBSITE_MAX
        )
    if any(c.isspace() or not c.isprintable() or c == "\\" for c in text):
        raise InvalidInput("website", N_("is not a web address"))
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        raise InvalidInput("website", N_("is not a web address")) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput("website", N_("must start with https:// or http://"))
    if not text.lower().startswith(("http://", "https://")) or not host or "." not in host:
        raise InvalidInput("website", N_("is not a web address"))
    return text


async def _areas(form: ServiceForm) -> list[Neighbourhood]:
    if form.everywhere:
        return []
    ids = {validation.as_id(str(value)) for value in form.neighbourhoods}
    if not ids:
        raise InvalidInput("neighbourhoods", N_("choose at least one, or every neighbourhood"))
    if None in ids:
        raise InvalidInput("neighbourhoods", N_("no such neighbourhood"))
    hoods = await Neighbourhood.filter(id__in=ids, archived_at=None).order_by("name")
    if len(hoods) != len(ids):
        raise InvalidInput("neighbourhoods", N_("no such neighbourhood"))
    return list(hoods)


async def check_form(form: ServiceForm) -> tuple[dict[str, object], list[Neighbourhood]]:
    """The values to store and the neighbourhoods served; InvalidFields lists every
    bad field (texts are named `name_nl`, `description_fr`, `hours_en`...)."""
    checker = validation.FieldChecker()
    lead = checker.check("language", lambda: _language(form.language))
    _texts(form, lead, checker)
    checker.check("categories", lambda: _categories(form.categories))
    checker.check("everywhere", lambda: bool(form.everywhere))
    checker.check("phone", lambda: phone(form.phone))
    checker.check("email", lambda: validation.email(form.email) or "")
    checker.check(
        "address",
        lambda: validation.optional_line("address", form.address, max_len=ADDRESS_MAX) or "",
    )
    checker.check("website", lambda: website(form.website))
    checker.check("free", lambda: bool(form.free))
    hoods = await checker.check_async("neighbourhoods", lambda: _areas(form))
    values = checker.done()
    values.pop("neighbourhoods", None)
    return values, hoods or []


# Changing the directory


async def _set_areas(service: Service, hoods: list[Neighbourhood]) -> None:
    await ServiceArea.filter(service=service).delete()
    if hoods:
        await ServiceArea.bulk_create(
            [ServiceArea(service=service, neighbourhood=hood) for hood in hoods]
        )


async def create_service(organisation: Organisation, form: ServiceForm, by: Account) -> Service:
    """Add a service of `organisation`; federation sends a `Create` to its followers."""
    await _require(by, organisation.id)
    values, hoods = await check_form(form)
    async with db.atomic():
        service = await Service.create(organisation=organisation, created_by=by, **values)
        await _set_areas(service, hoods)
        await _audit(by, "service.created", service)
        await events.emit(events.ServiceChanged(str(service.id), created=True))
    service.organisation = organisation
    return service


async def update_service(service: Service, form: ServiceForm, by: Account) -> Service:
    """Save the form over `service`; federation sends an `Update`."""
    await _require(by, service.organisation_id)
    values, hoods = await check_form(form)
    for key, value in values.items():
        setattr(service, key, value)
    async with db.atomic():
        await service.save(update_fields=[*values, "updated_at"])
        await _set_areas(service, hoods)
        await _audit(by, "service.edited", service)
        await events.emit(events.ServiceChanged(str(service.id), created=False))
    return service


async def delete_service(service: Service, by: Account) -> None:
    """Remove `service` (its areas go with it); federation sends a `Delete`."""
    await _require(by, service.organisation_id)
    async with db.atomic():
        await _audit(by, "service.deleted", service)
        await events.emit(events.ServiceRemoved(str(service.id), service.organisation_id))
        await service.delete()


async def _audit(by: Account, action: str, service: Service) -> None:
    await audit.record(
        by,
        action,
        f"service:{service.id}",
        organisation=service.organisation_id,
        detail={"name": service.name.get(service.language, "")},
    )


# Reading the directory


async def get_service(service_id: str | UUID) -> Service:
    """The service with this id (in the form its URL spells it), with its organisation;
    NotFound for anything else."""
    key = service_id if isinstance(service_id, UUID) else uris.id_key(str(service_id))
    found = await Service.get_or_none(id=key).prefetch_related("organisation") if key else None
    if found is None:
        raise NotFound("no such service")
    return found


async def get_managed_service(service_id: str | UUID, by: Account) -> Service:
    """The service, for someone who may change it (PermissionDenied otherwise)."""
    service = await get_service(service_id)
    await _require(by, service.organisation_id)
    return service


async def list_services(
    *, neighbourhood_id: int | None = None, category: str | None = None
) -> list[Service]:
    """The node's services by name, optionally those serving a neighbourhood and
    answering a category (an unknown category finds nothing)."""
    if neighbourhood_id is not None:
        found = await service_matching.serving(neighbourhood_id)
    else:
        found = await Service.all().prefetch_related("organisation").limit(MAX_LISTED)
    if category:
        found = [s for s in found if category in s.categories]
    return service_matching.by_name(found)


async def list_for_organisation(organisation: Organisation | int) -> list[Service]:
    """One organisation's services by name."""
    org_id = organisation.id if isinstance(organisation, Organisation) else organisation
    found = await Service.filter(organisation_id=org_id).prefetch_related("organisation")
    return service_matching.by_name(found)


async def manageable(account: Account | None) -> list[Service]:
    """The services `account` may change: all for an admin, its organisations' for staff."""
    if _is_admin(account):
        return await list_services()
    ids = [org.id for org in await organisations.staff_organisations(account)]
    if not ids:
        return []
    found = await Service.filter(organisation_id__in=ids).prefetch_related("organisation")
    return service_matching.by_name(found)


async def areas_of(service: Service) -> list[Neighbourhood]:
    """The neighbourhoods a service lists (none when it serves them all), by name."""
    return list(await Neighbourhood.filter(service_areas__service_id=service.id).order_by("name"))


async def form_of(service: Service) -> ServiceForm:
    """The form filled in with what `service` holds (to edit it)."""
    return ServiceForm(
        language=service.language,
        name=dict(service.name),
        description=dict(service.description),
        categories=list(service.categories),
        everywhere=service.everywhere,
        neighbourhoods=[hood.id for hood in await areas_of(service)],
        phone=service.phone,
        email=service.email,
        hours=dict(service.hours),
        address=service.address,
        website=service.website or "",
        free=service.free,
    )


async def for_request(category: str, neighbourhood_slug: str) -> list[Service]:
    """Services that may do what a request in `category` and this neighbourhood asks
    (for the hint while composing); nothing for an unknown category or neighbourhood."""
    slug = validation.as_slug(neighbourhood_slug)
    if category not in BY_SLUG or slug is None:
        return []
    hood = await Neighbourhood.get_or_none(slug=slug, archived_at=None)
    if hood is None:
        return []
    return await service_matching.matching_services(category, hood.id)
