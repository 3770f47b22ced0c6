"""The needs figures of /admin/needs and /admin/needs.csv: for each neighbourhood,
category, month and kind, how many requests and offers were posted, matched, done,
expired and withdrawn; the median time to the first offer and to a match; the share of
closed posts that never found a match; totals per month and per category; the top
categories; and the answers to the neighbourhoods' surveys.

Months are calendar months in UTC. Posts hidden by a moderator are left out. The posts
are counted per month ahead of time (`needs_rollup`, brought up to date on every read);
here those rows are summed into figures, with exact medians, and every figure
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
from node.services import needs_rollup, survey_votes
from node.services.needs_access import Scope, neighbourhood_ids
from node.services.needs_privacy import enough, share, shown
from node.services.needs_rollup import Tally
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


FIRST_OFFER, MATCH = "first_offer", "match"


def median(values: Sequence[int]) -> float:
    """The exact median of sorted `values` (the mean of the two middle ones when even)."""
    middle = len(values) // 2
    if len(values) % 2:
        return float(values[middle])
    return (values[middle - 1] + values[middle]) / 2


def _figure(raw: Tally) -> Figure:
    values: dict[str, Any] = {name: shown(getattr(raw, name)) for name in COUNTS}
    hidden = {name for name in COUNTS if values[name] is None}
    for waits, name in (
        (raw.offer_waits, "median_to_first_offer"),
        (raw.match_waits, "median_to_match"),
    ):
        values[name] = median(sorted(waits)) if enough(len(waits)) else None
        if 0 < len(waits) < 5:
            hidden.add(name)
    values["unmatched_share"] = share(raw.unmatched, raw.closed)
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
    """The figures of `scope` narrowed by `chosen`, from posts as they are now. `detail`
    adds the figures of every (month, neighbourhood, category, kind) cell (the CSV)."""
    hood_ids = await neighbourhood_ids(scope, chosen.neighbourhoods)
    await needs_rollup.refresh()
    months = chosen.months
    rows = await needs_rollup.read(
        months[0],
        months[-1],
        neighbourhood_ids=hood_ids,
        organisation_id=scope.organisation.id if scope.organisation else None,
        category=chosen.category,
        kind=chosen.kind,
    )
    by_month: dict[str, Tally] = {month: Tally() for month in months}
    by_category: dict[str, Tally] = {}
    by_cell: dict[tuple[str, int, str, str], Tally] = {}
    total = Tally()
    for (month, hood, category, kind, _org), tally in rows:
        by_month.setdefault(month, Tally()).merge(tally)
        by_category.setdefault(category, Tally()).merge(tally)
        total.merge(tally)
        if detail:  # the organisations of a cell are summed: a cell is a place and a need
            by_cell.setdefault((month, hood, category, kind), Tally()).merge(tally)
    ranked = sorted(by_category.items(), key=lambda item: (-item[1].posted, item[0]))
    result = NeedsFigures(
        filter=chosen,
        months=[(month, _figure(raw)) for month, raw in sorted(by_month.items())],
        categories=[(cat, _figure(raw)) for cat, raw in ranked],
        total=_figure(total),
        top_categories=[(cat, shown(raw.posted)) for cat, raw in ranked if enough(raw.posted)][
            :TOP_CATEGORIES
        ],
    )
    if detail:
        result.cells = await _cells(by_cell)
    result.surveys = await surveys(scope, chosen, hood_ids)
    return result


async def _cells(by_cell: Mapping[tuple[str, int, str, str], Tally]) -> list[Cell]:
    slugs = dict(await Neighbourhood.all().values_list("id", "slug"))
    cells = [
        Cell(month, slugs.get(hood, ""), category, kind, _figure(tally))
        for (month, hood, category, kind), tally in by_cell.items()
    ]
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
        visible = survey_votes.results_shown(tally) or tally.voters == 0
        counts = tuple(shown(c) if visible else None for c in tally.counts)
        result.append(SurveyFigures(survey, survey.neighbourhood, counts, shown(tally.voters)))
    return result
