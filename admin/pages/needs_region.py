"""/admin/needs/region: this node's needs figures beside those of the partner nodes it
follows (node admins), so that a commune sees its NGO nodes' figures with its own.

The node's own aggregate (`node.services.needs_aggregate`, exactly what `/needs.json`
publishes) and each partner's (`federation.needs_fetch`, read on every visit, checked,
never stored) are summed per month and node for one category and kind, or all: a table
and a server-rendered stacked bar chart (SVG, no script). Suppressed counts (null) are
counted as one each in the sums, which are then marked as lower bounds ("12+"). Every partner is
listed with its status: ok, unreachable or invalid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import admins_only
from admin.rendering import render
from federation.needs_fetch import COUNTS, Figures, Partner, fetch_partners, own_figures
from node import uris
from node.errors import InvalidInput
from node.i18n import N_, gettext
from node.services import needs_aggregate
from node.services.needs_privacy import SUPPRESS_BELOW
from node.taxonomy import BY_SLUG, CATEGORIES
from node.timeutil import utcnow

PATH = uris.ADMIN_NEEDS + "/region"
KINDS = ("request", "offer")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
BAD_CATEGORY = N_("Choose a category from the list.")
BAD_KIND = N_("Choose requests, offers or both.")
SHOWN_MONTHS = 12  # at least this many, more when older months hold figures
# Chart geometry, in SVG user units.
BAR = 18
GAP = 6
PLOT_HEIGHT = 180
LEFT = 44
TOP = 12
BOTTOM = 36
# Distinguishable with each other and on white (Okabe-Ito), cycled after eight nodes.
COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000")


@dataclass(slots=True)
class Total:
    """A sum of published counts, and how many suppressed ones (each 1 to 4) it has."""

    value: int = 0
    suppressed: int = 0

    @property
    def partial(self) -> bool:
        return self.suppressed > 0

    @property
    def low(self) -> int:
        """The least the sum can be: one post behind each suppressed count."""
        return self.value + self.suppressed

    def add(self, count: int | None) -> None:
        if count is None:
            self.suppressed += 1
        else:
            self.value += count

    def __str__(self) -> str:
        # At least one post behind each suppressed count: "7+" is 7 to 10 with one.
        return f"{self.low}+" if self.partial else str(self.value)


@dataclass(slots=True)
class Column:
    """One node of the view: this one first, then each partner that answered."""

    label: str
    colour: str
    by_month: dict[str, Total] = field(default_factory=dict)
    totals: dict[str, Total] = field(default_factory=dict)


@dataclass(slots=True)
class HoodRow:
    node: str
    name: str
    commune: str
    totals: dict[str, Total]


@dataclass(frozen=True, slots=True)
class Segment:
    x: int
    y: int
    height: int
    colour: str
    title: str


def _matches(cell_category: str, cell_kind: str, category: str, kind: str) -> bool:
    return (not category or cell_category == category) and (not kind or cell_kind == kind)


def combine(
    named: Iterable[tuple[str, Figures]], category: str, kind: str
) -> tuple[list[Column], list[HoodRow]]:
    """Per node: posted per month and the four counts in all; per neighbourhood: the
    four counts. Only cells of `category` and `kind` ("" for all) count."""
    columns: list[Column] = []
    hoods: list[HoodRow] = []
    for index, (label, figures) in enumerate(named):
        column = Column(label, COLOURS[index % len(COLOURS)])
        column.totals = {name: Total() for name in COUNTS}
        per_hood = {url: {name: Total() for name in COUNTS} for url in figures.neighbourhoods}
        for cell in figures.cells:
            if not _matches(cell.category, cell.kind, category, kind):
                continue
            column.by_month.setdefault(cell.month, Total()).add(cell.posted)
            for name in COUNTS:
                column.totals[name].add(getattr(cell, name))
                per_hood[cell.neighbourhood][name].add(getattr(cell, name))
        columns.append(column)
        for url, hood in figures.neighbourhoods.items():
            if any(t.value or t.partial for t in per_hood[url].values()):
                hoods.append(HoodRow(label, hood.name, hood.commune, per_hood[url]))
    return columns, hoods


def shown_months(columns: list[Column], all_months: list[str]) -> list[str]:
    """The last SHOWN_MONTHS months, or from the oldest month with figures on."""
    used = [m for m in all_months if any(m in c.by_month for c in columns)]
    start = (
        min(all_months.index(used[0]), len(all_months) - SHOWN_MONTHS) if used else -SHOWN_MONTHS
    )
    return all_months[start:]


def chart(columns: list[Column], months: list[str]) -> dict[str, object]:
    """Geometry of the stacked bars: one bar per month, one segment per node."""
    # Bars show the least each sum can be, as the tables do ("2+"): a month whose every
    # count is suppressed still has a bar.
    peak = max((sum(c.by_month.get(m, Total()).low for c in columns) for m in months), default=0)
    scale = PLOT_HEIGHT / peak if peak else 0.0
    segments: list[Segment] = []
    labels = []
    for index, month in enumerate(months):
        x = LEFT + index * (BAR + GAP)
        base = TOP + PLOT_HEIGHT
        for column in columns:
            total = column.by_month.get(month)
            height = round(total.low * scale) if total else 0
            if height:
                base -= height
                title = f"{column.label}, {month}: {total}"
                segments.append(Segment(x, base, height, column.colour, title))
        if index % 3 == 0 or index == len(months) - 1:
            labels.append((x + BAR // 2, month))
    return {
        # Room on the right for the last month's label, centred under its bar.
        "width": LEFT + len(months) * (BAR + GAP) + 24,
        "height": TOP + PLOT_HEIGHT + BOTTOM,
        "bar": BAR,
        "left": LEFT,
        "top": TOP,
        "baseline": TOP + PLOT_HEIGHT,
        "peak": peak,
        "segments": segments,
        "labels": labels,
        "label_y": TOP + PLOT_HEIGHT + 16,
    }


def _filters(request: Request) -> tuple[str, str]:
    category = request.query_params.get("category", "")
    kind = request.query_params.get("kind", "")
    if category and not _SLUG.match(category):
        raise InvalidInput("category", BAD_CATEGORY)
    if kind and kind not in KINDS:
        raise InvalidInput("kind", BAD_KIND)
    return category, kind


def _category_choices(locale: str, partners: list[Partner]) -> list[tuple[str, str]]:
    """Our categories by their labels, then slugs only partners use, as they are."""
    known = [(c.slug, gettext(locale, c.label)) for c in CATEGORIES]
    others = sorted(
        {
            cell.category
            for p in partners
            if p.figures
            for cell in p.figures.cells
            if cell.category not in BY_SLUG
        }
    )
    return known + [(slug, slug) for slug in others]


@admins_only
async def region(request: Request) -> Response:
    category, kind = _filters(request)
    settings = request.app.state.settings
    locale = request.app.state.renderer.locale_for(request)
    now = utcnow()
    own = own_figures(await needs_aggregate.build(settings, now))
    origins = await needs_aggregate.partner_origins(settings)
    partners = await fetch_partners(request.app.state.federation, origins)
    named = [(gettext(locale, N_("This node")), own)]
    named += [(p.label, p.figures) for p in partners if p.figures is not None]
    columns, hoods = combine(named, category, kind)
    months = shown_months(columns, needs_aggregate.month_range(now))
    return await render(
        request,
        "needs_region.html",
        {
            "columns": columns,
            "hoods": hoods,
            "months": list(reversed(months)),
            "chart": chart(columns, months),
            "partners": partners,
            "skipped": max(0, len(origins) - needs_aggregate.MAX_PARTNERS),
            "category": category,
            "kind": kind,
            "categories": _category_choices(locale, partners),
            "suppressed_below": SUPPRESS_BELOW,
            "path": PATH,
        },
    )
