"""The guide a helper is shown for a category: the organisation's own text for its
requests, else the node's edited one, else the default shipped with Nabuur
(`node.services.guides`). Edited texts replace the category's points in one language;
the title and the general points stay the shipped ones."""

from __future__ import annotations

import dataclasses

from node import raw_sql
from node.models import GuideText
from node.services.guides import Guide, default_guide, guide_language


async def _edited(category: str, language: str, organisation_id: int | None) -> GuideText | None:
    """The organisation's text, else the node's: one statement (request pages ask it)."""
    found = await raw_sql.select_where(
        GuideText,
        "t.category = ? AND t.language = ?"
        " AND (t.organisation_id = ? OR t.organisation_id IS NULL)",
        [category, language, organisation_id],
        order="t.organisation_id IS NULL, t.id",
        limit=1,
    )
    return found[0] if found else None


async def guide_for(category: str, language: str, organisation_id: int | None = None) -> Guide:
    """The guide for `category` in `language`, as the post's organisation (if any) set it.
    Raises KeyError for an unknown category, as `default_guide` does."""
    shipped = default_guide(category, language)
    lang = guide_language(language)
    edited = await _edited(category, lang, organisation_id)
    if edited is None or not edited.points:
        return shipped
    return dataclasses.replace(shipped, points=tuple(edited.points))
