"""Fixtures for in-process federation tests: our app on a fake origin, a fake remote."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from federation.context import Federation
from federation.event_consumer import consume_events_once
from federation.worker import deliver_once, process_inbox_once
from node.app import create_app
from node.config import Settings
from tests import factories
from tests.fakeremote import FakeRemote
from tests.interop.fedify_peer import INSTALL_COMMAND, FedifyPeer, peer_available

BASE = "http://nabuur.test"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclass
class Node:
    settings: Settings
    client: httpx.AsyncClient
    fed: Federation

    def url(self, path: str) -> str:
        return BASE + path

    async def post_activity(
        self,
        remote: FakeRemote,
        name: str,
        activity: dict[str, Any],
        path: str = "/inbox",
        **sign_options: Any,
    ) -> httpx.Response:
        body = orjson.dumps(activity)
        headers = remote.signed_headers(name, BASE + path, body, **sign_options)
        return await self.client.post(path, content=body, headers=headers)

    async def work(self) -> None:
        """Run the queues until nothing is left: inbox, events, deliveries."""
        while (
            await process_inbox_once(self.fed)
            + await consume_events_once(self.fed)
            + await deliver_once(self.fed)
        ):
            pass


@pytest.fixture
async def remote() -> AsyncIterator[FakeRemote]:
    fake = await FakeRemote().start()
    fake.add_actor("alice", 0)
    fake.add_actor("bob", 1)
    try:
        yield fake
    finally:
        await fake.stop()


@contextlib.asynccontextmanager
async def serving(
    database: str, *, allow_private: bool = True, initialise: bool = True, **overrides: Any
) -> AsyncIterator[Node]:
    """The node app on `database`; `allow_private=False` is production's address rules
    (no loopback or private addresses, no plain http); `overrides` are other settings."""
    settings = Settings(
        database_url=database, base_url=BASE, allow_private_addresses=allow_private, **overrides
    )
    app = create_app(settings, manage_database=False)
    if initialise:
        await factories.node_row()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        try:
            yield Node(settings, client, app.state.federation)
        finally:
            await app.state.federation.close()


@pytest.fixture
async def node(database: str) -> AsyncIterator[Node]:
    async with serving(database) as started:
        yield started


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedifyPeer]:
    """The Fedify peer (tests/interop): skipped on a laptop without it, fails under CI."""
    ok, why = peer_available()
    if not ok:
        message = f"the Fedify peer is not installed ({why}); run: {INSTALL_COMMAND}"
        if IN_CI:
            pytest.fail(message + " (CI=true: the interop peer must run)", pytrace=False)
        pytest.skip(message)
    with FedifyPeer(log_dir=tmp_path_factory.mktemp("fedify-peer")) as running:
        yield running
