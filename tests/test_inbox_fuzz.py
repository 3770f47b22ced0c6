"""The inbox under fuzz: whatever JSON arrives behind a valid signature, it never answers
5xx, never stores what it refuses, and its worker ends every item in a named outcome.

Each example is signed by a fake remote actor on loopback (`tests/fakeremote.py`) whose
id is the activity's `actor` (a wrong actor is refused anyway), posted to a real inbox,
and, when accepted, handled by one run of the inbox worker. A refusal (4xx) must leave
the inbox queue and every domain table as they were; a stored item must end processed,
ignored, rejected or waiting for a retry, never by an exception escaping a handler; and
one that was not processed must have changed no domain table. (Remote actors are left
out of the comparison: fetching the signer's key or an announced post's author stores
them, and that is allowed before any refusal.)

`make test` runs 150 examples per property on each database, derandomised so that CI
tries the same ones every time (each found bug is also kept as an `@example`). Set
NABUUR_FUZZ_EXAMPLES to run more and NABUUR_FUZZ_RANDOM=1 to draw new ones, e.g.
`NABUUR_FUZZ_EXAMPLES=5000 NABUUR_FUZZ_RANDOM=1 .venv/bin/python -m pytest
tests/test_inbox_fuzz.py -p no:cacheprovider`. The figures of each run (examples, status
codes, outcomes) are printed at the end of the module.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from tortoise import connections

from federation.actors import actor_by_uri
from federation.event_consumer import consume_events_once
from federation.worker import deliver_once, process_inbox_once
from node import models
from node.models import InboxItem, InboxStatus, OutgoingFollow, ReactionKind, RemoteActor
from node.services import remote_content, remote_follows
from node.states import FollowStatus
from tests import factories
from tests.conftest import report_in_summary
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node
from tests.inbox_fuzz_strategies import AS, DOCUMENTS, encode, hostile, mutated

EXAMPLES = int(os.environ.get("NABUUR_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=os.environ.get("NABUUR_FUZZ_RANDOM") != "1",
    deadline=None,
    # Explaining a failure re-runs it hundreds of times: minutes here, for little.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
INBOXES = st.sampled_from(["/inbox", "/n/jette-centre/inbox", "/@greet/inbox", "/actor/inbox"])
# Tables an activity changes only when it is processed. Remote actors and host health
# are not here: verifying a signature or fetching an author writes them legitimately.
DOMAIN_TABLES = (
    models.Account, models.AuditEntry, models.CaseEntry, models.Delivery, models.DomainRule,
    models.Event, models.Follow, models.HelpPost, models.Neighbourhood, models.Notification,
    models.Organisation, models.OutboxActivity, models.OutgoingFollow, models.PostPartner,
    models.Reaction, models.RemotePost, models.RemotePostPartner, models.Report,
    models.Response,
)  # fmt: skip
STATS: Counter[str] = Counter()
# What the fake remote serves at "$alice-object", for announces to fetch.
SERVED = {
    "id": "$alice-object",
    "type": "Note",
    "attributedTo": "$alice",
    "purpose": "offer",
    "name": "Dogs walked on weekday mornings",
    "content": "<p>Dogs walked</p>",
    "to": ["$public"],
    "publishes": {"type": "Intent", "resourceConformsTo": "https://nabuur.org/ns/category/diy"},
}


class World:
    """A node with a neighbourhood, an account, an organisation and posts of every
    visibility, and a remote alice whom the node follows and who follows and likes."""

    def __init__(self, node: Node, remote: FakeRemote) -> None:
        self.node = node
        self.remote = remote
        self.names: dict[str, str] = {}

    def __repr__(self) -> str:  # failing examples print the world: keep it short
        return "World(...)"

    async def build(self) -> None:
        hood = await factories.neighbourhood("jette-centre")
        greet = await factories.account("greet")
        org = await factories.organisation("buurthuis", staff=[greet])
        made = {
            "$post": await factories.post(greet, hood),
            "$followers-post": await factories.post(greet, hood, visibility="followers"),
            "$members-post": await factories.post(greet, hood, visibility="members"),
            "$org-post": await factories.post(greet, hood, organisation=org.slug),
        }
        alice = self.remote.actor_url("alice")
        self.names = {
            **{name: f"{BASE}/r/{post.id}" for name, post in made.items()},
            "$missing-post": f"{BASE}/r/{uuid.UUID(int=0)}",
            "$hood": f"{BASE}/n/jette-centre",
            "$greet": f"{BASE}/@greet",
            "$org": f"{BASE}/o/buurthuis",
            "$instance": f"{BASE}/actor",
            "$public": f"{AS}#Public",
            "$alice": alice,
            "$bob": self.remote.actor_url("bob"),
            "$alice-inbox": f"{alice}/inbox",
            "$alice-key": self.remote.key_id("alice"),
            "$alice-pem": self.remote.actor_document("alice")["publicKey"]["publicKeyPem"],
            "$followers": f"{alice}/followers",
            "$alice-object": self.remote.object_url("p1"),
            "$elsewhere": "http://127.0.0.1:9/objects/elsewhere",  # another host: refused
            "$our-follow": f"{BASE}/activities/{uuid.uuid4()}",
            "$their-follow": self.remote.new_id(),
            "$their-like": self.remote.new_id(),
        }
        self.remote.objects["p1"] = self.resolve(SERVED)
        await self.ensure()

    async def ensure(self) -> None:
        """Alice as `build` left her: a `Delete` of herself may have removed it all."""
        alice_uri = self.names["$alice"]
        if await OutgoingFollow.exists(target__uri=alice_uri, status=FollowStatus.ACCEPTED):
            return
        alice = await actor_by_uri(self.node.fed, alice_uri)
        await remote_follows.start_outgoing_follow(None, alice, self.names["$our-follow"])
        await remote_follows.answer_outgoing_follow(alice, self.names["$our-follow"], True)
        greet = await models.Account.get(username="greet")
        await remote_follows.follow_from_remote(alice, greet, self.names["$their-follow"])
        post = await models.HelpPost.get(id=self.names["$post"].rsplit("/", 1)[1])
        await remote_content.add_reaction(alice, post, ReactionKind.LIKE, self.names["$their-like"])

    def resolve(self, value: Any) -> Any:
        """`value` with each placeholder replaced; new ids are new each time."""
        if isinstance(value, dict):
            return {key: self.resolve(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [self.resolve(inner) for inner in value]
        if value == "$new-activity":
            return self.remote.new_id()
        if value == "$new-note":
            return self.remote.new_id("notes")
        if isinstance(value, str):
            return self.names.get(value, value)
        return value


@pytest.fixture
async def world(node: Node, remote: FakeRemote) -> World:
    built = World(node, remote)
    await built.build()
    return built


@pytest.fixture(scope="module", autouse=True)
def report_figures(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if STATS:
        figures = ", ".join(f"{key}: {count}" for key, count in sorted(STATS.items()))
        report_in_summary(request.config, f"inbox fuzz: {figures}")


class _Crashes(logging.Handler):
    """Records what is logged when an exception escapes a handler, with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        batch_failed = record.getMessage().startswith("an item failed in a batch")
        if record.levelno >= logging.ERROR or record.exc_info or batch_failed:
            self.records.append(logging.Formatter().format(record))


@contextlib.contextmanager
def crashes() -> Iterator[_Crashes]:
    handler, logger = _Crashes(), logging.getLogger("nabuur")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def snapshot() -> dict[str, list[Any]]:
    """Every row of the domain tables (read raw: a snapshot per example must be quick)."""
    connection = connections.get("default")
    found = {}
    for model in DOMAIN_TABLES:
        _, rows = await connection.execute_query(f'SELECT * FROM "{model._meta.db_table}"')
        found[model._meta.db_table] = sorted(map(repr, map(tuple, rows)))
    return found


def activity_id(body: bytes) -> str | None:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return document.get("id") if isinstance(document, dict) else None


async def post_and_check(world: World, path: str, body: bytes) -> None:
    """Post `body` signed by alice; check the answer, then what the worker makes of it."""
    await world.ensure()
    last = await InboxItem.all().order_by("-id").first()
    last_id = last.id if last is not None else 0
    before = await snapshot()
    headers = world.remote.signed_headers("alice", BASE + path, body)
    with crashes() as crashed:
        response = await world.node.client.post(path, content=body, headers=headers)
    backend = "sqlite" if world.node.settings.database_url.startswith("sqlite") else "postgres"
    STATS[f"examples on {backend}"] += 1
    STATS[f"answered {response.status_code}"] += 1
    assert response.status_code < 500, response.text
    assert not crashed.records, "\n".join(crashed.records)
    new = await InboxItem.filter(id__gt=last_id)
    if response.status_code != 202:
        assert response.status_code >= 400
        assert new == [], "a refused activity was stored"
        assert await snapshot() == before
        return
    if not new:  # the same id again: dropped by the unique index, answered the same
        assert await InboxItem.exists(activity_id=activity_id(body))
        return
    [item] = new
    with crashes() as crashed:
        await process_inbox_once(world.node.fed)
    await item.refresh_from_db()
    STATS[f"outcome {item.status}"] += 1
    assert not crashed.records, "\n".join(crashed.records)
    assert item.status in (
        InboxStatus.PROCESSED,
        InboxStatus.IGNORED,
        InboxStatus.REJECTED,
        InboxStatus.RETRY,
    ), (item.status, item.outcome)
    assert item.outcome and not item.outcome.startswith("gave up"), item.outcome
    if item.status != InboxStatus.PROCESSED:
        assert await snapshot() == before, f"{item.status} ({item.outcome}) changed data"
    # What processing queued (an Accept, a notification's event) goes out without error.
    with crashes() as crashed:
        while await consume_events_once(world.node.fed) + await deliver_once(world.node.fed):
            pass
    assert not crashed.records, "\n".join(crashed.records)


def follow(**fields: Any) -> dict[str, Any]:
    return {"id": "$new-activity", "type": "Follow", "actor": "$alice", "object": "$hood", **fields}


def alice_update(**fields: Any) -> dict[str, Any]:
    """An Update of alice by herself."""
    key = {"id": "$alice-key", "owner": "$alice", "publicKeyPem": "$alice-pem"}
    actor = {"id": "$alice", "type": "Person", "inbox": "$alice-inbox", "publicKey": key}
    return {**follow(), "type": "Update", "object": {**actor, **fields}}


def request(**fields: Any) -> dict[str, Any]:
    """A Create of a request from alice (whom the node follows)."""
    intent = {"type": "Intent", "action": "deliverService"}
    note = {"type": "Note", "attributedTo": "$alice", "purpose": "request", "publishes": intent}
    note = {"id": "$new-note", **note, "content": "Hulp", "to": ["$public"], **fields}
    return {"id": "$new-activity", "type": "Create", "actor": "$alice", "object": note}


@FUZZ
@given(activity=mutated(), path=INBOXES, ascii_only=st.booleans())
# PostgreSQL's JSON cannot hold U+0000: storing it was a 500 (now a 400 on both databases).
@example(activity=follow(content="a\x00b"), path="/inbox", ascii_only=True)
@example(activity=follow(**{"\x00": 1}), path="/inbox", ascii_only=False)
# A column cannot even be asked for a value longer than it holds: a crash in the worker.
@example(
    activity={**follow(), "type": "Accept", "object": "x" * 1000}, path="/inbox", ascii_only=True
)
# "http://[" is no URL: reading it as one raised ValueError (a 500 at the inbox).
@example(activity=follow(id="http://[::1"), path="/inbox", ascii_only=True)
@example(
    activity={**follow(), "type": "Undo", "object": {"type": "Follow", "object": "http://["}},
    path="/inbox",
    ascii_only=True,
)
# AS2 allows a list of types; looking one up in a set of types was a TypeError.
@example(
    activity={**follow(), "type": "Accept", "object": {"type": ["Follow"]}},
    path="/inbox",
    ascii_only=True,
)
async def test_fuzzed_activities(world: World, activity: dict, path: str, ascii_only: bool) -> None:
    await post_and_check(world, path, encode(world.resolve(activity), ascii_only))


@FUZZ
@given(activity=hostile(), ascii_only=st.booleans())
# Each of these was an exception in the worker, found by this test: an infinite quantity,
# times that cannot be moved to UTC, a content that is no string.
@example(
    activity=request(publishes={"resourceQuantity": {"hasNumericalValue": "1e999"}}),
    ascii_only=True,
)
@example(activity=request(startTime="0001-01-01T00:00:00+14:00"), ascii_only=True)
@example(activity=request(endTime="9999-12-31T23:59:59-14:00"), ascii_only=True)
@example(activity=request(content=None, contentMap={"en": ["<p>x</p>"]}), ascii_only=True)
@example(activity=request(content=5, type=["Note"]), ascii_only=True)
@example(activity=request(inReplyTo="http://[::1"), ascii_only=True)
@example(activity=alice_update(icon={"type": "Image", "url": "A://["}), ascii_only=True)
async def test_hostile_fields(world: World, activity: dict, ascii_only: bool) -> None:
    await post_and_check(world, "/inbox", encode(world.resolve(activity), ascii_only))


@FUZZ
@given(document=DOCUMENTS, ascii_only=st.booleans())
async def test_arbitrary_json_documents(world: World, document: Any, ascii_only: bool) -> None:
    await post_and_check(world, "/inbox", encode(world.resolve(document), ascii_only))


@pytest.mark.parametrize("depth", [60, 64, 254, 255, 1000, 1100])
async def test_deeply_nested_activities(world: World, depth: int) -> None:
    """orjson reads 1024 levels but writes 254: deeper ones were stored with a 500."""
    start = orjson.dumps(world.resolve(follow()))[:-1] + b',"tag":'
    await post_and_check(world, "/inbox", start + b"[" * depth + b"]" * depth + b"}")


async def test_the_world_is_what_the_fuzz_expects(world: World) -> None:
    """The fuzz is only as good as its targets: they exist and an activity reaches them."""
    await post_and_check(world, "/inbox", encode(world.resolve(follow()), True))
    assert (await InboxItem.all().order_by("-id").first()).status == InboxStatus.PROCESSED
    assert await RemoteActor.exists(uri=world.names["$alice"])
    assert await OutgoingFollow.exists(status=FollowStatus.ACCEPTED)
