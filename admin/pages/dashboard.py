"""An organisation's dashboard at /admin/o/{slug}: the board by status with filters,
what needs attention, renewing posts, and the CSV exports (its staff and node admins)."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import Response

from admin.csv_download import csv_response
from admin.guard import back, logged_in, me, page_number
from admin.rendering import render
from node import uris
from node.models import Organisation
from node.services import (
    attention,
    dashboards,
    exports,
    neighbourhoods,
    organisations,
    report_queue,
)
from node.services.dashboards import BoardFilters
from node.taxonomy import CATEGORIES
from web.shell.forms import read_form


async def _organisation(request: Request) -> Organisation:
    org = await organisations.get_organisation(request.path_params["slug"])
    await dashboards.require_dashboard(me(request), org)
    return org


# Dates outside these years are typing mistakes (and out of the databases' range).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2100, 12, 31)


def _day(raw: str) -> date | None:
    try:
        day = date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return day if day is not None and FIRST_DAY <= day <= LAST_DAY else None


def filters_from(query: dict[str, str]) -> BoardFilters:
    return BoardFilters(
        group=query.get("group", "offers_waiting"),
        neighbourhood=query.get("neighbourhood", ""),
        category=query.get("category", ""),
        staff=query.get("staff", ""),
        since=_day(query.get("since", "")),
        until=_day(query.get("until", "")),
        search=query.get("q", ""),
        page=page_number(query.get("page")),
    )


@logged_in
async def dashboard(request: Request) -> Response:
    org = await _organisation(request)
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    chosen = filters_from(dict(request.query_params))
    offers = await dashboards.open_offers(org)  # shared by the board and the lists
    board = await dashboards.board(org, chosen, renderer.zone, locale, offers)
    return await render(
        request,
        "dashboard.html",
        {
            "org": org,
            "board": board,
            "groups": dashboards.GROUPS,
            "attention": await attention.attention(org, locale=locale, offers=offers),
            "attention_kinds": attention.KINDS,
            "categories": CATEGORIES,
            "all_neighbourhoods": await neighbourhoods.list_neighbourhoods(include_archived=True),
            "staff": await organisations.staff_of(org),
            "shared_with_us": await organisations.remote_partner_posts(org),
            "can_manage": await organisations.can_manage(me(request), org),
            "reports": await report_queue.for_organisation(me(request), org),
            "query": dict(request.query_params),
        },
    )


@logged_in
async def renew(request: Request) -> Response:
    org = await _organisation(request)
    form = await read_form(request)
    await attention.renew(org, form.getlist("post"), by=me(request))
    return back(uris.dashboard(org.slug), "renewed")


def _csv(export: exports.Export, filename: str) -> Response:
    return csv_response(export.columns, export, filename)


@logged_in
async def export_posts(request: Request) -> Response:
    org = await _organisation(request)
    await read_form(request)
    export = await exports.posts_export(org, request.app.state.renderer.zone, by=me(request))
    return _csv(export, f"{org.slug}-requests.csv")


@logged_in
async def export_summary(request: Request) -> Response:
    org = await _organisation(request)
    await read_form(request)
    export = await exports.summary_export(org, request.app.state.renderer.zone, by=me(request))
    return _csv(export, f"{org.slug}-summary.csv")
