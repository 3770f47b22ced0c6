"""A needs survey's page (its `url` and `Question` id): the question in the visitor's
language, the vote form for people logged in here while it is open, and the results
as a bar chart drawn on the server (an SVG with a title and a description, and the same
figures as a table), so it needs no JavaScript and reads out in a screen reader.

Anonymous visitors see the results and a link to log in. The results (chart, table and
number of voters) are shown only from `survey_votes.RESULTS_FROM` voters on; before that
a voter sees only their own choice. Someone who answers the survey's series in another
neighbourhood (`survey_votes.vote_elsewhere`) gets no form but a link to that copy. A
vote goes to `survey_votes.vote_local`; anything it refuses is the page again with the
reason and a 4xx status, and nothing changed. A withdrawn survey is gone (410).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node import uris
from node.errors import Conflict, InvalidInput
from node.i18n import N_, gettext
from node.models import Survey
from node.services import survey_votes, surveys
from web.shell.forms import field_error, read_form
from web.shell.page_cache import for_anonymous
from web.shell.session import viewer

CLOSED = N_("This survey is closed: it takes no more votes.")
FIXED = N_("You have already voted, and votes on this survey cannot be changed.")
VOTED = N_("Thank you: your vote is counted.")
GONE_HEADING = N_("This survey was withdrawn")
GONE_MESSAGE = N_("Its author took it down; its results are no longer shown.")
ELSEWHERE = N_("You can answer this survey only once, in one neighbourhood.")

# The chart's geometry, in the SVG's own units (it scales to the page's width).
CHART_WIDTH, BAR_MAX = 640, 520
ROW_HEIGHT, LABEL_SIZE, BAR_HEIGHT = 52, 15, 20
CHART_LABEL_CHARS = 70  # longer labels are cut in the picture; the table has them whole


@dataclass(frozen=True, slots=True)
class Bar:
    index: int
    label: str
    lang: str
    short_label: str
    count: int
    percent: int
    width: int
    label_y: int
    bar_y: int
    chosen: bool


def _bars(survey: Survey, locale: str, tally: survey_votes.Tally, mine: list[int]) -> list[Bar]:
    """One bar per option: its share of the people who voted (so the shares of a
    multiple-choice survey may add up to more than 100)."""
    bars = []
    for index, (option, count) in enumerate(zip(survey.options, tally.counts, strict=True)):
        lang = locale if option.get(locale) else survey.language
        label = option.get(lang, "")
        share = count / tally.voters if tally.voters else 0.0
        short = label if len(label) <= CHART_LABEL_CHARS else label[: CHART_LABEL_CHARS - 1] + "…"
        bars.append(
            Bar(
                index=index,
                label=label,
                lang=lang,
                short_label=short,
                count=count,
                percent=round(share * 100),
                width=max(round(share * BAR_MAX), 2 if count else 0),
                label_y=index * ROW_HEIGHT + LABEL_SIZE,
                bar_y=index * ROW_HEIGHT + LABEL_SIZE + 8,
                chosen=index in mine,
            )
        )
    return bars


async def _gone(request: Request) -> Response:
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    return await renderer.render(
        request,
        "error.html",
        {"heading": gettext(locale, GONE_HEADING), "message": gettext(locale, GONE_MESSAGE)},
        status_code=410,
    )


async def _page(
    request: Request, survey: Survey, *, problem: str | None = None, status_code: int = 200
) -> Response:
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    account = viewer(request)
    tally = await survey_votes.tally(survey)
    mine = await survey_votes.choices_of(account, survey) if account is not None else []
    elsewhere = await survey_votes.vote_elsewhere(account, survey) if account else None
    is_open = survey_votes.is_open(survey)
    question_lang = locale if survey.question.get(locale) else survey.language
    bars = _bars(survey, locale, tally, mine)
    done = request.query_params.get("done")
    return await renderer.render(
        request,
        "survey.html",
        {
            "survey": survey,
            "hood": survey.neighbourhood,
            "organisation": survey.organisation,
            "question": survey.question_in(locale),
            "question_lang": question_lang,
            "bars": bars,
            "voters": tally.voters,
            "results_shown": survey_votes.results_shown(tally),
            "results_from": survey_votes.RESULTS_FROM,
            "mine": mine,
            "elsewhere": elsewhere,
            "is_open": is_open,
            "may_vote": account is not None
            and is_open
            and elsewhere is None
            and (not mine or survey.changeable),
            "chart_height": max(len(bars), 1) * ROW_HEIGHT,
            "chart_width": CHART_WIDTH,
            "bar_max": BAR_MAX,
            "bar_height": BAR_HEIGHT,
            "problem": problem,
            "notice": gettext(locale, VOTED) if done == "voted" and not problem else None,
            "page": uris.survey(survey.id),
        },
        status_code=status_code,
    )


@for_anonymous
async def show(request: Request) -> Response:
    survey = await surveys.get_survey(request.path_params["survey_id"])
    if survey.withdrawn_at is not None:
        return await _gone(request)
    return await _page(request, survey)


def _chosen(raw: list[str]) -> list[int]:
    """The option numbers ticked on the form; anything else is no option."""
    picked = []
    for value in raw:
        if not (value.isascii() and value.isdigit() and len(value) <= 3):
            raise InvalidInput("option", N_("no such option"))
        picked.append(int(value))
    return picked


async def vote(request: Request) -> Response:
    form = await read_form(request)
    survey = await surveys.get_survey(request.path_params["survey_id"])
    page = uris.survey(survey.id)
    account = viewer(request)
    if account is None:
        return RedirectResponse(f"/login?next={page}", status_code=303)
    if survey.withdrawn_at is not None:
        return await _gone(request)
    locale = request.app.state.renderer.locale_for(request)
    try:
        await survey_votes.vote_local(account, survey, _chosen(form.getlist("option")))
    except InvalidInput as exc:
        return await _page(request, survey, problem=field_error(locale, exc), status_code=400)
    except survey_votes.VotesElsewhere:
        return await _page(request, survey, problem=gettext(locale, ELSEWHERE), status_code=409)
    except Conflict:
        reason = FIXED if survey_votes.is_open(survey) else CLOSED
        return await _page(request, survey, problem=gettext(locale, reason), status_code=409)
    return RedirectResponse(f"{page}?done=voted", status_code=303)
