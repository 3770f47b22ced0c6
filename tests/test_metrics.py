"""/metrics: off unless a token is set, then for that bearer token only; its figures move
by exactly the traffic sent and equal the rows in the database, on both backends.

The multi-process case (`nabuur run --workers 2`) is in tests/test_metrics_processes.py.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from tortoise import connections

from federation.inbox import MAX_BODY
from node import db, metrics, queue_stats
from node.config import SettingsError, load_settings
from node.models import (
    Delivery,
    DeliveryStatus,
    DomainPolicy,
    Event,
    HostHealth,
    InboxItem,
    InboxStatus,
    OutboxActivity,
)
from node.services import domain_policy
from node.timeutil import utcnow
from tests import factories, federation_fixtures
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "m3tr1cs-" + "x" * 40
AUTH = {"authorization": f"Bearer {TOKEN}"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def serving(
    database: str, token: str | None = TOKEN, *, initialise: bool = True
) -> contextlib.AbstractAsyncContextManager[Node]:
    return federation_fixtures.serving(database, initialise=initialise, metrics_token=token)


@pytest.fixture
async def node(database: str) -> AsyncIterator[Node]:
    async with serving(database) as started:
        yield started


async def scrape(node: Node) -> Samples:
    response = await node.client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


# --- access ------------------------------------------------------------------------------


async def test_without_a_token_metrics_is_an_unknown_page(database: str) -> None:
    async with serving(database, token=None) as node:
        unknown = await node.client.get("/no-such-page")
        for headers in ({}, AUTH):
            response = await node.client.get("/metrics", headers=headers)
            assert response.status_code == 404
            assert response.text == unknown.text.replace("/no-such-page", "/metrics")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.one_of(
        st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80),
        st.builds(
            lambda t: f"Bearer {t}",
            st.text(st.characters(min_codepoint=33, max_codepoint=255), max_size=60),
        ),
        st.sampled_from(
            [f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Token {TOKEN}", TOKEN]
        ),
    )
)
async def test_any_other_authorization_gets_the_unknown_page(node: Node, header: str) -> None:
    headers = {"authorization": header.encode("latin-1").strip()}  # as bytes on the wire
    response = await node.client.get("/metrics", headers=headers)
    assert response.status_code == 404
    unknown = await node.client.get("/no-such-page")
    assert response.text == unknown.text.replace("/no-such-page", "/metrics")
    assert (await node.client.get("/metrics")).status_code == 404  # none at all
    for method in ("POST", "PUT", "DELETE"):  # other methods learn no more
        assert (await node.client.request(method, "/metrics", headers=AUTH)).status_code == 404


async def test_the_right_token_reads_metrics_and_sets_no_cookie(node: Node) -> None:
    for scheme in ("Bearer", "bearer"):
        response = await node.client.get("/metrics", headers={"authorization": f"{scheme} {TOKEN}"})
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
        assert response.headers["cache-control"] == "no-store"


# --- figures -----------------------------------------------------------------------------


def _follow(remote: FakeRemote, name: str = "alice") -> dict:
    return remote.activity(name, "Follow", f"{BASE}/n/jette-centre")


async def test_inbox_counters_move_by_exactly_the_traffic_sent(
    node: Node, remote: FakeRemote, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue_stats, "COUNTS_MAX_AGE", 0)  # finished rows counted each time
    await factories.neighbourhood("jette-centre")
    await domain_policy.set_domain_policy("blocked.example", DomainPolicy.SUSPEND)
    before = await scrape(node)

    statuses = []
    follows = [_follow(remote) for _ in range(3)]
    for activity in [*follows, follows[0]]:  # the repeat is answered 202 as well
        statuses.append((await node.post_activity(remote, "alice", activity)).status_code)
    wrong_key = remote.keys["bob"]  # alice's activity signed with bob's key
    for _ in range(2):
        response = await node.post_activity(remote, "alice", _follow(remote), key=wrong_key)
        statuses.append(response.status_code)
    body = orjson.dumps(_follow(remote))
    statuses.append((await node.post_activity(remote, "bob", _follow(remote))).status_code)
    posts = [
        ({"content-type": "application/activity+json"}, b"{not json"),
        ({"content-type": "text/plain"}, body),
        ({"content-type": "application/activity+json", "content-length": str(MAX_BODY + 1)}, b""),
    ]
    for headers, content in posts:
        statuses.append(
            (await node.client.post("/inbox", headers=headers, content=content)).status_code
        )
    blocked = {**_follow(remote), "actor": "https://blocked.example/users/x"}
    blocked["id"] = "https://blocked.example/activities/1"
    response = await node.client.post(
        "/n/jette-centre/inbox",
        headers={"content-type": "application/activity+json"},
        content=orjson.dumps(blocked),
    )
    statuses.append(response.status_code)
    assert statuses == [202, 202, 202, 202, 401, 401, 401, 400, 415, 413, 202]

    after = await scrape(node)
    assert moved(before, after, "nabuur_inbox_received_total") == 11
    assert moved(before, after, "nabuur_inbox_accepted_total") == 4
    expected = {"bad_signature": 3, "invalid": 1, "unsupported_type": 1, "too_large": 1}
    expected["domain_blocked"] = 1
    for reason in metrics.REFUSALS:
        refused = moved(before, after, "nabuur_inbox_refused_total", reason=reason)
        assert refused == expected.get(reason, 0), reason
    # The same requests as the HTTP figures see them.
    inbox = {"family": "inbox"}
    assert moved(before, after, "nabuur_http_request_duration_seconds_count", **inbox) == 11
    assert moved(before, after, "nabuur_http_responses_total", status_class="2xx", **inbox) == 5
    assert moved(before, after, "nabuur_http_responses_total", status_class="4xx", **inbox) == 6
    # Three distinct activities are waiting in the queue, and the gauge says so.
    assert await InboxItem.filter(status=InboxStatus.PENDING).count() == 3
    assert value(after, "nabuur_inbox_items", status="pending") == 3
    assert value(after, "nabuur_inbox_due") == 3
    await node.work()
    worked = await scrape(node)
    assert value(worked, "nabuur_inbox_due") == 0
    assert value(worked, "nabuur_inbox_items", status="pending") == 0
    done = sum(value(worked, "nabuur_inbox_items", status=s.value) for s in InboxStatus)
    assert done == await InboxItem.all().count() == 3


async def _activity() -> OutboxActivity:
    key = uuid.uuid4()
    return await OutboxActivity.create(
        id=key,
        activity_uri=f"{BASE}/activities/{key}",
        activity_type="Create",
        actor_kind="instance",
        payload={"id": f"{BASE}/activities/{key}", "type": "Create"},
    )


async def test_queue_gauges_equal_the_rows_in_the_database(node: Node) -> None:
    now = utcnow()
    activity = await _activity()
    plan = {
        DeliveryStatus.PENDING: [now - timedelta(seconds=30), now - timedelta(seconds=5)],
        DeliveryStatus.SENT: [now] * 4,
        DeliveryStatus.FAILED: [now],
        DeliveryStatus.CANCELLED: [now] * 2,
    }
    plan_later = [now + timedelta(hours=1)]  # pending, but not due yet
    rows = [(status, when) for status, times in plan.items() for when in times]
    rows += [(DeliveryStatus.PENDING, when) for when in plan_later]
    await Delivery.bulk_create(
        [
            Delivery(
                activity=activity,
                inbox=f"https://h{i}.example/inbox",
                host=f"h{i}.example",
                status=status,
                next_attempt_at=when,
            )
            for i, (status, when) in enumerate(rows)
        ]
    )
    for kind in ("PostPublished", "PostEdited"):
        await Event.create(kind=kind, payload={})
    await Event.create(kind="PostEdited", payload={}, locked_until=now + timedelta(minutes=2))
    await Event.create(kind="PostEdited", payload={}, handled_at=now)
    oldest = await Event.filter(handled_at=None).order_by("id").first()
    assert oldest is not None
    await Event.filter(id=oldest.id).update(created_at=now - timedelta(seconds=40))
    for host, down in (("a.example", True), ("b.example", True), ("c.example", False)):
        await HostHealth.create(host=host, unavailable=down)

    samples = await scrape(node)
    for status in DeliveryStatus:
        in_db = await Delivery.filter(status=status).count()
        assert value(samples, "nabuur_deliveries", status=status.value) == in_db
    assert value(samples, "nabuur_deliveries", status="pending") == 3
    assert value(samples, "nabuur_deliveries_due") == 2
    assert 30 <= value(samples, "nabuur_delivery_lag_seconds") < 40
    assert value(samples, "nabuur_events_unhandled", state="due") == 2
    assert value(samples, "nabuur_events_unhandled", state="waiting") == 1
    assert 40 <= value(samples, "nabuur_event_lag_seconds") < 50
    assert value(samples, "nabuur_hosts_unavailable") == 2
    assert value(samples, "nabuur_inbox_lag_seconds") == 0
    for queue in ("inbox", "deliveries", "events"):  # waiting under a minute: not stuck
        assert value(samples, "nabuur_queue_stuck", queue=queue) == 0
    await Delivery.filter(status=DeliveryStatus.PENDING).update(
        next_attempt_at=now - timedelta(minutes=5)
    )
    samples = await scrape(node)
    assert value(samples, "nabuur_queue_stuck", queue="deliveries") == 1
    assert value(samples, "nabuur_deliveries_due") == 3
    # Finished rows are counted again only after a minute (a whole index each time);
    # the rows still to do are always counted.
    await Delivery.filter(id=(await Delivery.filter(status="pending").first()).id).update(
        status=DeliveryStatus.SENT
    )
    samples = await scrape(node)
    assert value(samples, "nabuur_deliveries", status="pending") == 2
    assert value(samples, "nabuur_deliveries", status="sent") == 4


async def test_database_pool_and_route_families(node: Node, database: str) -> None:
    await factories.neighbourhood("jette-centre")
    before = await scrape(node)
    visits = {
        "/": "pages",
        "/n/jette-centre": "pages",
        "/n/jette-centre/feed.rss": "feeds",
        "/admin": "admin",
        "/static/style.css": "static",
        "/.well-known/nodeinfo": "activitypub",
        "/healthz": "other",
    }
    for path in visits:
        await node.client.get(path)
    await node.client.get("/n/jette-centre", headers={"accept": "application/activity+json"})
    after = await scrape(node)
    counted = {family: 0 for family in metrics.FAMILIES}
    for family in [*visits.values(), "activitypub"]:
        counted[family] += 1
    counted["other"] += 1  # the first scrape, counted once it was answered
    for family, count in counted.items():
        name = "nabuur_http_request_duration_seconds_count"
        assert moved(before, after, name, family=family) == count, family
    client = connections.get("default")
    expected_max = getattr(client, "pool_maxsize", 1)
    assert value(after, "nabuur_db_pool_max") == expected_max
    assert 1 <= value(after, "nabuur_db_pool_open") <= expected_max
    assert 0 <= value(after, "nabuur_db_pool_idle") <= value(after, "nabuur_db_pool_open")
    # No raw path ever becomes a label value.
    labels = {dict(key[1]).get("family") for key in after}
    assert labels <= {None, *metrics.FAMILIES}


async def test_without_the_database_the_process_counters_still_come() -> None:
    url = "postgres://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1
    await db.open_database(url)
    try:
        async with serving(url, initialise=False) as node:
            samples = await scrape(node)
            ready = await node.client.get("/readyz")
    finally:
        await db.close_database()
    assert value(samples, "nabuur_database_up") == 0
    assert ("nabuur_inbox_received_total", ()) in samples
    assert ("nabuur_inbox_items", (("status", "pending"),)) not in samples
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "unreachable"}


@pytest.mark.parametrize(
    ("path", "accept", "family"),
    [
        ("/inbox", "", "inbox"),
        ("/@greet/inbox", "", "inbox"),
        ("/@greet", "application/activity+json", "activitypub"),
        ("/@greet", "text/html", "pages"),
        ("/@greet/outbox", "", "activitypub"),
        ("/settings/followers", "", "pages"),
        ("/r/0b7f/responses/1", 'application/ld+json; profile="x"', "activitypub"),
        ("/activities/1", "", "activitypub"),
        ("/admin/o/x/r/1", "", "admin"),
        ("/administer", "", "pages"),
        ("/media/ab.png", "", "static"),
        ("/o/x/calendar.ics", "", "feeds"),
        ("/metrics", "", "other"),
        ("/wp-login.php", "", "pages"),
    ],
)
def test_route_families(path: str, accept: str, family: str) -> None:
    headers = [(b"accept", accept.encode())] if accept else []
    assert metrics.family_of({"path": path, "headers": headers}) == family


IDLE = """
import sys
from node.app import create_app
from node.config import load_settings
create_app(load_settings())
print("prometheus_client" in sys.modules)
"""


@pytest.mark.parametrize(("token", "loaded"), [(None, "False"), (TOKEN, "True")])
def test_prometheus_client_is_loaded_only_with_a_token(
    token: str | None, loaded: str, tmp_path: Path
) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NABUUR_", "PROM"))}
    environ |= {"PYTHONPATH": str(ROOT), "NABUUR_DATABASE_URL": f"sqlite://{tmp_path}/n.db"}
    if token:
        environ["NABUUR_METRICS_TOKEN"] = token
    result = subprocess.run(
        [sys.executable, "-c", IDLE], env=environ, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == loaded, result.stderr


# --- settings ----------------------------------------------------------------------------


def test_the_token_is_a_long_secret_never_shown() -> None:
    settings = load_settings(environ={"NABUUR_METRICS_TOKEN": TOKEN})
    assert settings.metrics_token == TOKEN
    assert TOKEN not in repr(settings)
    for bad in ("short", "x" * 31, "has a space " + "x" * 40, "ünïcode" + "x" * 40):
        with pytest.raises(SettingsError) as caught:
            load_settings(environ={"NABUUR_METRICS_TOKEN": bad})
        assert "NABUUR_METRICS_TOKEN" in str(caught.value)
        assert bad not in str(caught.value)


def test_log_format_setting() -> None:
    assert load_settings(environ={}).log_format == "text"
    assert load_settings(environ={"NABUUR_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="NABUUR_LOG_FORMAT"):
        load_settings(environ={"NABUUR_LOG_FORMAT": "xml"})
