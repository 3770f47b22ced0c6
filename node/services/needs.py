"""The needs figures of /admin/needs and /admin/needs.csv: for each neighbourhood,
category, month and kind, how many requests and offers were posted, matched, done,
expired and withdrawn; the median time to the first offer and to a match; the share of
closed posts that never found a match; totals per month and per category; the top
categories; and the answers to the neighbourhoods' surveys.

Months are calendar months in UTC. Posts hidden by a moderator are left out. The counting
happens in the database (`needs_sql`); here the rows become figures, and every figure
goes through the suppression rule (`needs_privacy`) before it leaves the service: a count
from 1 to 4 becomes None, and so does a median or share computed from fewer than five
posts. `Figure.suppressed` names what was suppressed, so pages can say "<5" rather than
leave the reader guessing between "nothing" and "too few to show".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from node.errors import InvalidInput
from node.i18n import N_
from node.models import Neighbourhood, PostKind, Survey
from node.services import needs_sql, survey_votes
from node.services.needs_access import Scope, neighbourhood_ids
from node.services.needs_privacy import enough, shown
from node.taxonomy import BY_SLUG

DEFAULT_MONTHS = 12
MAX_MONTHS = 60  # five years: more is a typing mistake, and a slow page
TOP_CATEGORIES = 5
MAX_SURVEYS = 20
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
COUNTS = ("posted", "matched", "done", "expired", "withdrawn")


@dataclass(frozen=True, slots=True)
class NeedsFilter:
    first: date  # first day of the first month
    last: date  # first day of the last month (included)
    neighbourhoods: tuple[str, ...] = ()  # slugs; () for every one in the scope
    category: str = ""
    kind: str = ""  # "request", "offer" or "" for both

    @property
    def months(self) -> list[str]:
        """Every month of the range as `YYYY-MM`, in order."""
        found, year, month = [], self.first.year, self.first.month
        while (year, month) <= (self.last.year, self.last.month):
            found.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the range."""
        year, month = self.last.year, self.last.month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return datetime(year, month, 1, tzinfo=UTC)


def _shift(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month(raw: str, name: str) -> date:
    found = _MONTH.fullmatch(raw.strip())
    if not found or not 2000 <= int(found[1]) <= 2100 or not 1 <= int(found[2]) <= 12:
        raise InvalidInput(name, N_("give a month as YYYY-MM, for example 2026-03"))
    return date(int(found[1]), int(found[2]), 1)


def parse_filter(
    values: Mapping[str, str], neighbourhoods: Sequence[str] = (), *, today: date
) -> NeedsFilter:
    """The filter from a query string; a bad value raises InvalidInput naming its field."""
    this_month = today.replace(day=1)
    last = _month(values["to"], "to") if values.get("to") else this_month
    first = (
        _month(values["from"], "from") if values.get("from") else _shift(last, 1 - DEFAULT_MONTHS)
    )
    if first > last:
        raise InvalidInput("from", N_("the first month comes after the last one"))
    if _shift(first, MAX_MONTHS) <= last:
        raise InvalidInput("to", N_("choose at most %(max)d months"), max=MAX_MONTHS)
    category = values.get("category", "")
    if category and category not in BY_SLUG:
        raise InvalidInput("category", N_("choose a category from the list"))
    kind = values.get("kind", "")
    if kind and kind not in {k.value for k in PostKind}:
        raise InvalidInput("kind", N_("choose requests, offers or both"))
    slugs = tuple(sorted({s.strip() for s in neighbourhoods if s.strip()}))
    if any(len(slug) > 40 for slug in slugs):
        raise InvalidInput("neighbourhood", N_("choose neighbourhoods from the list"))
    return NeedsFilter(first, last, slugs, category, kind)


@dataclass(slots=True)
class _Raw:
    posted: int = 0
    matched: int = 0
    done: int = 0
    expired: int = 0
    withdrawn: int = 0
    closed: int = 0
    unmatched: int = 0

    def add(self, row: Mapping[str, Any]) -> None:
        for name in (*COUNTS, "closed", "unmatched"):
            setattr(self, name, getattr(self, name) + int(row[name] or 0))


@dataclass(frozen=True, slots=True)
class Figure:
    """Figures of one group of posts, already suppressed where they must be."""

    posted: int | None = 0
    matched: int | None = 0
    done: int | None = 0
    expired: int | None = 0
    withdrawn: int | None = 0
    median_to_first_offer: float | None = None  # seconds
    median_to_match: float | None = None  # seconds
    unmatched_share: float | None = None  # of the posts no longer open, 0 to 1
    suppressed: frozenset[str] = frozenset()  # names of the fields shown as "<5"


Medians = dict[str, tuple[int, float]]  # measure -> (posts it is computed from, seconds)


def _figure(raw: _Raw, medians: Medians) -> Figure:
    values: dict[str, Any] = {name: shown(getattr(raw, name)) for name in COUNTS}
    hidden = {name for name in COUNTS if values[name] is None}
    for measure, name in (
        (needs_sql.FIRST_OFFER, "median_to_first_offer"),
        (needs_sql.MATCH, "median_to_match"),
    ):
        n, median = medians.get(measure, (0, 0.0))
        values[name] = median if enough(n) else None
        if 0 < n < 5:
            hidden.add(name)
    values["unmatched_share"] = raw.unmatched / raw.closed if enough(raw.closed) else None
    if 0 < raw.closed < 5:
        hidden.add("unmatched_share")
    return Figure(**values, suppressed=frozenset(hidden))


@dataclass(frozen=True, slots=True)
class Cell:
    month: str
    neighbourhood: str  # slug
    category: str
    kind: str
    figure: Figure


@dataclass(frozen=True, slots=True)
class SurveyFigures:
    survey: Survey
    neighbourhood: Neighbourhood
    counts: tuple[int | None, ...]  # per option; all None when fewer than 5 voted
    voters: int | None


@dataclass(slots=True)
class NeedsFigures:
    filter: NeedsFilter
    months: list[tuple[str, Figure]]  # every month of the range, empty ones too
    categories: list[tuple[str, Figure]]  # categories with posts, most posted first
    total: Figure
    top_categories: list[tuple[str, int]]  # up to five, with at least five posts each
    cells: list[Cell] = field(default_factory=list)
    surveys: list[SurveyFigures] = field(default_factory=list)


async def figures(scope: Scope, chosen: NeedsFilter, *, detail: bool = True) -> NeedsFigures:
    """The figures of `scope` narrowed by `chosen`. `detail` adds the medians of every
    (month, neighbourhood, category, kind) cell, which only the CSV needs."""
    hood_ids = await neighbourhood_ids(scope, chosen.neighbourhoods)
    where = needs_sql.where_for(
        chosen.start,
        chosen.end,
        neighbourhood_ids=hood_ids,
        organisation_id=scope.organisation.id if scope.organisation else None,
        category=chosen.category,
        kind=chosen.kind,
    )
    # Without the detail, months by categories are enough (fewer groups to sort).
    rows = await needs_sql.counts(where, needs_sql.CELL if detail else ("month", "cat"))
    levels = [needs_sql.MONTH, needs_sql.CATEGORY, needs_sql.ALL]
    if detail:
        levels.append(needs_sql.CELL)
    medians: dict[tuple[Any, ...], Medians] = {}
    for row in await needs_sql.medians(where, levels) if rows else []:
        key = (row["lvl"], row["month"], row["hood"], row["cat"], row["kind"])
        medians.setdefault(key, {})[row["m"]] = (int(row["n"]), row["median"])

    by_month: dict[str, _Raw] = {month: _Raw() for month in chosen.months}
    by_category: dict[str, _Raw] = {}
    total = _Raw()
    for row in rows:
        by_month.setdefault(row["month"], _Raw()).add(row)
        by_category.setdefault(row["cat"], _Raw()).add(row)
        total.add(row)
    ranked = sorted(by_category.items(), key=lambda item: (-item[1].posted, item[0]))
    result = NeedsFigures(
        filter=chosen,
        months=[
            (month, _figure(raw, medians.get((0, month, None, None, None), {})))
            for month, raw in sorted(by_month.items())
        ],
        categories=[
            (cat, _figure(raw, medians.get((1, None, None, cat, None), {}))) for cat, raw in ranked
        ],
        total=_figure(total, medians.get((2, None, None, None, None), {})),
        top_categories=[(cat, raw.posted) for cat, raw in ranked if enough(raw.posted)][
            :TOP_CATEGORIES
        ],
    )
    if detail:
        result.cells = await _cells(rows, medians)
    result.surveys = await surveys(scope, chosen, hood_ids)
    return result


async def _cells(rows: list[dict[str, Any]], medians: dict[tuple[Any, ...], Medians]) -> list[Cell]:
    slugs = dict(await Neighbourhood.all().values_list("id", "slug"))
    cells = []
    for row in rows:
        raw = _Raw()
        raw.add(row)
        key = (3, row["month"], row["hood"], row["cat"], row["kind"])
        figure = _figure(raw, medians.get(key, {}))
        slug = slugs.get(row["hood"], "")
        cells.append(Cell(row["month"], slug, row["cat"], row["kind"], figure))
    return sorted(cells, key=lambda c: (c.month, c.neighbourhood, c.category, c.kind))


async def surveys(
    scope: Scope, chosen: NeedsFilter, hood_ids: Sequence[int] | None
) -> list[SurveyFigures]:
    """Surveys open at some time in the range (not withdrawn), with suppressed answers:
    an organisation sees its own; others those of the neighbourhoods in view."""
    query = Survey.filter(
        withdrawn_at__isnull=True, created_at__lt=chosen.end, closes_at__gte=chosen.start
    )
    if hood_ids is not None:
        query = query.filter(neighbourhood_id__in=list(hood_ids))
    if scope.organisation is not None:
        query = query.filter(organisation_id=scope.organisation.id)
    found = await query.order_by("-closes_at").limit(MAX_SURVEYS).select_related("neighbourhood")
    result = []
    for survey in found:
        tally = await survey_votes.tally(survey)
        # With fewer than five voters, even zeros could tell who chose what.
        visible = enough(tally.voters) or tally.voters == 0
        counts = tuple(shown(c) if visible else None for c in tally.counts)
        result.append(SurveyFigures(survey, survey.neighbourhood, counts, shown(tally.voters)))
    return result
