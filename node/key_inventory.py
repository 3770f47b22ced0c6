"""Which actors of this node hold which key pair: for backups, restores, moves and checks.

A remote server verifies our signatures against the public key it fetched (and cached)
from the actor's document, under the key id `{actor id}#main-key`. A node that comes back
from a backup or a move must therefore hold, for every actor, the very same pair.
`export()` lists the public halves (never a private key); `compare()` checks a database
against such a list; `problems()` names actors that should have a pair and do not.

Queries read only the key columns by name, so they work on a database one or more
migrations behind this code (a restored backup, say).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from node import uris
from node.config import Settings
from node.models import Account, Neighbourhood, NodeSettings, Organisation

NODE_ROW_ID = 1
# The kinds of actor, how each is named, and its path; residents last (most numerous).
_KINDS: tuple[tuple[str, Any, str, Any], ...] = (
    ("instance", NodeSettings, "name", lambda _name: uris.INSTANCE_ACTOR),
    ("neighbourhood", Neighbourhood, "slug", uris.neighbourhood),
    ("organisation", Organisation, "slug", uris.organisation),
    ("account", Account, "username", uris.account),
)


def fingerprint(public_pem: str) -> str:
    return "SHA256:" + hashlib.sha256(public_pem.strip().encode()).hexdigest()


async def _rows(model: Any, name_field: str) -> list[tuple[Any, str, str | None, str | None]]:
    return (
        await model.all()
        .order_by("id")
        .values_list("id", name_field, "public_key_pem", "private_key_pem")
    )


async def export(settings: Settings) -> list[dict[str, Any]]:
    """Every actor with a public key: kind, id, name, actor and key ids, the public PEM."""
    found = []
    for kind, model, name_field, path in _KINDS:
        for pk, name, public_pem, _ in await _rows(model, name_field):
            if not public_pem:
                continue  # residents get theirs when they first federate
            actor_id = uris.absolute(settings, path(name))
            found.append(
                {
                    "kind": kind,
                    "id": pk,
                    "name": name,
                    "actor_id": actor_id,
                    "key_id": uris.key_id(actor_id),
                    "fingerprint": fingerprint(public_pem),
                    "public_key_pem": public_pem,
                }
            )
    return found


async def compare(expected: Iterable[dict[str, Any]]) -> list[str]:
    """What differs between the keys this database holds and `expected` (an export).

    Empty when every listed actor is there with the same public key and a private key.
    """
    held: dict[tuple[str, Any], tuple[str | None, str | None]] = {}
    for kind, model, name_field, _ in _KINDS:
        for pk, _, public_pem, private_pem in await _rows(model, name_field):
            held[(kind, pk)] = (public_pem, private_pem)
    problems = []
    for entry in expected:
        label = f"{entry.get('kind')} {entry.get('name')!r}"
        public_pem, private_pem = held.get((entry.get("kind"), entry.get("id")), (None, None))
        if public_pem is None:
            problems.append(f"{label} has no key here")
        elif fingerprint(public_pem) != entry.get("fingerprint"):
            problems.append(f"{label} has another public key")
        elif not private_pem:
            problems.append(f"{label} has no private key")
    return problems


def _pair_matches(private_pem: str, public_pem: str) -> bool:
    from cryptography.exceptions import UnsupportedAlgorithm

    from node.keys import load_private_key, load_public_key

    try:
        derived = load_private_key(private_pem).public_key().public_numbers()
        return derived == load_public_key(public_pem).public_numbers()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False


async def problems() -> list[str]:
    """Actors that must have a key pair and lack one, or hold a broken one.

    The node, its neighbourhoods and its organisations get their pair when created.
    Residents get theirs when they first federate (`node.services.actor_keys`): a
    resident without keys is normal, half a pair is not.
    """
    found = []
    for kind, model, name_field, _ in _KINDS:
        for _, name, public_pem, private_pem in await _rows(model, name_field):
            label = "the node's instance actor" if kind == "instance" else f"{kind} {name!r}"
            if kind == "account":
                if bool(public_pem) != bool(private_pem):
                    found.append(f"{label} has half a key pair")
            elif not public_pem or not private_pem:
                found.append(f"{label} has no key pair")
            elif not _pair_matches(private_pem, public_pem):
                found.append(f"{label} has a public key that is not its private key's")
    return found


async def make_missing() -> list[str]:
    """Give a new pair to every actor that `problems()` finds without one (or with half
    of one); returns who got one. A pair that does not match is left for a person to
    judge: a backup may still hold the right one."""
    from node.services import actor_keys

    made = []
    for kind, model, name_field, _ in _KINDS:
        for pk, name, public_pem, private_pem in await _rows(model, name_field):
            if public_pem and private_pem:
                continue
            if kind == "account" and not public_pem and not private_pem:
                continue  # made when the resident first federates
            await actor_keys.ensure(await model.get(id=pk))
            made.append("the node's instance actor" if kind == "instance" else f"{kind} {name!r}")
    return made
