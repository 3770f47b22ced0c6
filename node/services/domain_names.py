"""Domain names as domain rules hold them: checked, lower case, internationalised names
as punycode (shown in Unicode), and the rules that could cover a host."""

from __future__ import annotations

import contextlib
import re

import idna

from node.errors import InvalidInput
from node.i18n import N_

_PORT = re.compile(r"[0-9]{1,5}")
_FORBIDDEN = re.compile(r"[\s/@?#\\\[\]]")


def normalise_domain(domain: str) -> str:
    """`domain` as rules are looked up: lower case, no trailing dot, punycode when it
    can be encoded (else as given: a name that cannot be encoded matches no rule)."""
    text = domain.strip().lower().rstrip(".")
    host, sep, port = text.rpartition(":") if _has_port(text) else (text, "", "")
    with contextlib.suppress(idna.IDNAError, UnicodeError):
        host = idna.encode(host, uts46=True).decode("ascii") if host else host
    return f"{host}{sep}{port}"


def _has_port(text: str) -> bool:
    return text.count(":") == 1 and bool(_PORT.fullmatch(text.rsplit(":", 1)[1]))


def check_domain(raw: str, field: str = "domain") -> str:
    """A domain for a rule (punycode), or InvalidInput saying what is wrong with it."""
    text = raw.strip().lower().rstrip(".")
    if not text:
        raise InvalidInput(field, N_("enter a domain name such as example.org"))
    if "*" in text:
        raise InvalidInput(
            field,
            N_("wildcards are not accepted: a rule for example.org covers its subdomains"),
        )
    if "://" in text or _FORBIDDEN.search(text):
        raise InvalidInput(field, N_("enter only the domain name, such as example.org"))
    host, port = text, ""
    if ":" in text:
        if not _has_port(text) or not 0 < int(text.rsplit(":", 1)[1]) < 65536:
            raise InvalidInput(field, N_("enter only the domain name, such as example.org"))
        host, port = text.rsplit(":", 1)
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise InvalidInput(field, N_("this is not a valid domain name")) from None
    if len(ascii_host) > 253 or ("." not in ascii_host and ascii_host != "localhost"):
        raise InvalidInput(field, N_("this is not a valid domain name"))
    return f"{ascii_host}:{port}" if port else ascii_host


def display_domain(domain: str) -> str:
    """A stored (punycode) domain as people read it."""
    host, sep, port = domain.rpartition(":") if _has_port(domain) else (domain, "", "")
    try:
        return idna.decode(host) + sep + port
    except (idna.IDNAError, UnicodeError):
        return domain


def obfuscated(domain: str) -> str:
    """Mastodon's obfuscation of a published block: the middle letters become `*`."""
    length = len(domain)
    visible = length // 4
    return "".join(
        "*" if visible < i < length - visible and char != "." else char
        for i, char in enumerate(domain)
    )


def candidates(domain: str) -> list[str]:
    """The rules that could cover `domain`, most specific first (a port-less rule covers
    every port)."""
    name = normalise_domain(domain)
    host = name.rsplit(":", 1)[0] if _has_port(name) else name
    parts = host.split(".")
    found = [name] if name != host else []
    return found + [".".join(parts[i:]) for i in range(len(parts))]


def covers(rule_domain: str, domain: str) -> bool:
    return rule_domain in candidates(domain)
