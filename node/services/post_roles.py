"""Who a logged-in viewer is to a request, asked in one statement while its page is made.

A request page asks four questions about its viewer, from the rules of different parts
of the page: staff of the post's organisation (`organisations.membership`), connector of
its neighbourhood (`neighbourhoods.is_connector`), staff of a partner organisation
(`permissions.can_manage_helpers`), accepted helper (`conversations.can_read`). Each rule
asks its own statement, once per page (`node.request_memo`); on PostgreSQL every one is
a round trip that costs both sides CPU. `ask_at_once` asks all four as one and leaves the
answers where those rules look first; the rules and their statements stay theirs.
"""

from __future__ import annotations

import functools

from node import raw_sql
from node.models import Account, HelpPost, Membership
from node.request_memo import asking_once, remember
from node.services import conversations, neighbourhoods, organisations, permissions

# The rules' own statements, each a column that says whether it finds a row.
_CHECKS = (
    neighbourhoods.CONNECTOR_SQL,
    permissions.PARTNER_STAFF_SQL,
    conversations.ACCEPTED_HELPER_SQL,
)


@functools.cache
def _membership_shape() -> raw_sql.Shape[Membership]:
    # Built on first use: the model's columns are known once tortoise is set up.
    return raw_sql.Shape(Membership, "m")


@functools.cache
def _statement() -> str:
    # One row whatever is found: the membership (if any; one at most per organisation)
    # joined to a row of one.
    columns = ", ".join(f"CASE WHEN EXISTS ({check}) THEN 1 ELSE 0 END" for check in _CHECKS)
    return (
        f"SELECT {columns}, {_membership_shape().sql} FROM (SELECT 1 AS one) AS base"  # noqa: S608
        " LEFT JOIN memberships m ON m.account_id = ? AND m.organisation_id = ?"
    )


async def ask_at_once(viewer: Account | None, post: HelpPost) -> None:
    """Answer the four questions about `viewer` and `post` for the rest of this GET (no
    statement outside one, or for a visitor: every rule then asks for itself)."""
    if viewer is None or not viewer.is_active or not asking_once():
        return
    org_id = post.organisation_id
    params = [
        *(viewer.id, post.neighbourhood_id),  # CONNECTOR_SQL
        *(post.id, viewer.id),  # PARTNER_STAFF_SQL
        *conversations.accepted_helper_params(viewer.id, post.id),
        *(viewer.id, org_id),  # the membership; None: `= NULL` holds for no row
    ]
    [row] = await raw_sql.rows(_statement(), params)
    connector, partner, helper = (bool(row[i]) for i in range(len(_CHECKS)))
    if org_id is not None:
        shape = _membership_shape()
        found = row[len(_CHECKS) + shape.columns.index("id")] is not None
        membership = [shape.build(row, len(_CHECKS), raw_sql.text_dates())] if found else []
        remember(organisations.membership_key(viewer.id, org_id), membership)
    remember(
        neighbourhoods.connector_key(viewer.id, post.neighbourhood_id), [True] if connector else []
    )
    remember(permissions.partner_staff_key(viewer.id, post.id), [True] if partner else [])
    remember(conversations.accepted_helper_key(viewer.id, post.id), [True] if helper else [])
