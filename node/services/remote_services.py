"""Services that partner nodes publish: stored from the actors the node (or one of its
neighbourhoods or organisations) follows, kept in sync, listed as "services nearby"."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from tortoise.expressions import Subquery

from node.models import OutgoingFollow, RemoteActor, RemoteService, RemoteStanding
from node.services import domain_policy
from node.services.remote_posts import SHARED_FOLLOWERS, linkable_url
from node.states import FollowStatus

# A directory is a few dozen services per node; a page lists no more than this.
MAX_LISTED = 200


@dataclass(frozen=True, slots=True)
class RemoteServiceData:
    """What federation read (and checked, and sanitised) from a remote service."""

    object_uri: str
    language: str
    name_map: dict[str, str]
    content_map: dict[str, str]  # sanitised HTML
    categories: list[str]  # category slugs we know
    places: list[str]
    phone: str = ""
    email: str = ""
    hours_map: dict[str, str] = field(default_factory=dict)
    address: str = ""
    website: str | None = None
    free: bool | None = None
    url: str | None = None
    published_at: datetime | None = None


async def followed_for_everyone(actor: RemoteActor) -> bool:
    """Whether the node, a neighbourhood or an organisation follows `actor` (a resident's
    own follow brings nothing to a public list)."""
    return await OutgoingFollow.exists(
        target=actor, status=FollowStatus.ACCEPTED, local_kind__in=SHARED_FOLLOWERS
    )


async def upsert_remote_service(actor: RemoteActor, data: RemoteServiceData) -> RemoteService:
    """Store or refresh a service; only the actor that published it may change it."""
    values = asdict(data)
    uri = values.pop("object_uri")
    row = await RemoteService.get_or_none(object_uri=uri)
    if row is None:
        return await RemoteService.create(object_uri=uri, actor=actor, **values)
    if row.actor_id != actor.id:
        return row
    for name, value in values.items():
        setattr(row, name, value)
    await row.save()
    return row


async def delete_remote_service(actor: RemoteActor, object_uri: str) -> bool:
    """Remove a service its own actor deleted; anyone else's Delete removes nothing."""
    return await RemoteService.filter(object_uri=object_uri, actor=actor).delete() > 0


@dataclass(frozen=True, slots=True)
class NearbyService:
    """What a page shows of a partner's service: plain values, no model objects."""

    name: str
    language: str
    html: str  # sanitised when it was stored
    categories: list[str]
    places: list[str]
    phone: str
    email: str
    hours: str
    address: str
    website: str | None
    free: bool | None
    url: str | None
    handle: str


def _in(values: dict[str, str], language: str, lead: str) -> tuple[str, str]:
    """(text, its language): in `language` when written in it, else the lead language,
    else any."""
    for lang in (language, lead, *values):
        if values.get(lang):
            return values[lang], lang
    return "", lead


async def nearby(language: str, *, category: str | None = None) -> list[NearbyService]:
    """Services of followed partners (newest first), in `language` where written in it;
    only those of `category` when given. Limited or suspended actors and servers are not
    listed; nor is anything of an actor no longer followed."""
    followed = OutgoingFollow.filter(
        local_kind__in=SHARED_FOLLOWERS, status=FollowStatus.ACCEPTED
    ).values("target_id")
    rows = (
        await RemoteService.filter(
            actor_id__in=Subquery(followed), actor__standing=RemoteStanding.NORMAL
        )
        .order_by("-published_at", "-id")
        .limit(MAX_LISTED)
        .prefetch_related("actor")
    )
    if category:
        rows = [row for row in rows if category in row.categories]
    hidden = await domain_policy.hidden_hosts(row.actor.domain for row in rows)
    rows = [row for row in rows if not hidden.hides(row.actor.domain)]
    found = []
    for row in rows:
        name, lang = _in(row.name_map, language, row.language)
        html, _ = _in(row.content_map, lang, row.language)
        actor = row.actor
        handle = f"@{actor.username}@{actor.domain}" if actor.username else actor.uri
        found.append(
            NearbyService(
                name=name,
                language=lang,
                html=html,
                categories=list(row.categories),
                places=list(row.places),
                phone=row.phone,
                email=row.email,
                hours=_in(row.hours_map, lang, row.language)[0],
                address=row.address,
                website=row.website,
                free=row.free,
                url=linkable_url(row.url, row.object_uri, actor.uri),
                handle=handle,
            )
        )
    return found
