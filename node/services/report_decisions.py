"""Deciding about reports: a sanction and the report's resolution in one transaction.

Every decision carries a reason (required) and is recorded in the audit log; the
sanctions themselves (`node.services.sanctions`) record and notify on their own.
Moderators and admins decide about every report and hand reports to one another; an
organisation's coordinators decide about the reports routed to their organisation, and
may only hide their own organisation's post or resolve without action.
"""

from __future__ import annotations

from enum import StrEnum

from node import db, validation
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.models import (
    Account,
    HelpPost,
    RemoteActor,
    RemotePost,
    RemoteStanding,
    Report,
    Resolution,
    Response,
)
from node.services import audit, sanctions
from node.services.report_queue import is_moderator, may_view, require_view
from node.timeutil import utcnow

REASON_MAX = 500


def check_reason(value: str) -> str:
    text = value.replace("\x00", "").strip()
    if not text:
        raise InvalidInput("reason", N_("say why: the reason is recorded"))
    if len(text) > REASON_MAX:
        raise InvalidInput("reason", N_("at most %(max)d characters"), max=REASON_MAX)
    return text


class Action(StrEnum):
    HIDE_POST = "hide_post"
    HIDE_RESPONSE = "hide_response"
    WARN = "warn"
    SILENCE = "silence"
    SUSPEND = "suspend"
    LIMIT_REMOTE = "limit_remote"
    SUSPEND_REMOTE = "suspend_remote"


RESOLUTIONS = {
    Action.HIDE_POST: Resolution.HIDDEN,
    Action.HIDE_RESPONSE: Resolution.HIDDEN,
    Action.WARN: Resolution.WARNED,
    Action.SILENCE: Resolution.SILENCED,
    Action.SUSPEND: Resolution.SUSPENDED,
    Action.LIMIT_REMOTE: Resolution.REMOTE_LIMITED,
    Action.SUSPEND_REMOTE: Resolution.REMOTE_SUSPENDED,
}


async def offender(report: Report) -> Account | None:
    """The local account the report is about (named, or author of the post or response)."""
    if report.account_id is not None:
        return await Account.get_or_none(id=report.account_id)
    if report.response_id is not None:
        response = await Response.get(id=report.response_id)
        if response.author_id is not None:
            return await Account.get_or_none(id=response.author_id)
        return None
    if report.post_id is not None:
        post = await HelpPost.get(id=report.post_id)
        return await Account.get_or_none(id=post.author_id)
    return None


async def remote_offender(report: Report) -> RemoteActor | None:
    """The remote account the report is about."""
    if report.remote_actor_id is not None:
        return await RemoteActor.get_or_none(id=report.remote_actor_id)
    if report.remote_post_id is not None:
        remote = await RemotePost.get(id=report.remote_post_id)
        return await RemoteActor.get_or_none(id=remote.actor_id)
    return None


async def actions_for(account: Account | None, report: Report) -> list[Action]:
    """The sanctions `account` may choose for `report`, given what it is about."""
    coordinator = not is_moderator(account)
    if coordinator and not await may_view(account, report):
        return []
    chosen: list[Action] = []
    if report.post_id is not None and report.response_id is None:
        chosen.append(Action.HIDE_POST)
    if coordinator:
        return chosen
    if report.response_id is not None:
        chosen.append(Action.HIDE_RESPONSE)
    account = await offender(report)
    if account is not None:  # what is already in force is not offered again
        chosen.append(Action.WARN)
        if account.silenced_at is None and account.suspended_at is None:
            chosen.append(Action.SILENCE)
        if account.suspended_at is None:
            chosen.append(Action.SUSPEND)
    remote = await remote_offender(report)
    if remote is not None:
        if remote.standing == "":
            chosen.append(Action.LIMIT_REMOTE)
        if remote.standing != "suspended":
            chosen.append(Action.SUSPEND_REMOTE)
    return chosen


async def _sanction(moderator: Account, report: Report, action: Action, reason: str) -> None:
    if action == Action.HIDE_POST:
        await sanctions.hide_post(moderator, await HelpPost.get(id=report.post_id), reason)
    elif action == Action.HIDE_RESPONSE:
        await sanctions.hide_response(moderator, await Response.get(id=report.response_id), reason)
    elif action in (Action.WARN, Action.SILENCE, Action.SUSPEND):
        account = await offender(report)
        assert account is not None
        run = {
            Action.WARN: sanctions.warn_account,
            Action.SILENCE: sanctions.silence_account,
            Action.SUSPEND: sanctions.suspend_account,
        }[action]
        await run(moderator, account, reason)
    else:
        actor = await remote_offender(report)
        assert actor is not None
        standing = (
            RemoteStanding.LIMITED if action == Action.LIMIT_REMOTE else RemoteStanding.SUSPENDED
        )
        await sanctions.set_remote_standing(moderator, actor, standing, reason)


async def act(report: Report, moderator: Account, action: str, reason: str) -> Report:
    """Apply a sanction and resolve the report with it, in one transaction."""
    why = check_reason(reason)
    if action not in set(Action) or Action(action) not in await actions_for(moderator, report):
        if not await may_view(moderator, report):
            raise PermissionDenied("this report is for the moderators")
        raise InvalidInput("action", N_("this action is not possible for this report"))
    chosen = Action(action)
    async with db.atomic():
        locked = await _locked_open(report)
        await _sanction(moderator, locked, chosen, why)
        await _resolve(locked, moderator, RESOLUTIONS[chosen], why, chosen.value)
    _copy_resolution(locked, report)
    return report


async def resolve_without_action(report: Report, moderator: Account, reason: str) -> Report:
    why = check_reason(reason)
    await require_view(moderator, report)
    async with db.atomic():
        locked = await _locked_open(report)
        await _resolve(locked, moderator, Resolution.NO_ACTION, why, "none")
    _copy_resolution(locked, report)
    return report


async def _locked_open(report: Report) -> Report:
    locked = await Report.filter(id=report.id).select_for_update().first()
    if locked is None:
        raise NotFound("no such report")
    if locked.resolved_at is not None:
        raise Conflict("the report is resolved already")
    return locked


def _copy_resolution(source: Report, report: Report) -> None:
    """The caller's copy says what the locked row now says."""
    report.resolved_at, report.resolved_by_id = source.resolved_at, source.resolved_by_id
    report.resolution, report.handler_id = source.resolution, source.handler_id


async def _resolve(
    report: Report, moderator: Account, resolution: Resolution, reason: str, action: str
) -> None:
    report.resolved_at = utcnow()
    report.resolved_by = moderator
    report.resolution = resolution.value
    if report.handler_id is None:
        report.handler = moderator
    await report.save(update_fields=["resolved_at", "resolved_by_id", "resolution", "handler_id"])
    await _record(moderator, "report.resolved", report, reason, resolution=resolution.value)


async def _record(actor: Account, what: str, report: Report, reason: str = "", **detail) -> None:
    post = await HelpPost.get_or_none(id=report.post_id) if report.post_id else None
    await audit.record(
        actor,
        what,
        f"report:{report.id}",
        post=post,
        organisation=report.organisation_id,
        detail=detail,
        reason=reason,
    )


async def take(report: Report, moderator: Account) -> Report:
    """`moderator` handles the report from now on."""
    if not is_moderator(moderator):
        raise PermissionDenied("reports are handled by moderators")
    async with db.atomic():
        report.handler = moderator
        await report.save(update_fields=["handler_id"])
        await _record(moderator, "report.taken", report)
    return report


async def hand_over(report: Report, moderator: Account, to: str) -> Report:
    """Give the report to another moderator (`to`: a username), or to nobody ("")."""
    if not is_moderator(moderator):
        raise PermissionDenied("reports are handled by moderators")
    successor = None
    if to:
        name = validation.as_username(to)
        successor = await Account.get_or_none(username=name) if name else None
        if not is_moderator(successor):
            raise InvalidInput("handler", N_("choose one of the moderators"))
    async with db.atomic():
        report.handler = successor
        await report.save(update_fields=["handler_id"])
        await _record(moderator, "report.handed_over", report, to=to)
    return report


async def reopen(report: Report, moderator: Account, reason: str) -> Report:
    """A resolved report is open again (its sanction stays: lift that on its own)."""
    why = check_reason(reason)
    if not is_moderator(moderator):
        raise PermissionDenied("reports are reopened by moderators")
    if report.resolved_at is None:
        raise Conflict("the report is open")
    async with db.atomic():
        report.resolved_at = None
        report.resolved_by = None
        report.resolution = ""
        await report.save(update_fields=["resolved_at", "resolved_by_id", "resolution"])
        await _record(moderator, "report.reopened", report, why)
    return report
