"""What a person fills in to publish a request or an offer, and checking all of it.

`check_draft` validates every field at once (one `InvalidFields` listing all that are
bad) so a form shows every problem; `organisation_for` checks posting for an
organisation, and for one of its clients (a pseudonymous label, and their consent).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from node import validation
from node.errors import InvalidFields, InvalidInput, PermissionDenied
from node.i18n import N_
from node.models import Account, Neighbourhood, Organisation, PostKind, Visibility
from node.services.organisations import is_staff
from node.taxonomy import BY_SLUG
from node.timeutil import as_utc

MAX_HELPERS = 50
FLEXIBLE_LIFETIME = timedelta(days=30)
DATED_GRACE = timedelta(days=1)
MAX_AHEAD = timedelta(days=366)
END_BEFORE_START = N_("must be after the start")
# Digits in a public area hint are almost always a house number or postcode.
_DIGITS = re.compile(r"\d")
# An e-mail address, or a phone number even when written as "0470 12 34 56" or "02/512.34.56".
_CONTACT = re.compile(r"@|\d{5,}|\+\d|\d(?:[\s./-]?\d){7,}")


@dataclass(slots=True)
class PostDraft:
    """What a person fills in to publish a request or an offer."""

    kind: str
    title: str
    category: str
    neighbourhood: str  # slug
    language: str
    description: str = ""
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    helpers_needed: int | str = 1
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    expires_at: datetime | None = None
    visibility: str = Visibility.PUBLIC
    area_hint: str | None = None
    private_location: str | None = None
    organisation: str | None = None  # slug: post as (or for a client of) this organisation
    on_behalf_label: str | None = None
    client_consent: bool = False


def _choice(field_name: str, value: str, enum: type) -> str:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise InvalidInput(field_name, N_("expected one of %(allowed)s"), allowed=allowed) from None


def _utc(field_name: str, value: datetime | None, now: datetime) -> datetime | None:
    """`value` in UTC; a moment too far off to convert is refused like any far date."""
    if value is None:
        return None
    try:
        return as_utc(value)
    except OverflowError:
        if value.replace(tzinfo=None) > now.replace(tzinfo=None):
            raise InvalidInput(field_name, N_("is more than a year ahead")) from None
        raise InvalidInput(field_name, N_("is in the past")) from None


def _check_times(
    draft: PostDraft, now: datetime
) -> tuple[datetime | None, datetime | None, datetime]:
    starts = _utc("starts_at", draft.starts_at, now)
    ends = _utc("ends_at", draft.ends_at, now)
    if ends and not starts:
        raise InvalidInput("ends_at", N_("an end needs a start"))
    if starts and starts < now - DATED_GRACE:
        raise InvalidInput("starts_at", N_("is in the past"))
    if starts and starts > now + MAX_AHEAD:
        raise InvalidInput("starts_at", N_("is more than a year ahead"))
    if starts and ends and ends <= starts:  # "14:00 – 10:00" is a slip: say so, keep nothing
        raise InvalidInput("ends_at", END_BEFORE_START)
    # An end may pass midnight (when a caller gives both moments), not the year.
    if ends and ends > now + MAX_AHEAD + DATED_GRACE:
        raise InvalidInput("ends_at", N_("is more than a year ahead"))
    if draft.expires_at is not None:
        expires = _utc("expires_at", draft.expires_at, now)
        assert expires is not None
        if expires <= now:
            raise InvalidInput("expires_at", N_("is in the past"))
        if expires > now + MAX_AHEAD:
            raise InvalidInput("expires_at", N_("is more than a year ahead"))
    elif starts:
        expires = (ends or starts) + DATED_GRACE
    else:
        expires = now + FLEXIBLE_LIFETIME
    return starts, ends, expires


def check_label(field_name: str, value: str | None) -> str | None:
    """A client's pseudonymous label: a description, never a name or contact details."""
    label = validation.optional_line(field_name, value, max_len=80)
    if label and len(label) < 3:
        raise InvalidInput(field_name, N_("needs at least %(min)d characters"), min=3)
    if label and _CONTACT.search(label):
        raise InvalidInput(field_name, N_("describe the person without names or contact details"))
    return label


def _check_translations(
    translations: Mapping[str, Mapping[str, str]], language: str
) -> dict[str, dict[str, str]]:
    checked: dict[str, dict[str, str]] = {}
    for lang, texts in translations.items():
        tag = validation.language_tag("translations", lang)
        if tag == language:
            continue
        checked[tag] = {
            "title": validation.line("translations", texts.get("title"), min_len=3, max_len=120),
            "description": validation.text("translations", texts.get("description"), max_len=5000),
        }
        label = check_label("second_on_behalf_label", texts.get("on_behalf_label"))
        if label:
            checked[tag]["on_behalf_label"] = label
    return checked


async def organisation_for(
    author: Account, draft: PostDraft, *, editing: bool = False
) -> tuple[Organisation | None, str | None]:
    """The organisation `author` posts for (they must be its staff) and the client label.

    `editing`: the post exists and its editor was checked (a partner may edit too).
    """
    label = check_label("on_behalf_label", draft.on_behalf_label)
    labelled = label or any(t.get("on_behalf_label") for t in draft.translations.values())
    if not draft.organisation:
        if labelled:
            raise InvalidInput("on_behalf_label", N_("posting for a client needs an organisation"))
        return None, None
    slug = validation.as_slug(draft.organisation)
    org = await Organisation.get_or_none(slug=slug) if slug else None
    if org is None:
        raise InvalidInput("organisation", N_("no such organisation"))
    if not editing and not await is_staff(author, org.id):
        raise PermissionDenied(f"only staff of {org.name} can post for it")
    if labelled and not label:
        raise InvalidInput("on_behalf_label", N_("is required"))
    if label and not draft.client_consent:
        raise InvalidInput("client_consent", N_("the client must agree before you post"))
    return org, label


@dataclass(slots=True)
class Checked:
    """The fields of a draft, validated."""

    values: dict[str, object]
    hood: Neighbourhood


async def check_draft(
    draft: PostDraft, now: datetime, *, keep_neighbourhood_id: int | None = None
) -> Checked:
    """Validate every field of `draft`; raise one InvalidFields listing all that are bad.

    New posts cannot go to an archived neighbourhood; an edited post may stay in the
    one it is in (`keep_neighbourhood_id`).
    """
    errors: list[InvalidInput] = []
    values: dict[str, object] = {}

    def check(name: str, make, *args) -> object:
        try:
            values[name] = make(*args)
        except InvalidInput as exc:
            errors.append(exc)
        return values.get(name)

    check("kind", _choice, "kind", draft.kind, PostKind)
    check("visibility", _choice, "visibility", draft.visibility, Visibility)
    if draft.category not in BY_SLUG:
        errors.append(InvalidInput("category", N_("choose one of the categories")))
    values["category"] = draft.category
    language = check("language", validation.language_tag, "language", draft.language)
    check("title", lambda: validation.line("title", draft.title, min_len=3, max_len=120))
    check("description", lambda: validation.text("description", draft.description, max_len=5000))
    if language:
        check("translations", _check_translations, draft.translations, language)
    check(
        "helpers_needed", validation.integer, "helpers_needed", draft.helpers_needed, 1, MAX_HELPERS
    )
    try:
        values["starts_at"], values["ends_at"], values["expires_at"] = _check_times(draft, now)
    except InvalidInput as exc:
        errors.append(exc)
    area_hint = check(
        "area_hint", lambda: validation.optional_line("area_hint", draft.area_hint, max_len=80)
    )
    if area_hint and _DIGITS.search(str(area_hint)):
        errors.append(InvalidInput("area_hint", N_("keep it rough: no house numbers or postcodes")))
    check(
        "private_location",
        lambda: validation.optional_line("private_location", draft.private_location, max_len=200),
    )
    hood_slug = validation.as_slug(draft.neighbourhood)
    hood = await Neighbourhood.get_or_none(slug=hood_slug) if hood_slug else None
    if hood is None:
        errors.append(InvalidInput("neighbourhood", N_("no such neighbourhood")))
    elif hood.archived_at is not None and hood.id != keep_neighbourhood_id:
        errors.append(InvalidInput("neighbourhood", N_("this neighbourhood is archived")))
    if errors:
        raise InvalidFields(errors)
    assert hood is not None
    return Checked(values, hood)
