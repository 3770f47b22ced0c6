"""Listings of open requests and offers: what neighbourhood, home and profile pages show."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from tortoise.functions import Count

from node import raw_sql as sql
from node.errors import InvalidInput
from node.i18n import N_
from node.models import Account, HelpPost, Neighbourhood, PostKind
from node.services.removals import listed_filter, listed_lookups
from node.services.responses import accepted_count_column
from node.services.visibility import visible_lookups, visible_posts_filter
from node.states import PostStatus
from node.taxonomy import BY_SLUG


def in_language(row: dict[str, Any], locale: str) -> dict[str, Any]:
    """A post read as plain columns (`title`, `description`, `on_behalf_label`,
    `language`, `translations`), its texts put in `locale` where the author wrote them
    (as `HelpPost.text_in` and `label_in` do for a model); `language` says which."""
    other = (row.get("translations") or {}).get(locale)
    if other and locale != row["language"]:
        row["title"] = other.get("title") or row["title"]
        row["description"] = other.get("description", "")
        row["on_behalf_label"] = other.get("on_behalf_label") or row.get("on_behalf_label")
        row["language"] = locale
    return row


# The listing's statement: cards of one kind, newest first (`_card_statement`). Profiles
# of a fresh neighbourhood page put a third of its CPU time in tortoise building the two
# listing queries from their filters (pypika copies and formats every term anew); this is
# one statement, with the visibility and moderation rules taken from their services as
# lookups (`visibility.visible_lookups`, `removals.listed_lookups`), not written again.
# What a card shows of a post: no keys or hashes of the author come along; the helpers
# accepted come in the same statement (`accepted`).
_CARD_COLUMNS = (
    "p.id, p.kind, p.status, p.category, p.title, p.description, p.language,"
    " p.translations, p.starts_at, p.area_hint, p.helpers_needed, p.on_behalf_label,"
    " a.display_name AS author_name, o.name AS organisation_name,"
    " o.slug AS organisation_slug, n.name AS neighbourhood_name, p.created_at"
)
_CARD_FROM = (
    "FROM help_posts p JOIN accounts a ON a.id = p.author_id"
    " JOIN neighbourhoods n ON n.id = p.neighbourhood_id"
    " LEFT JOIN organisations o ON o.id = p.organisation_id"
)
_ALIASES = {"": "p", "author": "a"}


def _card_statement(conditions: list[str], params: list[object], limit: int, part: str) -> str:
    """The statement for `conditions`, its rows named `part`; `params` gains the values it
    adds, in place. The accepted helpers are counted outside the limited select: inside,
    SQLite counted them for every matching post before sorting (a node-wide listing ran
    a count per open post)."""
    accepted, accepted_params = accepted_count_column(f"{part}.id")
    params[:0] = accepted_params
    params.append(limit)
    where = " AND ".join(conditions)
    return (
        f"SELECT {part}.*, {accepted} AS accepted FROM (SELECT {_CARD_COLUMNS} {_CARD_FROM}"  # noqa: S608
        f" WHERE {where} ORDER BY p.created_at DESC LIMIT ?) AS {part}"
    )


def _card_row(row: dict[str, Any], text: bool) -> dict[str, Any]:
    """A row as tortoise would give it: ids, dates and JSON parsed."""
    del row["created_at"]
    translations = row["translations"]
    if isinstance(translations, str):
        row["translations"] = orjson.loads(translations)
    if text:  # SQLite: ids and dates are text
        row["id"] = uuid.UUID(row["id"])
        row["starts_at"] = sql.as_datetime(row["starts_at"])
    return row


async def _card_rows(
    neighbourhood: Neighbourhood | None,
    viewer: Account | None,
    kinds: list[str | None],
    *,
    category: str | None = None,
    starts_between: tuple[datetime, datetime] | None = None,
    flexible_only: bool = False,
    limit: int = 50,
    **match: object,
) -> dict[str | None, list[dict]]:
    """The rows of `open_card_rows` for each of `kinds` (None: either), in one statement."""
    for kind in kinds:
        if kind is not None and kind not in (PostKind.REQUEST, PostKind.OFFER):
            raise InvalidInput("kind", N_("expected one of %(allowed)s"), allowed="request, offer")
    if category and category not in BY_SLUG:
        raise InvalidInput("category", N_("choose one of the categories"))
    conditions, params = [], []

    def add(lookups: dict[str, object]) -> None:
        condition, values = sql.where(lookups, _ALIASES)
        conditions.append(condition)
        params.extend(values)

    visible = await visible_lookups(viewer)
    if visible is not None:
        ors = [sql.where(alternative, _ALIASES) for alternative in visible]
        conditions.append("(" + " OR ".join(f"({c})" for c, _ in ors) + ")")
        params.extend(value for _, values in ors for value in values)
    add(listed_lookups(include_silenced="author_id" in match))
    add({"status__in": [PostStatus.OPEN, PostStatus.MATCHED], **match})
    if neighbourhood is not None:
        add({"neighbourhood_id": neighbourhood.id})
    if category:
        add({"category": category})
    if starts_between is not None:
        conditions.append("p.starts_at >= ? AND p.starts_at < ?")
        # As stored (UTC text on SQLite): a bound in the node's zone compared as text
        # would shift the window by the zone's offset.
        params += [sql.dialect().stored(moment) for moment in starts_between]
    elif flexible_only:
        add({"starts_at": None})
    statements, all_params = [], []
    for i, kind in enumerate(kinds):
        own = [*conditions, "p.kind = ?"] if kind else list(conditions)
        own_params = [*params, kind] if kind else list(params)
        statements.append(_card_statement(own, own_params, limit, f"k{i}"))
        all_params += own_params
    # Each kind keeps its own newest `limit`: a UNION of the two limited selects.
    statement = " UNION ALL ".join(statements)
    text = sql.text_dates()
    found: dict[str | None, list[dict]] = {kind: [] for kind in kinds}
    rows = await sql.named_rows(statement + " ORDER BY created_at DESC", all_params)
    for row in rows:
        found[row["kind"] if len(kinds) > 1 else kinds[0]].append(_card_row(row, text))
    return found


async def open_card_rows(
    neighbourhood: Neighbourhood | None, viewer: Account | None, **filters: Any
) -> list[dict]:
    """Open and matched posts `viewer` may see, newest first, as plain rows of what a card
    shows. Filters: `kind`, `category`, a start time in `starts_between` or none at all
    (`flexible_only`), `limit`, and column values (e.g. `organisation_id=3`)."""
    kind = filters.pop("kind", None) or None
    return (await _card_rows(neighbourhood, viewer, [kind], **filters))[kind]


async def open_card_rows_per_kind(
    neighbourhood: Neighbourhood | None,
    viewer: Account | None,
    kinds: list[str],
    **filters: Any,
) -> dict[str, list[dict]]:
    """`open_card_rows` for each of `kinds`, each its newest `limit`, in one statement."""
    return await _card_rows(neighbourhood, viewer, list(kinds), **filters)  # type: ignore[return-value]


async def list_open_posts(
    neighbourhood: Neighbourhood | None, viewer: Account | None, **filters: Any
) -> list[HelpPost]:
    """The posts of `open_card_rows` as models, with author, organisation and neighbourhood."""
    ids = [row["id"] for row in await open_card_rows(neighbourhood, viewer, **filters)]
    found = await HelpPost.filter(id__in=ids).select_related(
        "organisation", "author", "neighbourhood"
    )
    return sorted(found, key=lambda post: ids.index(post.id))


async def open_counts(viewer: Account | None) -> dict[int, int]:
    """Open posts per neighbourhood id that `viewer` may see."""
    rows = (
        await HelpPost.filter(
            await visible_posts_filter(viewer), listed_filter(), status=PostStatus.OPEN
        )
        .group_by("neighbourhood_id")
        .annotate(n=Count("id"))
        .values_list("neighbourhood_id", "n")
    )
    return dict(rows)
