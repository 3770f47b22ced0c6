"""The path (and so the id) of one of our actors, whatever kind it is."""

from __future__ import annotations

from node import uris
from node.models import Neighbourhood, Organisation
from node.services.follows import Target, ThisNode


def actor_path(actor: Target) -> str:
    if isinstance(actor, ThisNode):
        return uris.INSTANCE_ACTOR
    if isinstance(actor, Neighbourhood):
        return uris.neighbourhood(actor.slug)
    if isinstance(actor, Organisation):
        return uris.organisation(actor.slug)
    return uris.account(actor.username)
