"""A signed GET of a followers-only post is honoured once, and only while fresh.

Replaying it (the same signature again, however its header is re-spaced) is refused
like any stranger's fetch (404); a signature dated more than five minutes from now
is refused for such a post, though the inbox still takes it and public posts are
served to anyone; two uses at the same moment let exactly one through.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from federation.replay import PRIVATE_FETCH_WINDOW, signature_key
from federation.signatures import sign_cavage, sign_rfc9421, signature_of
from node.app import periodic_jobs
from node.config import Settings
from node.models import HelpPost, UsedToken
from node.services import used_tokens
from node.timeutil import utcnow
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node

AP = "application/activity+json"


def signed_get(
    remote: FakeRemote,
    name: str,
    url: str,
    *,
    ago: timedelta = timedelta(0),
    profile: str = "cavage",
) -> dict[str, str]:
    """Headers of a GET of `url` signed by `name`, dated `ago` before now."""
    headers = {"accept": AP}
    sign = sign_cavage if profile == "cavage" else sign_rfc9421
    when = datetime.now(UTC) - ago
    headers.update(
        sign(
            method="GET",
            url=url,
            headers=headers,
            body=None,
            key_id=remote.key_id(name),
            private_key=remote.keys[name],
            now=when,
        )
    )
    return headers


async def fetch(node: Node, post: HelpPost, headers: dict[str, str]) -> httpx.Response:
    return await node.client.get(f"/r/{post.id}", headers=headers)


@pytest.fixture
async def posts(node: Node, remote: FakeRemote) -> dict[str, Any]:
    """A public and a followers-only post of greet, whom alice follows."""
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    follow = remote.activity("alice", "Follow", f"{BASE}/@greet")
    assert (await node.post_activity(remote, "alice", follow)).status_code == 202
    await node.work()
    public = await factories.post(greet, hood)
    private = await factories.post(greet, hood, visibility="followers")
    return {"public": public, "private": private, "url": f"{BASE}/r/{private.id}"}


@pytest.mark.parametrize("profile", ["cavage", "rfc9421"])
async def test_the_same_signed_get_is_honoured_once(
    node: Node, remote: FakeRemote, posts: dict[str, Any], profile: str
) -> None:
    headers = signed_get(remote, "alice", posts["url"], profile=profile)
    first = await fetch(node, posts["private"], headers)
    assert first.status_code == 200 and first.json()["id"] == posts["url"]
    again = await fetch(node, posts["private"], headers)
    assert again.status_code == 404
    assert again.json() == {"error": "no such object"}  # as for anyone not allowed
    # A new signature (another second) is a new fetch.
    fresh = signed_get(remote, "alice", posts["url"], ago=timedelta(seconds=2), profile=profile)
    assert (await fetch(node, posts["private"], fresh)).status_code == 200
    assert await UsedToken.all().count() == 2


async def test_a_respaced_signature_header_is_the_same_signature(
    node: Node, remote: FakeRemote, posts: dict[str, Any]
) -> None:
    headers = signed_get(remote, "alice", posts["url"])
    assert (await fetch(node, posts["private"], headers)).status_code == 200
    respaced = {**headers, "signature": headers["signature"].replace('",', '", ')}
    assert respaced["signature"] != headers["signature"]
    assert signature_of(respaced) == signature_of(headers)
    assert (await fetch(node, posts["private"], respaced)).status_code == 404


async def test_a_refused_fetch_uses_nothing_up(
    node: Node, remote: FakeRemote, posts: dict[str, Any]
) -> None:
    """Bob follows nobody: refused, and his signature is not remembered."""
    headers = signed_get(remote, "bob", posts["url"])
    assert (await fetch(node, posts["private"], headers)).status_code == 404
    assert await UsedToken.all().count() == 0


@pytest.mark.parametrize(
    ("ago", "shown"),
    [
        (timedelta(minutes=4), True),
        (timedelta(minutes=10), False),
        (-timedelta(minutes=4), True),  # a sender's clock a little ahead
        (-timedelta(minutes=10), False),
    ],
)
async def test_only_a_fresh_signature_shows_a_private_post(
    node: Node, remote: FakeRemote, posts: dict[str, Any], ago: timedelta, shown: bool
) -> None:
    headers = signed_get(remote, "alice", posts["url"], ago=ago)
    private = await fetch(node, posts["private"], headers)
    assert private.status_code == (200 if shown else 404)
    # A public Note needs no signature, so an old one changes nothing.
    public = await fetch(node, posts["public"], signed_get(remote, "alice", posts["url"], ago=ago))
    assert public.status_code == 200 and public.json()["type"] == "Note"


async def test_the_inbox_keeps_the_general_window(node: Node, remote: FakeRemote) -> None:
    """Ten minutes is too old for a private fetch, not for delivering an activity."""
    await factories.neighbourhood("jette-centre")
    follow = remote.activity("alice", "Follow", f"{BASE}/n/jette-centre")
    old = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert (await node.post_activity(remote, "alice", follow, date=old)).status_code == 202


async def test_of_two_uses_at_once_exactly_one_is_honoured(
    node: Node, remote: FakeRemote, posts: dict[str, Any]
) -> None:
    headers = signed_get(remote, "alice", posts["url"])
    answers = await asyncio.gather(*(fetch(node, posts["private"], headers) for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [200] + [404] * 5


async def test_use_once_lets_one_of_many_concurrent_uses_win(database: str) -> None:
    until = utcnow() + PRIVATE_FETCH_WINDOW
    key = signature_key(b"one signature")
    outcomes = await asyncio.gather(*(used_tokens.use_once(key, until) for _ in range(8)))
    assert outcomes.count(True) == 1
    assert await UsedToken.filter(key=key).count() == 1
    with pytest.raises(ValueError):
        await used_tokens.use_once("k" * 101, until)


async def test_expired_tokens_are_purged_by_a_periodic_job(database: str) -> None:
    now = utcnow()
    await used_tokens.use_once("sig:old", now - timedelta(seconds=1))
    await used_tokens.use_once("sig:live", now + timedelta(minutes=10))
    jobs = {job.name: job for job in periodic_jobs(Settings())}
    assert await jobs["forget-used-tokens"].run() == 1
    assert await UsedToken.all().values_list("key", flat=True) == ["sig:live"]
