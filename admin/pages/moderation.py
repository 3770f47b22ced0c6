"""The moderation queue at /admin/moderation (moderators and admins), one report in its
context with the actions a moderator may take, and the reports about an organisation's
posts as its coordinators see them at /admin/o/{slug}/reports/{id}.

Every action is a form with a required reason that calls `report_decisions`; an invalid
form shows the page again with the error next to the form it came from.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import back, errors_of, logged_in, me, moderators_only, page_number
from admin.rendering import render
from node import uris
from node.errors import InvalidInput, NotFound, PermissionDenied
from node.i18n import N_, gettext
from node.models import Report
from node.services import organisations, report_decisions, report_queue
from node.services.report_decisions import Action
from web.shell.forms import read_form

QUEUE = f"{uris.ADMIN}/moderation"
DONE = {
    "resolved": N_("The report is resolved and the decision recorded."),
    "taken": N_("You handle this report now."),
    "handed": N_("The report is handed over."),
    "reopened": N_("The report is open again."),
}


def report_path(report_id: int | str) -> str:
    return f"{QUEUE}/reports/{report_id}"


def org_report_path(slug: str, report_id: int | str) -> str:
    return f"{uris.dashboard(slug)}/reports/{report_id}"


def _notice(request: Request) -> str | None:
    done = request.query_params.get("done", "")
    locale = request.app.state.renderer.locale_for(request)
    return gettext(locale, DONE[done]) if done in DONE else None


@moderators_only
async def queue(request: Request) -> Response:
    tab = request.query_params.get("tab", "open")
    tab = tab if tab in report_queue.TABS else "open"
    page = page_number(request.query_params.get("page"))
    rows, total = await report_queue.queue(me(request), tab, page)
    return await render(
        request,
        "moderation.html",
        {
            "tab": tab,
            "tabs": report_queue.TABS,
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // report_queue.PER_PAGE)),
            "open_count": await report_queue.open_count(),
        },
    )


async def _detail(
    request: Request,
    report: Report,
    *,
    errors: dict[str, str] | None = None,
    organisation_slug: str = "",
) -> Response:
    viewer = me(request)
    context = await report_queue.context(request.app.state.settings, report)
    moderator = report_queue.is_moderator(viewer)
    base = org_report_path(organisation_slug, report.id) if organisation_slug else None
    return await render(
        request,
        "moderation_report.html",
        {
            "report": report,
            "ctx": context,
            "actions": await report_decisions.actions_for(viewer, report),
            "moderators": await report_queue.moderators() if moderator else [],
            "is_moderator_view": moderator and not organisation_slug,
            "form_base": base or report_path(report.id),
            "org_slug": organisation_slug,
            "errors": errors or {},
            "notice": _notice(request),
        },
        status_code=400 if errors else 200,
    )


async def _report(request: Request) -> Report:
    report = await report_queue.get_report(request.path_params["report_id"])
    await report_queue.require_view(me(request), report)
    return report


@moderators_only
async def report_page(request: Request) -> Response:
    return await _detail(request, await _report(request))


async def _decide(
    request: Request,
    report: Report,
    form_name: str,
    run: Callable[[], Awaitable[None]],
    done: str,
    path: str,
) -> Response:
    """Run one decision; its InvalidInput shows the page again with the error at the form."""
    try:
        await run()
    except InvalidInput as exc:
        message = next(iter(errors_of(request, exc).values()))
        slug = request.path_params.get("slug", "")
        return await _detail(request, report, errors={form_name: message}, organisation_slug=slug)
    return back(path, done)


@moderators_only
async def act(request: Request) -> Response:
    form = await read_form(request)
    report = await _report(request)
    action, reason = form.get("action"), form.get("reason")

    async def run() -> None:
        if action == "no_action":
            await report_decisions.resolve_without_action(report, me(request), reason)
        else:
            await report_decisions.act(report, me(request), action, reason)

    return await _decide(request, report, "act", run, "resolved", report_path(report.id))


@moderators_only
async def take(request: Request) -> Response:
    await read_form(request)
    report = await _report(request)
    await report_decisions.take(report, me(request))
    return back(report_path(report.id), "taken")


@moderators_only
async def hand_over(request: Request) -> Response:
    form = await read_form(request)
    report = await _report(request)

    async def run() -> None:
        await report_decisions.hand_over(report, me(request), form.get("handler"))

    return await _decide(request, report, "hand_over", run, "handed", report_path(report.id))


@moderators_only
async def reopen(request: Request) -> Response:
    form = await read_form(request)
    report = await _report(request)

    async def run() -> None:
        await report_decisions.reopen(report, me(request), form.get("reason"))

    return await _decide(request, report, "reopen", run, "reopened", report_path(report.id))


async def _org_report(request: Request) -> Report:
    """A report routed to the organisation in the path, for its coordinators (and the
    node's admins); NotFound when it is another organisation's."""
    org = await organisations.get_organisation(request.path_params["slug"])
    if not await organisations.can_manage(me(request), org):
        raise PermissionDenied("reports are for the organisation's coordinators")
    report = await report_queue.get_report(request.path_params["report_id"])
    if report.organisation_id != org.id:
        raise NotFound("no such report about this organisation")
    return report


@logged_in
async def organisation_report(request: Request) -> Response:
    """A coordinator reads a report about their organisation's post; they may hide the
    post or resolve the report without action."""
    slug = request.path_params["slug"]
    if request.method == "GET":
        return await _detail(request, await _org_report(request), organisation_slug=slug)
    form = await read_form(request)
    report = await _org_report(request)
    action, reason = form.get("action"), form.get("reason")

    async def run() -> None:
        if action == Action.HIDE_POST:
            await report_decisions.act(report, me(request), action, reason)
        else:
            await report_decisions.resolve_without_action(report, me(request), reason)

    return await _decide(request, report, "act", run, "resolved", org_report_path(slug, report.id))
