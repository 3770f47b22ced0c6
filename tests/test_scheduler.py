"""Periodic jobs: a failing run is logged and retried, never fatal; stop cancels cleanly."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from node.models import HelpPost
from node.scheduler import Job, Scheduler, run_once
from node.services.posts import expire_due_posts
from node.states import PostStatus
from node.timeutil import utcnow
from tests import factories


async def test_run_once_logs_a_line_with_the_count(caplog: pytest.LogCaptureFixture) -> None:
    async def three() -> int:
        return 3

    with caplog.at_level(logging.INFO, logger="nabuur.jobs"):
        assert await run_once(Job("count", 1, three)) == 3
    assert [r.getMessage().split(" ")[:3] for r in caplog.records] == [
        ["job", "count", "changed=3"]
    ]


async def test_failing_job_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return 0

    scheduler = Scheduler([Job("flaky", 0.01, flaky)])
    with caplog.at_level(logging.INFO, logger="nabuur.jobs"):
        scheduler.start()
        for _ in range(200):
            if calls >= 3:
                break
            await asyncio.sleep(0.01)
        await scheduler.stop()
    assert calls >= 3
    assert any("job flaky failed" in r.getMessage() for r in caplog.records)
    assert any("changed=0" in r.getMessage() for r in caplog.records)


async def test_expiry_job_expires_due_posts(database: str) -> None:
    author = await factories.account("greet")
    hood = await factories.neighbourhood()
    past = utcnow() - timedelta(days=40)
    await factories.post(author, hood, now=past)  # flexible: expired 10 days ago
    await factories.post(author, hood)  # still current
    assert await run_once(Job("expire-posts", 60, expire_due_posts)) == 1
    statuses = sorted(await HelpPost.all().values_list("status", flat=True))
    assert statuses == [PostStatus.EXPIRED, PostStatus.OPEN]
