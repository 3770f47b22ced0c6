"""Languages: which ones the node speaks, choosing one per visitor, and the catalogues.

Catalogues are the gettext `.po` files under `node/locales/`, compiled in memory when
first used, so the repository holds no binary `.mo` files. English is the source
language. The catalogues live in `node` because published objects are translated too.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from node.config import SUPPORTED_LANGUAGES

LOCALES_DIR = Path(__file__).parent / "locales"
SOURCE_LANGUAGE = "en"
LANGUAGE_NAMES = {"nl": "Nederlands", "fr": "Français", "en": "English"}


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a string for extraction; it is translated where it is shown."""
    return message


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue for `locale` (cached for the life of the process)."""
    if locale not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unsupported locale {locale!r}")
    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == SOURCE_LANGUAGE or not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(locale: str, message: str) -> str:
    return translations(locale).gettext(message)


def parse_accept_language(header: str | None) -> list[str]:
    """Primary language tags from an Accept-Language header, best first.

    Malformed entries are skipped rather than failing the request.
    """
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        quality = 1.0
        params = params.strip()
        if params.lower().startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
            if not 0 <= quality <= 1:  # also skips nan and inf
                continue
        primary = tag.strip().lower().split("-", 1)[0]
        if primary and quality > 0:
            ranked.append((-quality, index, primary))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(header: str | None, available: tuple[str, ...]) -> str:
    """The best of `available` for an Accept-Language header; else the first available."""
    for tag in parse_accept_language(header):
        if tag in available:
            return tag
    return available[0]
