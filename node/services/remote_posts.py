"""Requests and offers from other nodes: stored, kept in sync, listed as "nearby"."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import urlsplit

from node import raw_sql as sql
from node.models import (
    LocalActorKind,
    Neighbourhood,
    RemoteActor,
    RemotePost,
    RemotePostPartner,
    RemoteStanding,
)
from node.services import domain_policy
from node.states import FollowStatus

NEARBY_KM = 20.0


@dataclass(frozen=True, slots=True)
class RemotePostData:
    """What federation read (and checked) from a remote request or offer."""

    object_uri: str
    kind: str
    title: str
    language: str
    content_map: dict[str, str]
    category: str
    place_name: str
    latitude: float | None
    longitude: float | None
    starts_at: datetime | None
    ends_at: datetime | None
    helpers_needed: int | None
    slots_left: int | None
    finished: bool
    url: str | None
    published_at: datetime | None
    public: bool = True


async def upsert_remote_post(
    actor: RemoteActor,
    data: RemotePostData,
    via: RemoteActor | None = None,
    *,
    partner_only: bool = False,
) -> RemotePost:
    values = {**asdict(data), "partner_only": partner_only}
    if data.ends_at and not (data.starts_at and data.ends_at > data.starts_at):
        # An end before (or without) the start is a slip on the other side: the start
        # stays, the end is not kept (calendars would otherwise run it backwards).
        values["ends_at"] = None
    uri = values.pop("object_uri")
    post = await RemotePost.get_or_none(object_uri=uri)
    if post is None:
        return await RemotePost.create(object_uri=uri, actor=actor, via=via, **values)
    if post.actor_id != actor.id:  # only its owner may change it
        return post
    for name, value in values.items():
        setattr(post, name, value)
    await post.save()
    return post


async def set_partners(post: RemotePost, organisation_ids: list[int]) -> None:
    """Which of our organisations the remote request names as partners, now. A post
    kept only for its partners is forgotten when it names none of ours any more."""
    if post.partner_only and not organisation_ids:
        await post.delete()
        return
    await (
        RemotePostPartner.filter(remote_post=post)
        .exclude(organisation_id__in=organisation_ids or [0])
        .delete()
    )
    known = set(
        await RemotePostPartner.filter(remote_post=post).values_list("organisation_id", flat=True)
    )
    await RemotePostPartner.bulk_create(
        [
            RemotePostPartner(remote_post=post, organisation_id=org_id)
            for org_id in dict.fromkeys(organisation_ids)
            if org_id not in known
        ]
    )


async def delete_remote_post(actor: RemoteActor, object_uri: str) -> bool:
    return await RemotePost.filter(object_uri=object_uri, actor=actor).delete() > 0


async def forget_remote_post(object_uri: str) -> bool:
    """Drop a copy whose original is gone (its URL answered 404 or 410)."""
    return await RemotePost.filter(object_uri=object_uri).delete() > 0


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # Equirectangular approximation: exact enough at neighbourhood distances.
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6371.0 * math.hypot(x, y)


@dataclass(frozen=True, slots=True)
class NearbyPost:
    """What a page shows of a remote post: read as plain columns, no model objects."""

    kind: str
    title: str
    language: str
    url: str | None
    place_name: str
    starts_at: datetime | None
    handle: str


def linkable_url(url: str | None, object_uri: str, actor_uri: str) -> str | None:
    """The page to link for a remote post: its `url` when on its actor's host, else its
    id when that is, else none (a post must not send readers to another host)."""
    host = urlsplit(actor_uri).netloc.lower()
    for candidate in (url, object_uri):
        if candidate and urlsplit(candidate).netloc.lower() == host:
            return candidate
    return None


# Follows made for the whole node, a neighbourhood or an organisation bring posts to
# the public "nearby" lists; a resident's own follow brings them to that resident only.
SHARED_FOLLOWERS = (
    LocalActorKind.INSTANCE,
    LocalActorKind.NEIGHBOURHOOD,
    LocalActorKind.ORGANISATION,
)


# The "nearby" list of every fresh neighbourhood page, written once here by hand: as a
# tortoise query (a subquery, a join, twelve converted columns of a hundred rows) it
# cost a neighbourhood page ~1.4 ms, more than the database spent on it.
_NEARBY_SQL = """
SELECT rp.kind, rp.title, rp.language, rp.url, rp.object_uri, rp.place_name, rp.starts_at,
       rp.latitude, rp.longitude, ra.username, ra.domain, ra.uri AS actor_uri
  FROM remote_posts rp JOIN remote_actors ra ON ra.id = rp.actor_id
 WHERE (rp.actor_id IN (SELECT target_id FROM outgoing_follows WHERE {shared})
        OR rp.via_id IN (SELECT target_id FROM outgoing_follows WHERE {shared}))
   AND rp.finished = ? AND rp.public = ? AND rp.partner_only = ? AND ra.standing = ?
 ORDER BY rp.published_at DESC LIMIT ?
"""


async def nearby(hood: Neighbourhood | None, *, limit: int = 20) -> list[NearbyPost]:
    """Open remote posts that came through a follow by the node, a neighbourhood or an
    organisation, newest first; near `hood` when both have coordinates."""
    shared, shared_params = sql.where(
        {"local_kind__in": SHARED_FOLLOWERS, "status": FollowStatus.ACCEPTED},
        {"": "outgoing_follows"},
    )
    rows = await sql.named_rows(
        _NEARBY_SQL.format(shared=shared),
        # limited or suspended actors here: not listed
        [*shared_params, *shared_params, False, True, False, RemoteStanding.NORMAL, limit * 5],
    )
    hidden = await domain_policy.hidden_hosts(row["domain"] for row in rows)
    rows = hidden.keep(rows)  # limited or suspended servers
    if hood is not None and hood.centre_lat is not None and hood.centre_lon is not None:
        rows = [
            row
            for row in rows
            if row["latitude"] is None
            or row["longitude"] is None
            or _km(hood.centre_lat, hood.centre_lon, row["latitude"], row["longitude"]) <= NEARBY_KM
        ]
    return [
        NearbyPost(
            kind=row["kind"],
            title=row["title"],
            language=row["language"],
            url=linkable_url(row["url"], row["object_uri"], row["actor_uri"]),
            place_name=row["place_name"],
            starts_at=sql.as_datetime(row["starts_at"]),
            handle=f"@{row['username']}@{row['domain']}" if row["username"] else row["actor_uri"],
        )
        for row in rows[:limit]
    ]
