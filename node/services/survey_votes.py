"""Votes on needs surveys, from residents here and from people on other servers.

A resident votes on the node (one vote per account; a multiple-choice vote is several
options at once) and may change it while the survey is open when the survey allows it.
A remote vote arrives the way Mastodon sends it: one `Note` per chosen option, whose
`name` is the option's label and whose `inReplyTo` is the survey's `Question`. It is
counted once however often it is delivered (its Note id is unique), and never changed
afterwards (Mastodon cannot change a vote). Votes for an unknown option, on a closed or
withdrawn survey, or a second option of a single-choice survey change nothing.
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
from node.timeutil import as_utc, utcnow


class RemoteVote(StrEnum):
    COUNTED = "counted"
    DUPLICATE = "duplicate"  # the same Note again, or this option from this actor
    UNKNOWN_OPTION = "unknown-option"
    CLOSED = "closed"  # after the closing date, or withdrawn
    ALREADY_VOTED = "already-voted"  # another option of a single-choice survey


@dataclass(frozen=True, slots=True)
class Tally:
    counts: tuple[int, ...]  # per option, in the survey's order
    voters: int  # people who voted (a multiple-choice voter counts once)


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


async def vote_local(account: Account, survey: Survey, options: Sequence[int]) -> list[int]:
    """Record (or, when the survey allows it, replace) `account`'s vote."""
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
        locked = await Survey.select_for_update().get_or_none(id=survey.id)
        if locked is None:
            raise NotFound("no such survey")
        if not is_open(locked):
            raise Conflict("this survey is closed")
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
    """Count one option of a remote vote (one `Note`), once."""
    async with db.atomic():
        locked = await Survey.select_for_update().get_or_none(id=survey.id)
        if locked is None:
            raise NotFound("no such survey")
        if await SurveyVote.exists(note_uri=note_uri):
            return RemoteVote.DUPLICATE
        if not is_open(locked):
            return RemoteVote.CLOSED
        index = option_index(locked, label)
        if index is None:
            return RemoteVote.UNKNOWN_OPTION
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
