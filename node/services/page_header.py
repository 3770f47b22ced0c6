"""What the header of every logged-in page says about its viewer: the unread
notifications badge and the link to dashboards, read in one statement.

The rules stay where they are (`notifications.unread_total`, `dashboards.has_dashboard`);
this only asks their two statements as one: on PostgreSQL every statement is a round
trip that costs both sides CPU, and every logged-in page asked both.
"""

from __future__ import annotations

from dataclasses import dataclass

from node import raw_sql
from node.models import Account
from node.services import dashboards, notifications


@dataclass(frozen=True, slots=True)
class HeaderFacts:
    unread: int
    dashboard: bool


# The unread rows; with memberships deciding the link, a row marked `staff` if it shows.
_UNREAD = (
    "SELECT u.post_id, u.visibility, u.n, 0 AS staff"  # noqa: S608
    f" FROM ({notifications.UNREAD_SQL}) AS u"
)
_UNREAD_AND_STAFF = (
    f"{_UNREAD} UNION ALL SELECT NULL, NULL, 0, 1"  # noqa: S608
    f" FROM ({dashboards.STAFF_OR_CONNECTOR_SQL}) AS s"
)


async def header_facts(account: Account, *, ask_dashboard: bool = True) -> HeaderFacts:
    """`unread_count(account)` and, with `ask_dashboard`, `has_dashboard(account)` (else
    False: pages that know it already say so)."""
    dashboard = dashboards.dashboard_by_role(account) if ask_dashboard else False
    if dashboard is None:
        rows = await raw_sql.named_rows(_UNREAD_AND_STAFF, [account.id] * 3)
        unread = [row for row in rows if not row["staff"]]
        dashboard = len(unread) < len(rows)
    else:
        unread = await raw_sql.named_rows(_UNREAD, [account.id])
    return HeaderFacts(await notifications.unread_total(account, unread), dashboard)
