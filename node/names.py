"""Telling names apart the way a reader does: folding look-alike characters.

A resident called "Tussen Buren / Entre Voisins — voor …" reads exactly like the
organisation when posting; so do "Tussen Вuren" (a Cyrillic В) and "TUSSEN-BUREN".
`skeleton` reduces a name to what the eye sees: compatibility forms folded (NFKC),
accents and case dropped, common look-alikes from Cyrillic, Greek and digits mapped
to Latin letters, and everything but letters and digits removed.
"""

from __future__ import annotations

import unicodedata

# Look-alikes that NFKC leaves apart (a small, hand-picked part of Unicode's
# confusables list: the letters people actually use to impersonate Latin names).
_CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
        "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ь": "b",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
        "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "γ": "y", "ς": "c", "μ": "u",
        # Digits and signs used as letters
        "0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a",
        "$": "s", "!": "i", "|": "l",
        # Latin letters that read as others
        "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "ß": "ss", "æ": "ae",
        "œ": "oe", "ɡ": "g", "ɑ": "a",
    }
)  # fmt: skip
# Pairs of Latin letters that read as one at a glance ("rn" for "m").
_DIGRAPHS = (("rn", "m"), ("vv", "w"), ("cl", "d"))
# Names shorter than this (once folded) are too common to count as imitation.
MIN_PROTECTED = 4


def skeleton(name: str) -> str:
    """What `name` looks like, reduced to lowercase Latin letters and digits."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    text = text.translate(_CONFUSABLES)
    text = "".join(ch for ch in text if ch.isalnum() and ch.isascii())
    for pair, single in _DIGRAPHS:
        text = text.replace(pair, single)
    return text


def protected_parts(name: str) -> list[str]:
    """An organisation's name and each part of a bilingual one ("Tussen Buren / Entre
    Voisins"): each alone already reads as the organisation."""
    parts = [name]
    for separator in ("/", "|", " — ", " – ", " - "):
        parts = [piece for part in parts for piece in part.split(separator)]
    return list(dict.fromkeys([name, *(p.strip() for p in parts if p.strip())]))


def imitates(name: str, protected: str) -> bool:
    """Whether `name` reads as `protected`, or contains it (with anything around it)."""
    target = skeleton(protected)
    if len(target) < MIN_PROTECTED:
        return skeleton(name) == target and bool(target)
    return target in skeleton(name)
