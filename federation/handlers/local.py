"""Resolving the local things that incoming activities point at."""

from __future__ import annotations

from federation.context import Federation
from node import uris
from node.models import Account, HelpPost, Neighbourhood, Organisation
from node.services.follows import THIS_NODE, Target


async def local_actor(fed: Federation, url: object) -> Target | None:
    """The local actor at `url` (THIS_NODE for the instance actor); None if none."""
    if not isinstance(url, str):
        return None
    ref = uris.parse(fed.settings, url)
    if ref is None or ref.sub is not None:
        return None
    if ref.kind == "instance":
        return THIS_NODE
    if ref.kind == "account":
        return await Account.get_or_none(username=ref.key, is_active=True)
    if ref.kind == "organisation":
        return await Organisation.get_or_none(slug=ref.key)
    if ref.kind == "neighbourhood":
        return await Neighbourhood.get_or_none(slug=ref.key)
    return None


async def local_post(fed: Federation, url: object) -> HelpPost | None:
    if not isinstance(url, str):
        return None
    ref = uris.parse(fed.settings, url)
    if ref is None or ref.kind != "post":
        return None
    return await HelpPost.get_or_none(id=ref.key)
