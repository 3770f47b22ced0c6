"""The shipped guides for helpers: complete, short, translated, and loaded as package data."""

from __future__ import annotations

import copy
import fnmatch
import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.config import SUPPORTED_LANGUAGES
from node.services import guides
from node.services.guides import GuideFileError, default_guide, parse_guides
from node.taxonomy import CATEGORIES

ROOT = Path(__file__).resolve().parent.parent
SLUGS = [c.slug for c in CATEGORIES]
TRANSLATED = [lang for lang in SUPPORTED_LANGUAGES if lang != "en"]
# Common English words that have no look-alike in Dutch or French: one of them in a
# Dutch or French point means a sentence was left untranslated.
ENGLISH_WORDS = re.compile(r"\b(the|and|you|your|with|when|if|not|for|do|to)\b", re.IGNORECASE)


def _raw(language: str) -> dict:
    with resources.files("node").joinpath("guides", f"{language}.toml").open("rb") as fh:
        return tomllib.load(fh)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("slug", SLUGS)
def test_every_category_has_a_short_guide(slug: str, language: str) -> None:
    guide = default_guide(slug, language)
    assert guide.title.strip()
    assert guides.MIN_POINTS <= len(guide.points) <= guides.MAX_POINTS
    assert guides.MIN_POINTS <= len(guide.general) <= guides.MAX_POINTS
    for point in (*guide.points, *guide.general):
        assert point.strip() == point and 0 < len(point) <= guides.MAX_POINT_CHARS


@pytest.mark.parametrize("slug", [*SLUGS, guides.GENERAL])
def test_translations_match_the_english_point_by_point(slug: str) -> None:
    english = _raw("en")[slug]
    for language in TRANSLATED:
        table = _raw(language)[slug]
        assert len(table["points"]) == len(english["points"]), (language, slug)
        assert table["title"] != english["title"], (language, slug)
        for point, source in zip(table["points"], english["points"], strict=True):
            assert point != source, (language, slug, point)
            assert not ENGLISH_WORDS.search(point), (language, slug, point)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_general_entry_exists_and_is_shared(language: str) -> None:
    general = _raw(language)[guides.GENERAL]
    for slug in SLUGS:
        guide = default_guide(slug, language)
        assert guide.general == tuple(general["points"])
        assert guide.general_title == general["title"]


def test_files_load_through_the_installed_package_path() -> None:
    # Each file is found through importlib.resources and is covered by the package-data
    # globs of pyproject.toml, so an installed (non-editable) node ships it too.
    with (ROOT / "pyproject.toml").open("rb") as fh:
        patterns = tomllib.load(fh)["tool"]["setuptools"]["package-data"]["node"]
    for language in SUPPORTED_LANGUAGES:
        source = resources.files("node").joinpath("guides", f"{language}.toml")
        assert source.is_file()
        relative = f"guides/{language}.toml"
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
    shipped = {p.name for p in (ROOT / "node" / "guides").iterdir()}
    assert shipped == {f"{language}.toml" for language in SUPPORTED_LANGUAGES}


def test_files_are_read_once() -> None:
    guides._guides.cache_clear()
    for _ in range(3):
        for slug in SLUGS:
            default_guide(slug, "nl")
    info = guides._guides.cache_info()
    assert info.misses == 1 and info.hits == 3 * len(SLUGS) - 1


@given(st.text(max_size=30).filter(lambda s: s not in {c.slug for c in CATEGORIES}))
def test_unknown_slug_raises_key_error(slug: str) -> None:
    with pytest.raises(KeyError):
        default_guide(slug, "nl")


@given(
    st.text(max_size=12).filter(
        lambda s: s.replace("_", "-").split("-", 1)[0].lower() not in SUPPORTED_LANGUAGES
    )
)
def test_unknown_language_falls_back_to_english(language: str) -> None:
    assert default_guide("pets", language) == default_guide("pets", "en")


def test_regional_language_tags_use_their_language() -> None:
    assert default_guide("digital", "nl-BE") == default_guide("digital", "nl")
    assert default_guide("digital", "fr_BE") == default_guide("digital", "fr")
    assert default_guide("digital", "nl") != default_guide("digital", "fr")


def _broken(change) -> dict:
    data = copy.deepcopy(_raw("en"))
    change(data)
    return data


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("pets"),
        lambda d: d.pop(guides.GENERAL),
        lambda d: d.update(unknown={"title": "x", "points": ["a"] * 4}),
        lambda d: d["pets"].update(points=d["pets"]["points"][:3]),
        lambda d: d["pets"].update(points=d["pets"]["points"] + ["one more"] * 2),
        lambda d: d["pets"].update(points=["", "b", "c", "d"]),
        lambda d: d["pets"].update(title="  "),
        lambda d: d["pets"].pop("title"),
        lambda d: d["pets"].update(extra="x"),
        lambda d: d["pets"].update(points=[1, 2, 3, 4]),
        lambda d: d.update(pets="just a string"),
    ],
)
def test_a_broken_file_is_refused_at_load(change) -> None:
    with pytest.raises(GuideFileError, match=r"node/guides/en\.toml"):
        parse_guides("en", _broken(change))


@given(st.integers(min_value=guides.MAX_POINT_CHARS + 1, max_value=5000))
def test_an_over_long_point_is_refused(length: int) -> None:
    data = _broken(lambda d: d["meals"]["points"].__setitem__(0, "x" * length))
    with pytest.raises(GuideFileError, match=r"\[meals\]"):
        parse_guides("en", data)
