"""A request's private conversation with a helper on an independent implementation.

The Fedify peer offers help by replying to a request, is accepted, and then gets the
author's conversation message as a `Create` of a direct Note whose signature Fedify
verified: addressed to alice alone (no Public, no followers), with a Mention of her,
answering the direct message that accepted her. Alice answers it directly (to the
author alone, as Mastodon's "private mention"), and her answer is in the conversation,
never among the request's public responses.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.fedify_peer import FedifyPeer
from tests.nodes import (
    NodeProcess,
    accept_first_offer,
    eventually,
    run_script,
    running_nodes,
    write_post,
)

pytestmark = pytest.mark.slow

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

MESSAGE_SCRIPT = """
import asyncio, sys
from node import db
from node.models import Account, HelpPost
from node.services import conversations

async def main(url, username, post_id, text):
    await db.open_database(url)
    try:
        author = await Account.get(username=username)
        post = await HelpPost.get(id=post_id)
        message = await conversations.post_message(author, post, text)
        print(message.id)
    finally:
        await db.close_database()

asyncio.run(main(*sys.argv[1:5]))
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    workdir: Path = tmp_path_factory.mktemp("conversation")
    with running_nodes(workdir, conversation={}) as started:
        yield started["conversation"]


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


async def test_a_helper_on_fedify_talks_privately_with_the_author(
    peer: FedifyPeer, node: NodeProcess
) -> None:
    author = node.url("/@marleen")
    post_id = write_post(node, "Wie helpt de kast dragen? (gesprek)")
    note_url = node.url(f"/r/{post_id}")
    reply = await peer.reply(note_url, author, "<p>Ik kan zaterdag helpen.</p>")
    assert reply["delivered"] is True
    await eventually(
        lambda: node.query("SELECT id FROM responses WHERE object_uri = ?", reply["noteId"]),
        seconds=20,
    )
    accept_first_offer(node, post_id)
    await peer.wait_for(
        "Create",
        where=lambda a: a["activity"]["object"].get("inReplyTo") == reply["noteId"],
        seconds=20,
    )

    text = "Top! Zaterdag om 10 uur, Jetselaan 5. Bel aan bij de groene deur."
    message_id = run_script(node, MESSAGE_SCRIPT, "marleen", post_id, text).splitlines()[-1]
    message_url = node.url(f"/r/{post_id}/conversation/{message_id}")
    create = await peer.wait_for("Create", where=lambda a: a["object"] == message_url, seconds=20)
    assert create["signature"]["verifiedBy"] == "http-signature"
    note = create["activity"]["object"]  # as Fedify parsed it
    print("Fedify received:", json.dumps(create["activity"], indent=1, ensure_ascii=False))
    assert note["type"] == "Note" and note["attributedTo"] == author
    audience = _as_list(note.get("to")) + _as_list(note.get("cc"))
    assert audience == [peer.actor_url]  # alice alone: no Public, no followers
    assert PUBLIC not in _as_list(create["activity"].get("to")) + _as_list(
        create["activity"].get("cc")
    )
    [mention] = _as_list(note["tag"])
    assert mention["type"] == "Mention" and mention["href"] == peer.actor_url
    assert note["inReplyTo"].startswith(note_url + "/responses/")
    assert note["inReplyTo"].endswith("#accepted")
    assert text in note["content"]
    # The message is delivered, never served: alice's server cannot fetch it.
    fetched = await peer.fetch(message_url, signed=True)
    assert fetched["status"] == 404 and fetched["document"] is None

    # Alice answers privately, as Mastodon does: to the author alone, mentioning her.
    answer_id = f"{peer.base_url}/notes/{uuid.uuid4()}"
    answer = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Create",
        "actor": peer.actor_url,
        "to": [author],
        "object": {
            "id": answer_id,
            "type": "Note",
            "attributedTo": peer.actor_url,
            "to": [author],
            "inReplyTo": message_url,
            "content": (
                f'<p><span class="h-card"><a href="{author}" class="u-url mention">@marleen'
                "</a></span> Prima, ik ben er om 10 uur!</p>"
            ),
            "tag": [{"type": "Mention", "href": author, "name": "@marleen"}],
        },
    }
    assert (await peer.send(author, answer))["delivered"] is True
    stored = await eventually(
        lambda: node.query(
            "SELECT body_html, post_id FROM conversation_messages WHERE object_uri = ?",
            answer_id,
        ),
        seconds=20,
    )
    [(body_html, stored_post)] = stored
    assert body_html == "<p>Prima, ik ben er om 10 uur!</p>"
    assert str(stored_post).replace("-", "") == post_id.replace("-", "")
    # Not a public response; the author heard of it.
    assert node.query("SELECT id FROM responses WHERE object_uri = ?", answer_id) == []
    notified = node.query(
        "SELECT count(*) FROM notifications n JOIN accounts u ON u.id = n.recipient_id"
        " WHERE u.username = 'marleen' AND n.kind = 'message'"
    )
    assert notified[0][0] == 1
