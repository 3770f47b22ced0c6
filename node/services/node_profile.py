"""The node as its admins describe it: name, tagline, description, rules, contact, sign-ups,
and the federation mode (open, allowlist, off; changed at /admin/federation).

Admins edit these at /admin/settings; they live in the node's row. Precedence, highest
first: a value the operator set explicitly (environment variable, TOML file or
command-line option: "pinned", shown read-only in the browser), then the value saved in
the browser, then the default of `node.config`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from node import validation
from node.config import FEDERATION_MODES, SIGNUP_POLICIES, Settings
from node.errors import InvalidInput, PermissionDenied
from node.i18n import N_
from node.models import Account, NodeSettings, Role
from node.services import audit
from node.services.node_setup import NODE_ROW_ID

# Settings that are both configuration and editable in the browser.
PINNABLE = ("name", "contact_email", "signups")
MAX_RULES = 4000


@dataclass(frozen=True, slots=True)
class NodeProfile:
    name: str
    signups: str
    federation_mode: str = "open"
    contact_email: str | None = None
    tagline: Mapping[str, str] = field(default_factory=dict)
    description: Mapping[str, str] = field(default_factory=dict)
    rules: Mapping[str, str] = field(default_factory=dict)

    def text_in(self, texts: Mapping[str, str], locale: str) -> tuple[str, str]:
        """(text, its language): in `locale` when written in it, else the first there is."""
        if texts.get(locale):
            return texts[locale], locale
        for language, text in texts.items():
            if text:
                return text, language
        return "", locale

    def rules_in(self, locale: str) -> tuple[list[str], str]:
        """The rules as a list (one per line) in `locale` or the first language written."""
        text, language = self.text_in(self.rules, locale)
        return [line.strip() for line in text.splitlines() if line.strip()], language


def pinned(settings: Settings) -> dict[str, str]:
    """The browser-editable settings that the operator's configuration fixes: key -> where."""
    return {key: source for key in PINNABLE if (source := settings.source_of(key)) is not None}


async def load(settings: Settings) -> NodeProfile:
    """The profile as it applies now (read from the database every call)."""
    row = await NodeSettings.get_or_none(id=NODE_ROW_ID)
    fixed = pinned(settings)

    def choose(key: str, stored: object) -> object:
        return getattr(settings, key) if key in fixed or stored in (None, "") else stored

    return NodeProfile(
        name=str(choose("name", row.name if row else None)),
        signups=str(choose("signups", row.signups if row else None)),
        federation_mode=_federation_mode(settings, row.federation_mode if row else None),
        contact_email=choose("contact_email", row.contact_email if row else None) or None,  # type: ignore[arg-type]
        tagline=(row.tagline if row else None) or {},
        description=(row.description if row else None) or {},
        rules=(row.rules if row else None) or {},
    )


def federation_mode_pinned(settings: Settings) -> str | None:
    """Where the operator's configuration fixes the federation mode, if it does (the
    mode is edited at /admin/federation, not with the settings above)."""
    return settings.source_of("federation_mode")


def _federation_mode(settings: Settings, stored: str | None) -> str:
    if federation_mode_pinned(settings) or stored not in FEDERATION_MODES:
        return settings.federation_mode
    return str(stored)


@dataclass(slots=True)
class ProfileChanges:
    """What the settings form sends; texts are keyed by language."""

    name: str = ""
    contact_email: str = ""
    signups: str = ""
    tagline: Mapping[str, str] = field(default_factory=dict)
    description: Mapping[str, str] = field(default_factory=dict)
    rules: Mapping[str, str] = field(default_factory=dict)


def _checked(changes: ProfileChanges, fixed: Mapping[str, str]) -> dict[str, object]:
    checker = validation.FieldChecker()
    check = checker.check
    if "name" not in fixed:
        check("name", lambda: validation.line("name", changes.name, min_len=2, max_len=100))
    if "contact_email" not in fixed:
        check("contact_email", lambda: validation.email(changes.contact_email, "contact_email"))
    if "signups" not in fixed:
        check("signups", lambda: _policy(changes.signups))
    check("tagline", lambda: validation.written_texts("tagline", changes.tagline, max_len=120))
    check(
        "description",
        lambda: validation.written_texts("description", changes.description, max_len=4000),
    )
    check("rules", lambda: validation.written_texts("rules", changes.rules, max_len=MAX_RULES))
    return checker.done()


def _policy(value: str) -> str:
    if value not in SIGNUP_POLICIES:
        raise InvalidInput("signups", N_("choose one of the options"))
    return value


async def update(settings: Settings, actor: Account, changes: ProfileChanges) -> NodeProfile:
    """Save what admins changed; pinned settings are left as configured."""
    if actor.role != Role.ADMIN or not actor.is_active:
        raise PermissionDenied("only the node's admins change its settings")
    values = _checked(changes, pinned(settings))
    row = await NodeSettings.get(id=NODE_ROW_ID)
    changed = sorted(key for key, value in values.items() if getattr(row, key) != value)
    for key, value in values.items():
        setattr(row, key, value)
    await row.save()
    if changed:
        await audit.record(actor, "settings.changed", "node", detail={"fields": changed})
    return await load(settings)


async def admins() -> list[Account]:
    """The node's active admins, for the About page."""
    return await Account.filter(role=Role.ADMIN, is_active=True).order_by("display_name")


class ProfileCache:
    """The profile for pages, read again after `seconds` (other processes' edits show up
    within that time; this process's own edits at once, through `forget`)."""

    def __init__(self, settings: Settings, seconds: float = 5.0) -> None:
        self.settings = settings
        self.seconds = seconds
        self._profile: NodeProfile | None = None
        self._read_at = 0.0

    async def get(self) -> NodeProfile:
        now = time.monotonic()
        if self._profile is None or now - self._read_at > self.seconds:
            self._profile = await load(self.settings)
            self._read_at = now
        return self._profile

    def forget(self) -> None:
        self._profile = None
