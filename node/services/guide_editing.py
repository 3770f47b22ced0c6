"""Editing the guides for helpers: the node's admins replace a category's shipped points
in one language (the node's guide), an organisation's coordinators write their own for
their organisation's requests, and either goes back to what it replaced by deleting the
edited text (`node.services.guide_texts.guide_for` resolves organisation > node > shipped).

Points are plain text, one per line in the admin form: stored as typed (cleaned of
control characters, never interpreted as HTML) and escaped wherever they are shown. An
edited guide may be shorter than a shipped one (1 to `MAX_POINTS` points): an
organisation with one thing to add should not have to pad it.

Who: the node's guides are node administration (its admins). An organisation's guides
are edited by its coordinators and the node's admins, the people who already edit its
public profile (`organisations.can_manage`): a guide speaks for the organisation to
volunteers, like its profile does, while staff post and follow requests up. Staff read
them (they answer helpers' questions), as they see the rest of the dashboard.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from enum import StrEnum

from tortoise.expressions import Q

from node import db
from node.config import SUPPORTED_LANGUAGES
from node.errors import InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.models import Account, GuideText, NodeSettings, Organisation, Role
from node.services import audit
from node.services.dashboards import can_see_dashboard
from node.services.guide_texts import guide_for
from node.services.guides import GENERAL, MAX_POINT_CHARS, MAX_POINTS, Guide
from node.services.organisations import is_coordinator
from node.taxonomy import BY_SLUG, CATEGORIES
from node.text import clean_line, is_blank

EDIT_MIN_POINTS = 1
EDIT_MAX_POINTS = MAX_POINTS
CATEGORY_SLUGS: tuple[str, ...] = tuple(c.slug for c in CATEGORIES)


class Source(StrEnum):
    """Where the points a helper is shown come from."""

    DEFAULT = "default"  # shipped with Nabuur
    NODE = "node"  # edited by the node's admins
    ORGANISATION = "organisation"  # the organisation's own


@dataclasses.dataclass(frozen=True, slots=True)
class EditableGuide:
    """A guide as its edit form shows it: what helpers are shown now, and from where."""

    category: str
    language: str
    guide: Guide
    source: Source


def _is_admin(account: Account | None) -> bool:
    return account is not None and account.is_active and account.role == Role.ADMIN


async def can_see_guides(account: Account | None, organisation: Organisation | None) -> bool:
    """The node's guides: its admins; an organisation's: its staff and the admins."""
    if organisation is None:
        return _is_admin(account)
    return await can_see_dashboard(account, organisation)


async def can_edit_guides(account: Account | None, organisation_id: int | None) -> bool:
    """The node's guides: its admins; an organisation's: its coordinators and the admins
    (see the module's docstring for why not all staff)."""
    if _is_admin(account):
        return True
    return organisation_id is not None and await is_coordinator(account, organisation_id)


def points_from_text(text: str) -> list[str]:
    """The points of a textarea, one per line (blank lines are dropped by `save_guide`)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _category(value: str) -> str:
    if value == GENERAL or value not in BY_SLUG:
        raise InvalidInput("category", N_("is not a help category"))
    return value


def _language(value: str) -> str:
    if value not in SUPPORTED_LANGUAGES:
        raise InvalidInput("language", N_("is not a language of the guides"))
    return value


def clean_points(points: Sequence[str]) -> list[str]:
    """`points` as stored: each one line of plain text, blank ones dropped; raises
    InvalidInput("points") unless 1 to EDIT_MAX_POINTS remain, each short enough."""
    cleaned: list[str] = []
    for point in points:
        if not isinstance(point, str):
            raise InvalidInput("points", N_("must be text"))
        text = clean_line(point)
        if not is_blank(text):
            cleaned.append(text)
    if len(cleaned) < EDIT_MIN_POINTS:
        raise InvalidInput("points", N_("needs at least one point"))
    if len(cleaned) > EDIT_MAX_POINTS:
        raise InvalidInput("points", N_("has too many points (at most %(max)d)"), max=MAX_POINTS)
    for number, text in enumerate(cleaned, start=1):
        if len(text) > MAX_POINT_CHARS:
            raise InvalidInput(
                "points",
                N_("point %(number)d is too long (at most %(max)d characters)"),
                number=number,
                max=MAX_POINT_CHARS,
            )
    return cleaned


def _key(organisation_id: int | None, category: str, language: str) -> Q:
    # SQL NULLs are distinct, so the unique constraint does not cover the node's own
    # rows: they are found with IS NULL and kept single by `_lock` and `save_guide`.
    owner = (
        Q(organisation_id__isnull=True)
        if organisation_id is None
        else Q(organisation_id=organisation_id)
    )
    return owner & Q(category=category, language=language)


async def _lock(organisation_id: int | None) -> None:
    """Serialise edits of one owner's guides (PostgreSQL; SQLite has one writer anyway):
    the organisation's row, or the node's own row for the node's guides."""
    if organisation_id is None:
        await NodeSettings.filter(id=1).select_for_update().first()
        return
    if await Organisation.filter(id=organisation_id).select_for_update().first() is None:
        raise NotFound(f"no organisation {organisation_id}")


async def _require_editor(account: Account | None, organisation_id: int | None) -> Account:
    if account is None or not await can_edit_guides(account, organisation_id):
        raise PermissionDenied(
            "the node's guides are for its admins; an organisation's for its coordinators"
        )
    return account


async def save_guide(
    account: Account | None,
    *,
    organisation_id: int | None,
    category: str,
    language: str,
    points: Sequence[str],
) -> GuideText:
    """Replace the points of `category` in `language` for the node (`organisation_id`
    None) or an organisation; recorded in the audit log. Raises PermissionDenied,
    InvalidInput (nothing stored) or NotFound (no such organisation)."""
    by = await _require_editor(account, organisation_id)
    category, language = _category(category), _language(language)
    cleaned = clean_points(points)
    async with db.atomic():
        await _lock(organisation_id)
        rows = await GuideText.filter(_key(organisation_id, category, language)).order_by("id")
        if rows:
            row = rows[0]
            row.points = cleaned
            row.updated_by_id = by.id
            await row.save(update_fields=["points", "updated_by_id", "updated_at"])
            if len(rows) > 1:  # left by a race before the lock existed: one text per key
                await GuideText.filter(id__in=[r.id for r in rows[1:]]).delete()
        else:
            row = await GuideText.create(
                organisation_id=organisation_id,
                category=category,
                language=language,
                points=cleaned,
                updated_by_id=by.id,
            )
        await audit.record(
            by,
            "guide.saved",
            _target(organisation_id, category, language),
            organisation=organisation_id,
            detail={"category": category, "language": language, "points": len(cleaned)},
        )
    return row


async def reset_guide(
    account: Account | None, *, organisation_id: int | None, category: str, language: str
) -> bool:
    """Delete the edited text, so helpers see what it replaced again (the node's guide or
    the shipped one). Whether there was one; only a real change is recorded."""
    by = await _require_editor(account, organisation_id)
    category, language = _category(category), _language(language)
    async with db.atomic():
        await _lock(organisation_id)
        deleted = await GuideText.filter(_key(organisation_id, category, language)).delete()
        if deleted:
            await audit.record(
                by,
                "guide.reset",
                _target(organisation_id, category, language),
                organisation=organisation_id,
                detail={"category": category, "language": language},
            )
    return bool(deleted)


async def sources(organisation_id: int | None) -> dict[tuple[str, str], Source]:
    """For every (category, language): where the points shown to helpers of the node
    (or of the organisation's requests) come from."""
    owners = Q(organisation_id__isnull=True)
    if organisation_id is not None:
        owners |= Q(organisation_id=organisation_id)
    found: dict[tuple[str, str], Source] = {
        (slug, lang): Source.DEFAULT for slug in CATEGORY_SLUGS for lang in SUPPORTED_LANGUAGES
    }
    rows = await GuideText.filter(owners).values_list("organisation_id", "category", "language")
    for owner, slug, lang in rows:
        if (slug, lang) not in found:
            continue
        if owner is not None:
            found[(slug, lang)] = Source.ORGANISATION
        elif found[(slug, lang)] is Source.DEFAULT:
            found[(slug, lang)] = Source.NODE
    return found


async def editable(category: str, language: str, organisation_id: int | None) -> EditableGuide:
    """The guide of `category` in `language` as helpers see it now, for the edit form.
    Raises NotFound for a category or language that has no guide."""
    if category == GENERAL or category not in BY_SLUG or language not in SUPPORTED_LANGUAGES:
        raise NotFound(f"no guide {category[:30]!r} in {language[:10]!r}")
    guide = await guide_for(category, language, organisation_id)
    source = (await sources(organisation_id))[(category, language)]
    return EditableGuide(category=category, language=language, guide=guide, source=source)


def _target(organisation_id: int | None, category: str, language: str) -> str:
    """The audit log's name of a guide: whose it is tells the node's from an
    organisation's ("guide:node:pets:nl", "guide:org-3:pets:nl")."""
    owner = "node" if organisation_id is None else f"org-{organisation_id}"
    return f"guide:{owner}:{category}:{language}"
