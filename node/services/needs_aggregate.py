"""The node's anonymised needs figures for partner nodes (`/needs.json`, FEDERATION.md,
"Needs figures"), and which partner nodes to read them from.

The document counts help posts per neighbourhood, category, month (of posting, in UTC)
and kind over the last 36 months: how many were posted, how many found a helper, were
done, or expired. It is figures only: every post counts (non-public ones too;
posts hidden by a moderator do not), but no title, text, author, organisation or
anything else about a person goes in; every count under `needs_privacy.SUPPRESS_BELOW`
is published as null and the others are rounded to five. The figures are those of the
needs page (`needs_rollup`, up to date at each build).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from tortoise.expressions import Q

from node import uris
from node.config import Settings
from node.models import Neighbourhood, OutgoingFollow
from node.services import needs_rollup
from node.services.needs_privacy import ROUND_TO, SUPPRESS_BELOW, shown
from node.services.partnerships import FOLLOWABLE_TYPES, OUR_KINDS
from node.states import FollowStatus
from node.timeutil import utcnow

VERSION = 1
MONTHS = 36
MAX_PARTNERS = 20
COUNTS = ("posted", "matched", "done", "expired")


def first_month(now: datetime) -> datetime:
    """The first day (UTC) of the oldest month counted: 35 months before `now`'s."""
    index = now.astimezone(UTC).year * 12 + now.astimezone(UTC).month - 1 - (MONTHS - 1)
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def month_range(now: datetime) -> list[str]:
    """Every month counted, oldest first, as `YYYY-MM`."""
    start = first_month(now)
    index = start.year * 12 + start.month - 1
    return [f"{(index + i) // 12:04d}-{(index + i) % 12 + 1:02d}" for i in range(MONTHS)]


async def _count_rows(now: datetime) -> list[dict[str, Any]]:
    """The counts per neighbourhood, category, kind and month, from the monthly rows
    the needs page reads too (brought up to date first; organisations summed)."""
    await needs_rollup.refresh()
    months = month_range(now)
    summed: dict[tuple[int, str, str, str], list[int]] = {}
    for (month, hood, category, kind, _org), tally in await needs_rollup.read(
        months[0], months[-1]
    ):
        counts = summed.setdefault((hood, category, kind, month), [0, 0, 0, 0])
        for index, name in enumerate(COUNTS):
            counts[index] += getattr(tally, name)
    return [
        {"neighbourhood_id": hood, "category": category, "kind": kind, "month": month}
        | dict(zip(COUNTS, counts, strict=True))
        for (hood, category, kind, month), counts in summed.items()
    ]


def _hood_entry(settings: Settings, hood: Neighbourhood) -> dict[str, str]:
    return {
        "id": uris.absolute(settings, uris.neighbourhood(hood.slug)),
        "name": hood.name,
        "commune": hood.commune,
        "country": hood.country,
    }


async def build(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """The aggregate document as `/needs.json` publishes it."""
    now = now or utcnow()
    rows = await _count_rows(now)
    counted = {row["neighbourhood_id"] for row in rows}
    hoods = await Neighbourhood.filter(Q(archived_at=None) | Q(id__in=list(counted))).order_by(
        "name", "id"
    )
    url_of = {h.id: uris.absolute(settings, uris.neighbourhood(h.slug)) for h in hoods}
    cells = []
    for row in rows:
        counts = {name: shown(int(row[name])) for name in COUNTS}
        if all(value == 0 for value in counts.values()):
            continue
        cells.append(
            {
                "neighbourhood": url_of[row["neighbourhood_id"]],
                "category": row["category"],
                "month": row["month"],
                "kind": str(getattr(row["kind"], "value", row["kind"])),
                **counts,
            }
        )
    cells.sort(key=lambda c: (c["neighbourhood"], c["category"], c["month"], c["kind"]))
    return {
        "version": VERSION,
        "node": settings.public_url,
        "generated": now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "suppressedBelow": SUPPRESS_BELOW,
        "roundedTo": ROUND_TO,
        "neighbourhoods": [_hood_entry(settings, h) for h in hoods],
        "cells": cells,
    }


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, lower case; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


async def partner_origins(settings: Settings) -> list[str]:
    """The other nodes this node follows (as the node, a neighbourhood or an
    organisation; accepted follows of groups, organisations or instance actors, not
    relays), as origins, the longest-followed first. Callers read at most MAX_PARTNERS."""
    rows = (
        await OutgoingFollow.filter(
            is_relay=False,
            status=FollowStatus.ACCEPTED,
            local_kind__in=OUR_KINDS,
            target__actor_type__in=FOLLOWABLE_TYPES,
        )
        .order_by("created_at", "id")
        .values_list("target__uri", flat=True)
    )
    ours = origin_of(settings.public_url)
    found: list[str] = []
    for uri in rows:
        origin = origin_of(str(uri))
        if origin and origin != ours and origin not in found:
            found.append(origin)
    return found
