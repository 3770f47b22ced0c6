"""Needs surveys on the wire: the Group's `Question` (its counts only from five voters
on), votes as Mastodon sends them (one per person per series of surveys), and the
debounced `Update`s with the counts. In one process, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.handlers.votes import vote_label
from federation.parse import parse_note
from federation.vocab import PUBLIC
from node import db, events
from node.models import (
    Event,
    InboxItem,
    InboxStatus,
    Neighbourhood,
    OutboxActivity,
    Response,
    Survey,
    SurveyVote,
)
from node.services import survey_updates
from node.timeutil import utcnow
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node

AP = {"accept": "application/activity+json"}
GROUP = f"{BASE}/n/jette-centre"
GROUP_INBOX = "/n/jette-centre/inbox"


async def publish(hood: Neighbourhood, *, multiple: bool = False, **fields: Any) -> Survey:
    """A survey as the publish service stores it: the row and its event, together."""
    fields.setdefault("closes_at", utcnow() + timedelta(days=7))
    async with db.atomic():
        survey = await Survey.create(
            neighbourhood=hood,
            language="nl",
            question={"nl": "Waar heb je <vaak> hulp bij nodig?", "fr": "De quoi as-tu besoin ?"},
            options=[
                {"nl": "Boodschappen", "fr": "Courses"},
                {"nl": "Vervoer", "fr": "Transport"},
                {"nl": "Tuin", "fr": "Jardin"},
            ],
            multiple=multiple,
            **fields,
        )
        await events.emit(events.SurveyPublished(str(survey.id)))
    return survey


def survey_id_url(survey: Survey) -> str:
    return f"{BASE}/surveys/{survey.id}"


def vote_activity(
    remote: FakeRemote, name: str, survey: Survey, label: str, n: int, **note: Any
) -> dict[str, Any]:
    """A vote exactly as Mastodon sends it: one Create per option, no content."""
    voter = remote.actor_url(name)
    obj = {
        "id": f"{voter}#votes/{n}",
        "type": "Note",
        "name": label,
        "attributedTo": voter,
        "inReplyTo": survey_id_url(survey),
        "to": GROUP,
        **note,
    }
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{voter}#votes/{n}/activity",
        "type": "Create",
        "actor": voter,
        "to": GROUP,
        "object": obj,
    }


async def send(node: Node, remote: FakeRemote, name: str, activity: dict[str, Any]) -> InboxItem:
    answer = await node.post_activity(remote, name, activity, path=GROUP_INBOX)
    assert answer.status_code == 202
    await node.work()
    return await InboxItem.get(activity_id=activity["id"])


def sent(remote: FakeRemote, kind: str) -> list[dict[str, Any]]:
    return [r.json for r in remote.received if r.json["type"] == kind]


async def follow_group(node: Node, remote: FakeRemote, name: str = "bob") -> None:
    await node.post_activity(remote, name, remote.activity(name, "Follow", GROUP))
    await node.work()
    remote.received.clear()


async def local_votes(survey: Survey, *options: int) -> None:
    for option in options:
        await SurveyVote.create(survey=survey, option=option, account=await factories.account())


async def test_the_question_has_the_shape_mastodon_reads(node: Node) -> None:
    hood = await factories.neighbourhood("jette-centre")
    survey = await publish(hood)
    await local_votes(survey, 1, 1, 2, 0)
    # Four voters: no counts go out (a count this small could tell who chose what).
    early = (await node.client.get(f"/surveys/{survey.id}", headers=AP)).json()
    assert [o["replies"]["totalItems"] for o in early["oneOf"]] == [0, 0, 0]
    assert early["votersCount"] == 0
    await local_votes(survey, 1)

    answer = await node.client.get(f"/surveys/{survey.id}", headers=AP)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/activity+json")
    question = answer.json()
    assert question["type"] == "Question" and question["id"] == survey_id_url(survey)
    assert question["attributedTo"] == GROUP and question["audience"] == GROUP
    assert question["to"] == [PUBLIC] and question["cc"] == [f"{GROUP}/followers"]
    # Mastodon reads votersCount only when the context defines it.
    assert {"votersCount": "toot:votersCount"}.items() <= question["@context"][1].items()
    assert question["content"] == "<p>Waar heb je &lt;vaak&gt; hulp bij nodig?</p>"
    assert question["contentMap"]["fr"] == "<p>De quoi as-tu besoin ?</p>"
    assert "anyOf" not in question and len(question["oneOf"]) == 3
    assert question["oneOf"][1] == {
        "type": "Note",
        "name": "Vervoer",
        "nameMap": {"nl": "Vervoer", "fr": "Transport"},
        "replies": {"type": "Collection", "totalItems": 3},
    }
    assert question["votersCount"] == 5
    assert question["endTime"].endswith("Z") and question["published"].endswith("Z")
    # Open: no `closed`; never `updated` (Mastodon would take it for an edit).
    assert "closed" not in question and "updated" not in question

    survey.closes_at = utcnow() - timedelta(minutes=1)
    survey.multiple = True
    await survey.save()
    closed = (await node.client.get(f"/surveys/{survey.id}", headers=AP)).json()
    assert closed["closed"] == closed["endTime"] and isinstance(closed["closed"], str)
    assert "oneOf" not in closed and len(closed["anyOf"]) == 3

    survey.withdrawn_at = utcnow()
    await survey.save()
    gone = await node.client.get(f"/surveys/{survey.id}", headers=AP)
    assert gone.status_code == 410
    assert gone.json()["type"] == "Tombstone" and gone.json()["formerType"] == "Question"


@pytest.mark.parametrize(
    "path",
    [
        "/surveys/00000000-0000-4000-8000-000000000000",
        "/surveys/00000000-0000-4000-8000-00000000000A",  # another spelling is another URL
        "/surveys/not-a-uuid",
    ],
)
async def test_no_question_at_other_urls(node: Node, path: str) -> None:
    answer = await node.client.get(path, headers=AP)
    assert answer.status_code == 404 and answer.json() == {"error": "no such object"}


async def test_the_group_creates_the_question_for_its_followers_once(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    await follow_group(node, remote)
    survey = await publish(hood)
    await node.work()
    [create] = sent(remote, "Create")
    assert create["actor"] == GROUP and create["object"]["type"] == "Question"
    assert create["object"]["id"] == survey_id_url(survey)
    assert "@context" not in create["object"] and create["@context"][1]["toot"]
    assert remote.received[0].path == "/inbox"  # the follower's shared inbox

    # The event handled again (a worker that died before marking it) sends nothing new.
    await events.emit(events.SurveyPublished(str(survey.id)))
    await node.work()
    assert len(sent(remote, "Create")) == 1
    assert await OutboxActivity.filter(activity_type="Create").count() == 1


async def test_a_vote_delivered_twice_is_counted_once(node: Node, remote: FakeRemote) -> None:
    hood = await factories.neighbourhood("jette-centre")
    survey = await publish(hood)
    await node.work()
    vote = vote_activity(remote, "alice", survey, "Vervoer", 1)

    first = await send(node, remote, "alice", vote)
    # The same Note in another activity (a retry under a new id): the same vote.
    again = await send(node, remote, "alice", vote | {"id": remote.new_id()})

    assert (first.status, first.outcome) == (InboxStatus.PROCESSED, "vote counted")
    assert again.status == InboxStatus.IGNORED
    rows = await SurveyVote.filter(survey=survey).values_list("option", "note_uri")
    assert rows == [(1, f"{remote.actor_url('alice')}#votes/1")]
    assert not await Response.exists()  # a vote is never a reply


async def test_a_vote_label_in_another_language_and_on_several_options(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    survey = await publish(hood, multiple=True)
    await send(node, remote, "alice", vote_activity(remote, "alice", survey, "Courses", 1))
    await send(node, remote, "alice", vote_activity(remote, "alice", survey, "Tuin", 2))
    assert sorted(await SurveyVote.filter(survey=survey).values_list("option", flat=True)) == [0, 2]


@pytest.mark.parametrize(
    ("label", "note", "status"),
    [
        ("Zwemmen", {}, InboxStatus.REJECTED),  # no such option
        ("x" * 600, {}, InboxStatus.REJECTED),
        # Attributed to someone else than the sender: the origin check refuses it.
        ("Vervoer", {"attributedTo": "http://elsewhere.example/users/eve"}, InboxStatus.REJECTED),
        # With content it is a comment on the survey, which is taken as nothing.
        ("Vervoer", {"content": "<p>Vervoer!</p>"}, InboxStatus.IGNORED),
    ],
)
async def test_what_is_not_a_vote_here_counts_nothing(
    node: Node, remote: FakeRemote, label: str, note: dict[str, Any], status: InboxStatus
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    survey = await publish(hood)
    item = await send(
        node, remote, "alice", vote_activity(remote, "alice", survey, label, 1, **note)
    )
    assert item.status == status
    assert not await SurveyVote.exists() and not await Response.exists()


async def test_votes_after_closing_or_a_second_answer_count_nothing(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    survey = await publish(hood)
    counted = await send(node, remote, "alice", vote_activity(remote, "alice", survey, "Tuin", 1))
    second = await send(node, remote, "alice", vote_activity(remote, "alice", survey, "Vervoer", 2))
    assert counted.status == InboxStatus.PROCESSED and second.status == InboxStatus.REJECTED

    survey.closes_at = utcnow() - timedelta(seconds=1)
    await survey.save()
    late = await send(node, remote, "bob", vote_activity(remote, "bob", survey, "Vervoer", 1))
    assert (late.status, late.outcome) == (InboxStatus.IGNORED, "vote on a closed survey")
    assert await SurveyVote.filter(survey=survey).values_list("option", flat=True) == [2]


async def test_a_vote_on_no_survey_of_ours_counts_nothing(node: Node, remote: FakeRemote) -> None:
    hood = await factories.neighbourhood("jette-centre")
    survey = await publish(hood)
    vote = vote_activity(remote, "alice", survey, "Tuin", 1)
    vote["object"]["inReplyTo"] = f"{BASE}/surveys/00000000-0000-4000-8000-000000000000"
    item = await send(node, remote, "alice", vote)
    assert item.status == InboxStatus.IGNORED and not await SurveyVote.exists()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.one_of(st.none(), st.integers(), st.text(max_size=20), st.lists(st.text(), max_size=2)),
    content=st.one_of(st.none(), st.just(""), st.just("  "), st.text(min_size=1, max_size=10)),
)
def test_only_a_named_note_without_content_is_a_vote(name: object, content: object) -> None:
    actor = "http://remote.example/users/alice"
    obj: dict[str, Any] = {
        "id": f"{actor}#votes/1",
        "type": "Note",
        "attributedTo": actor,
        "inReplyTo": f"{BASE}/surveys/00000000-0000-4000-8000-000000000000",
        "name": name,
        "content": content,
    }
    label = vote_label(obj, parse_note(obj, actor))
    is_vote = isinstance(name, str) and bool(name.strip())
    is_vote = is_vote and not (isinstance(content, str) and content.strip())
    assert (label is not None) == is_vote
    assert label is None or label == name


async def test_counts_go_out_debounced_and_once_at_closing(database: str) -> None:
    hood = await factories.neighbourhood("jette-centre")
    survey = await publish(hood)
    quiet = await publish(hood)  # no votes: nothing to send while open
    now = utcnow()
    assert await survey_updates.send_due_counts(now) == 0
    await SurveyVote.create(survey=survey, option=0, account=await factories.account("amina"))

    assert await survey_updates.send_due_counts(now) == 1
    assert await survey_updates.send_due_counts(now) == 0  # nothing new
    await SurveyVote.create(survey=survey, option=1, account=await factories.account("bram"))
    assert await survey_updates.send_due_counts(now + timedelta(seconds=30)) == 0  # too soon
    assert await survey_updates.send_due_counts(now + timedelta(seconds=61)) == 1
    assert await survey_updates.send_due_counts(now + timedelta(seconds=200)) == 0

    closing = survey.closes_at + timedelta(seconds=1)
    assert await survey_updates.send_due_counts(closing) == 2  # both surveys' final counts
    assert await survey_updates.send_due_counts(closing + timedelta(hours=1)) == 0
    emitted = [
        (row.payload["survey_id"], row.payload["final"])
        for row in await Event.filter(kind="SurveyCountsChanged").order_by("id")
    ]
    mine, other = str(survey.id), str(quiet.id)
    assert emitted[:2] == [(mine, False), (mine, False)]
    assert sorted(emitted[2:]) == sorted([(mine, True), (other, True)])
    await survey.refresh_from_db()
    assert survey.closed_sent_at is not None


async def test_a_withdrawn_survey_gets_no_counts(database: str) -> None:
    hood = await factories.neighbourhood("jette-centre")
    survey = await publish(hood, withdrawn_at=utcnow())
    await SurveyVote.create(survey=survey, option=0, account=await factories.account("amina"))
    assert await survey_updates.send_due_counts() == 0
    assert await survey_updates.send_due_counts(survey.closes_at + timedelta(seconds=1)) == 0


async def test_counts_reach_followers_and_voters_and_withdrawal_deletes(
    node: Node, remote: FakeRemote
) -> None:
    """alice votes without following anyone here: her server still gets the counts."""
    hood = await factories.neighbourhood("jette-centre")
    survey = await publish(hood)
    await node.work()
    assert remote.received == []  # nobody follows the Group yet
    await local_votes(survey, 0, 0, 1, 0)
    await send(node, remote, "alice", vote_activity(remote, "alice", survey, "Tuin", 1))
    assert await survey_updates.send_due_counts() == 1
    await node.work()

    [update] = sent(remote, "Update")
    assert update["actor"] == GROUP and remote.received[-1].path == "/inbox"
    question = update["object"]
    assert [o["replies"]["totalItems"] for o in question["oneOf"]] == [3, 1, 1]
    assert question["votersCount"] == 5 and "updated" not in question
    assert "closed" not in question
    # Counts while open stay out of the Group's outbox collection.
    outbox = (await node.client.get("/n/jette-centre/outbox?page=1")).json()
    assert [a["type"] for a in outbox["orderedItems"]] == ["Create"]

    remote.received.clear()
    survey.closes_at = utcnow() - timedelta(seconds=1)
    await survey.save(update_fields=["closes_at"])
    assert await survey_updates.send_due_counts() == 1
    await node.work()
    [final] = sent(remote, "Update")
    assert final["object"]["closed"] == final["object"]["endTime"]

    remote.received.clear()
    async with db.atomic():
        survey.withdrawn_at = utcnow()
        await survey.save(update_fields=["withdrawn_at"])
        await events.emit(events.SurveyWithdrawn(str(survey.id), hood.id))
    await node.work()
    [delete] = sent(remote, "Delete")
    assert delete["actor"] == GROUP
    assert delete["object"]["id"] == survey_id_url(survey)
    assert delete["object"]["type"] == "Tombstone"
    outbox = (await node.client.get("/n/jette-centre/outbox?page=1")).json()
    assert [a["type"] for a in outbox["orderedItems"]] == ["Delete"]


async def test_counts_nobody_elsewhere_holds_are_not_stored(node: Node) -> None:
    hood = await factories.neighbourhood("jette-centre")
    survey = await publish(hood)
    await SurveyVote.create(survey=survey, option=0, account=await factories.account("amina"))
    assert await survey_updates.send_due_counts() == 1
    await node.work()
    kinds = await OutboxActivity.all().values_list("activity_type", flat=True)
    assert kinds == ["Create"]  # no follower, no remote voter: no Update to keep


async def test_a_remote_voter_answers_one_copy_of_a_series(node: Node, remote: FakeRemote) -> None:
    """A survey for two neighbourhoods is two Questions; a person answers one of them."""
    hood = await factories.neighbourhood("jette-centre")
    other = await factories.neighbourhood("laeken")
    first = await publish(hood)
    async with db.atomic():
        second = await Survey.create(
            series=first.series,
            neighbourhood=other,
            language="nl",
            question=first.question,
            options=first.options,
            closes_at=first.closes_at,
        )
    counted = await send(node, remote, "alice", vote_activity(remote, "alice", first, "Tuin", 1))
    vote = vote_activity(remote, "alice", second, "Vervoer", 2)
    vote["to"] = vote["object"]["to"] = f"{BASE}/n/laeken"
    answer = await node.post_activity(remote, "alice", vote, path="/n/laeken/inbox")
    assert answer.status_code == 202
    await node.work()
    again = await InboxItem.get(activity_id=vote["id"])
    assert counted.status == InboxStatus.PROCESSED and again.status == InboxStatus.REJECTED
    assert await SurveyVote.filter(survey=second).count() == 0
    bob = await send(node, remote, "bob", vote_activity(remote, "bob", second, "Vervoer", 1))
    assert bob.status == InboxStatus.PROCESSED
