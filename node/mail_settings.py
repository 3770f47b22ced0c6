"""The e-mail settings: the SMTP server (`NABUUR_SMTP_URL`) in its forms, read into its
parts, and the sender (`NABUUR_MAIL_FROM`).

    smtp://HOST[:PORT]                 plain SMTP, for a relay on this machine (port 25)
    smtp+starttls://USER:PASS@HOST[:PORT]  STARTTLS required (port 587)
    smtps://USER:PASS@HOST[:PORT]      TLS from the first byte (port 465)

User and password are percent-encoded in the URL; they never appear in messages or logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    tls: str  # "none", "starttls" or "tls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse(url: str) -> SmtpServer:
    """The server named by `url`; ValueError (without the password) when it is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("expected smtp://HOST[:PORT], smtp+starttls://… or smtps://…") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError("expected smtp://HOST[:PORT], smtp+starttls://… or smtps://…")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("must name only a server: no path, query or fragment")
    tls = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "tls"}[scheme]
    return SmtpServer(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[scheme],
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def check_url(raw: str) -> str:
    parse(raw)
    return raw.strip()


def check_sender(raw: str) -> str:
    """An address, optionally with a display name: `Buren Jette <buren@jette.example>`."""
    _, address = parseaddr(raw)
    local, at, domain = address.rpartition("@")
    if not (at and local and "." in domain) or " " in address or len(address) > 254:
        raise ValueError(f"expected an e-mail address such as buren@jette.example, got {raw!r}")
    return raw.strip()
