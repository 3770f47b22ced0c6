"""Votes on needs surveys, from residents here and from people on other servers.

A resident votes on the node (one vote per account; a multiple-choice vote is several
options at once) and may change it while the survey is open when the survey allows it.
A remote vote arrives the way Mastodon sends it: one `Note` per chosen option, whose
`name` is the option's label and whose `inReplyTo` is the survey's `Question`. It is
counted once however often it is delivered (its Note id is unique), and never changed
afterwards (Mastodon cannot change a vote). Votes for an unknown option, on a closed or
withdrawn survey, or a second option of a single-choice survey change nothing.

A survey published for several neighbourhoods is one survey per neighbourhood sharing a
`series`, and a person answers it once: an account votes on its home neighbourhood's
copy when the series has one, else on any single copy; a remote actor on the first copy
it votes on. Withdrawn copies do not count. Votes on a series are taken with all its rows
locked, so two votes at once on two copies cannot both be counted.

Counts from fewer than `RESULTS_FROM` voters (`SUPPRESS_BELOW`, the rule of every needs
figure) could tell who chose what: `results_shown` says whether a tally may be shown,
and `public_tally` is what may be published (zeros until then).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from node import db
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.models import Account, RemoteActor, Survey, SurveyVote
from node.services.needs_privacy import SUPPRESS_BELOW, enough
from node.timeutil import as_utc, utcnow

RESULTS_FROM = SUPPRESS_BELOW  # voters a survey needs before its counts are shown


class RemoteVote(StrEnum):
    COUNTED = "counted"
    DUPLICATE = "duplicate"  # the same Note again, or this option from this actor
    UNKNOWN_OPTION = "unknown-option"
    CLOSED = "closed"  # after the closing date, or withdrawn
    # Another option of a single-choice survey, or a vote on another survey of the series.
    ALREADY_VOTED = "already-voted"


@dataclass(frozen=True, slots=True)
class Tally:
    counts: tuple[int, ...]  # per option, in the survey's order
    voters: int  # people who voted (a multiple-choice voter counts once)


@dataclass(frozen=True, slots=True)
class Elsewhere:
    """Where an account answers a survey's series instead (loaded with its neighbourhood):
    the copy it voted on (`voted`), or its home neighbourhood's."""

    survey: Survey
    voted: bool


class VotesElsewhere(Conflict):
    """The account answers this survey's series on another of its copies."""

    def __init__(self, elsewhere: Elsewhere) -> None:
        super().__init__(
            "one vote per person per survey: this person votes in another neighbourhood"
        )
        self.elsewhere = elsewhere


def results_shown(tally: Tally) -> bool:
    """Whether a survey's counts may be shown: not before `RESULTS_FROM` people voted."""
    return enough(tally.voters)


def public_tally(tally: Tally) -> Tally:
    """What may be published of `tally`: itself, or zeros while too few people voted."""
    return tally if results_shown(tally) else Tally((0,) * len(tally.counts), 0)


def is_open(survey: Survey, now: datetime | None = None) -> bool:
    return survey.withdrawn_at is None and as_utc(survey.closes_at) > (now or utcnow())


def option_index(survey: Survey, label: str) -> int | None:
    """The option a remote vote names: Mastodon sends back the `name` we published (the
    lead language); a label in one of the other languages (`nameMap`) is accepted too."""
    wanted = label.strip()
    for index, option in enumerate(survey.options):
        if option.get(survey.language, "").strip() == wanted:
            return index
    for index, option in enumerate(survey.options):
        if any(text.strip() == wanted for text in option.values()):
            return index
    return None


async def tally(survey: Survey) -> Tally:
    rows = await SurveyVote.filter(survey_id=survey.id).values_list(
        "option", "account_id", "remote_actor_id"
    )
    counts = [0] * len(survey.options)
    voters: set[tuple[str, int]] = set()
    for option, account_id, remote_id in rows:
        if 0 <= option < len(counts):
            counts[option] += 1
        voters.add(("a", account_id) if account_id is not None else ("r", remote_id))
    return Tally(tuple(counts), len(voters))


async def choices_of(account: Account, survey: Survey) -> list[int]:
    return sorted(
        await SurveyVote.filter(survey_id=survey.id, account_id=account.id).values_list(
            "option", flat=True
        )
    )


async def _lock_series(survey: Survey) -> Survey | None:
    """Lock every survey of `survey`'s series (in one order, so two votes cannot deadlock)
    and return `survey`'s row as stored, or None when it is gone."""
    rows = await Survey.select_for_update().filter(series=survey.series).order_by("id")
    return next((row for row in rows if row.id == survey.id), None)


async def vote_elsewhere(account: Account, survey: Survey) -> Elsewhere | None:
    """Where `account` answers `survey`'s series when not on `survey`: the copy it voted
    on, else its home neighbourhood's copy; None when it votes (or may vote) here."""
    voted_on = set(
        await SurveyVote.filter(
            account_id=account.id, survey__series=survey.series, survey__withdrawn_at=None
        ).values_list("survey_id", flat=True)
    )
    if survey.id in voted_on:
        return None
    if voted_on:
        other = await Survey.get(id=min(voted_on)).select_related("neighbourhood")
        return Elsewhere(other, voted=True)
    home = account.home_neighbourhood_id
    if home is None or home == survey.neighbourhood_id:
        return None
    copy = (
        await Survey.filter(series=survey.series, neighbourhood_id=home, withdrawn_at=None)
        .select_related("neighbourhood")
        .first()
    )
    return Elsewhere(copy, voted=False) if copy is not None else None


async def vote_local(account: Account, survey: Survey, options: Sequence[int]) -> list[int]:
    """Record (or, when the survey allows it, replace) `account`'s vote; on another copy
    of the series than the account's (`vote_elsewhere`), `VotesElsewhere`."""
    if not account.is_active:
        raise PermissionDenied("this account is suspended")
    chosen = sorted(set(options))
    if not chosen:
        raise InvalidInput("option", N_("choose an option"))
    if any(not 0 <= index < len(survey.options) for index in chosen):
        raise InvalidInput("option", N_("no such option"))
    if len(chosen) > 1 and not survey.multiple:
        raise InvalidInput("option", N_("this survey takes one answer"))
    async with db.atomic():
        locked = await _lock_series(survey)
        if locked is None:
            raise NotFound("no such survey")
        if not is_open(locked):
            raise Conflict("this survey is closed")
        elsewhere = await vote_elsewhere(account, locked)
        if elsewhere is not None:
            raise VotesElsewhere(elsewhere)
        earlier = await choices_of(account, locked)
        if earlier == chosen:
            return chosen
        if earlier and not locked.changeable:
            raise Conflict("you have already voted, and this survey's votes cannot change")
        await SurveyVote.filter(survey_id=locked.id, account_id=account.id).delete()
        await SurveyVote.bulk_create(
            [SurveyVote(survey_id=locked.id, account_id=account.id, option=i) for i in chosen]
        )
    return chosen


async def vote_remote(actor: RemoteActor, survey: Survey, label: str, note_uri: str) -> RemoteVote:
    """Count one option of a remote vote (one `Note`), once, on one copy of the series."""
    async with db.atomic():
        locked = await _lock_series(survey)
        if locked is None:
            raise NotFound("no such survey")
        if await SurveyVote.exists(note_uri=note_uri):
            return RemoteVote.DUPLICATE
        if not is_open(locked):
            return RemoteVote.CLOSED
        index = option_index(locked, label)
        if index is None:
            return RemoteVote.UNKNOWN_OPTION
        other_copies = SurveyVote.filter(
            remote_actor_id=actor.id, survey__series=locked.series, survey__withdrawn_at=None
        ).exclude(survey_id=locked.id)
        if await other_copies.exists():
            return RemoteVote.ALREADY_VOTED
        earlier = set(
            await SurveyVote.filter(survey_id=locked.id, remote_actor_id=actor.id).values_list(
                "option", flat=True
            )
        )
        if index in earlier:
            return RemoteVote.DUPLICATE
        if earlier and not locked.multiple:
            return RemoteVote.ALREADY_VOTED
        await SurveyVote.create(
            survey_id=locked.id, remote_actor_id=actor.id, option=index, note_uri=note_uri
        )
    return RemoteVote.COUNTED
