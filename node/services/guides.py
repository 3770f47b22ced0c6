"""Guidance for helpers: the default guide shipped for each help category.

The texts live in `node/guides/<language>.toml` (one table per category slug, plus
`general`, the points shown with every category), written in plain language for
volunteers: how to help safely, what not to take on and when to refer someone to a
professional or a service. They are package data, read through `importlib.resources` so
that an installed node finds them as well as a checkout. Each file is read and checked
once per process: a broken file fails loudly at the first use instead of showing a
half-empty guide to a helper.

Guides edited by admins and organisations will be stored in the database; these are the
defaults they start from.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from node.config import SUPPORTED_LANGUAGES
from node.taxonomy import BY_SLUG

FALLBACK_LANGUAGE = "en"
GENERAL = "general"  # the table shown with every category; not a category slug
MIN_POINTS = 4
MAX_POINTS = 7
MAX_POINT_CHARS = 200
MAX_TITLE_CHARS = 100


@dataclass(frozen=True, slots=True)
class Guide:
    """A category's guide in one language, with the general points that go with it."""

    title: str
    points: tuple[str, ...]
    general: tuple[str, ...]
    general_title: str  # the heading of the general points ("Helping safely")


class GuideFileError(ValueError):
    """A shipped guide file is missing a category, has extra tables or bad texts."""


def _check_section(language: str, name: str, section: Any) -> tuple[str, tuple[str, ...]]:
    where = f"node/guides/{language}.toml [{name}]"
    if not isinstance(section, dict) or set(section) != {"title", "points"}:
        raise GuideFileError(f"{where}: needs exactly `title` and `points`")
    title, points = section["title"], section["points"]
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE_CHARS:
        raise GuideFileError(f"{where}: title must be 1 to {MAX_TITLE_CHARS} characters")
    if not isinstance(points, list) or not MIN_POINTS <= len(points) <= MAX_POINTS:
        raise GuideFileError(f"{where}: needs {MIN_POINTS} to {MAX_POINTS} points")
    for point in points:
        if not isinstance(point, str) or not point.strip() or len(point) > MAX_POINT_CHARS:
            raise GuideFileError(f"{where}: each point must be 1 to {MAX_POINT_CHARS} characters")
    return title.strip(), tuple(p.strip() for p in points)


def parse_guides(language: str, data: dict[str, Any]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Check one language's tables (every category and `general`, nothing else; 4 to 7
    short points each) and return them as {name: (title, points)}; raises
    GuideFileError naming the file and table at fault."""
    expected = {*BY_SLUG, GENERAL}
    if set(data) != expected:
        missing = sorted(expected - set(data))
        extra = sorted(set(data) - expected)
        raise GuideFileError(
            f"node/guides/{language}.toml: missing {missing or 'nothing'}, "
            f"unknown {extra or 'nothing'}"
        )
    return {name: _check_section(language, name, data[name]) for name in expected}


@functools.cache
def _guides(language: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The checked tables of one language's file, read once per process."""
    source = resources.files("node").joinpath("guides", f"{language}.toml")
    with source.open("rb") as fh:
        return parse_guides(language, tomllib.load(fh))


def guide_language(language: str) -> str:
    """The language the guides are shown in for `language`: its primary subtag when the
    node has guides in it ("nl-BE" gives "nl"), English otherwise."""
    primary = language.replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SUPPORTED_LANGUAGES else FALLBACK_LANGUAGE


def default_guide(slug: str, language: str) -> Guide:
    """The shipped guide for category `slug` in `language` (English for a language the
    node has no guides in). Raises KeyError for an unknown slug, as
    `node.taxonomy.category` does."""
    if slug not in BY_SLUG:
        raise KeyError(slug)
    guides = _guides(guide_language(language))
    title, points = guides[slug]
    general_title, general = guides[GENERAL]
    return Guide(title=title, points=points, general=general, general_title=general_title)
