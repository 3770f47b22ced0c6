"""A needs survey as the ActivityPub `Question` its neighbourhood's Group publishes.

Mastodon shows a `Question` with `oneOf` (one answer) or `anyOf` (several) as a poll and
reads, per option, `name` (never `nameMap`) and `replies.totalItems`; `votersCount` only
when the @context defines it (`toot:votersCount`), as Fedify drops undefined terms too.
A poll closes at `endTime`; once it has, `closed` carries that time as a date string
(`closed: true` would mean "now" to Mastodon, moving the closing to when it reads it).
The Question never carries `updated`: Mastodon reads an `Update` with a newer `updated`
as an edit, which resets its votes (and is ignored when the options differ); without
it, an `Update` only refreshes the counts. The options never change once published.
Counts go out only from `survey_votes.RESULTS_FROM` voters on (fewer could tell who
chose what): before that every option's count and `votersCount` are 0.

`survey_document` serves it at the survey's URL to ActivityStreams requests (a
withdrawn survey is a `Tombstone`, 410).
"""

from __future__ import annotations

import html
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from federation import activities
from federation.documents import activity_json, not_found
from federation.vocab import AS_CONTEXT, PUBLIC
from node import uris
from node.config import Settings
from node.models import Neighbourhood, Survey
from node.services import survey_votes
from node.timeutil import as_utc

CONTEXT: list[Any] = [
    AS_CONTEXT,
    {"toot": "http://joinmastodon.org/ns#", "votersCount": "toot:votersCount"},
]


def survey_url(settings: Settings, survey_id: uuid.UUID | str) -> str:
    return uris.absolute(settings, uris.survey(survey_id))


def group_url(settings: Settings, hood: Neighbourhood) -> str:
    return uris.absolute(settings, uris.neighbourhood(hood.slug))


def addressing(settings: Settings, hood: Neighbourhood) -> dict[str, list[str]]:
    """Public, and the Group's followers (whose home timelines show the poll)."""
    followers = uris.absolute(settings, uris.followers(uris.neighbourhood(hood.slug)))
    return {"to": [PUBLIC], "cc": [followers]}


def _paragraph(text: str) -> str:
    return f"<p>{html.escape(text, quote=False)}</p>"


def _option(survey: Survey, index: int, count: int) -> dict[str, Any]:
    labels = {lang: text for lang, text in survey.options[index].items() if text}
    return {
        "type": "Note",
        # What Mastodon shows and sends back in a vote: the lead language's label.
        "name": survey.option_labels(survey.language)[index],
        "nameMap": labels,
        "replies": {"type": "Collection", "totalItems": count},
    }


def question(
    settings: Settings, survey: Survey, hood: Neighbourhood, tally: survey_votes.Tally
) -> dict[str, Any]:
    """The survey as a `Question` with its counts now (pure: the caller loads the tally),
    zeros while too few people voted."""
    tally = survey_votes.public_tally(tally)
    group = group_url(settings, hood)
    texts = {lang: text for lang, text in survey.question.items() if text}
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": survey_url(settings, survey.id),
        "type": "Question",
        "attributedTo": group,
        "url": survey_url(settings, survey.id),
        "content": _paragraph(survey.question_in(survey.language)),
        "contentMap": {lang: _paragraph(text) for lang, text in texts.items()},
        "anyOf" if survey.multiple else "oneOf": [
            _option(survey, index, count) for index, count in enumerate(tally.counts)
        ],
        "endTime": activities.isoformat(as_utc(survey.closes_at)),
        "votersCount": tally.voters,
        "published": activities.isoformat(as_utc(survey.created_at)),
        "audience": group,
        **addressing(settings, hood),
    }
    if not survey_votes.is_open(survey) and survey.withdrawn_at is None:
        document["closed"] = document["endTime"]
    return document


async def question_of(settings: Settings, survey: Survey) -> dict[str, Any]:
    """The `Question` of a survey loaded with its neighbourhood, counted now."""
    return question(settings, survey, survey.neighbourhood, await survey_votes.tally(survey))


def tombstone(settings: Settings, survey_id: uuid.UUID | str, deleted: Any) -> dict[str, Any]:
    return activities.tombstone(survey_url(settings, survey_id), deleted, "Question")


async def survey_document(request: Request) -> Response:
    """GET /surveys/<id> as ActivityStreams: the Question, or its Tombstone (410)."""
    settings: Settings = request.app.state.settings
    # Served only at its id: other spellings of the UUID are not this Question's URL.
    survey_id = uris.id_key(request.path_params["survey_id"])
    if survey_id is None:
        return not_found("object")
    survey = await Survey.get_or_none(id=survey_id).prefetch_related("neighbourhood")
    if survey is None:
        return not_found("object")
    if survey.withdrawn_at is not None:
        return activity_json(tombstone(settings, survey.id, survey.withdrawn_at), 410)
    return activity_json(await question_of(settings, survey))
