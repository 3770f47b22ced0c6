"""Reports: what residents report (a post, a response, a profile, here or from another
server), the `Flag`s other servers send, and what moderators decide about them.

Filing: the reporter must be able to see what they report; one open report per
reporter and target (filing again returns the open one), at most `PER_HOUR` an hour. A
report about an organisation's post is routed to it (`Report.organisation`): its
coordinators are told as well as the node's moderators and admins. When the reporter
agrees and the content is from another server, `ReportForwarded` is emitted in the same
transaction, and federation sends a `Flag` from the instance actor, without the
reporter's name.

Incoming `Flag`s are reports too (`receive_flag`): about things here only, and not
from a domain whose reports are refused (`domain_policy.rejects_reports`). Reading the
queue is `report_queue`, deciding `report_decisions`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from tortoise.exceptions import IntegrityError

from node import db, events, uris
from node.config import Settings
from node.errors import (
    InvalidFields,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from node.i18n import N_
from node.models import (
    Account,
    HelpPost,
    Membership,
    Notification,
    NotificationKind,
    Organisation,
    RemoteActor,
    RemotePost,
    Report,
    ReportCategory,
    Response,
    Role,
    StaffRole,
)
from node.services import accounts, organisations, posts
from node.text import clean_text
from node.timeutil import utcnow

COMMENT_MAX = 1000  # as Mastodon's report comment
PER_HOUR = 20
CATEGORIES = tuple(category.value for category in ReportCategory)
_ID = re.compile(r"[0-9]{1,9}")


class TargetKind(StrEnum):
    POST = "post"
    RESPONSE = "response"
    ACCOUNT = "account"
    ORGANISATION = "organisation"
    REMOTE_ACTOR = "remote_actor"
    REMOTE_POST = "remote_post"


@dataclass(frozen=True, slots=True)
class Target:
    """What is reported, resolved: exactly one of the object fields names it (a
    response also brings its post)."""

    kind: TargetKind
    uri: str  # its ActivityPub id: stored in `Report.object_uris`
    post: HelpPost | None = None
    response: Response | None = None
    account: Account | None = None
    organisation: Organisation | None = None  # an organisation's profile
    remote_actor: RemoteActor | None = None
    remote_post: RemotePost | None = None

    @property
    def remote(self) -> bool:
        """Content of another server: the report may be forwarded there."""
        if self.kind == TargetKind.RESPONSE:
            return self.response is not None and self.response.remote_author_id is not None
        return self.kind in (TargetKind.REMOTE_ACTOR, TargetKind.REMOTE_POST)

    @property
    def routed_to(self) -> int | None:
        """The organisation whose post it is: its coordinators see the report."""
        return self.post.organisation_id if self.kind == TargetKind.POST and self.post else None


@dataclass(frozen=True, slots=True)
class Filed:
    report: Report
    new: bool  # False: the reporter's open report about it was returned


def _number(key: str) -> int:
    if not _ID.fullmatch(key):
        raise NotFound("no such thing to report")
    return int(key)


def _uuid(key: str) -> uuid.UUID:
    try:
        return uuid.UUID(key)
    except ValueError:
        raise NotFound("no such thing to report") from None


async def find_target(settings: Settings, kind: str, key: str, viewer: Account | None) -> Target:
    """What `viewer` wants to report, if they may see it; NotFound otherwise (also for
    an unknown kind or a malformed key), so that nothing hidden can be probed."""
    if kind == TargetKind.POST:
        post = await posts.get_post(_uuid(key), viewer)
        if post.hidden_at is not None:
            raise NotFound("no such post")
        return Target(TargetKind.POST, uris.absolute(settings, uris.post(post.id)), post=post)
    if kind == TargetKind.RESPONSE:
        response = await Response.get_or_none(id=_uuid(key)).select_related("remote_author")
        if response is None or response.hidden_at is not None:
            raise NotFound("no such response")
        post = await posts.get_post(response.post_id, viewer)
        uri = response.object_uri or uris.absolute(settings, uris.response(post.id, response.id))
        return Target(TargetKind.RESPONSE, uri, post=post, response=response)
    if kind == TargetKind.ACCOUNT:
        account = await accounts.get_active_account(key)
        uri = uris.absolute(settings, uris.account(account.username))
        return Target(TargetKind.ACCOUNT, uri, account=account)
    if kind == TargetKind.ORGANISATION:
        org = await organisations.get_organisation(key)
        uri = uris.absolute(settings, uris.organisation(org.slug))
        return Target(TargetKind.ORGANISATION, uri, organisation=org)
    if kind == TargetKind.REMOTE_ACTOR:
        actor = await RemoteActor.get_or_none(id=_number(key))
        if actor is None:
            raise NotFound("no such account")
        return Target(TargetKind.REMOTE_ACTOR, actor.uri, remote_actor=actor)
    if kind == TargetKind.REMOTE_POST:
        remote = await RemotePost.get_or_none(id=_number(key)).select_related("actor")
        if remote is None or not remote.public:
            raise NotFound("no such post")
        return Target(TargetKind.REMOTE_POST, remote.object_uri, remote_post=remote)
    raise NotFound("no such thing to report")


def check_category(value: str) -> ReportCategory:
    if value not in CATEGORIES:
        raise InvalidInput("category", N_("choose one of the reasons"))
    return ReportCategory(value)


def check_comment(value: str) -> str:
    if "\x00" in value:
        raise InvalidInput("comment", N_("contains characters that are not allowed"))
    text = value.replace("\r\n", "\n").strip()
    if len(text) > COMMENT_MAX:
        raise InvalidInput("comment", N_("at most %(max)d characters"), max=COMMENT_MAX)
    return text


def _is_own(reporter: Account, target: Target) -> bool:
    if target.kind == TargetKind.POST and target.post is not None:
        return target.post.author_id == reporter.id
    if target.kind == TargetKind.RESPONSE and target.response is not None:
        return target.response.author_id == reporter.id
    return target.kind == TargetKind.ACCOUNT and target.account == reporter


def _target_filter(target: Target) -> dict[str, object]:
    """How stored reports name `target` (an organisation's profile only by its URI)."""
    match target.kind:
        case TargetKind.POST:
            return {"post_id": target.post.id, "response_id": None}  # type: ignore[union-attr]
        case TargetKind.RESPONSE:
            return {"response_id": target.response.id}  # type: ignore[union-attr]
        case TargetKind.ACCOUNT:
            return {"account_id": target.account.id, "post_id": None}  # type: ignore[union-attr]
        case TargetKind.REMOTE_ACTOR:
            return {"remote_actor_id": target.remote_actor.id}  # type: ignore[union-attr]
        case TargetKind.REMOTE_POST:
            return {"remote_post_id": target.remote_post.id}  # type: ignore[union-attr]
    return {"post_id": None, "response_id": None, "account_id": None, "remote_actor_id": None}


async def _open_report_of(reporter: Account, target: Target) -> Report | None:
    rows = await Report.filter(
        reporter_account_id=reporter.id, resolved_at=None, **_target_filter(target)
    )
    return next((row for row in rows if target.uri in (row.object_uris or [])), None)


async def file_report(
    settings: Settings,
    reporter: Account,
    target: Target,
    category: str,
    comment: str,
    *,
    forward: bool = False,
) -> Filed:
    """A resident's report; InvalidInput for a bad category or comment, RateLimited past
    `PER_HOUR` reports in an hour."""
    problems: list[InvalidInput] = []
    try:
        chosen = check_category(category)
    except InvalidInput as exc:
        problems.append(exc)
    try:
        text = check_comment(comment)
    except InvalidInput as exc:
        problems.append(exc)
    if problems:
        raise problems[0] if len(problems) == 1 else InvalidFields(problems)
    if not reporter.is_active:
        raise PermissionDenied("suspended accounts cannot report")
    if _is_own(reporter, target):
        raise InvalidInput("target", N_("you cannot report your own post or profile"))
    async with db.atomic():
        existing = await _open_report_of(reporter, target)
        if existing is not None:
            return Filed(existing, new=False)
        since = utcnow() - timedelta(hours=1)
        if await Report.filter(reporter_account_id=reporter.id, created_at__gte=since).count() >= (
            PER_HOUR
        ):
            raise RateLimited("too many reports in an hour", retry_after=3600)
        report = await _create(target, chosen, text, reporter_account=reporter, forward=forward)
    return Filed(report, new=True)


async def _create(
    target: Target,
    category: ReportCategory,
    comment: str,
    *,
    reporter_account: Account | None = None,
    reporter_remote: RemoteActor | None = None,
    forward: bool = False,
    activity_uri: str | None = None,
    object_uris: list[str] | None = None,
) -> Report:
    """Store the report, tell who must know, and forward it if agreed (one transaction)."""
    response = target.response
    report = await Report.create(
        reporter_account=reporter_account,
        reporter_remote=reporter_remote,
        activity_uri=activity_uri,
        object_uris=(object_uris or [target.uri])[:20],
        category=category.value,
        comment=comment,
        post=target.post,
        response=response,
        account=target.account,
        remote_actor_id=target.remote_actor.id
        if target.remote_actor
        else (response.remote_author_id if response else None),
        remote_post=target.remote_post,
        organisation_id=target.routed_to,
        forward=forward and target.remote,
    )
    await _notify(report, reporter_account)
    if report.forward:
        await events.emit(events.ReportForwarded(report_id=report.id))
    return report


async def _notify(report: Report, reporter: Account | None) -> None:
    recipients = set(
        await Account.filter(role__in=[Role.MODERATOR, Role.ADMIN], is_active=True).values_list(
            "id", flat=True
        )
    )
    if report.organisation_id is not None:
        recipients |= set(
            await Membership.filter(
                organisation_id=report.organisation_id,
                role=StaffRole.COORDINATOR,
                account__is_active=True,
            ).values_list("account_id", flat=True)
        )
    recipients.discard(reporter.id if reporter else None)
    for recipient in sorted(recipients):
        await Notification.create(
            recipient_id=recipient,
            kind=NotificationKind.REPORT,
            report=report,
            post_id=report.post_id,
        )


# Mastodon's categories (`summary` of its Flag) that mean one of ours.
FLAG_CATEGORIES = {"spam": ReportCategory.SPAM, "legal": ReportCategory.DANGEROUS}


def flag_category(summary: object) -> ReportCategory:
    if not isinstance(summary, str):
        return ReportCategory.OTHER
    if summary in CATEGORIES:
        return ReportCategory(summary)
    return FLAG_CATEGORIES.get(summary, ReportCategory.OTHER)


async def _local_target(settings: Settings, uri: str) -> Target | None:
    """The post, response, resident or organisation here that `uri` names, or None."""
    ref = uris.parse(settings, uri)
    if ref is None:
        return None
    try:
        if ref.kind == "response" and ref.sub:
            response = await Response.get_or_none(id=_uuid(ref.sub), post_id=_uuid(ref.key))
            if response is not None:
                post = await HelpPost.get(id=response.post_id)
                return Target(TargetKind.RESPONSE, uri, post=post, response=response)
        elif ref.kind == "post":
            post = await HelpPost.get_or_none(id=_uuid(ref.key))
            return Target(TargetKind.POST, uri, post=post) if post else None
        elif ref.kind == "account" and ref.sub is None:
            account = await accounts.get_account(ref.key)
            return Target(TargetKind.ACCOUNT, uri, account=account)
        elif ref.kind == "organisation" and ref.sub is None:
            org = await organisations.get_organisation(ref.key)
            return Target(TargetKind.ORGANISATION, uri, organisation=org)
    except NotFound:
        return None
    return None


_PRIORITY = (TargetKind.RESPONSE, TargetKind.POST, TargetKind.ACCOUNT, TargetKind.ORGANISATION)


async def receive_flag(
    settings: Settings,
    reporter: RemoteActor,
    object_uris: list[str],
    comment: str,
    *,
    summary: object = None,
    activity_uri: str | None = None,
) -> Report | None:
    """A `Flag` from another server, about things here (the most specific one is the
    report's target; a post's account named alongside it is kept too). None when it
    names nothing here; the same Flag twice gives the first report."""
    found = [t for t in [await _local_target(settings, u) for u in object_uris[:20]] if t]
    if not found:
        return None
    named = [t.uri for t in found]  # in the Flag's order
    target = min(found, key=lambda t: _PRIORITY.index(t.kind))
    named_account = next((t.account for t in found if t.kind == TargetKind.ACCOUNT), None)
    if target.kind in (TargetKind.POST, TargetKind.RESPONSE) and named_account is not None:
        target = Target(
            target.kind, target.uri, post=target.post, response=target.response,
            account=named_account,
        )  # fmt: skip
    if activity_uri is not None:
        earlier = await Report.get_or_none(activity_uri=activity_uri)
        if earlier is not None:
            return earlier
    try:
        async with db.atomic():
            return await _create(
                target,
                flag_category(summary),
                clean_text(comment)[:COMMENT_MAX],
                reporter_remote=reporter,
                activity_uri=activity_uri,
                object_uris=named,
            )
    except IntegrityError:  # the same Flag, delivered twice at once
        return await Report.get_or_none(activity_uri=activity_uri)
