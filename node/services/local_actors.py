"""One notion of "a local actor": the node itself, a resident, an organisation or a
neighbourhood; how queues name one (kind and key), its path (and so its id), its
handle, and finding one from a reference, a handle or one of our URLs.

Every part of the code that asks "which of our actors is this" asks here: the inbox's
handlers, the served documents, WebFinger, the remote-follow page and the CLI.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from node import uris, validation
from node.config import Settings
from node.errors import NotFound
from node.models import Account, LocalActorKind, Neighbourhood, Organisation
from node.services.follows import THIS_NODE, Target, ThisNode


def ref(actor: Target | None) -> tuple[LocalActorKind, int | None]:
    """How queues and outgoing follows name one of our actors (None: the node itself)."""
    if actor is None or isinstance(actor, ThisNode):
        return LocalActorKind.INSTANCE, None
    if isinstance(actor, Neighbourhood):
        return LocalActorKind.NEIGHBOURHOOD, actor.id
    if isinstance(actor, Organisation):
        return LocalActorKind.ORGANISATION, actor.id
    return LocalActorKind.ACCOUNT, actor.id


_MODELS: dict[LocalActorKind, type[Account] | type[Organisation] | type[Neighbourhood]] = {
    LocalActorKind.ACCOUNT: Account,
    LocalActorKind.ORGANISATION: Organisation,
    LocalActorKind.NEIGHBOURHOOD: Neighbourhood,
}


async def load(kind: LocalActorKind | str, key: int | None) -> Target:
    """The actor that `ref` named (THIS_NODE for the instance); NotFound if it is gone."""
    kind = LocalActorKind(kind)
    if kind == LocalActorKind.INSTANCE:
        return THIS_NODE
    found = await _MODELS[kind].get_or_none(id=key)
    if found is None:
        raise NotFound(f"no local {kind} {key}")
    return found


def path(actor: Target) -> str:
    """The actor's path on this node; its id is the absolute URL of it."""
    if isinstance(actor, ThisNode):
        return uris.INSTANCE_ACTOR
    if isinstance(actor, Neighbourhood):
        return uris.neighbourhood(actor.slug)
    if isinstance(actor, Organisation):
        return uris.organisation(actor.slug)
    return uris.account(actor.username)


def display_name(actor: Target, node_name: str) -> str:
    if isinstance(actor, ThisNode):
        return node_name
    if isinstance(actor, Account):
        return actor.display_name
    return actor.name


_NOT_IN_USERNAME = re.compile(r"[^a-z0-9_-]+")


def instance_username(settings: Settings) -> str:
    """The instance actor's `preferredUsername`: the domain, made valid for Mastodon's
    username rule (`[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?`) on any host and port.

    A port's colon becomes a dot ("127.0.0.1:8123" gives "127.0.0.1.8123"); a domain
    without a port stays as it always was. Usernames and slugs have no dots, so the
    name can never be a resident's, a neighbourhood's or an organisation's.
    """
    parts = [p for p in _NOT_IN_USERNAME.split(settings.domain.lower()) if p]
    return ".".join(parts).strip("-") or "instance"


def handle_name(settings: Settings, actor: Target) -> str:
    """The name part of the actor's handle `name@domain` (what WebFinger answers)."""
    if isinstance(actor, ThisNode):
        return instance_username(settings)
    if isinstance(actor, Account):
        return actor.username
    return actor.slug


def handle(settings: Settings, actor: Target) -> str:
    """The actor's fediverse handle, `@name@domain`."""
    return f"@{handle_name(settings, actor)}@{settings.domain}"


async def by_kind_and_name(kind: str, name: str) -> Target | None:
    """The actor of a parsed local URL (`uris.LocalRef` kind and key), or None."""
    if kind == "instance":
        return THIS_NODE
    if kind == "account":
        username = validation.as_username(name)
        return await Account.get_or_none(username=username, is_active=True) if username else None
    slug = validation.as_slug(name)
    if slug is None:
        return None
    if kind == "organisation":
        return await Organisation.get_or_none(slug=slug)
    if kind == "neighbourhood":
        return await Neighbourhood.get_or_none(slug=slug)
    return None


async def by_url(settings: Settings, url: object) -> Target | None:
    """The local actor whose id is `url`; None for anything else."""
    if not isinstance(url, str):
        return None
    found = uris.parse(settings, url)
    if found is None or found.sub is not None:
        return None
    return await by_kind_and_name(found.kind, found.key)


HANDLE_KINDS = ("account", "neighbourhood", "organisation")


async def by_handle_name(
    settings: Settings, name: str, kinds: Iterable[str] = HANDLE_KINDS
) -> Target | None:
    """The actor a handle `name@our-domain` names: among `kinds`, an account, then a
    neighbourhood, then an organisation (names are unique across the three), or the
    node itself (by its username, or by the bare domain as handles were before)."""
    name = name.strip().lower()
    if name in (instance_username(settings), settings.domain.lower()):
        return THIS_NODE
    for kind in kinds:
        found = await by_kind_and_name(kind, name)
        if found is not None:
            return found
    return None


async def by_handle(settings: Settings, text: str) -> Target | None:
    """The actor of a handle on this node: `name@domain`, `@name@domain` or `acct:...`."""
    name, _, domain = text.removeprefix("acct:").lstrip("@").rpartition("@")
    if not name or domain.lower() != settings.domain.lower():
        return None
    return await by_handle_name(settings, name)


async def by_resource(settings: Settings, resource: str) -> Target | None:
    """What a WebFinger `resource` names: a handle (`acct:`) or one of our actor ids."""
    if resource.startswith("acct:"):
        return await by_handle(settings, resource)
    return await by_url(settings, resource)
