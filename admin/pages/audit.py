"""The audit log at /admin/audit (moderators and admins): every moderation and admin
action, newest first, searchable by text, action and dates, and exported as CSV.

The export is a POST with the form's token (like the organisation's exports): no other
site can make a moderator's browser export the log, and each export is itself recorded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from admin.guard import errors_of, me, moderators_only, page_number
from admin.rendering import render
from node.errors import InvalidInput
from node.services import audit
from web.shell.forms import read_form

FIELDS = ("q", "action", "since", "until")


async def _page(
    request: Request,
    values: dict[str, str],
    *,
    found: audit.AuditSearch | None,
    errors: dict[str, str] | None = None,
) -> Response:
    entries: list = []
    has_next = False
    if found is not None:
        zone = request.app.state.renderer.zone
        entries, has_next = await audit.search(me(request), found, zone)
    query = urlencode(found.as_query()) if found is not None else ""
    return await render(
        request,
        "audit.html",
        {
            "entries": entries,
            "page": found.page if found is not None else 1,
            "has_next": has_next,
            "base": f"/admin/audit?{query}&" if query else "/admin/audit?",
            "values": values,
            "errors": errors or {},
            "actions": await audit.known_actions(),
            "searched": bool(query),
        },
        status_code=400 if errors else 200,
    )


def _values(source: dict[str, str]) -> dict[str, str]:
    # Shown back in the form as typed (the template escapes them), cut to a sane length.
    return {name: (source.get(name) or "")[:300] for name in FIELDS}


@moderators_only
async def audit_log(request: Request) -> Response:
    values = _values(dict(request.query_params))
    try:
        found = audit.parse_search(values, page=page_number(request.query_params.get("page")))
    except InvalidInput as exc:
        return await _page(request, values, found=None, errors=errors_of(request, exc))
    return await _page(request, values, found=found)


async def _csv_lines(batches: AsyncIterator[list[tuple]]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A byte-order mark, so that spreadsheets open accented text as UTF-8.
    writer.writerow(audit.EXPORT_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    async for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(rows)
        yield buffer.getvalue()


@moderators_only
async def export_csv(request: Request) -> Response:
    form = await read_form(request)
    values = _values(form.values())
    try:
        found = audit.parse_search(values)
    except InvalidInput as exc:
        return await _page(request, values, found=None, errors=errors_of(request, exc))
    batches = await audit.export(me(request), found, request.app.state.renderer.zone)
    return StreamingResponse(
        _csv_lines(batches),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": 'attachment; filename="audit-log.csv"',
            "cache-control": "private, no-store",
        },
    )
