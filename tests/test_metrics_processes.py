"""`nabuur run --workers 2`: whichever process answers a scrape reports the node's totals.

A real node on loopback, two server processes sharing prometheus-client's multiprocess
directory (`node.metrics.prepare_process_directory`). Inbox POSTs go out on fresh
connections until the JSON request log shows both processes answered some; then every
scrape, whichever process serves it, counts all of them, and the per-process pool
figures are summed over the two processes. A single process stopped with SIGTERM (as
systemd stops it) removes the directory it made.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from node import metrics
from tests.nodes import InitNodeProcess

pytestmark = pytest.mark.slow

TOKEN = "process-test-" + "t" * 40
BATCH = 20


class TwoProcessNode(InitNodeProcess):
    def command(self) -> list[str]:
        return ["run", "--port", str(self.port), "--workers", "2"]


def _inbox_pids(log: Path) -> set[int]:
    pids = set()
    for line in log.read_text().splitlines():
        record = json.loads(line)  # every line of the node's log is one JSON object
        if record.get("logger") == "nabuur.http" and record.get("path") == "/inbox":
            pids.add(record["pid"])
    return pids


async def _post_batch(url: str) -> list[int]:
    # A new connection per request: the kernel hands each to either process.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> int:
            headers = {"content-type": "text/plain"}
            async with session.post(url, data=b"{}", headers=headers) as response:
                return response.status

        return await asyncio.gather(*(one() for _ in range(BATCH)))


async def _scrape(url: str) -> dict[tuple[str, tuple], float]:
    headers = {"authorization": f"Bearer {TOKEN}"}
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session,
        session.get(url, headers=headers) as response,
    ):
        assert response.status == 200
        text = await response.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def _wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            async with session.get(url) as response:
                if response.status == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError("/readyz never answered 200")


async def test_every_scrape_counts_the_requests_of_both_processes(tmp_path: Path) -> None:
    node = TwoProcessNode(tmp_path, "node", NABUUR_METRICS_TOKEN=TOKEN, NABUUR_LOG_FORMAT="json")
    directory = metrics.process_directory(node.port)
    directory.mkdir(mode=0o700, exist_ok=True)
    (directory / "counter_1.db").write_bytes(b"left by an earlier run")  # must be cleaned
    node.start()
    try:
        node.wait_ready()
        await _wait_ready(node.url("/readyz"))
        sent = 0
        for _ in range(25):
            statuses = await _post_batch(node.url("/inbox"))
            assert statuses == [415] * BATCH
            sent += BATCH
            await asyncio.sleep(0.3)  # the log lines are written
            if len(_inbox_pids(node.log_path)) == 2:
                break
        assert len(_inbox_pids(node.log_path)) == 2, "one process took every connection"

        for _ in range(6):  # scrapes land on either process: each sees the totals
            samples = await _scrape(node.url("/metrics"))
            assert samples[("nabuur_inbox_received_total", ())] == sent
            refused = ("nabuur_inbox_refused_total", (("reason", "unsupported_type"),))
            assert samples[refused] == sent
            inbox_4xx = (("family", "inbox"), ("status_class", "4xx"))
            assert samples[("nabuur_http_responses_total", inbox_4xx)] == sent
            # SQLite: one connection a process, summed over the two live processes.
            assert samples[("nabuur_db_pool_max", ())] == 2
            assert samples[("nabuur_database_up", ())] == 1
        async with (  # and still nothing for the public
            aiohttp.ClientSession() as session,
            session.get(node.url("/metrics")) as response,
        ):
            assert response.status == 404
    finally:
        node.stop()
    assert not directory.exists()  # removed when the node stopped
    lines = [json.loads(line) for line in node.log_path.read_text().splitlines()]
    assert {"Application startup complete."} <= {line["message"] for line in lines}
    assert not any("color_message" in line for line in lines)  # no terminal colours


async def test_one_process_stopped_by_systemd_leaves_no_directory(tmp_path: Path) -> None:
    node = InitNodeProcess(tmp_path, "single", NABUUR_METRICS_TOKEN=TOKEN)
    directory = metrics.process_directory(node.port)
    node.start()
    try:
        node.wait_ready()
        await _wait_ready(node.url("/readyz"))
        samples = await _scrape(node.url("/metrics"))
        assert samples[("nabuur_db_pool_max", ())] == 1
        assert directory.is_dir()
        assert node.process is not None
        node.process.send_signal(signal.SIGTERM)  # what `systemctl stop` sends
        node.process.wait(timeout=30)
    finally:
        node.stop()
    assert not directory.exists()
