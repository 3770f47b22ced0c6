"""/admin/federation/health: servers, deliveries and the inbox queue, as an admin sees them.

Counts come from SQL (per host and status), the lists are the latest rows only, servers
are paged; "retry now" and "cancel" work per delivery and per server, are recorded in
the audit log, and any malformed request is a 400 that changes nothing. On SQLite and
PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.models import (
    AuditEntry,
    Delivery,
    DeliveryStatus,
    HostHealth,
    InboxItem,
    InboxStatus,
    OutboxActivity,
    Role,
)
from node.services import federation_health
from node.timeutil import utcnow
from tests import factories
from tests.webclient import Browser, browser

PAGE = "/admin/federation/health"


async def activity(kind: str = "Create") -> OutboxActivity:
    key = uuid.uuid4()
    uri = f"http://nabuur.test/activities/{key}"
    return await OutboxActivity.create(
        id=key, activity_uri=uri, activity_type=kind, actor_kind="instance", payload={"id": uri}
    )


async def deliveries(
    host: str, count: int, status: DeliveryStatus = DeliveryStatus.PENDING, **fields: object
) -> list[Delivery]:
    made = []
    for _ in range(count):
        made.append(
            await Delivery.create(
                activity=await activity(),
                inbox=f"https://{host}/inbox",
                host=host,
                status=status,
                next_attempt_at=utcnow() + timedelta(hours=1),
                **fields,
            )
        )
    return made


async def inbox_item(status: InboxStatus, outcome: str = "") -> InboxItem:
    return await InboxItem.create(
        activity_id=f"https://m.example/{uuid.uuid4()}",
        activity_type="Create",
        actor_uri="https://m.example/users/anna",
        payload={},
        status=status,
        outcome=outcome,
    )


@pytest.fixture
async def world(database: str) -> dict[str, object]:
    """Three servers: one down for a week, one slow (retrying), one fine; an inbox queue."""
    await factories.node_row()
    now = utcnow()
    await HostHealth.create(
        host="down.example",
        unavailable=True,
        failure_days=[(now - timedelta(days=d)).date().isoformat() for d in range(7)],
        last_failure_at=now,
        last_error="connection refused",
    )
    await HostHealth.create(host="fine.example", last_success_at=now)
    failed = await deliveries(
        "down.example", 2, DeliveryStatus.FAILED, last_error="host unavailable", attempts=5
    )
    slow = await deliveries("slow.example", 3, attempts=2, last_status=503, last_error="")
    await deliveries("fine.example", 1, DeliveryStatus.SENT)
    for status, outcome in (
        (InboxStatus.PENDING, ""),
        (InboxStatus.PENDING, ""),
        (InboxStatus.RETRY, "fetch of the author timed out"),
        (InboxStatus.REJECTED, "signature does not verify"),
        (InboxStatus.PROCESSED, "done"),
    ):
        await inbox_item(status, outcome)
    return {"failed": failed, "slow": slow}


@pytest.fixture
async def web(world: dict[str, object], database: str) -> AsyncIterator[Browser]:
    async with browser(database) as b:
        await b.log_in_as(await factories.account("els", role=Role.ADMIN, languages=["en"]))
        yield b


async def test_the_page_shows_servers_failures_and_the_inbox(web: Browser) -> None:
    page = await web.get(PAGE)
    assert page.status_code == 200
    text = page.text
    assert "3 known servers" in text and "5 deliveries waiting" not in text
    assert "3 deliveries waiting" in text and "2 deliveries failed" in text
    # The unavailable server comes first, with why.
    assert text.index("down.example") < text.index("slow.example") < text.index("fine.example")
    assert "unavailable" in text and "connection refused" in text and "failed on 7 days" in text
    assert "host unavailable" in text and "HTTP 503" in text  # failed, and retrying
    assert "2 waiting" in text and "1 tried again" in text and "1 refused" in text
    assert "fetch of the author timed out" in text and "signature does not verify" in text
    assert 'href="/admin/federation/health" aria-current="page"' in text


async def test_counts_are_per_server(world: dict[str, object]) -> None:
    page = await federation_health.servers()
    by_host = {s.host: s for s in page.servers}
    assert [s.host for s in page.servers] == ["down.example", "slow.example", "fine.example"]
    down, slow, fine = by_host["down.example"], by_host["slow.example"], by_host["fine.example"]
    assert (down.unavailable, down.failed, down.waiting, down.troubled) == (True, 2, 0, True)
    assert (slow.waiting, slow.failed, slow.troubled) == (3, 0, False)
    assert (fine.waiting, fine.failed, fine.troubled) == (0, 0, False)
    assert fine.last_success_at is not None
    assert (page.total, page.troubled, page.waiting, page.failed) == (3, 1, 3, 2)
    assert len(await federation_health.retrying_deliveries()) == 3
    queue = await federation_health.inbox_queue()
    assert (queue.pending, queue.retrying, queue.rejected, len(queue.errors)) == (2, 1, 1, 2)


async def test_servers_are_paged_and_failures_limited(database: str) -> None:
    await HostHealth.bulk_create([HostHealth(host=f"h{i:03}.example") for i in range(120)])
    await deliveries("many.example", 60, DeliveryStatus.FAILED, last_error="HTTP 410")
    first = await federation_health.servers(1)
    assert (first.total, first.pages, len(first.servers)) == (121, 3, 50)
    assert first.servers[0].host == "many.example"  # the one in trouble first
    last = await federation_health.servers(99)
    assert (last.page, len(last.servers)) == (3, 21)
    failed = await federation_health.failed_deliveries()
    assert len(failed) == federation_health.LATEST_FAILURES
    assert [f.id for f in failed] == sorted((f.id for f in failed), reverse=True)


async def test_page_numbers_of_any_kind_are_answered(web: Browser) -> None:
    for page in ("1", "2", "0", "-1", "abc", "9" * 30):
        response = await web.get(PAGE, params={"page": page})
        assert response.status_code == 200


async def _post(web: Browser, path: str, **fields: str):  # type: ignore[no-untyped-def]
    return await web.submit(PAGE + path, fields, page=PAGE)


async def test_retry_and_cancel_one_delivery(web: Browser, world: dict) -> None:
    failed, slow = world["failed"], world["slow"]
    response = await _post(web, "/deliveries", delivery=str(failed[0].id), action="retry")
    assert response.headers["location"] == PAGE + "?done=retried"
    row = await Delivery.get(id=failed[0].id)
    assert row.status == DeliveryStatus.PENDING and row.next_attempt_at <= utcnow()
    response = await _post(web, "/deliveries", delivery=str(slow[0].id), action="cancel")
    assert response.headers["location"] == PAGE + "?done=cancelled"
    assert (await Delivery.get(id=slow[0].id)).status == DeliveryStatus.CANCELLED
    # Cancelled already: said so, nothing changes.
    again = await _post(web, "/deliveries", delivery=str(slow[0].id), action="retry")
    assert again.headers["location"] == PAGE + "?done=unchanged"
    assert (await Delivery.get(id=slow[0].id)).status == DeliveryStatus.CANCELLED
    subjects = await AuditEntry.filter(action__startswith="delivery.").values_list(
        "action", "subject"
    )
    assert sorted(subjects) == sorted(
        [
            ("delivery.retried", f"delivery:{failed[0].id}"),
            ("delivery.cancelled", f"delivery:{slow[0].id}"),
        ]
    )
    gone = await _post(web, "/deliveries", delivery="987654321", action="retry")
    assert gone.status_code == 404


async def test_retry_and_cancel_a_whole_server(web: Browser) -> None:
    response = await _post(web, "/servers", host="down.example", action="retry")
    assert response.headers["location"] == PAGE + "?done=host-retried"
    health = await HostHealth.get(host="down.example")
    assert not health.unavailable and health.failure_days == []
    rows = await Delivery.filter(host="down.example")
    assert {r.status for r in rows} == {DeliveryStatus.PENDING}
    response = await _post(web, "/servers", host="slow.example", action="cancel")
    assert response.headers["location"] == PAGE + "?done=host-cancelled"
    rows = await Delivery.filter(host="slow.example")
    assert {r.status for r in rows} == {DeliveryStatus.CANCELLED}
    assert (await Delivery.get(host="fine.example")).status == DeliveryStatus.SENT
    entries = await AuditEntry.filter(action__startswith="host.").order_by("id")
    assert [(e.action, e.subject, e.detail) for e in entries] == [
        ("host.retried", "host:down.example", {"deliveries": 2}),
        ("host.cancelled", "host:slow.example", {"deliveries": 3}),
    ]


async def _unchanged() -> list[tuple]:
    return sorted(await Delivery.all().values_list("id", "status", "next_attempt_at"))


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/deliveries", {}),
        ("/deliveries", {"delivery": "", "action": "retry"}),
        ("/deliveries", {"delivery": "abc", "action": "retry"}),
        ("/deliveries", {"delivery": "-1", "action": "cancel"}),
        ("/deliveries", {"delivery": "9" * 40, "action": "cancel"}),
        ("/deliveries", {"delivery": "1", "action": "delete"}),
        ("/servers", {}),
        ("/servers", {"host": "slow.example", "action": "explode"}),
        ("/servers", {"host": "", "action": "cancel"}),
        ("/servers", {"host": "<script>", "action": "cancel"}),
        ("/servers", {"host": "slow example", "action": "cancel"}),
        ("/servers", {"host": "x" * 300, "action": "retry"}),
    ],
)
async def test_bad_requests_are_400_and_change_nothing(
    web: Browser, path: str, fields: dict[str, str]
) -> None:
    before = await _unchanged()
    response = await _post(web, path, **fields)
    assert response.status_code == 400
    assert await _unchanged() == before
    assert await AuditEntry.filter(action__startswith="delivery.").count() == 0
    assert await AuditEntry.filter(action__startswith="host.").count() == 0


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(host=st.text(max_size=300), action=st.sampled_from(["retry", "cancel", "", "x"]))
async def test_any_server_name_is_answered_and_touches_only_that_server(
    web: Browser, host: str, action: str
) -> None:
    before = await _unchanged()
    response = await _post(web, "/servers", host=host, action=action)
    assert response.status_code in (303, 400)
    if response.status_code == 400:
        assert await _unchanged() == before
    if host.strip().lower() not in ("down.example", "slow.example", "fine.example"):
        assert await _unchanged() == before  # deliveries of other servers are left alone
