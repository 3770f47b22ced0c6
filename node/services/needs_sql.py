"""The SQL behind the needs figures: raw counts and exact medians, grouped in the
database so that a node with a hundred thousand posts answers in milliseconds.

Both SQLite and PostgreSQL run the same statements; what differs (the month of a
timestamp, the seconds between two, how a timestamp parameter is written, placeholders)
lives in one `Dialect` per database. Medians are exact: the rows of each group are
numbered in order (`ROW_NUMBER`) and counted (`COUNT OVER`), and the one or two middle
rows are averaged, which is the mean of the two middle values when a group is even.

Nothing here suppresses small counts: `node.services.needs` does, before anything leaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise import connections

from node.states import PostStatus

# What the medians measure: from posting to the first offer, and to the first match.
FIRST_OFFER = "first_offer"
MATCH = "match"

# Grouping levels of the medians: one cell, a month, a category, everything.
CELL = ("month", "hood", "cat", "kind")
MONTH = ("month",)
CATEGORY = ("cat",)
ALL: tuple[str, ...] = ()
_COLUMNS = ("month", "hood", "cat", "kind")
_NULLS = {"hood": "CAST(NULL AS INTEGER)"}


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str

    def month(self, column: str) -> str:
        """`YYYY-MM` of a timestamp, in UTC."""
        if self.name == "postgres":
            return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"
        # Stored as UTC text ("2026-03-01 08:00:00.123+00:00", `use_tz` in node.db): its
        # first seven characters are the month, several times cheaper than strftime().
        return f"substr({column}, 1, 7)"

    def seconds(self, later: str, earlier: str) -> str:
        """Seconds from `earlier` to `later`, rounded to whole ones (NULL when either is)."""
        if self.name == "postgres":
            return f"CAST(ROUND(EXTRACT(EPOCH FROM ({later} - {earlier}))) AS BIGINT)"
        # julianday() is the cheapest parse SQLite has; a double of days keeps the
        # difference to about 50 microseconds, which rounding to seconds absorbs.
        return f"CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400) AS INTEGER)"

    def bytewise(self, expression: str) -> str:
        """`expression` compared byte by byte (SQLite's BINARY is already)."""
        return f'({expression}) COLLATE "C"' if self.name == "postgres" else expression

    def timestamp(self, moment: datetime) -> object:
        # SQLite keeps timestamps as UTC text ("2026-01-01 00:00:00.123+00:00"), which
        # sorts like time; the bare "2026-01-01 00:00:00" sorts before every instant of it.
        if self.name == "postgres":
            return moment
        return moment.strftime("%Y-%m-%d %H:%M:%S")


def dialect() -> Dialect:
    return Dialect(connections.get("default").capabilities.dialect)


@dataclass(slots=True)
class Where:
    """The filter as SQL with its parameters, placeholders numbered for the dialect."""

    dialect: Dialect
    clauses: list[str] = field(default_factory=list)
    params: list[object] = field(default_factory=list)

    def add(self, template: str, *values: object) -> None:
        """`template` with one `{}` per value."""
        marks = []
        for value in values:
            self.params.append(value)
            marks.append(f"${len(self.params)}" if self.dialect.name == "postgres" else "?")
        self.clauses.append(template.format(*marks))

    def add_in(self, column: str, values: Sequence[object]) -> None:
        if not values:
            self.clauses.append("1 = 0")
            return
        self.add(f"{column} IN ({', '.join('{}' for _ in values)})", *values)

    def sql(self) -> str:
        return " AND ".join(self.clauses) or "1 = 1"


def where_for(
    start: datetime,
    end: datetime,
    *,
    neighbourhood_ids: Sequence[int] | None = None,
    organisation_id: int | None = None,
    category: str = "",
    kind: str = "",
) -> Where:
    """Posts created in [start, end), not hidden by a moderator, narrowed as asked."""
    where = Where(dialect())
    where.add("created_at >= {}", where.dialect.timestamp(start))
    where.add("created_at < {}", where.dialect.timestamp(end))
    where.clauses.append("hidden_at IS NULL")
    if neighbourhood_ids is not None:
        where.add_in("neighbourhood_id", list(neighbourhood_ids))
    if organisation_id is not None:
        where.add("organisation_id = {}", organisation_id)
    if category:
        where.add("category = {}", category)
    if kind:
        where.add("kind = {}", kind)
    return where


def _flag(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


async def counts(where: Where, group: Sequence[str] = CELL) -> list[dict[str, Any]]:
    """One row per group of `group` (columns of CELL; the others come back NULL) with
    posts: posted, matched, done, expired, withdrawn, closed (no longer open) and
    unmatched (closed without a match)."""
    still_open = f"status = '{PostStatus.OPEN}'"
    figures = {
        "matched": "matched_at IS NOT NULL",
        "done": f"status = '{PostStatus.DONE}'",
        "expired": f"status = '{PostStatus.EXPIRED}'",
        "withdrawn": f"status = '{PostStatus.WITHDRAWN}'",
        "closed": f"NOT {still_open}",
        "unmatched": f"NOT {still_open} AND matched_at IS NULL",
    }
    sums = ", ".join(f"{_flag(condition)} AS {name}" for name, condition in figures.items())
    sources = {
        "month": where.dialect.month("created_at"),
        "hood": "neighbourhood_id",
        "cat": "category",
        "kind": "kind",
    }
    columns = ", ".join(
        f"{sources[c] if c in group else _NULLS.get(c, 'CAST(NULL AS TEXT)')} AS {c}"
        for c in _COLUMNS
    )
    grouped = ", ".join(str(_COLUMNS.index(c) + 1) for c in group)
    sql = (
        # Only constants and placeholders are spliced in: the values travel as parameters.
        f"SELECT {columns}, COUNT(*) AS posted, {sums}"  # noqa: S608
        f" FROM help_posts WHERE {where.sql()}" + (f" GROUP BY {grouped}" if group else "")
    )
    return await connections.get("default").execute_query_dict(sql, where.params)


_SOURCES = {"hood": "neighbourhood_id", "cat": "category", "kind": "kind"}


async def medians(where: Where, levels: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    """Exact medians (seconds) of both measures for each grouping in `levels`: rows of
    (lvl: index in `levels`, month, hood, cat, kind: None where not grouped, m: the
    measure, n: how many posts it is computed from, median).

    One statement: the posts are read once (`base`), and each level numbers its own rows
    in its own window, so each sort stays small (in memory on PostgreSQL)."""
    if not levels:
        return []
    d = where.dialect
    # Text keys compare byte by byte: a locale's collation makes PostgreSQL's sort several
    # times slower, and the order inside a partition does not matter.
    keys = {
        "month": d.bytewise(d.month("created_at")),
        "hood": "neighbourhood_id",
        "cat": d.bytewise("category"),
        "kind": d.bytewise("kind"),
    }
    selected = "".join(f"{expression} AS {name}, " for name, expression in keys.items())
    parts = [
        f"WITH base AS (SELECT {selected}"  # noqa: S608
        f"{d.seconds('first_offer_at', 'created_at')} AS offer_s,"
        f" {d.seconds('matched_at', 'created_at')} AS match_s"
        f" FROM help_posts WHERE {where.sql()}),"
        " d AS (SELECT month, hood, cat, kind, 0 AS m, offer_s AS s FROM base"
        " WHERE offer_s IS NOT NULL UNION ALL SELECT month, hood, cat, kind, 1 AS m,"
        " match_s AS s FROM base WHERE match_s IS NOT NULL)"
    ]
    selects = []
    for index, group in enumerate(levels):
        listed = "".join(f"{c}, " for c in _COLUMNS if c in group)
        window = f"PARTITION BY {listed}m ORDER BY s"
        parts.append(
            f", r{index} AS (SELECT {listed}m, s, ROW_NUMBER() OVER ({window}) AS rn,"  # noqa: S608
            f" COUNT(*) OVER ({window} ROWS BETWEEN UNBOUNDED PRECEDING"
            " AND UNBOUNDED FOLLOWING) AS n FROM d)"
        )
        columns = ", ".join(
            f"{c if c in group else _NULLS.get(c, 'CAST(NULL AS TEXT)')} AS {c}" for c in _COLUMNS
        )
        selects.append(
            f"SELECT {index} AS lvl, {columns}, m, n, AVG(s) AS median FROM r{index}"  # noqa: S608
            f" WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2 GROUP BY {listed}m, n"
        )
    sql = "".join(parts) + " " + " UNION ALL ".join(selects)
    rows = await connections.get("default").execute_query_dict(sql, where.params)
    for row in rows:
        row["m"] = FIRST_OFFER if row["m"] == 0 else MATCH
        row["median"] = float(row["median"])  # PostgreSQL answers AVG of integers as a Decimal
    return rows
