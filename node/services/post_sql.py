"""Hand-written reads behind a request's page: the post with what every page of it shows
(`posts.get_post`), and its responses (`post_view`).

Profiles of a request page rendered fresh (logged in, or with the page cache off) put
most of its CPU time in tortoise building queries (pypika copies and formats each query
anew, a `select_related` of three models costing ~3.8 ms on this stack's 2-core
reference machine) and in converting rows (ISO dates parsed by `iso8601`). The
statements here are written once and only their parameters change; rows become the
same model instances tortoise builds (`Model._init_from_db`), with related objects
attached where tortoise attaches them, and SQLite's text timestamps read with
`datetime.fromisoformat`.
The rules (who sees a post, which responses a viewer sees) stay with the services that
call these.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache, cached_property
from typing import Any, Generic, TypeVar

from tortoise import connections
from tortoise.fields import DatetimeField
from tortoise.models import Model

from node.models import Account, HelpPost, Neighbourhood, Organisation, RemoteActor, Response

M = TypeVar("M", bound=Model)
_MARK = re.compile(r"\?")


class Shape(Generic[M]):
    """Columns of `model` selected under `alias`, and how a row's slice of them becomes
    an instance. `columns` None: all of them (a full instance, as tortoise reads one);
    else only those (a partial one, which tortoise will not save without update_fields).
    Worked out on first use: tortoise completes the models' fields at `Tortoise.init`."""

    def __init__(self, model: type[M], alias: str, columns: Sequence[str] | None = None) -> None:
        self.model, self.alias, self.wanted = model, alias, columns

    @cached_property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.wanted or sorted(self.model._meta.db_fields))

    @cached_property
    def width(self) -> int:
        return len(self.columns)

    @cached_property
    def dates(self) -> tuple[int, ...]:
        meta = self.model._meta
        by_column = {
            meta.fields_db_projection.get(name, name): field
            for name, field in meta.fields_map.items()
        }
        return tuple(
            i
            for i, column in enumerate(self.columns)
            if isinstance(by_column[column], DatetimeField)
        )

    @cached_property
    def sql(self) -> str:
        return ", ".join(f'{self.alias}."{column}"' for column in self.columns)

    def build(self, row: Sequence[Any], start: int, text_dates: bool) -> M:
        values = [row[i] for i in range(start, start + self.width)]  # Row/Record: no slices
        if text_dates:  # SQLite: tortoise's text form; fromisoformat is ~20x iso8601's speed
            for i in self.dates:
                if isinstance(values[i], str):
                    values[i] = datetime.fromisoformat(values[i])
        return self.model._init_from_db(**dict(zip(self.columns, values, strict=True)))


def sqlite_rows() -> bool:
    """Whether rows come from SQLite (text timestamps), else PostgreSQL."""
    return connections.get("default").capabilities.dialect != "postgres"


@cache
def _numbered(sql: str) -> str:
    """`?` marks as PostgreSQL's `$1, $2, …` (no statement here has a `?` in a literal)."""
    counter = iter(range(1, 10_000))
    return _MARK.sub(lambda _: f"${next(counter)}", sql)


async def rows(sql: str, params: Sequence[object]) -> list[Any]:
    """Run `sql` (with `?` marks); its rows, read by position (columns may share names).
    SQLite keeps UUIDs as text (timestamps: tortoise's adapter writes them as the ORM)."""
    client = connections.get("default")
    if client.capabilities.dialect == "postgres":
        _, found = await client.execute_query(_numbered(sql), list(params))
    else:
        values = [str(v) if isinstance(v, uuid.UUID) else v for v in params]
        _, found = await client.execute_query(sql, values)
    return list(found)


# --- the post, with its author, neighbourhood and organisation ------------------------

_POST = Shape(HelpPost, "p")
_AUTHOR = Shape(Account, "a")
_HOOD = Shape(Neighbourhood, "n")
_ORG = Shape(Organisation, "o")


@cache
def post_sql() -> str:
    """The post by id (one parameter), its author, neighbourhood and organisation."""
    return (
        f"SELECT {_POST.sql}, {_AUTHOR.sql}, {_HOOD.sql}, {_ORG.sql}"  # noqa: S608
        " FROM help_posts p"
        " JOIN accounts a ON a.id = p.author_id"
        " JOIN neighbourhoods n ON n.id = p.neighbourhood_id"
        " LEFT JOIN organisations o ON o.id = p.organisation_id"
        " WHERE p.id = ?"
    )


def post_from_row(row: Sequence[Any]) -> HelpPost:
    """A row of POST_SQL as `HelpPost.get(…).select_related("author", "neighbourhood",
    "organisation")` returns it."""
    text_dates = sqlite_rows()
    post = _POST.build(row, 0, text_dates)
    start = _POST.width
    author = _AUTHOR.build(row, start, text_dates)
    start += _AUTHOR.width
    hood = _HOOD.build(row, start, text_dates)
    start += _HOOD.width
    org = _ORG.build(row, start, text_dates) if row[start] is not None else None
    # Where tortoise's select_related puts them.
    object.__setattr__(post, "_author", author)
    object.__setattr__(post, "_neighbourhood", hood)
    object.__setattr__(post, "_organisation", org)
    return post


# --- responses, with what a page shows of their authors -----------------------------

RESPONSE = Shape(Response, "r")
# Only what the page shows of an author (partial instances: never saved).
RESPONSE_AUTHOR = Shape(
    Account, "a", ("id", "username", "display_name", "is_active", "suspended_at", "role")
)
RESPONSE_REMOTE = Shape(
    RemoteActor, "ra", ("id", "uri", "url", "domain", "username", "display_name", "standing")
)
RESPONSE_FROM = (
    "FROM responses r LEFT JOIN accounts a ON a.id = r.author_id"
    " LEFT JOIN remote_actors ra ON ra.id = r.remote_author_id"
)


@cache
def response_columns() -> str:
    """A response's columns and its author's (named a_…, ra_…: unique in a UNION)."""
    return ", ".join(
        [
            RESPONSE.sql,
            *(f'a."{c}" AS "a_{c}"' for c in RESPONSE_AUTHOR.columns),
            *(f'ra."{c}" AS "ra_{c}"' for c in RESPONSE_REMOTE.columns),
        ]
    )


def response_from_row(row: Sequence[Any], start: int, text_dates: bool) -> Response:
    """A response read with `response_columns()` from `start`, its author (or remote author)
    attached as `select_related("author", "remote_author")` attaches them."""
    response = RESPONSE.build(row, start, text_dates)
    start += RESPONSE.width
    author = remote = None
    if response.author_id is not None:  # type: ignore[attr-defined]
        author = RESPONSE_AUTHOR.build(row, start, text_dates)
    start += RESPONSE_AUTHOR.width
    if response.remote_author_id is not None:  # type: ignore[attr-defined]
        remote = RESPONSE_REMOTE.build(row, start, text_dates)
    object.__setattr__(response, "_author", author)
    object.__setattr__(response, "_remote_author", remote)
    return response
