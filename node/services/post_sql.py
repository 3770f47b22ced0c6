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

from collections.abc import Sequence
from functools import cache
from typing import Any

from node.models import Account, HelpPost, Neighbourhood, Organisation, RemoteActor, Response
from node.raw_sql import Shape, text_dates

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
    text = text_dates()
    post = _POST.build(row, 0, text)
    start = _POST.width
    author = _AUTHOR.build(row, start, text)
    start += _AUTHOR.width
    hood = _HOOD.build(row, start, text)
    start += _HOOD.width
    org = _ORG.build(row, start, text) if row[start] is not None else None
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
