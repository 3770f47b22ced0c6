"""Names and addresses typed into URLs and forms are looked up in columns of a fixed size:
a value no row can hold (too long, a NUL byte, odd characters) finds nothing, and the
visitor gets a 404 or a form error, never a server error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from node.models import Account, HelpPost
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node
from tests.webclient import Browser, browser

# Every route that looks a slug or username up, with `{}` for the typed part.
LOOKUPS = (
    "/n/{}",
    "/o/{}",
    "/@{}",
    "/n/{}/feed.rss",
    "/o/{}/calendar.ics",
    "/.well-known/webfinger?resource=acct:{}@testserver",
    "/remote-follow?target=/n/{}",
)
NAMES = st.one_of(
    st.text(min_size=1, max_size=120),
    st.text(alphabet="abcdefghij-_0123", min_size=29, max_size=90),
    st.just("kuregem\x00"),
)


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    await factories.node_row()
    await factories.neighbourhood("kuregem")
    async with browser(database) as b:
        yield b


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=NAMES)
@example(name="o" * 41)
@example(name="kuregem\x00")
async def test_typed_names_in_urls_never_fail(web: Browser, name: str) -> None:
    for route in LOOKUPS:
        response = await web.get(route.format(quote(name, safe="")))
        assert response.status_code < 500, (route, name)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(username=NAMES, neighbourhood=NAMES)
@example(username="u" * 101, neighbourhood="h" * 41)
async def test_typed_names_in_forms_are_form_errors(
    web: Browser, username: str, neighbourhood: str
) -> None:
    login = await web.submit("/login", {"username": username, "password": "x" * 12})
    assert login.status_code in (400, 429)  # "not right", or "wait" after many tries
    greet = await Account.get_or_none(username="greet") or await factories.account("greet")
    await web.log_in_as(greet)
    fields = {
        "kind": "request",
        "title": "Hulp gevraagd",
        "category": "transport",
        "language": "nl",
        "neighbourhood": neighbourhood,
        "organisation": neighbourhood,
        "action": "publish",
    }
    compose = await web.submit("/new", fields, page="/new")
    assert compose.status_code == 400
    assert await HelpPost.all().count() == 0
    web.log_out_locally()


async def test_a_key_id_longer_than_any_actor_is_refused(node: Node, remote: FakeRemote) -> None:
    body = orjson.dumps(remote.activity("alice", "Follow", f"{BASE}/actor"))
    headers = remote.signed_headers("alice", BASE + "/inbox", body)
    headers["signature"] = headers["signature"].replace(
        remote.key_id("alice"), f"{remote.base}/{'a' * 600}#main-key"
    )
    response = await node.client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "keyId too long"}
