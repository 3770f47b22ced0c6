"""Reading reports: the moderation queue, one report in its context, and the reports
routed to an organisation (for its coordinators' dashboard).

Moderators and admins see every report; an organisation's coordinators (and the admins)
those about its posts. Pages call these and never query reports themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from node import uris
from node.config import Settings
from node.errors import NotFound, PermissionDenied
from node.models import (
    Account,
    HelpPost,
    Organisation,
    RemoteActor,
    RemotePost,
    Report,
    Response,
    Role,
)
from node.services import organisations
from node.services.post_view import responses_of

PER_PAGE = 25
RECENT = 10
TABS = ("open", "mine", "resolved")
_ID = re.compile(r"[0-9]{1,9}")
_RELATED = (
    "reporter_account",
    "reporter_remote",
    "post",
    "response",
    "account",
    "remote_actor",
    "remote_post",
    "organisation",
    "handler",
    "resolved_by",
)


async def get_report(report_id: str | int) -> Report:
    """A report by its id, with what it names; NotFound for a malformed or unknown id."""
    key = str(report_id)
    found = None
    if _ID.fullmatch(key):
        found = await Report.get_or_none(id=int(key)).select_related(*_RELATED)
    if found is None:
        raise NotFound("no such report")
    return found


def is_moderator(account: Account | None) -> bool:
    return account is not None and account.is_active and account.is_staff_of_node


async def may_view(account: Account | None, report: Report) -> bool:
    """Moderators and admins see every report; coordinators those routed to them."""
    if is_moderator(account):
        return True
    return await organisations.is_coordinator(account, report.organisation_id)


async def require_view(account: Account | None, report: Report) -> None:
    if not await may_view(account, report):
        raise PermissionDenied("this report is for the moderators")


async def queue(viewer: Account, tab: str, page: int = 1) -> tuple[list[Report], int]:
    """One page of reports, newest first, and how many there are: open ones, open ones
    that `viewer` handles ("mine"), or resolved ones."""
    query = Report.all()
    if tab == "resolved":
        query = query.filter(resolved_at__not_isnull=True)
    elif tab == "mine":
        query = query.filter(resolved_at=None, handler_id=viewer.id)
    else:
        query = query.filter(resolved_at=None)
    total = await query.count()
    rows = (
        await query.order_by("-created_at", "-id")
        .offset((max(page, 1) - 1) * PER_PAGE)
        .limit(PER_PAGE)
        .select_related(*_RELATED)
    )
    return rows, total


async def open_count() -> int:
    return await Report.filter(resolved_at=None).count()


async def for_organisation(viewer: Account | None, org: Organisation) -> list[Report]:
    """The reports about `org`'s posts, open ones first, for its coordinators and the
    node's admins; nothing for anyone else (its other staff included)."""
    admin = viewer is not None and viewer.is_active and viewer.role == Role.ADMIN
    if not admin and not await organisations.is_coordinator(viewer, org.id):
        return []
    query = Report.filter(organisation_id=org.id).select_related("post", "handler")
    unresolved = await query.filter(resolved_at=None).order_by("-created_at")
    done = await query.filter(resolved_at__not_isnull=True).order_by("-resolved_at").limit(RECENT)
    return [*unresolved, *done]


@dataclass(slots=True)
class ReportContext:
    """What a moderator needs to judge a report: the reported thing among its
    surroundings, and what was reported about it before."""

    report: Report
    post: HelpPost | None = None  # the post, or the post of the reported response
    responses: list[Response] = field(default_factory=list)  # all of the post's
    response: Response | None = None
    account: Account | None = None  # the reported person, or the post's author
    recent_posts: list[HelpPost] = field(default_factory=list)
    organisation: Organisation | None = None  # a reported organisation profile
    remote_actor: RemoteActor | None = None
    remote_post: RemotePost | None = None
    remote_recent: list[RemotePost] = field(default_factory=list)
    previous: list[Report] = field(default_factory=list)


async def context(settings: Settings, report: Report) -> ReportContext:
    found = ReportContext(report)
    if report.response_id is not None:
        found.response = await Response.get_or_none(id=report.response_id).select_related(
            "author", "remote_author"
        )
    post_id = report.post_id or (found.response.post_id if found.response else None)
    if post_id is not None:
        found.post = await HelpPost.get_or_none(id=post_id).select_related(
            "author", "organisation", "neighbourhood"
        )
    if found.post is not None:
        found.responses = await responses_of(found.post)
    account_id = report.account_id or (found.post.author_id if found.post else None)
    if account_id is not None:
        found.account = await Account.get_or_none(id=account_id)
        found.recent_posts = (
            await HelpPost.filter(author_id=account_id)
            .order_by("-created_at")
            .limit(RECENT)
            .select_related("organisation")
        )
    found.remote_post = (
        await RemotePost.get_or_none(id=report.remote_post_id) if report.remote_post_id else None
    )
    remote_id = report.remote_actor_id or (
        found.remote_post.actor_id if found.remote_post else None
    )
    if remote_id is not None:
        found.remote_actor = await RemoteActor.get_or_none(id=remote_id)
        found.remote_recent = (
            await RemotePost.filter(actor_id=remote_id).order_by("-published_at").limit(RECENT)
        )
    found.organisation = await _reported_organisation(settings, report)
    found.previous = await previous_reports(report)
    return found


def _names_nothing_else(report: Report) -> bool:
    return all(
        value is None
        for value in (
            report.post_id,
            report.response_id,
            report.account_id,
            report.remote_actor_id,
            report.remote_post_id,
        )
    )


async def _reported_organisation(settings: Settings, report: Report) -> Organisation | None:
    """An organisation's profile, which a report names by its URI only (so that it is
    not routed to the organisation it is about)."""
    if not _names_nothing_else(report):
        return None
    for uri in report.object_uris or []:
        ref = uris.parse(settings, uri) if isinstance(uri, str) else None
        if ref is not None and ref.kind == "organisation" and ref.sub is None:
            return await Organisation.get_or_none(slug=ref.key)
    return None


async def previous_reports(report: Report, limit: int = 20) -> list[Report]:
    """Other reports about the same thing, newest first."""
    if report.response_id is not None:
        match: dict[str, object] = {"response_id": report.response_id}
    elif report.post_id is not None:
        match = {"post_id": report.post_id, "response_id": None}
    elif report.account_id is not None:
        match = {"account_id": report.account_id, "post_id": None}
    elif report.remote_post_id is not None:
        match = {"remote_post_id": report.remote_post_id}
    elif report.remote_actor_id is not None:
        match = {"remote_actor_id": report.remote_actor_id}
    else:
        rows = (
            await Report.filter(post_id=None, account_id=None, remote_actor_id=None)
            .exclude(id=report.id)
            .order_by("-created_at")
            .limit(200)
            .select_related("reporter_account", "reporter_remote")
        )
        same = set(report.object_uris or [])
        return [row for row in rows if same & set(row.object_uris or [])][:limit]
    return (
        await Report.filter(**match)
        .exclude(id=report.id)
        .order_by("-created_at")
        .limit(limit)
        .select_related("reporter_account", "reporter_remote")
    )


async def moderators() -> list[Account]:
    """Who may handle reports (for handing one over), by name."""
    rows = await Account.filter(role__in=[Role.MODERATOR, Role.ADMIN], is_active=True)
    return sorted(rows, key=lambda a: a.display_name.casefold())
