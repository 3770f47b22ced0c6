"""Every interface string has a Dutch and a French translation, placeholders intact."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from node.i18n import LOCALES_DIR

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
FORMATTED = re.compile(r"%%|%\(\w+\)[sd]")


def bare_percent(text: str) -> bool:
    """A "%" that is neither a placeholder nor "%%": formatting the message (jinja's
    gettext formats every message) fails on it ("100 %" is a 500 in French)."""
    return "%" in FORMATTED.sub("", text)


def catalogue(name: str):
    with (LOCALES_DIR / name).open("rb") as fh:
        return read_po(fh)


@pytest.mark.parametrize("locale", ["nl", "fr"])
def test_every_message_is_translated(locale: str) -> None:
    template = catalogue("messages.pot")
    translated = {m.id: m for m in catalogue(f"{locale}/LC_MESSAGES/messages.po") if m.id}
    missing, broken = [], []
    for message in template:
        if not message.id:
            continue
        found = translated.get(message.id)
        strings = found.string if found else None
        strings = list(strings) if isinstance(strings, tuple | list) else [strings]
        if found is None or not all(strings):
            missing.append(message.id)
            continue
        ids = message.id if isinstance(message.id, tuple | list) else [message.id]
        wanted = set(PLACEHOLDER.findall(" ".join(ids)))
        if not any(bare_percent(i) for i in ids) and any(bare_percent(s) for s in strings):
            broken.append(message.id)
            continue
        if any(set(PLACEHOLDER.findall(s)) - wanted for s in strings) or not all(
            wanted <= set(PLACEHOLDER.findall(s)) | {"num"} for s in strings
        ):
            broken.append(message.id)
    assert missing == [], f"untranslated in {locale}: {missing}"
    assert broken == [], f"placeholders changed (or a bare %) in {locale}: {broken}"
