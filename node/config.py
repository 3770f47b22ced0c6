"""Node settings: read once from defaults, an optional TOML file and `NABUUR_*` variables.

The result is one frozen `Settings` object passed to everything that needs it. A bad
value stops start-up with a `SettingsError` naming the setting and what it accepts.

Some settings (the node's name, contact address and sign-up policy) can also be changed
by admins in the browser. A value the operator set explicitly (environment, TOML file or
a command-line option) is *pinned*: it wins, and the browser shows it read-only with
where it comes from. `Settings.sources` records which values were set explicitly.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from node import mail_settings
from node.redaction import redact_url

SUPPORTED_LANGUAGES = ("nl", "fr", "en")
FEDERATION_MODES = ("open", "allowlist", "off")
SIGNUP_POLICIES = ("open", "invitation", "closed")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")
# A bearer token (RFC 6750's b64token characters), long enough not to be guessed.
MIN_TOKEN_LENGTH = 32
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~+/=-]+")
DEFAULT_DATABASE_URL = "sqlite://./data/nabuur.sqlite3"


class SettingsError(ValueError):
    """A setting has a value the node cannot run with."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"setting {name}: {message}")
        self.name = name


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the node reads from its environment, validated."""

    name: str = "Nabuur"
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str | None = field(default=None, repr=False)
    languages: tuple[str, ...] = SUPPORTED_LANGUAGES
    federation_mode: str = "open"
    allow_private_addresses: bool = False
    # Signature profile tried first when delivering: draft-cavage (what most servers
    # verify) or RFC 9421; a 401 is retried once with the other.
    signature_profile: str = "cavage"
    log_level: str = "INFO"
    timezone: str = "Europe/Brussels"
    expiry_interval_seconds: int = 60
    # How long a worker's claim on queued rows lasts unless renewed (every third of it
    # while working): after a kill -9, another worker takes the rows over within this time.
    delivery_lease_seconds: int = 30
    # Days that finished queue rows (inbox items, deliveries, events, outbox activities no
    # longer needed) are kept for the admins' pages before housekeeping prunes them.
    queue_retention_days: int = 14
    # How long anonymous visitors may be shown a page rendered for someone else (0: never).
    page_cache_seconds: int = 10
    # Who may create an account: anyone (open), people with an invitation code, or nobody.
    signups: str = "invitation"
    # Sign-ups an hour from one address (an IPv6 /64) and on the whole node; 0: no limit.
    signups_per_address_per_hour: int = 5
    signups_per_hour: int = 50
    # Whether `nabuur run` also works the queues; off when `nabuur worker` processes do.
    run_workers: bool = True
    # Where admins and visitors can write to (shown on /about); also editable in the browser.
    contact_email: str | None = None
    # Reverse proxies whose X-Forwarded-For is believed (networks, normalised); none by
    # default, so a client cannot pick the address its log-in attempts count against.
    trusted_proxies: tuple[str, ...] = ()
    # Bearer token that Prometheus sends to read /metrics; unset: no /metrics at all (404).
    metrics_token: str | None = field(default=None, repr=False)
    # E-mail server (node.mail_settings); unset: no e-mail. Holds a password: not shown.
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str | None = None  # the sender, e.g. "Buren Jette <buren@jette.example>"
    # Sign-up asks for an e-mail address and does not go on without one.
    signup_requires_email: bool = False
    # "json": each log line is one JSON object (for journald/Loki); "text": plain lines.
    log_format: str = "text"
    # Which values were set explicitly, and where: {"signups": "NABUUR_SIGNUPS"}.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def public_url(self) -> str:
        """The node's public base URL without a trailing slash.

        When none is configured it follows the address the node serves, so that other
        processes on this machine can federate with a demo or test node.
        """
        if self.base_url:
            return self.base_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        if ":" in host:  # an IPv6 literal needs brackets in a URL
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def domain(self) -> str:
        """Host (and port, when not the default) that names this node in handles."""
        return urlsplit(self.public_url).netloc

    @property
    def mail_enabled(self) -> bool:
        """Whether this node sends e-mail (and its pages offer what needs it)."""
        return self.smtp_url is not None and self.mail_from is not None

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def source_of(self, key: str) -> str | None:
        """Where the value of `key` was set explicitly, or None for a default."""
        return self.sources.get(key)

    def to_environ(self) -> dict[str, str]:
        """The explicitly set values as `NABUUR_*` variables, for worker processes to read
        back (defaults stay defaults there, so the same values stay pinned)."""
        environ = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or item.name not in self.sources:
                continue
            if isinstance(value, tuple):
                value = ",".join(value)
            elif isinstance(value, bool):
                value = "1" if value else "0"
            environ[env_name(item.name)] = str(value)
        return environ

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with some values replaced, validated again (used by CLI flags)."""
        clean = {
            key: _PARSERS[key](env_name(key), value) if key in _PARSERS else value
            for key, value in values.items()
            if value is not None
        }
        sources = {**self.sources, **dict.fromkeys(clean, "a command-line option")}
        return _validated(replace(self, **clean, sources=sources))


def _parse_bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(name, f"expected true or false, got {raw!r}")


def _parse_int(name: str, raw: Any, low: int, high: int) -> int:
    # TOML gives real types: true or 8000.5 must not sneak through int().
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise SettingsError(name, f"expected a whole number, got {raw!r}")
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise SettingsError(name, f"expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(name, f"must be between {low} and {high}, got {value}")
    return value


def _parse_languages(name: str, raw: Any) -> tuple[str, ...]:
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    langs = tuple(dict.fromkeys(str(i).strip().lower() for i in items if str(i).strip()))
    if not langs:
        raise SettingsError(name, "needs at least one language")
    unknown = [lang for lang in langs if lang not in SUPPORTED_LANGUAGES]
    if unknown:
        allowed = ", ".join(SUPPORTED_LANGUAGES)
        raise SettingsError(name, f"unsupported language {unknown[0]!r}; allowed: {allowed}")
    return langs


def _parse_choice(choices: tuple[str, ...], upper: bool = False) -> Callable[[str, Any], str]:
    def parse(name: str, raw: Any) -> str:
        value = str(raw).strip()
        value = value.upper() if upper else value.lower()
        if value not in choices:
            raise SettingsError(name, f"expected one of {', '.join(choices)}, got {raw!r}")
        return value

    return parse


def _parse_timezone(name: str, raw: Any) -> str:
    value = str(raw).strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(name, f"unknown time zone {raw!r}; e.g. Europe/Brussels") from None
    return value


def _parse_email(name: str, raw: Any) -> str:
    value = str(raw).strip()
    if "@" not in value or " " in value or len(value) > 254 or "." not in value.split("@")[-1]:
        raise SettingsError(name, f"expected an e-mail address, got {raw!r}")
    return value


def _checked(check: Callable[[str], str]) -> Callable[[str, Any], str]:
    def parse(name: str, raw: Any) -> str:
        try:
            return check(str(raw))
        except ValueError as exc:  # its message never repeats a secret
            raise SettingsError(name, str(exc)) from None

    return parse


def _parse_networks(name: str, raw: Any) -> tuple[str, ...]:
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    found = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            if "%" in text:  # a zone index names one of our interfaces, not a proxy
                raise ValueError(text)
            found.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise SettingsError(
                name,
                "expected IP addresses or networks separated by commas, such as "
                f"127.0.0.1,::1,10.0.0.0/8; {text!r} is neither",
            ) from None
    return tuple(dict.fromkeys(found))


def _parse_token(name: str, raw: Any) -> str:
    # Never echo the value: it is a secret, and this message ends up in logs.
    value = str(raw).strip()
    if len(value) < MIN_TOKEN_LENGTH or not _TOKEN_CHARS.fullmatch(value):
        raise SettingsError(
            name,
            f"must be at least {MIN_TOKEN_LENGTH} characters of letters, digits and -._~+/= "
            "(e.g. the output of `openssl rand -hex 32`)",
        )
    return value


def _parse_str(name: str, raw: Any) -> str:
    value = str(raw).strip()
    if not value:
        raise SettingsError(name, "must not be empty")
    return value


def _parse_database_url(name: str, raw: Any) -> str:
    """sqlite://PATH or postgres(ql)://[USER@]HOST[:PORT]/DB; anything else is refused
    here, in one line, before the driver (which would raise a traceback) sees it."""
    value = _parse_str(name, raw)
    scheme, sep, rest = value.partition("://")
    try:  # the driver's configuration parses the URL too, and raises on what this refuses
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is not None and sep and scheme == "sqlite" and rest.split("?", 1)[0]:
        return value
    postgres = sep and scheme in ("postgres", "postgresql")
    if parts is not None and postgres and parts.path.strip("/"):  # names the database
        return value
    raise SettingsError(
        name,
        f"expected sqlite://PATH or postgres://USER@HOST:PORT/DB, got {redact_url(value)!r}",
    )


_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "name": _parse_str,
    "host": _parse_str,
    "port": lambda n, r: _parse_int(n, r, 1, 65535),
    "base_url": _parse_str,
    "database_url": _parse_database_url,
    "secret_key": _parse_str,
    "languages": _parse_languages,
    "federation_mode": _parse_choice(FEDERATION_MODES),
    "allow_private_addresses": _parse_bool,
    "signature_profile": _parse_choice(("cavage", "rfc9421")),
    "signups": _parse_choice(SIGNUP_POLICIES),
    "signups_per_address_per_hour": lambda n, r: _parse_int(n, r, 0, 100_000),
    "signups_per_hour": lambda n, r: _parse_int(n, r, 0, 1_000_000),
    "page_cache_seconds": lambda n, r: _parse_int(n, r, 0, 3600),
    "log_level": _parse_choice(LOG_LEVELS, upper=True),
    "timezone": _parse_timezone,
    "expiry_interval_seconds": lambda n, r: _parse_int(n, r, 1, 86400),
    "run_workers": _parse_bool,
    "delivery_lease_seconds": lambda n, r: _parse_int(n, r, 1, 86400),
    "queue_retention_days": lambda n, r: _parse_int(n, r, 1, 3650),
    "contact_email": _parse_email,
    "trusted_proxies": _parse_networks,
    "metrics_token": _parse_token,
    "log_format": _parse_choice(LOG_FORMATS),
    "smtp_url": _checked(mail_settings.check_url),
    "mail_from": _checked(mail_settings.check_sender),
    "signup_requires_email": _parse_bool,
}


def env_name(key: str) -> str:
    return f"NABUUR_{key.upper()}"


def _validated(settings: Settings) -> Settings:
    """Cross-field checks that single parsers cannot make."""
    if not 1 <= settings.port <= 65535:
        raise SettingsError(env_name("port"), f"must be between 1 and 65535, got {settings.port}")
    if settings.base_url is not None:
        parts = urlsplit(settings.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(
                env_name("base_url"), "expected an http(s) URL such as https://buren.example.be"
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise SettingsError(env_name("base_url"), "must be a bare origin without a path")
    scheme = settings.database_url.split("://", 1)[0]
    if "://" not in settings.database_url or scheme not in ("sqlite", "postgres", "postgresql"):
        raise SettingsError(
            env_name("database_url"),
            "expected sqlite://PATH or postgres://USER@HOST:PORT/DB, "
            f"got {redact_url(settings.database_url)!r}",
        )
    if settings.secret_key is not None and len(settings.secret_key) < 32:
        raise SettingsError(env_name("secret_key"), "must be at least 32 characters long")
    return settings


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: str | Path | None = None
) -> Settings:
    """Read settings: defaults, then the TOML file, then `NABUUR_*` variables.

    The file is `config_file`, else `$NABUUR_CONFIG`; a missing named file is an error.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, tuple[str, Any]] = {}
    path = config_file or env.get("NABUUR_CONFIG")
    if path:
        for key, value in _read_toml(Path(path)).items():
            raw[key] = (f"{key} (in {path})", value)
    for key in _PARSERS:
        if env_name(key) in env:
            raw[key] = (env_name(key), env[env_name(key)])
    values = {key: _PARSERS[key](label, value) for key, (label, value) in raw.items()}
    sources = {key: label for key, (label, _) in raw.items()}
    return _validated(Settings(**values, sources=sources))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError("NABUUR_CONFIG", f"file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError("NABUUR_CONFIG", f"{path} is not valid TOML: {exc}") from None
    table = data.get("nabuur", data)
    # With a [nabuur] table, anything outside it (a key above it, another table) would
    # otherwise be read by nobody: the operator believes it set something it did not.
    stray = [key for key in data if key != "nabuur"] if "nabuur" in data else []
    if stray:
        raise SettingsError(
            f"{', '.join(stray)} (in {path})",
            "outside the [nabuur] table; settings go under [nabuur]",
        )
    if not isinstance(table, dict):
        raise SettingsError(f"nabuur (in {path})", "must be a table: [nabuur]")
    known = set(_PARSERS)
    for key in table:
        if key not in known:
            raise SettingsError(
                f"{key} (in {path})", f"unknown setting; known: {', '.join(sorted(known))}"
            )
    return dict(table)
