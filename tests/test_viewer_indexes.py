"""The reads every logged-in page makes find their rows by index, on both backends: a
page must not cost more as the node's responses and partnered posts accumulate.

PostgreSQL is asked with sequential scans priced out (`enable_seqscan = off`): on a
small table it rightly prefers one, so the question is whether an index *could* serve
the read. SQLite says SCAN for a table read whole and SEARCH for one read by index.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from node import raw_sql
from node.services import visibility
from node.states import FollowStatus, OfferStatus


async def plan(sql: str, params: list[object]) -> str:
    client, text, values = raw_sql._prepared(sql, params)
    if client.capabilities.dialect != "postgres":
        rows = await client.execute_query_dict("EXPLAIN QUERY PLAN " + text, values)
        return "\n".join(row["detail"] for row in rows)
    async with in_transaction() as transaction:
        await transaction.execute_script("SET LOCAL enable_seqscan = off")
        rows = await transaction.execute_query_dict("EXPLAIN " + text, values)
    return "\n".join(row["QUERY PLAN"] for row in rows)


def scanned_whole(plan_text: str, table: str, alias: str = "") -> bool:
    """Whether the plan reads `table` whole (SQLite names it by its alias, if it has one)."""
    sqlite_name = alias or table
    for line in plan_text.splitlines():
        words = line.split()
        if f"Seq Scan on {table}" in line or words[:2] == ["SCAN", sqlite_name]:
            return True
    return False


async def test_what_a_viewer_takes_part_in_is_read_by_index(database: str) -> None:
    accepted = FollowStatus.ACCEPTED.value
    params: list[object] = [1, accepted] * 3 + [1, 1, OfferStatus.ACCEPTED.value, 1]
    relations = await plan(visibility._RELATIONS_SQL, params)
    # Memberships are read whole (their index leads with the organisation): staff are
    # few; these three grow with what residents do.
    for table, alias in (("responses", ""), ("post_partners", "pp"), ("follows", "")):
        assert not scanned_whole(relations, table, alias), relations
