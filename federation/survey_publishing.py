"""Needs surveys on the wire: the neighbourhood Group's Create, Update and Delete of the
survey's `Question` (built in `federation.surveys_out`).

Called by the event consumer for `SurveyPublished`, `SurveyCountsChanged` and
`SurveyWithdrawn`. The Group is the Question's author, so Mastodon applies its Update
and Delete (it takes them only from the author).

- Create goes to the shared inboxes of the Group's followers.
- Update (new counts, debounced by `node.services.survey_updates`; the final ones at
  closing, with `closed`) goes to them and to the servers of the remote voters, who
  hold the poll even when they follow nobody here.
- Delete goes to all of those and to every inbox that was sent the Question before.

Activity ids are stable where an activity happens once per survey (Create, the closing
Update, Delete: derived from the survey's id), so an event handled twice sends nothing
twice. The counts Updates while open are many and say nothing once newer ones went
out: they are kept out of the Group's outbox collection and about no object, so
housekeeping prunes them with their deliveries after the retention period.
"""

from __future__ import annotations

import uuid
from typing import Any

from federation import activities, outbox
from federation.context import Federation
from federation.surveys_out import addressing, group_url, question_of, survey_url, tombstone
from node import uris
from node.models import Neighbourhood, OutboxActivity, RemoteActor, Survey, SurveyVote
from node.services.remote_follows import remote_followers
from node.timeutil import utcnow


def stable_activity_id(fed: Federation, survey_id: uuid.UUID | str, what: str) -> str:
    """The id of the one activity `what` ("create", "closed", "delete") of a survey."""
    key = uuid.uuid5(uuid.UUID(str(survey_id)), what)
    return uris.absolute(fed.settings, uris.activity(key))


async def _load(survey_id: str) -> Survey | None:
    return await Survey.get_or_none(id=uuid.UUID(survey_id)).prefetch_related("neighbourhood")


async def _follower_inboxes(hood: Neighbourhood) -> set[str]:
    return {follower.delivery_inbox for follower in await remote_followers(hood)}


async def _voter_inboxes(survey_id: uuid.UUID | str) -> set[str]:
    voters = SurveyVote.filter(survey_id=survey_id, remote_actor_id__not_isnull=True).values_list(
        "remote_actor_id", flat=True
    )
    actors = await RemoteActor.filter(id__in=list(set(await voters)))
    return {actor.delivery_inbox for actor in actors}


async def _about(
    fed: Federation,
    kind: str,
    activity_id: str,
    hood: Neighbourhood,
    obj: dict[str, Any],
    inboxes: set[str],
    *,
    object_uri: str | None,
) -> OutboxActivity:
    activity = activities.about_post(
        kind, activity_id, group_url(fed.settings, hood), obj, addressing(fed.settings, hood)
    )
    # The Question's @context defines votersCount: the activity around it must too.
    activity["@context"] = obj.get("@context", activity["@context"])
    return await outbox.enqueue(fed, hood, activity, sorted(inboxes), object_uri=object_uri)


async def on_survey_published(fed: Federation, payload: dict) -> str | None:
    survey = await _load(payload["survey_id"])
    if survey is None or survey.withdrawn_at is not None:
        return None
    activity_id = stable_activity_id(fed, survey.id, "create")
    if await OutboxActivity.exists(activity_uri=activity_id):
        return None
    document = await question_of(fed.settings, survey)
    inboxes = await _follower_inboxes(survey.neighbourhood)
    await _about(
        fed,
        "Create",
        activity_id,
        survey.neighbourhood,
        document,
        inboxes,
        object_uri=document["id"],
    )
    return f"Create of {document['id']} to {len(inboxes)} inbox(es)"


async def on_survey_counts_changed(fed: Federation, payload: dict) -> str | None:
    survey = await _load(payload["survey_id"])
    if survey is None or survey.withdrawn_at is not None:
        return None
    final = bool(payload.get("final"))
    if final:
        activity_id = stable_activity_id(fed, survey.id, "closed")
        if await OutboxActivity.exists(activity_uri=activity_id):
            return None
    else:
        _, activity_id = outbox.new_activity_id(fed)
    inboxes = await _follower_inboxes(survey.neighbourhood) | await _voter_inboxes(survey.id)
    if not inboxes and not final:
        return None  # nobody elsewhere holds the poll: nothing to refresh
    document = await question_of(fed.settings, survey)
    stored = await _about(
        fed,
        "Update",
        activity_id,
        survey.neighbourhood,
        document,
        inboxes,
        object_uri=document["id"] if final else None,
    )
    if not final:
        await OutboxActivity.filter(id=stored.id).update(public=False)
    what = "final counts" if final else "counts"
    return f"Update of {document['id']} ({what}) to {len(inboxes)} inbox(es)"


async def on_survey_withdrawn(fed: Federation, payload: dict) -> str | None:
    hood = await Neighbourhood.get_or_none(id=payload["neighbourhood_id"])
    if hood is None:
        return None
    survey_id = payload["survey_id"]
    activity_id = stable_activity_id(fed, survey_id, "delete")
    if await OutboxActivity.exists(activity_uri=activity_id):
        return None
    object_uri = survey_url(fed.settings, survey_id)
    if not await OutboxActivity.exists(object_uri=object_uri):
        return None  # never sent anywhere: nobody holds a copy to delete
    await outbox.cancel_pending(object_uri)
    survey = await Survey.get_or_none(id=uuid.UUID(survey_id))
    deleted = survey.withdrawn_at if survey is not None and survey.withdrawn_at else utcnow()
    inboxes = await _follower_inboxes(hood) | await _voter_inboxes(survey_id)
    inboxes = await outbox.with_earlier(inboxes, await outbox.inboxes_sent(object_uri=object_uri))
    await _about(
        fed,
        "Delete",
        activity_id,
        hood,
        tombstone(fed.settings, survey_id, deleted),
        inboxes,
        object_uri=object_uri,
    )
    await outbox.unlist(object_uri)
    return f"Delete of {object_uri} to {len(inboxes)} inbox(es)"
