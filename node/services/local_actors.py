"""One notion of "a local actor": the node itself, a resident, an organisation or a
neighbourhood; how queues name one (kind and key), its path (and so its id), and
finding one from a reference, a handle's name or one of our URLs.
"""

from __future__ import annotations

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


async def by_handle_name(settings: Settings, name: str) -> Target | None:
    """The actor a handle `name@our-domain` names: an account, then a neighbourhood,
    then an organisation (names are unique across the three), or the node itself."""
    if name == settings.domain:
        return THIS_NODE
    for kind in ("account", "neighbourhood", "organisation"):
        found = await by_kind_and_name(kind, name)
        if found is not None:
            return found
    return None
