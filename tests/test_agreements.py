"""FEP-0837 Offer(Agreement): an explicit offer to help, answered with Accept or Reject."""

from __future__ import annotations

import pytest

from node.models import Response
from node.services import responses
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node


def offer(remote: FakeRemote, post_id: str) -> dict:
    return remote.activity(
        "alice",
        "Offer",
        {
            "type": "Agreement",
            "stipulates": {
                "type": "Commitment",
                "satisfies": f"{BASE}/r/{post_id}#primary",
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
            },
        },
        content="<p>Ik heb een bestelwagen.</p>",
        to=[f"{BASE}/@greet"],
    )


@pytest.mark.parametrize("accept", [True, False])
async def test_offer_agreement_is_answered(node: Node, remote: FakeRemote, accept: bool) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    post = await factories.post(greet, hood)
    activity = offer(remote, str(post.id))
    assert (await node.post_activity(remote, "alice", activity)).status_code == 202
    await node.work()
    recorded = await Response.get(object_uri=activity["id"])
    assert recorded.kind == "offer" and recorded.via_agreement
    assert recorded.body == "Ik heb een bestelwagen."
    remote.received.clear()

    if accept:
        await responses.accept_helper(greet, recorded)
    else:
        await responses.decline_helper(greet, recorded)
    await node.work()
    [answer] = [r.json for r in remote.received if r.json["type"] in ("Accept", "Reject")]
    assert answer["type"] == ("Accept" if accept else "Reject")
    assert answer["object"] == activity["id"]
    assert answer["to"] == [remote.actor_url("alice")]
    if accept:
        result = answer["result"]
        assert result["type"] == "Agreement" and result["id"].startswith(f"{BASE}/r/{post.id}")
        assert result["stipulates"]["satisfies"] == f"{BASE}/r/{post.id}#primary"
    else:
        assert "result" not in answer


async def test_agreement_for_something_we_do_not_have_is_rejected(
    node: Node, remote: FakeRemote
) -> None:
    activity = offer(remote, "00000000-0000-0000-0000-000000000000")
    await node.post_activity(remote, "alice", activity)
    await node.work()
    assert await Response.all().count() == 0
