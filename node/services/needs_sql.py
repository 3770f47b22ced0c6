"""What differs between SQLite and PostgreSQL in the needs figures' SQL: the month of
a timestamp, the seconds between two, how a timestamp parameter is written, and the
placeholders. `node.services.needs_rollup` and `node.services.needs_aggregate` write
their statements once with these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise import connections


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str

    def month(self, column: str) -> str:
        """`YYYY-MM` of a timestamp, in UTC."""
        if self.name == "postgres":
            return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"
        # strftime() reads the stored text with its offset: a time written with another
        # zone than UTC still falls in its UTC month (the text's first characters would not).
        return f"strftime('%Y-%m', {column})"

    def seconds(self, later: str, earlier: str) -> str:
        """Seconds from `earlier` to `later`, rounded to whole ones (NULL when either is)."""
        if self.name == "postgres":
            return f"CAST(ROUND(EXTRACT(EPOCH FROM ({later} - {earlier}))) AS BIGINT)"
        # julianday() is the cheapest parse SQLite has; a double of days keeps the
        # difference to about 50 microseconds, which rounding to seconds absorbs.
        return f"CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400) AS INTEGER)"

    def mark(self, number: int) -> str:
        """The placeholder of the `number`th parameter (from 1)."""
        return f"${number}" if self.name == "postgres" else "?"

    def stored(self, moment: datetime) -> object:
        """`moment` as a column of ours holds it (tortoise's own text form on SQLite)."""
        if self.name == "postgres":
            return moment
        return moment.astimezone(UTC).isoformat(sep=" ")

    def timestamp(self, moment: datetime) -> object:
        # SQLite keeps timestamps as UTC text ("2026-01-01 00:00:00.123456+00:00"), which
        # sorts like time; this prefix of it sorts just before the instant it names.
        if self.name == "postgres":
            return moment
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def dialect() -> Dialect:
    return Dialect(connections.get("default").capabilities.dialect)
