"""What an organisation may export of its requests: one row per post, and a summary per
category and month for funders' reports.

Never an address, a case note or a helper's name: the client's pseudonymous label is
the most personal thing in an export.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from node.models import Account, HelpPost, Organisation, Response
from node.services import audit
from node.services.dashboards import require_dashboard
from node.states import OfferStatus

POST_COLUMNS = (
    "title",
    "kind",
    "category",
    "neighbourhood",
    "status",
    "created",
    "date",
    "expires",
    "status_changed",
    "helpers_needed",
    "helpers_accepted",
    "client_label",
)
SUMMARY_COLUMNS = (
    "month",
    "category",
    "requests",
    "offers",
    "matched",
    "done",
    "expired",
    "withdrawn",
    "still_open",
    "helpers_accepted",
)


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""


async def _rows(org: Organisation) -> list[dict[str, Any]]:
    rows = (
        await HelpPost.filter(organisation_id=org.id)
        .order_by("created_at")
        .values(
            "id",
            "title",
            "kind",
            "category",
            "status",
            "created_at",
            "starts_at",
            "expires_at",
            "status_changed_at",
            "helpers_needed",
            "on_behalf_label",
            neighbourhood="neighbourhood__name",
        )
    )
    accepted = Counter(
        await Response.filter(
            post__organisation_id=org.id, offer_status=OfferStatus.ACCEPTED
        ).values_list("post_id", flat=True)
    )
    for row in rows:
        row["accepted"] = accepted.get(row["id"], 0)
    return rows


@dataclass(frozen=True, slots=True)
class Export:
    """Rows of plain values, ready for a CSV writer."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)


async def posts_export(org: Organisation, zone: ZoneInfo, *, by: Account) -> Export:
    await require_dashboard(by, org)
    rows = await _rows(org)
    await audit.record(by, "export.posts", f"organisation:{org.slug}", organisation=org)
    return Export(
        POST_COLUMNS,
        [
            (
                row["title"],
                row["kind"],
                row["category"],
                row["neighbourhood"],
                row["status"],
                _local(row["created_at"], zone),
                _local(row["starts_at"], zone),
                _local(row["expires_at"], zone),
                _local(row["status_changed_at"], zone),
                row["helpers_needed"],
                row["accepted"],
                row["on_behalf_label"] or "",
            )
            for row in rows
        ],
    )


async def summary_export(org: Organisation, zone: ZoneInfo, *, by: Account) -> Export:
    """Per month (of posting, in the node's time zone) and category."""
    await require_dashboard(by, org)
    table: dict[tuple[str, str], Counter[str]] = {}
    for row in await _rows(org):
        key = (row["created_at"].astimezone(zone).strftime("%Y-%m"), row["category"])
        counts = table.setdefault(key, Counter())
        counts["requests" if row["kind"] == "request" else "offers"] += 1
        status = str(row["status"])
        counts["still_open" if status == "open" else status] += 1
        counts["helpers_accepted"] += row["accepted"]
    await audit.record(by, "export.summary", f"organisation:{org.slug}", organisation=org)
    return Export(
        SUMMARY_COLUMNS,
        [
            (month, category, *(counts[column] for column in SUMMARY_COLUMNS[2:]))
            for (month, category), counts in sorted(table.items())
        ],
    )
