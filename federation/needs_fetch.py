"""Reading partner nodes' needs figures: a read-only look-up the admin pages may call.

For each partner origin (`needs_aggregate.partner_origins`: the other nodes this node
follows), in this order, each step failing into the partner's status, never raising:

1. the domain policy must allow the host (else "unreachable", nothing is fetched);
2. `/.well-known/nodeinfo` on the origin, then the NodeInfo document it links to
   (2.1 preferred), then the URL in its `metadata.needsData`; every URL must stay on the
   partner's origin, redirects included;
3. that document, through the node's one HTTP client (SSRF guard on every hop, its
   timeouts, at most `MAX_BODY` bytes), must be `application/json` and pass
   `parse_figures`, which checks every field of the schema in FEDERATION.md ("Needs
   figures") and refuses small counts a partner should have suppressed.

Network errors, refusals, timeouts and other statuses than 200 make a partner
"unreachable"; anything wrong with what it sent (no `needsData`, too big, not JSON,
off the schema) makes it "invalid". At most `MAX_PARTNERS` are read, concurrently,
under one overall deadline of `TOTAL_SECONDS`; whoever has not answered by then is
"unreachable". Nothing is stored.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from federation.context import Federation
from federation.ssrf import FetchError
from node.services.needs_aggregate import MAX_PARTNERS, origin_of
from node.services.needs_privacy import SUPPRESS_BELOW

MAX_BODY = 1024 * 1024
TOTAL_SECONDS = 10.0
MAX_HOODS = 1000
MAX_CELLS = 50_000
MAX_COUNT = 10**9
MAX_TEXT = 200
MAX_URL = 500
STATUSES = ("ok", "unreachable", "invalid")
COUNTS = ("posted", "matched", "done", "expired")
KINDS = ("request", "offer")
NODEINFO_PREFERRED = (
    "http://nodeinfo.diaspora.software/ns/schema/2.1",
    "http://nodeinfo.diaspora.software/ns/schema/2.0",
)
JSON_ACCEPT = "application/json"
log = logging.getLogger(__name__)

_MONTH = re.compile(r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$")
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_COUNTRY = re.compile(r"^(?:[A-Z]{2})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidFigures(ValueError):
    """A partner's document is not needs figures as FEDERATION.md describes them."""


@dataclass(frozen=True, slots=True)
class Hood:
    id: str
    name: str
    commune: str
    country: str


@dataclass(frozen=True, slots=True)
class Cell:
    neighbourhood: str
    category: str
    month: str
    kind: str
    posted: int | None
    matched: int | None
    done: int | None
    expired: int | None


@dataclass(frozen=True, slots=True)
class Figures:
    """A checked needs-figures document."""

    node: str
    generated: datetime
    neighbourhoods: dict[str, Hood]
    cells: list[Cell]


@dataclass(slots=True)
class Partner:
    """One partner node as the regional view lists it."""

    origin: str
    status: str = "unreachable"  # one of STATUSES
    reason: str = ""  # for admins, in English: which step failed
    name: str = ""  # its NodeInfo nodeName, when it gave one
    figures: Figures | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return self.name or self.origin.split("://", 1)[-1]


def _fail(why: str) -> InvalidFigures:
    return InvalidFigures(why)


def _text(value: object, what: str, *, empty: bool = True) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or _CONTROL.search(value):
        raise _fail(f"{what}: not a short text")
    if not empty and not value.strip():
        raise _fail(f"{what}: empty")
    return value


def _own_url(value: object, origin: str, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_URL or origin_of(value) != origin:
        raise _fail(f"{what}: not a URL on {origin}")
    return value


def _count(value: object, what: str) -> int | None:
    if value is None:
        return None
    # bool is an int in Python, and JSON's true is no count.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise _fail(f"{what}: not a count")
    if 0 < value < SUPPRESS_BELOW:
        raise _fail(f"{what}: a count under {SUPPRESS_BELOW} must be suppressed")
    return value


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(f"{what}: not an object")
    return value


def _list(value: object, what: str, limit: int) -> list[Any]:
    if not isinstance(value, list) or len(value) > limit:
        raise _fail(f"{what}: not a list of at most {limit}")
    return value


def _hood(value: object, origin: str) -> Hood:
    item = _object(value, "neighbourhood")
    country = _text(item.get("country", ""), "country")
    if not _COUNTRY.match(country):
        raise _fail("country: not a two-letter code")
    return Hood(
        _own_url(item.get("id"), origin, "neighbourhood id"),
        _text(item.get("name"), "neighbourhood name", empty=False),
        _text(item.get("commune", ""), "commune"),
        country,
    )


def _cell(value: object, hoods: dict[str, Hood]) -> Cell:
    item = _object(value, "cell")
    hood, category, month, kind = (
        item.get(k) for k in ("neighbourhood", "category", "month", "kind")
    )
    if not isinstance(hood, str) or hood not in hoods:
        raise _fail("cell: neighbourhood not listed")
    if not isinstance(category, str) or not _CATEGORY.match(category):
        raise _fail("cell: category is not a slug")
    if not isinstance(month, str) or not _MONTH.match(month):
        raise _fail("cell: month is not YYYY-MM")
    if kind not in KINDS:
        raise _fail("cell: kind is neither request nor offer")
    posted, matched, done, expired = (_count(item.get(k), f"cell {k}") for k in COUNTS)
    if posted is not None and any(n is not None and n > posted for n in (matched, done, expired)):
        raise _fail("cell: more matched, done or expired than posted")
    return Cell(hood, category, month, str(kind), posted, matched, done, expired)


def parse_figures(document: object, origin: str) -> Figures:
    """Check a needs-figures document served from `origin`; raise InvalidFigures.

    Unknown properties are ignored (later versions may add some); every known one must
    have its type and range, every URL must be on `origin`, and a cell must not repeat.
    """
    doc = _object(document, "document")
    if type(doc.get("version")) is not int or doc["version"] != 1:
        raise _fail("version: not 1")
    node = _own_url(doc.get("node"), origin, "node")
    generated_text = _text(doc.get("generated"), "generated", empty=False)
    try:
        generated = datetime.fromisoformat(generated_text)
    except ValueError:
        raise _fail("generated: not an ISO time") from None
    suppressed = doc.get("suppressedBelow")
    if type(suppressed) is not int or not SUPPRESS_BELOW <= suppressed <= 1000:
        raise _fail(f"suppressedBelow: not a number from {SUPPRESS_BELOW}")
    hoods: dict[str, Hood] = {}
    for value in _list(doc.get("neighbourhoods"), "neighbourhoods", MAX_HOODS):
        hood = _hood(value, origin)
        if hood.id in hoods:
            raise _fail("neighbourhoods: listed twice")
        hoods[hood.id] = hood
    cells: list[Cell] = []
    seen: set[tuple[str, str, str, str]] = set()
    for value in _list(doc.get("cells"), "cells", MAX_CELLS):
        cell = _cell(value, hoods)
        key = (cell.neighbourhood, cell.category, cell.month, cell.kind)
        if key in seen:
            raise _fail("cells: a cell is repeated")
        seen.add(key)
        cells.append(cell)
    return Figures(node, generated, hoods, cells)


def own_figures(document: dict[str, Any]) -> Figures:
    """This node's own document (`needs_aggregate.build`) in the same shape, unchecked:
    it is ours, and may be larger than a partner's is allowed to be."""
    hoods = {
        h["id"]: Hood(h["id"], h["name"], h["commune"], h["country"])
        for h in document["neighbourhoods"]
    }
    cells = [Cell(**{k: c[k] for k in Cell.__slots__}) for c in document["cells"]]
    generated = datetime.fromisoformat(document["generated"])
    return Figures(document["node"], generated, hoods, cells)


# --- fetching ---------------------------------------------------------------------------


class _Unreachable(Exception):
    pass


async def _get_json(fed: Federation, url: str, origin: str, *, strict: bool) -> object:
    # Here, not at the top: the HTTP stack loads with a node's first outgoing request.
    from federation.client import ResponseTooLargeError

    try:
        response = await fed.client.request("GET", url, headers={"Accept": JSON_ACCEPT})
    except ResponseTooLargeError:
        raise _fail(f"over {MAX_BODY} bytes") from None
    except FetchError as exc:
        raise _Unreachable(exc.reason) from None
    if response.status != 200:
        raise _Unreachable(f"status {response.status}")
    if origin_of(response.url) != origin:
        raise _fail("redirected off the partner's origin")
    if len(response.body) > MAX_BODY:
        raise _fail(f"over {MAX_BODY} bytes")
    media_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if strict and media_type != "application/json":
        raise _fail("not application/json")
    try:
        return orjson.loads(response.body)
    except orjson.JSONDecodeError:
        raise _fail("not JSON") from None


def _nodeinfo_url(links: object, origin: str) -> str:
    found = {}
    entries = links.get("links") if isinstance(links, dict) else None
    for link in entries if isinstance(entries, list) else []:
        if isinstance(link, dict) and link.get("rel") in NODEINFO_PREFERRED:
            found.setdefault(link["rel"], link.get("href"))
    for rel in NODEINFO_PREFERRED:
        if rel in found:
            return _own_url(found[rel], origin, "NodeInfo link")
    raise _fail("no NodeInfo 2.x link")


def _needs_url(info: object, origin: str) -> tuple[str, str]:
    metadata = info.get("metadata") if isinstance(info, dict) else None
    if not isinstance(metadata, dict) or "needsData" not in metadata:
        raise _fail("NodeInfo has no metadata.needsData")
    name = metadata.get("nodeName")
    clean = name.strip()[:100] if isinstance(name, str) and not _CONTROL.search(name) else ""
    return _own_url(metadata["needsData"], origin, "needsData"), clean


async def fetch_partner(fed: Federation, origin: str) -> Partner:
    """One partner's figures, or why there are none; never raises for what it sent."""
    partner = Partner(origin)
    host = origin.split("://", 1)[-1]
    if not await fed.domain_allowed(host):
        partner.reason = "this node does not federate with it"
        return partner
    try:
        links = await _get_json(fed, f"{origin}/.well-known/nodeinfo", origin, strict=False)
        info = await _get_json(fed, _nodeinfo_url(links, origin), origin, strict=False)
        needs_url, partner.name = _needs_url(info, origin)
        document = await _get_json(fed, needs_url, origin, strict=True)
        partner.figures = parse_figures(document, origin)
    except _Unreachable as exc:
        partner.reason = str(exc)[:200]
        return partner
    except InvalidFigures as exc:
        partner.status, partner.reason = "invalid", str(exc)[:200]
        return partner
    partner.status = "ok"
    return partner


async def fetch_partners(
    fed: Federation, origins: list[str], *, seconds: float = TOTAL_SECONDS
) -> list[Partner]:
    """The first MAX_PARTNERS partners' figures, read concurrently within `seconds`."""
    chosen = origins[:MAX_PARTNERS]
    if not chosen:
        return []
    tasks = [asyncio.create_task(fetch_partner(fed, origin)) for origin in chosen]
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    results = []
    for origin, task in zip(chosen, tasks, strict=True):
        if task in done and task.exception() is None:
            results.append(task.result())
        elif task in done:  # our bug, not the partner's: logged, and the page still shows
            error = task.exception()
            log.error("reading needs figures of %s failed", origin, exc_info=error)
            results.append(Partner(origin, reason=f"error: {type(error).__name__}"))
        else:
            results.append(Partner(origin, reason="timed out"))
    return results
