"""Publishing and withdrawing needs surveys, and who may do it.

A survey ("what help would you need most this winter?") is published for one, several
or all neighbourhoods at once: one `Survey` row per neighbourhood, sharing a `series`,
each announced by its neighbourhood's Group (`SurveyPublished`, in the same transaction
as the rows). Who may publish where:

- the node's admins, in every neighbourhood that is not archived;
- a neighbourhood's connectors, there;
- an organisation's staff, in the neighbourhoods of its areas, for the organisation.

Everything is checked before anything is stored: every bad field is reported at once
(`InvalidFields`, named after the form's fields), and a neighbourhood the author may not
publish in is refused as a whole (`PermissionDenied`). Options are fixed once published
(Mastodon ignores an Update that changes a poll's options), so there is no editing; a
survey is withdrawn instead (`SurveyWithdrawn`). Votes are `node.services.survey_votes`.

Who manages published surveys (`manageable_surveys`, `can_withdraw`):

- admins see and withdraw every survey;
- an organisation's staff see all its surveys, and its coordinators withdraw them;
- connectors see every survey of their neighbourhoods;
- everyone sees and withdraws the surveys they published themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal

from tortoise.expressions import Q

from node import db, events, raw_sql, uris, validation
from node.config import SUPPORTED_LANGUAGES
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.models import (
    Account,
    Connector,
    Membership,
    Neighbourhood,
    Organisation,
    OrganisationArea,
    Role,
    StaffRole,
    Survey,
)
from node.services import audit
from node.text import clean_line, is_blank
from node.timeutil import as_utc, utcnow

ALL: Literal["all"] = "all"
MIN_OPTIONS, MAX_OPTIONS = 2, 10
QUESTION_MAX, LABEL_MAX = 300, 100
EARLIEST_CLOSE = timedelta(hours=1)
LATEST_CLOSE = timedelta(days=90)
# More rows than this is not a form anyone filled in: refused without reading each label.
MAX_ROWS = 100
MANAGED_LIMIT = 200


def _is_admin(account: Account | None) -> bool:
    return account is not None and account.is_active and account.role == Role.ADMIN


async def publishable_ids(account: Account | None, organisation_id: int | None = None) -> set[int]:
    """The neighbourhoods (not archived) where `account` may publish a survey, for
    `organisation_id` when given (its staff, in its areas), else as a connector."""
    if account is None or not account.is_active:
        return set()
    active = Neighbourhood.filter(archived_at=None)
    if _is_admin(account):
        return set(await active.values_list("id", flat=True))
    if organisation_id is not None:
        if not await Membership.exists(account_id=account.id, organisation_id=organisation_id):
            return set()
        area_ids = OrganisationArea.filter(organisation_id=organisation_id).values_list(
            "neighbourhood_id", flat=True
        )
        wanted = set(await area_ids)
    else:
        wanted = set(
            await Connector.filter(account_id=account.id).values_list("neighbourhood_id", flat=True)
        )
    if not wanted:
        return set()
    return set(await active.filter(id__in=wanted).values_list("id", flat=True))


async def may_publish_anywhere(account: Account | None) -> bool:
    """Whether `account` may publish a survey somewhere: an admin, a connector, or staff
    of an organisation with an area (what opens the survey pages of /admin)."""
    if account is None or not account.is_active:
        return False
    if _is_admin(account):
        return True
    if await Connector.exists(account_id=account.id, neighbourhood__archived_at=None):
        return True
    return await OrganisationArea.exists(
        organisation__memberships__account_id=account.id, neighbourhood__archived_at=None
    )


async def may_publish_in(account: Account | None, neighbourhood: Neighbourhood) -> bool:
    """Whether `account` may publish a survey in `neighbourhood` (in any capacity)."""
    if account is None or not account.is_active or neighbourhood.archived_at is not None:
        return False
    if _is_admin(account):
        return True
    # A connector there, or staff of an organisation working there. The neighbourhood
    # page asks on every logged-in visit: one hand-written statement, not two ORM ones.
    found = await raw_sql.named_rows(
        "SELECT 1 AS yes FROM neighbourhood_connectors"
        " WHERE account_id = ? AND neighbourhood_id = ?"
        " UNION ALL SELECT 1 FROM organisation_areas oa"
        " JOIN memberships m ON m.organisation_id = oa.organisation_id"
        " WHERE m.account_id = ? AND oa.neighbourhood_id = ? LIMIT 1",
        [account.id, neighbourhood.id, account.id, neighbourhood.id],
    )
    return bool(found)


async def publish_choices(account: Account) -> tuple[list[Neighbourhood], list[Organisation]]:
    """What the new-survey form offers `account`: the neighbourhoods it may publish in
    (as a connector, as staff or as an admin), and the organisations it is staff of."""
    ids = await publishable_ids(account)
    org_ids = await Membership.filter(account_id=account.id).values_list(
        "organisation_id", flat=True
    )
    for org_id in set(org_ids):
        ids |= await publishable_ids(account, org_id)
    hoods = await Neighbourhood.filter(id__in=ids).order_by("name") if ids else []
    orgs = await Organisation.filter(id__in=set(org_ids)).order_by("name") if org_ids else []
    return list(hoods), list(orgs)


def _texts(
    checker: validation.FieldChecker, key: str, texts: Mapping[str, str], lead: str, max_len: int
) -> dict[str, str]:
    """One text per language (`key_nl`, ...), the lead language's required."""
    written: dict[str, str] = {}
    for lang, value in texts.items():
        field = f"{key}_{lang}"
        if lang not in SUPPORTED_LANGUAGES:
            checker.errors.append(InvalidInput(field, N_("is not a language of this node")))
            continue
        text = clean_line(value or "")
        if is_blank(text):
            continue
        found = checker.check(field, lambda t=text, f=field: validation.line(f, t, max_len=max_len))
        if found:
            written[lang] = found
    if lead in SUPPORTED_LANGUAGES and lead not in written:
        field = f"{key}_{lead}"
        if not any(e.field == field for e in checker.errors):
            checker.errors.append(InvalidInput(field, N_("is required")))
    return written


def _options(
    checker: validation.FieldChecker, options: Sequence[Mapping[str, str]], lead: str
) -> list[dict[str, str]]:
    """The options that have any label; a row left empty on the form is no option."""
    if len(options) > MAX_ROWS:
        checker.errors.append(
            InvalidInput("options", N_("give at most %(max)d options"), max=MAX_OPTIONS)
        )
        return []
    kept: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, row in enumerate(options):
        if all(is_blank(clean_line(text or "")) for text in row.values()):
            continue
        labels = _texts(checker, f"option_{index}", row, lead, LABEL_MAX)
        kept.append(labels)
        key = labels.get(lead, "").casefold()
        if key and key in seen:
            checker.errors.append(
                InvalidInput(f"option_{index}_{lead}", N_("is the same as another option"))
            )
        seen.add(key)
    if len(kept) < MIN_OPTIONS:
        checker.errors.append(
            InvalidInput("options", N_("give at least %(min)d options"), min=MIN_OPTIONS)
        )
    elif len(kept) > MAX_OPTIONS:
        checker.errors.append(
            InvalidInput("options", N_("give at most %(max)d options"), max=MAX_OPTIONS)
        )
    return kept


def _closing(closes_at: datetime | None, now: datetime) -> datetime:
    if closes_at is None:
        raise InvalidInput("closes_at", N_("is required"))
    if closes_at.tzinfo is None:
        raise InvalidInput("closes_at", N_("needs a time zone"))
    closes = as_utc(closes_at)
    if closes < now + EARLIEST_CLOSE:
        raise InvalidInput("closes_at", N_("must be at least an hour from now"))
    if closes > now + LATEST_CLOSE:
        raise InvalidInput("closes_at", N_("must be at most %(days)d days ahead"), days=90)
    return closes


async def _neighbourhoods(
    ids: Sequence[int] | Literal["all"], allowed: set[int]
) -> list[Neighbourhood]:
    """The chosen neighbourhoods ("all": every one the author may publish in)."""
    wanted = allowed if ids == ALL else set(ids)
    if not wanted:
        raise InvalidInput("neighbourhoods", N_("choose at least one neighbourhood"))
    if len(wanted) > MAX_ROWS * 10 or any(not 0 < i <= validation.MAX_ID for i in wanted):
        raise InvalidInput("neighbourhoods", N_("no such neighbourhood"))
    hoods = await Neighbourhood.filter(id__in=wanted).order_by("name")
    if len(hoods) != len(wanted):
        raise InvalidInput("neighbourhoods", N_("no such neighbourhood"))
    if any(hood.archived_at is not None for hood in hoods):
        raise InvalidInput("neighbourhoods", N_("an archived neighbourhood takes no surveys"))
    return list(hoods)


async def _organisation(organisation_id: int | None) -> int | None:
    if organisation_id is None:
        return None
    if not 0 < organisation_id <= validation.MAX_ID or not await Organisation.exists(
        id=organisation_id
    ):
        raise InvalidInput("organisation", N_("no such organisation"))
    return organisation_id


async def publish_survey(
    author: Account,
    *,
    neighbourhood_ids: Sequence[int] | Literal["all"],
    organisation_id: int | None = None,
    language: str,
    question: Mapping[str, str],
    options: Sequence[Mapping[str, str]],
    multiple: bool,
    changeable: bool,
    closes_at: datetime | None,
    now: datetime | None = None,
) -> list[Survey]:
    """One survey per neighbourhood, one series, each announced by its Group."""
    now = now or utcnow()
    allowed = await publishable_ids(author, organisation_id)
    if not allowed:
        raise PermissionDenied("this account may not publish surveys here")
    checker = validation.FieldChecker()
    if language not in SUPPORTED_LANGUAGES:
        checker.errors.append(InvalidInput("language", N_("is not a language of this node")))
    texts = _texts(checker, "question", question, language, QUESTION_MAX)
    labels = _options(checker, options, language)
    closes = checker.check("closes_at", lambda: _closing(closes_at, now))
    hoods = await checker.check_async(
        "neighbourhoods", lambda: _neighbourhoods(neighbourhood_ids, allowed)
    )
    org_id = await checker.check_async("organisation", lambda: _organisation(organisation_id))
    checker.done()
    if any(hood.id not in allowed for hood in hoods):
        raise PermissionDenied("this account may not publish surveys in these neighbourhoods")
    series = uuid.uuid4()
    created: list[Survey] = []
    async with db.atomic():
        for hood in hoods:
            survey = await Survey.create(
                series=series,
                neighbourhood_id=hood.id,
                organisation_id=org_id,
                author_id=author.id,
                language=language,
                question=texts,
                options=labels,
                multiple=multiple,
                changeable=changeable,
                closes_at=closes,
            )
            await events.emit(events.SurveyPublished(survey_id=str(survey.id)))
            created.append(survey)
        await audit.record(
            author,
            "survey.published",
            f"survey:{series}",
            organisation=org_id,
            detail={"neighbourhoods": [hood.slug for hood in hoods]},
        )
    return created


async def _coordinated(account: Account) -> set[int]:
    """The organisations `account` coordinates."""
    return set(
        await Membership.filter(account_id=account.id, role=StaffRole.COORDINATOR).values_list(
            "organisation_id", flat=True
        )
    )


def _withdraws(account: Account, survey: Survey, coordinated: set[int]) -> bool:
    if not account.is_active:
        return False
    if _is_admin(account) or survey.author_id == account.id:
        return True
    return survey.organisation_id is not None and survey.organisation_id in coordinated


async def can_withdraw(account: Account | None, survey: Survey) -> bool:
    """Its author (while active), the coordinators of its organisation, and admins."""
    if account is None or not account.is_active:
        return False
    return _withdraws(account, survey, await _coordinated(account))


async def withdrawable_ids(account: Account, rows: Sequence[Survey]) -> set[uuid.UUID]:
    """Which of `rows` `account` may withdraw (what the list draws a button for)."""
    coordinated = await _coordinated(account)
    return {row.id for row in rows if _withdraws(account, row, coordinated)}


async def withdraw_survey(account: Account, survey: Survey) -> Survey:
    """Take the survey down: its page says so, its `Question` is deleted elsewhere."""
    if not await can_withdraw(account, survey):
        raise PermissionDenied(
            "only the author, a coordinator of its organisation or an admin withdraws a survey"
        )
    async with db.atomic():
        locked = await Survey.select_for_update().get_or_none(id=survey.id)
        if locked is None:
            raise NotFound("no such survey")
        if locked.withdrawn_at is not None:
            raise Conflict("this survey is withdrawn already")
        locked.withdrawn_at = utcnow()
        await locked.save(update_fields=["withdrawn_at"])
        await events.emit(
            events.SurveyWithdrawn(
                survey_id=str(locked.id), neighbourhood_id=locked.neighbourhood_id
            )
        )
        await audit.record(
            account, "survey.withdrawn", f"survey:{locked.id}", organisation=locked.organisation_id
        )
    survey.withdrawn_at = locked.withdrawn_at
    return survey


async def get_survey(raw_id: str) -> Survey:
    """The survey a URL names (only the id's canonical spelling), with its neighbourhood
    and organisation."""
    key = uris.id_key(raw_id)
    if key is None:
        raise NotFound("no such survey")
    survey = await Survey.get_or_none(id=key).select_related("neighbourhood", "organisation")
    if survey is None:
        raise NotFound("no such survey")
    return survey


async def open_surveys(neighbourhood: Neighbourhood, now: datetime | None = None) -> list[Survey]:
    """A neighbourhood's surveys taking votes, closing soonest first."""
    return await raw_sql.select(  # every neighbourhood page asks: see `node.raw_sql`
        Survey,
        {
            "neighbourhood_id": neighbourhood.id,
            "withdrawn_at": None,
            "closes_at__gt": now or utcnow(),
        },
        order_by=("closes_at", "created_at"),
    )


async def manageable_surveys(account: Account) -> list[Survey]:
    """The surveys `account` sees in /admin (see the module's docstring), newest first."""
    if not account.is_active:
        return []
    if _is_admin(account):
        query = Survey.all()
    else:
        seen = Q(author_id=account.id)
        org_ids = await Membership.filter(account_id=account.id).values_list(
            "organisation_id", flat=True
        )
        if org_ids:
            seen |= Q(organisation_id__in=set(org_ids))
        hood_ids = await Connector.filter(account_id=account.id).values_list(
            "neighbourhood_id", flat=True
        )
        if hood_ids:
            seen |= Q(neighbourhood_id__in=set(hood_ids))
        query = Survey.filter(seen)
    return (
        await query.order_by("-created_at")
        .limit(MANAGED_LIMIT)
        .select_related("neighbourhood", "organisation")
    )
