"""A needs survey as an independent implementation (Fedify) receives it and votes on it.

The peer follows the neighbourhood Group only, as a Mastodon user would. It must get the
Group's `Create(Question)` verified, and Fedify must read it as a poll: options with
their counts (`replies.totalItems`) and `votersCount` (which Fedify drops unless the
@context defines it). Four residents have voted already: too few for any count to go
out, so the poll starts at zero. The peer votes as Mastodon does (a `Create(Note)`
naming the option, no content, to the Group's inbox), the fifth voter, and the counts
follow: delivered twice, the vote counts once; an unknown option, and any vote after
closing, change nothing. The counts reach it as a verified
`Update` without `updated` (Mastodon would take that for an edit and reset its votes),
and the final one says `closed`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.fedify_peer import FedifyPeer
from tests.nodes import NodeProcess, eventually, run_script, running_nodes

pytestmark = pytest.mark.slow

SURVEY_SCRIPT = """
import asyncio, sys
from datetime import timedelta
from node import db, events
from node.models import Neighbourhood, Survey, SurveyVote
from node.services import accounts
from node.timeutil import utcnow

async def main(url):
    await db.open_database(url)
    try:
        hood = await Neighbourhood.get(slug="jette-centre")
        async with db.atomic():
            survey = await Survey.create(
                neighbourhood=hood, language="nl",
                question={"nl": "Waar heb je hulp bij nodig?", "fr": "De quoi as-tu besoin ?"},
                options=[{"nl": "Boodschappen", "fr": "Courses"},
                         {"nl": "Vervoer", "fr": "Transport"},
                         {"nl": "Tuin", "fr": "Jardin"}],
                closes_at=utcnow() + timedelta(days=7),
            )
            await events.emit(events.SurveyPublished(str(survey.id)))
            for n in range(4):
                voter = await accounts.create_account(f"voter{n}", f"Voter {n}")
                await SurveyVote.create(survey=survey, option=0, account=voter)
        print(survey.id)
    finally:
        await db.close_database()

asyncio.run(main(sys.argv[1]))
"""

# What the node's job does every minute, run now (closing the survey first if asked).
COUNTS_SCRIPT = """
import asyncio, sys
from datetime import timedelta
from node import db
from node.models import Survey
from node.services import survey_updates
from node.timeutil import utcnow

async def main(url, survey_id, close):
    await db.open_database(url)
    try:
        if close == "close":
            await Survey.filter(id=survey_id).update(closes_at=utcnow() - timedelta(seconds=1))
        print(await survey_updates.send_due_counts())
    finally:
        await db.close_database()

asyncio.run(main(*sys.argv[1:4]))
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    workdir: Path = tmp_path_factory.mktemp("surveys")
    with running_nodes(workdir, surveys={}) as started:
        yield started["surveys"]


async def as_poll(peer: FedifyPeer, received: dict[str, Any]) -> dict[str, Any]:
    """The received activity's object as Fedify reads a poll (peer.mjs, /control/poll)."""
    return await peer._call("POST", "poll", {"activity": received["raw"]})


def vote(peer: FedifyPeer, group: str, question: str, label: str, n: int) -> dict[str, Any]:
    voter = peer.actor_url
    return {
        "id": f"{voter}#votes/{n}/activity",
        "type": "Create",
        "actor": voter,
        "to": group,
        "object": {
            "id": f"{voter}#votes/{n}",
            "type": "Note",
            "name": label,
            "attributedTo": voter,
            "inReplyTo": question,
            "to": group,
        },
    }


def inbox_status(node: NodeProcess, activity_id: str) -> str | None:
    rows = node.query("SELECT status FROM inbox_items WHERE activity_id = ?", activity_id)
    status = rows[0][0] if rows else None
    return status if status not in (None, "pending") else None


def counted(node: NodeProcess, survey_id: str) -> list[tuple[int, str]]:
    return node.query(
        "SELECT option, note_uri FROM survey_votes WHERE survey_id = ? ORDER BY id", survey_id
    )


async def test_the_peer_sees_a_poll_votes_once_and_gets_the_counts(
    peer: FedifyPeer, node: NodeProcess
) -> None:
    group = node.url("/n/jette-centre")
    assert (await peer.follow(group))["delivered"] is True
    await peer.wait_for("Accept", where=lambda a: a["actor"] == group)
    survey_id = run_script(node, SURVEY_SCRIPT).splitlines()[-1]
    question_id = node.url(f"/surveys/{survey_id}")

    create = await peer.wait_for("Create", where=lambda a: a["object"] == question_id, seconds=20)
    assert create["signature"]["verifiedBy"] == "http-signature"
    assert create["actor"] == group and create["raw"]["object"]["attributedTo"] == group
    poll = await as_poll(peer, create)
    # Shown with `pytest -s`: the Create as the peer received it, and as Fedify read it.
    print(json.dumps(create["raw"], indent=1, ensure_ascii=False), json.dumps(poll, indent=1))
    assert poll["id"] == question_id and poll["multiple"] is False
    # Four votes are counted here already, but so few show nothing.
    assert poll["options"] == [
        {"name": "Boodschappen", "totalItems": 0},
        {"name": "Vervoer", "totalItems": 0},
        {"name": "Tuin", "totalItems": 0},
    ]
    assert poll["voters"] == 0 and poll["endTime"] and poll["closed"] is None

    # The same vote twice (a retry under a new activity id): counted once.
    first = vote(peer, group, question_id, "Tuin", 1)
    await peer.send(group, first)
    await peer.send(group, first | {"id": f"{peer.actor_url}#votes/1/retry"})
    assert await eventually(lambda: inbox_status(node, f"{peer.actor_url}#votes/1/retry"))
    assert counted(node, survey_id)[4:] == [(2, f"{peer.actor_url}#votes/1")]
    statuses = node.query(
        "SELECT status FROM inbox_items WHERE activity_id LIKE ? ORDER BY id",
        f"{peer.actor_url}#votes/1%",
    )
    assert statuses == [("processed",), ("ignored",)]

    unknown = vote(peer, group, question_id, "Zwemmen", 2)
    await peer.send(group, unknown)
    assert await eventually(lambda: inbox_status(node, unknown["id"])) == "rejected"
    assert len(counted(node, survey_id)) == 5

    run_script(node, COUNTS_SCRIPT, survey_id, "")  # (or the node's own job, within a minute)
    update = await peer.wait_for("Update", where=lambda a: a["object"] == question_id, seconds=90)
    assert update["signature"]["verifiedBy"] == "http-signature"
    assert "updated" not in update["raw"]["object"]
    poll = await as_poll(peer, update)
    assert [o["totalItems"] for o in poll["options"]] == [4, 0, 1]
    assert poll["voters"] == 5 and poll["closed"] is None
    # Why the @context defines votersCount: without it Fedify (as Mastodon) drops it.
    bare = update | {"raw": update["raw"] | {"@context": "https://www.w3.org/ns/activitystreams"}}
    bare["raw"]["object"] = update["raw"]["object"] | {"@context": bare["raw"]["@context"]}
    assert (await as_poll(peer, bare))["voters"] is None

    run_script(node, COUNTS_SCRIPT, survey_id, "close")
    final = await peer.wait_for(
        "Update",
        where=lambda a: a["object"] == question_id and "closed" in a["raw"]["object"],
        seconds=20,
    )
    assert final["signature"]["verifiedBy"] == "http-signature"
    poll = await as_poll(peer, final)
    assert poll["closed"] and poll["closed"] == poll["endTime"]
    assert [o["totalItems"] for o in poll["options"]] == [4, 0, 1]

    # After closing a vote (even for a valid option, from someone new) changes nothing.
    late = vote(peer, group, question_id, "Vervoer", 3)
    await peer.send(group, late)
    assert await eventually(lambda: inbox_status(node, late["id"])) == "ignored"
    assert counted(node, survey_id)[4:] == [(2, f"{peer.actor_url}#votes/1")]
