"""Resolving the local things that incoming activities point at."""

from __future__ import annotations

from federation.context import Federation
from node import uris
from node.models import HelpPost
from node.services import local_actors
from node.services.follows import Target


async def local_actor(fed: Federation, url: object) -> Target | None:
    """The local actor at `url` (THIS_NODE for the instance actor); None if none."""
    return await local_actors.by_url(fed.settings, url)


async def local_post(
    fed: Federation, url: object, cache: dict[str, object] | None = None
) -> HelpPost | None:
    """Our post at `url`; `cache` (one worker transaction's) saves repeated look-ups."""
    if not isinstance(url, str):
        return None
    ref = uris.parse(fed.settings, url)
    if ref is None or ref.kind != "post":
        return None
    key = f"post:{ref.key}"
    if cache is not None and key in cache:
        return cache[key]  # type: ignore[return-value]
    post = await HelpPost.get_or_none(id=ref.key)
    if cache is not None:
        cache[key] = post
    return post
