"""Small validators shared by the services; each raises `InvalidInput` naming the field."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from node.errors import InvalidFields, InvalidInput
from node.i18n import N_
from node.text import clean_line, clean_text, is_blank

USERNAME_RE = re.compile(r"^[a-z0-9_]{2,30}$")
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
LANGUAGE_TAG_RE = re.compile(r"^[a-z]{2,3}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Names used by routes and discovery; an account or slug with these would shadow them.
RESERVED_NAMES = frozenset(
    {
        "about",
        "api",
        "actor",
        "inbox",
        "outbox",
        "static",
        "healthz",
        "nodeinfo",
        "well-known",
        "instance",
        "relay",
        "nabuur",
        "login",
        "logout",
        "signup",
        "settings",
        "new",
        "feeds",
        "n",
        "o",
        "r",
    }
)


def line(field: str, value: str | None, *, min_len: int = 1, max_len: int) -> str:
    text = clean_line(value or "")
    if is_blank(text):  # only joiners, marks or spaces: nothing anyone can read
        text = ""
    if len(text) < min_len:
        if not text:
            raise InvalidInput(field, N_("is required"))
        raise InvalidInput(field, N_("needs at least %(min)d characters"), min=min_len)
    if len(text) > max_len:
        raise InvalidInput(field, N_("is too long (at most %(max)d characters)"), max=max_len)
    return text


def optional_line(field: str, value: str | None, *, max_len: int) -> str | None:
    text = clean_line(value or "")
    return None if is_blank(text) else line(field, text, max_len=max_len)


def text(field: str, value: str | None, *, max_len: int, required: bool = False) -> str:
    cleaned = clean_text(value or "")
    if is_blank(cleaned):
        cleaned = ""
    if required and not cleaned:
        raise InvalidInput(field, N_("is required"))
    if len(cleaned) > max_len:
        raise InvalidInput(field, N_("is too long (at most %(max)d characters)"), max=max_len)
    return cleaned


def username(value: str | None) -> str:
    name = (value or "").strip().lower()
    if not USERNAME_RE.match(name):
        raise InvalidInput("username", N_("use 2-30 lowercase letters, digits or _"))
    if name in RESERVED_NAMES:
        raise InvalidInput("username", N_("%(name)s is reserved"), name=name)
    return name


def slug(field: str, value: str | None) -> str:
    text_value = (value or "").strip().lower()
    if not SLUG_RE.match(text_value):
        raise InvalidInput(field, N_("use 1-40 lowercase letters, digits or hyphens"))
    if text_value in RESERVED_NAMES:
        raise InvalidInput(field, N_("%(name)s is reserved"), name=text_value)
    return text_value


def as_username(value: str | None) -> str | None:
    """`value` as a username to look up, or None when no account can have it (too long,
    a NUL, other characters): look-ups by such a value find nothing rather than fail."""
    name = (value or "").strip().lower()
    return name if USERNAME_RE.match(name) else None


def as_slug(value: str | None) -> str | None:
    """`value` as a neighbourhood's or organisation's slug to look up, or None."""
    text_value = (value or "").strip().lower()
    return text_value if SLUG_RE.match(text_value) else None


# CLDR's codes that name no language: undetermined, no linguistic content, several.
_NOT_LANGUAGES = frozenset({"und", "zxx", "mul", "mis"})


@functools.cache
def known_languages() -> frozenset[str]:
    """The ISO 639 codes (two or three letters) of every language babel has a name for:
    a post may be written in any language a resident speaks, Arabic or Turkish as well
    as the node's own, but not in "xx" or "qq". Loaded on first use (about 30 ms)."""
    from babel import Locale

    codes = {code for code in Locale("en").languages if LANGUAGE_TAG_RE.match(code)}
    return frozenset(codes - _NOT_LANGUAGES)


def is_language(tag: str) -> bool:
    """Whether `tag` (lowercase, no region) is the code of a language we know."""
    return tag in known_languages()


def language_tag(field: str, value: str | None) -> str:
    tag = (value or "").strip().lower()
    if not LANGUAGE_TAG_RE.match(tag) or not is_language(tag):
        raise InvalidInput(field, N_("expected a language code such as nl, fr or en"))
    return tag


def email(value: str | None, field: str = "email") -> str | None:
    address = (value or "").strip()
    if not address:
        return None
    if len(address) > 254 or not EMAIL_RE.match(address):
        raise InvalidInput(field, N_("is not an e-mail address"))
    return address.lower()


def integer(field: str, value: int | str | None, low: int, high: int) -> int:
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(field, N_("must be a whole number")) from None
    if not low <= number <= high:
        raise InvalidInput(field, N_("must be between %(low)d and %(high)d"), low=low, high=high)
    return number


# The largest id of a row (PostgreSQL's `integer`; `bigint` for the queues and logs).
MAX_ID, MAX_BIG_ID = 2**31 - 1, 2**63 - 1


def as_id(value: str | None, *, big: bool = False) -> int | None:
    """`value` (from a form or a URL) as a row's id to look up, or None when no row can
    have it: only ASCII digits count (`str.isdigit` also says yes to "²", which `int`
    cannot read), and PostgreSQL refuses a number its column cannot hold."""
    text = value or ""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= (MAX_BIG_ID if big else MAX_ID) else None


def translated_text(field: str, texts: Mapping[str, str] | None, *, max_len: int) -> dict[str, str]:
    """Texts keyed by language code, e.g. a description written in Dutch and French."""
    return {
        language_tag(field, lang): text(field, value, max_len=max_len)
        for lang, value in (texts or {}).items()
    }


def written_texts(field: str, texts: Mapping[str, str] | None, *, max_len: int) -> dict[str, str]:
    """`translated_text` without the languages left empty (a form has a box for each)."""
    return {
        lang: value
        for lang, value in translated_text(field, texts, max_len=max_len).items()
        if value
    }


class FieldChecker:
    """Checks a form's fields one by one and keeps every error, so that a page shows all
    of them at once (`done` raises one InvalidFields listing them)."""

    def __init__(self) -> None:
        self.errors: list[InvalidInput] = []
        self.values: dict[str, Any] = {}

    def check(self, key: str, make: Callable[[], Any]) -> Any:
        """`make()`'s value stored under `key`, or None when it raised InvalidInput."""
        try:
            self.values[key] = make()
        except InvalidInput as exc:
            self.errors.append(exc)
        return self.values.get(key)

    async def check_async(self, key: str, make: Callable[[], Any]) -> Any:
        """As `check`, for a check that reads the database (`make()` is awaited)."""
        try:
            self.values[key] = await make()
        except InvalidInput as exc:
            self.errors.append(exc)
        return self.values.get(key)

    def done(self) -> dict[str, Any]:
        if self.errors:
            raise InvalidFields(self.errors)
        return self.values
