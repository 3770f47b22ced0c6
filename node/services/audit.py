"""Recording and reading the audit log (see `node.models.audit`).

Services call `record` inside the transaction of the change it describes, so the log
and the change commit together. Reading is for coordinators (a request's trail), and
for moderators and admins (everything: the searchable log at /admin/audit and its CSV
export, which is itself recorded).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from node.errors import InvalidFields, InvalidInput, PermissionDenied
from node.i18n import N_
from node.models import Account, AuditEntry, HelpPost, Organisation, Role
from node.text import clean_line
from node.timeutil import utcnow

# Seeing the private address is recorded once a day per person and post: the trail says
# who looked, without a row for every page view.
ADDRESS_SEEN_EVERY = timedelta(days=1)


async def record(
    actor: Account | None,
    action: str,
    subject: str = "",
    *,
    post: HelpPost | None = None,
    organisation: Organisation | int | None = None,
    detail: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    """Add one entry; `actor` None means the node itself (expiry, say)."""
    org_id = organisation.id if isinstance(organisation, Organisation) else organisation
    if org_id is None and post is not None:
        org_id = post.organisation_id
    return await AuditEntry.create(
        actor=actor,
        actor_name=actor.display_name if actor else "",
        action=action,
        subject=subject or (f"post:{post.id}" if post else ""),
        post=post,
        organisation_id=org_id,
        detail=detail or {},
        reason=reason,
    )


async def address_seen(viewer: Account, post: HelpPost) -> None:
    """Note that `viewer` was shown the post's private address (its author is not)."""
    if viewer.id == post.author_id:
        return
    since = utcnow() - ADDRESS_SEEN_EVERY
    if await AuditEntry.exists(
        action="post.address_seen", post_id=post.id, actor_id=viewer.id, at__gte=since
    ):
        return
    await record(viewer, "post.address_seen", post=post)


async def trail_of(post: HelpPost) -> list[AuditEntry]:
    """Everything recorded about `post`, oldest first."""
    return await AuditEntry.filter(post_id=post.id).order_by("at", "id")


# ---- the audit log page: search and export (moderators and admins) -------------------

SEARCH_PAGE = 50
EXPORT_BATCH = 1000
TEXT_MAX = 200
# Dates outside these years are typing mistakes (and out of the databases' range).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2100, 12, 31)
_ACTION = re.compile(r"[a-z_.]{1,40}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXPORT_COLUMNS = ("at", "actor", "action", "subject", "reason", "detail")


@dataclass(frozen=True, slots=True)
class AuditSearch:
    """A checked search: free text, one action, and a date range in the node's zone."""

    text: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1

    def as_query(self) -> dict[str, str]:
        """The search as it is written in the page's URL and in the export form."""
        values = {
            "q": self.text,
            "action": self.action,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in values.items() if value}


def _day(field: str, raw: str) -> date | None:
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw) if _DATE.fullmatch(raw) else None
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(field, N_("enter a date as YYYY-MM-DD, for example 2025-03-31"))
    return day


def parse_search(params: Mapping[str, str], *, page: int = 1) -> AuditSearch:
    """Check what the search form sent; InvalidFields names every bad field."""
    problems: list[InvalidInput] = []
    text = clean_line(params.get("q", "") or "")
    if len(text) > TEXT_MAX:
        problems.append(
            InvalidInput("q", N_("is too long (at most %(max)d characters)"), max=TEXT_MAX)
        )
    action = (params.get("action", "") or "").strip()
    if action and not _ACTION.fullmatch(action):
        problems.append(InvalidInput("action", N_("choose one of the options")))
    days: dict[str, date | None] = {}
    for field in ("since", "until"):
        try:
            days[field] = _day(field, (params.get(field, "") or "").strip())
        except InvalidInput as exc:
            problems.append(exc)
            days[field] = None
    since, until = days["since"], days["until"]
    if since and until and until < since:
        problems.append(InvalidInput("until", N_("must not be before the first day")))
    if problems:
        raise InvalidFields(problems)
    return AuditSearch(text, action, since, until, max(page, 1))


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def _query(search: AuditSearch, zone: tzinfo) -> QuerySet[AuditEntry]:
    query = AuditEntry.all()
    if search.text:
        query = query.filter(
            Q(actor_name__icontains=search.text)
            | Q(action__icontains=search.text)
            | Q(subject__icontains=search.text)
            | Q(reason__icontains=search.text)
            # "What did we do about Anna's post?": the post's title and author count too.
            | Q(post__title__icontains=search.text)
            | Q(post__author__username__icontains=search.text)
        )
    if search.action:
        query = query.filter(action=search.action)
    if search.since:
        query = query.filter(at__gte=_midnight(search.since, zone))
    if search.until:
        query = query.filter(at__lt=_midnight(search.until + timedelta(days=1), zone))
    return query


def _require_moderator(viewer: Account) -> None:
    if not viewer.is_active or viewer.role not in (Role.MODERATOR, Role.ADMIN):
        raise PermissionDenied("the audit log is for the node's moderators and admins")


async def search(
    viewer: Account, search: AuditSearch, zone: tzinfo
) -> tuple[list[AuditEntry], bool]:
    """One page of entries, newest first, and whether there is a next page.

    Newest first is the primary key's order (entries are only ever added), so the
    database walks an index and stops after the page, however long the log.
    """
    _require_moderator(viewer)
    rows = (
        await _query(search, zone)
        .order_by("-id")
        .offset((search.page - 1) * SEARCH_PAGE)
        .limit(SEARCH_PAGE + 1)
    )
    return list(rows[:SEARCH_PAGE]), len(rows) > SEARCH_PAGE


async def known_actions() -> list[str]:
    """The actions in the log, for the filter's choices."""
    found = await AuditEntry.all().distinct().values_list("action", flat=True)
    return sorted(set(found))


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


async def export(viewer: Account, search: AuditSearch, zone: tzinfo) -> AsyncIterator[list[tuple]]:
    """Every entry of the search (not only one page), newest first, in batches of cells
    that are safe to open in a spreadsheet. The export itself is recorded first."""
    _require_moderator(viewer)
    await record(viewer, "audit.exported", detail=search.as_query())
    query = _query(search, zone)
    return _batches(query, zone)


async def _batches(query: QuerySet[AuditEntry], zone: tzinfo) -> AsyncIterator[list[tuple]]:
    # Plain columns rather than models, and keyset pages on the primary key: the cost of
    # each batch stays the same however far into the log it is.
    last: int | None = None
    while True:
        page = query.filter(id__lt=last) if last is not None else query
        rows = (
            await page.order_by("-id")
            .limit(EXPORT_BATCH)
            .values_list("id", "at", "actor_name", "action", "subject", "reason", "detail")
        )
        if not rows:
            return
        yield [
            tuple(
                safe_cell(value)
                for value in (
                    at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                    actor_name,
                    action,
                    subject,
                    reason,
                    json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else "",
                )
            )
            for _, at, actor_name, action, subject, reason, detail in rows
        ]
        if len(rows) < EXPORT_BATCH:
            return
        last = rows[-1][0]


async def history_of(subject: str, *, limit: int = 20) -> list[AuditEntry]:
    """The latest entries about one subject ("account:els"), newest first."""
    return list(await AuditEntry.filter(subject=subject[:200]).order_by("-id").limit(limit))
