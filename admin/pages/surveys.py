"""Needs surveys in /admin: the surveys this person manages (with their results, and a
button to withdraw those they may withdraw), and the form that publishes a new one.

Open to whoever may publish a survey somewhere (admins, connectors, staff of an
organisation with an area; see `node.services.surveys`) and to whoever sees earlier
surveys there (their authors, their organisation's staff); others who are logged in
get 403. The form sends every option row it receives to the service, which refuses
more than it takes: a hand-made form with 50 options is refused, not cut to 10.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from admin.guard import back, errors_of, logged_in, me
from admin.rendering import render
from node import uris, validation
from node.errors import InvalidFields, InvalidInput, PermissionDenied
from node.i18n import N_, gettext
from node.models import Account
from node.services import survey_votes, surveys
from web.shell.forms import Form, read_form

NEW = f"{uris.ADMIN_SURVEYS}/new"
AS_MYSELF = N_("None: as myself")
NOT_THERE = N_("You may not publish a survey in all of the chosen neighbourhoods.")
DEFAULT_TIME = time(23, 59)
OPTION_ROWS = surveys.MAX_OPTIONS
_OPTION_FIELD = re.compile(r"option_([0-9]+)_[a-z]{2,3}")


async def _may_enter(account: Account) -> bool:
    if await surveys.may_publish_anywhere(account):
        return True
    return bool(await surveys.manageable_surveys(account))


@logged_in
async def survey_list(request: Request) -> Response:
    account = me(request)
    if not await _may_enter(account):
        raise PermissionDenied("surveys are for admins, connectors and organisations' staff")
    rows = await surveys.manageable_surveys(account)
    return await render(
        request,
        "surveys.html",
        {
            "surveys": rows,
            "may_publish": await surveys.may_publish_anywhere(account),
            "withdrawable": await surveys.withdrawable_ids(account, rows),
            "open_ids": {row.id for row in rows if survey_votes.is_open(row)},
        },
    )


def _closing(form: Form, zone) -> datetime | None:
    """The closing date and time (local), or None when no date is given."""
    raw_day = form.get("closes_at").strip()
    if not raw_day:
        return None
    try:
        day = date.fromisoformat(raw_day)
    except ValueError:
        raise InvalidInput("closes_at", N_("enter a date such as 2026-12-05")) from None
    raw_time = form.get("closes_time").strip()
    try:
        clock = time.fromisoformat(raw_time) if raw_time else DEFAULT_TIME
    except ValueError:
        raise InvalidInput("closes_time", N_("enter a time such as 14:30")) from None
    return datetime.combine(day, clock, tzinfo=zone)


def _option_rows(form: Form, languages: tuple[str, ...]) -> list[dict[str, str]]:
    """Every option row the form has (the form shows `OPTION_ROWS`; a hand-made one may
    have more, which the service refuses). A row number past the service's `MAX_ROWS`
    stands for more rows than it reads: it is handed one more than that to refuse."""
    count = 0
    for key in form.values():
        found = _OPTION_FIELD.fullmatch(key)
        if found:
            number = found.group(1)
            count = max(count, int(number) + 1 if len(number) <= 6 else surveys.MAX_ROWS + 1)
    return [
        {lang: form.get(f"option_{i}_{lang}") for lang in languages}
        for i in range(min(count, surveys.MAX_ROWS + 1))
    ]


def _neighbourhood_ids(form: Form) -> list[int] | str:
    if form.get("all_neighbourhoods") == "yes":
        return surveys.ALL
    ids = [validation.as_id(raw) for raw in form.getlist("neighbourhood")]
    if any(found is None for found in ids):
        raise InvalidInput("neighbourhoods", N_("no such neighbourhood"))
    return [found for found in ids if found is not None]


async def _publish(request: Request, form: Form, account: Account) -> None:
    languages = request.app.state.settings.languages
    problems: list[InvalidInput] = []
    closes_at = neighbourhood_ids = organisation_id = None
    try:
        closes_at = _closing(form, request.app.state.renderer.zone)
    except InvalidInput as exc:
        problems.append(exc)
    try:
        neighbourhood_ids = _neighbourhood_ids(form)
    except InvalidInput as exc:
        problems.append(exc)
    raw_org = form.get("organisation").strip()
    if raw_org:
        organisation_id = validation.as_id(raw_org)
        if organisation_id is None:
            problems.append(InvalidInput("organisation", N_("no such organisation")))
    if problems:
        raise InvalidFields(problems)
    await surveys.publish_survey(
        account,
        neighbourhood_ids=neighbourhood_ids or [],
        organisation_id=organisation_id,
        language=form.get("language"),
        question={lang: form.get(f"question_{lang}") for lang in languages},
        options=_option_rows(form, languages),
        multiple=form.get("multiple") == "yes",
        changeable=form.get("changeable") == "yes",
        closes_at=closes_at,
    )


@logged_in
async def new_survey(request: Request) -> Response:
    account = me(request)
    if not await surveys.may_publish_anywhere(account):
        raise PermissionDenied("surveys are for admins, connectors and organisations' staff")
    hoods, orgs = await surveys.publish_choices(account)
    settings = request.app.state.settings
    locale = request.app.state.renderer.locale_for(request)
    # Staff who are neither connectors nor admins publish for their organisation.
    as_self = bool(await surveys.publishable_ids(account))
    values: dict[str, str] = {
        "language": settings.languages[0],
        "changeable": "yes",
        "organisation": "" if as_self or not orgs else str(orgs[0].id),
    }
    chosen: set[str] = set()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        values = form.values()
        chosen = set(form.getlist("neighbourhood"))
        try:
            await _publish(request, form, account)
        except InvalidInput as exc:
            errors, status = errors_of(request, exc), 400
        except PermissionDenied:
            errors, status = {"_form": gettext(locale, NOT_THERE)}, 403
        else:
            return back(uris.ADMIN_SURVEYS, "survey")
    return await render(
        request,
        "survey_form.html",
        {
            "values": values,
            "errors": errors,
            "neighbourhoods": hoods,
            "organisations": orgs,
            "org_options": ([("", gettext(locale, AS_MYSELF))] if as_self else [])
            + [(str(org.id), org.name) for org in orgs],
            "as_self": as_self,
            "chosen": chosen,
            "rows": range(OPTION_ROWS),
        },
        status_code=status,
    )


@logged_in
async def withdraw(request: Request) -> Response:
    account = me(request)
    if not await _may_enter(account):
        raise PermissionDenied("surveys are for admins, connectors and organisations' staff")
    form = await read_form(request)
    raw = form.get("survey")
    if uris.id_key(raw) is None:
        raise HTTPException(400)
    survey = await surveys.get_survey(raw)
    await surveys.withdraw_survey(account, survey)
    return back(uris.ADMIN_SURVEYS, "survey_withdrawn")
