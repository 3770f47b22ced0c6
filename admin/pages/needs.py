"""The needs figures at /admin/needs, and the same figures as CSV at /admin/needs.csv.

Admins see the whole node, connectors their neighbourhoods, an organisation's staff
their own posts (`node.services.needs_access`). The filter travels in the query string
(a GET, so a page of figures can be bookmarked and shared with a colleague who may see
it); a bad value answers 400 with the form and the reason. Every count under five is
already suppressed by the service and shows as "<5" here, an empty cell in the CSV.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from admin import charts
from admin.csv_download import csv_response
from admin.guard import errors_of, logged_in, me
from admin.rendering import render
from node.errors import InvalidInput
from node.i18n import N_, gettext
from node.services import needs, needs_access
from node.services.needs import Figure, NeedsFigures
from node.taxonomy import BY_SLUG, CATEGORIES
from node.timeutil import utcnow

FIELDS = ("from", "to", "category", "kind", "organisation")
MAX_CHOSEN = 100  # neighbourhoods in one filter
SUPPRESSED_NOTE = N_("fewer than 5, left empty: %(fields)s")
CSV_COLUMNS = (
    "month",
    "neighbourhood",
    "category",
    "kind",
    "posted",
    "matched",
    "done",
    "expired",
    "withdrawn",
    "median_seconds_to_first_offer",
    "median_seconds_to_match",
    "unmatched_share",
    "note",
)


def _values(request: Request) -> tuple[dict[str, str], list[str]]:
    query = request.query_params
    values = {name: (query.get(name) or "")[:60] for name in FIELDS}
    return values, [slug[:60] for slug in query.getlist("neighbourhood")[: MAX_CHOSEN + 1]]


async def _figures(
    request: Request, *, detail: bool
) -> tuple[needs_access.Scope, dict[str, str], list[str], NeedsFigures]:
    """The viewer's scope and figures; raises InvalidInput for a bad filter, and
    PermissionDenied or NotFound when the viewer may not see them."""
    values, hoods = _values(request)
    scope = await needs_access.scope_for(me(request), values["organisation"])
    if len(hoods) > MAX_CHOSEN:
        raise InvalidInput(
            "neighbourhood", N_("choose at most %(max)d neighbourhoods"), max=MAX_CHOSEN
        )
    chosen = needs.parse_filter(values, hoods, today=utcnow().date())
    # The page needs no per-cell figures; the export has every cell.
    return scope, values, hoods, await needs.figures(scope, chosen, detail=detail)


def duration(locale: str, seconds: float | None) -> str:
    """A median as hours under two days, else days (one decimal)."""
    if seconds is None:
        return ""
    hours = seconds / 3600
    if hours < 48:
        return gettext(locale, N_("%(hours)s h")) % {"hours": f"{hours:.1f}"}
    return gettext(locale, N_("%(days)s days")) % {"days": f"{hours / 24:.1f}"}


def _category_label(locale: str, slug: str) -> str:
    found = BY_SLUG.get(slug)
    return gettext(locale, found.label) if found else slug


def _charts(locale: str, result: NeedsFigures) -> dict[str, object]:
    def t(text: str) -> str:
        return gettext(locale, text)

    months = [month for month, _figure in result.months]
    series = [
        charts.Series(t(N_("New posts")), [f.posted for _m, f in result.months]),
        charts.Series(t(N_("Matched")), [f.matched for _m, f in result.months]),
        charts.Series(t(N_("Done")), [f.done for _m, f in result.months]),
    ]
    by_category = [(_category_label(locale, c), f.posted) for c, f in result.categories]
    return {
        "months_chart": charts.month_bars(
            months,
            series,
            title=t(N_("Posts per month")),
            desc=t(N_("Posted, matched and done per month; the table below has the figures.")),
        ),
        "categories_chart": charts.category_bars(
            by_category,
            title=t(N_("Posts per category")),
            desc=t(N_("Posts per category, most first; the table below has the figures.")),
        ),
    }


async def _page(
    request: Request,
    *,
    scope: needs_access.Scope | None,
    values: dict[str, str],
    hoods: list[str],
    result: NeedsFigures | None,
    errors: dict[str, str] | None = None,
) -> Response:
    locale = request.app.state.renderer.locale_for(request)
    account = me(request)
    choices = await needs_access.choices(account)
    shown_scope = scope or (choices[0] if choices else needs_access.Scope(needs_access.NODE))
    pairs = [(k, v) for k, v in values.items() if v] + [("neighbourhood", h) for h in hoods]
    return await render(
        request,
        "needs.html",
        {
            "result": result,
            "scope": shown_scope,
            "scopes": choices,
            "hoods": await needs_access.neighbourhoods_in(shown_scope),
            "chosen_hoods": set(hoods),
            "categories": CATEGORIES,
            "category_label": lambda slug: _category_label(locale, slug),
            "duration": lambda seconds: duration(locale, seconds),
            "values": values,
            "errors": errors or {},
            "csv_link": "/admin/needs.csv" + (f"?{urlencode(pairs)}" if pairs else ""),
            **(_charts(locale, result) if result is not None else {}),
        },
        status_code=400 if errors else 200,
    )


@logged_in
async def needs_page(request: Request) -> Response:
    try:
        scope, values, hoods, result = await _figures(request, detail=False)
    except InvalidInput as exc:
        values, hoods = _values(request)
        scope = await needs_access.scope_for(me(request), values["organisation"])
        return await _page(
            request,
            scope=scope,
            values=values,
            hoods=hoods[:MAX_CHOSEN],
            result=None,
            errors=errors_of(request, exc),
        )
    return await _page(request, scope=scope, values=values, hoods=hoods, result=result)


def _number(value: float | None, digits: int = 1) -> object:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, digits)


def csv_row(locale: str, key: tuple[str, str, str, str], figure: Figure) -> list[object]:
    note = ""
    if figure.suppressed:
        fields = ", ".join(sorted(_csv_name(name) for name in figure.suppressed))
        note = gettext(locale, SUPPRESSED_NOTE) % {"fields": fields}
    share = figure.unmatched_share
    return [
        *key,
        figure.posted,
        figure.matched,
        figure.done,
        figure.expired,
        figure.withdrawn,
        _number(figure.median_to_first_offer),
        _number(figure.median_to_match),
        None if share is None else round(share, 4),
        note,
    ]


def _csv_name(field: str) -> str:
    return {
        "median_to_first_offer": "median_seconds_to_first_offer",
        "median_to_match": "median_seconds_to_match",
    }.get(field, field)


@logged_in
async def needs_csv(request: Request) -> Response:
    try:
        scope, _, _, result = await _figures(request, detail=True)
    except InvalidInput as exc:
        message = "; ".join(errors_of(request, exc).values())
        return Response(message + "\n", status_code=400, media_type="text/plain; charset=utf-8")
    locale = request.app.state.renderer.locale_for(request)
    rows = (
        csv_row(locale, (cell.month, cell.neighbourhood, cell.category, cell.kind), cell.figure)
        for cell in result.cells
    )
    months = result.filter.months
    name = "-".join(p for p in ("needs", scope.organisation_slug, months[0], months[-1]) if p)
    return csv_response(CSV_COLUMNS, rows, f"{name}.csv")
