"""The guide a helper is shown for a category: the organisation's own text for its
requests, else the node's edited one, else the default shipped with Nabuur
(`node.services.guides`). Edited texts replace the category's points in one language;
the title and the general points stay the shipped ones."""

from __future__ import annotations

import dataclasses

from node import raw_sql
from node.models import GuideText
from node.services.guides import Guide, default_guide, guide_language


async def _first(category: str, language: str, organisation_id: int | None) -> GuideText | None:
    lookups = {"category": category, "language": language, "organisation_id": organisation_id}
    found = await raw_sql.select(GuideText, lookups, order_by=("id",), limit=1)
    return found[0] if found else None


async def guide_for(category: str, language: str, organisation_id: int | None = None) -> Guide:
    """The guide for `category` in `language`, as the post's organisation (if any) set it.
    Raises KeyError for an unknown category, as `default_guide` does."""
    shipped = default_guide(category, language)
    lang = guide_language(language)
    edited = None
    # Request pages ask this for helpers: hand-written reads (`node.raw_sql`).
    if organisation_id is not None:
        edited = await _first(category, lang, organisation_id)
    if edited is None:
        edited = await _first(category, lang, None)
    if edited is None or not edited.points:
        return shipped
    return dataclasses.replace(shipped, points=tuple(edited.points))
