"""Remote actors as we know them: stored from fetched documents, removed on `Delete`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from node.models import RemoteActor
from node.timeutil import utcnow


@dataclass(frozen=True, slots=True)
class RemoteActorData:
    """What federation extracted (and checked) from an actor document."""

    uri: str
    domain: str
    actor_type: str
    username: str
    display_name: str
    summary_html: str
    url: str | None
    icon_url: str | None
    inbox: str
    shared_inbox: str | None
    followers_url: str | None
    key_id: str
    public_key_pem: str
    manually_approves_followers: bool
    supports_group_announces: bool = False


# A concurrent insert of the same actor can still trip the unique key id index (only the
# actor id's conflicts are resolved by ON CONFLICT): the next try finds the row and updates.
UPSERT_ATTEMPTS = 3


async def upsert_remote_actor(data: RemoteActorData) -> RemoteActor:
    """Store a fetched actor, or refresh what we hold of it, in one INSERT … ON CONFLICT.

    Not a look-up and then an insert: several processes fetching the same new sender at
    once (a cold burst on several web processes) all succeed, and the row ends with the
    latest document's fields. A refresh keeps the row's id, standing and last sighting.
    """
    values = asdict(data)
    uri = values.pop("uri")
    now = utcnow()
    row = RemoteActor(uri=uri, fetched_at=now, last_seen_at=now, **values)
    for attempt in range(1, UPSERT_ATTEMPTS + 1):
        try:
            async with in_transaction():  # a savepoint within a caller's transaction
                # Another actor may have held this key id before rotating; the newest wins.
                await RemoteActor.filter(key_id=data.key_id).exclude(uri=uri).delete()
                await RemoteActor.bulk_create(
                    [row], on_conflict=["uri"], update_fields=[*values, "fetched_at"]
                )
            break
        except IntegrityError:
            if attempt == UPSERT_ATTEMPTS:
                raise
    return await RemoteActor.get(uri=uri)


# The longest actor id or key id stored (the columns' size): longer ones name nobody here.
MAX_URI_LENGTH = 500


async def by_key_id(key_id: str) -> RemoteActor | None:
    if len(key_id) > MAX_URI_LENGTH:
        return None
    return await RemoteActor.get_or_none(key_id=key_id)


async def by_uri(uri: str) -> RemoteActor | None:
    if len(uri) > MAX_URI_LENGTH:
        return None
    return await RemoteActor.get_or_none(uri=uri)


async def delete_remote_actor(uri: str) -> bool:
    """Forget an actor that was deleted at home, with its follows, replies and reactions."""
    return await RemoteActor.filter(uri=uri).delete() > 0


async def mark_seen(actor: RemoteActor) -> None:
    await RemoteActor.filter(id=actor.id).update(last_seen_at=utcnow())
