"""Serving our actors and their collections as ActivityStreams JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tortoise.queryset import QuerySet

from federation import proposals, serialize
from federation.replay import first_use, verify_fresh_fetch
from federation.verification import Unauthorized
from federation.vocab import AP_MEDIA_TYPE
from node import uris, validation
from node.config import Settings
from node.models import (
    Account,
    Follow,
    HelpPost,
    Neighbourhood,
    NodeSettings,
    Organisation,
    OutboxActivity,
    OutgoingFollow,
    Visibility,
)
from node.services import actor_keys, local_actors, media, node_profile, removals
from node.services.follows import THIS_NODE, Target, target_lookup
from node.services.responses import accepted_counts, places_left
from node.services.visibility import is_federated, remote_may_see
from node.states import FollowStatus, PostStatus

PAGE_SIZE = 20
# Anything not meant for everyone: no shared cache may keep it or hand it to others.
PRIVATE = {"cache-control": "private, no-store"}


def activity_json(
    document: dict[str, Any], status_code: int = 200, *, public: bool = True
) -> Response:
    """An ActivityStreams answer; one that is not public is marked uncacheable."""
    headers = {"vary": "Accept"} | ({} if public else PRIVATE)
    return JSONResponse(
        document, status_code=status_code, media_type=AP_MEDIA_TYPE, headers=headers
    )


def not_found(what: str) -> Response:
    """The same 404 for what does not exist and what the requester may not see."""
    return JSONResponse({"error": f"no such {what}"}, status_code=404, headers={"vary": "Accept"})


_PATH_KINDS = (("username", "account"), ("hood", "neighbourhood"), ("org", "organisation"))


async def _actor_from_path(request: Request) -> tuple[Target | None, str]:
    """The actor a route names (None when there is none) and its path."""
    params = request.path_params
    for param, kind in _PATH_KINDS:
        if param in params:
            actor = await local_actors.by_kind_and_name(kind, params[param])
            return actor, local_actors.path(actor) if actor is not None else ""
    return THIS_NODE, uris.INSTANCE_ACTOR


async def document_of(settings: Settings, actor: Target) -> dict[str, Any]:
    """The actor document of one of our actors, as served and as sent in an `Update`."""
    if isinstance(actor, Account):
        # A resident's key pair is made the first time their actor is published.
        return serialize.person(settings, await actor_keys.ensure(actor))
    if isinstance(actor, Neighbourhood):
        return serialize.group(settings, actor, await media.path_of(actor.icon_id))
    if isinstance(actor, Organisation):
        return serialize.organisation(settings, actor, await media.path_of(actor.icon_id))
    profile = await node_profile.load(settings)
    return serialize.instance(settings, await NodeSettings.get(id=1), profile.name)


async def actor_document(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    actor, _ = await _actor_from_path(request)
    if actor is None:
        if "username" in request.path_params and await removals.suspended_account(
            request.path_params["username"]
        ):
            return JSONResponse({"error": "suspended"}, status_code=410, headers={"vary": "Accept"})
        return not_found("actor")
    return activity_json(await document_of(settings, actor))


def _page_number(request: Request) -> int | None:
    raw = request.query_params.get("page")
    if raw is None:
        return None
    number = validation.as_id(raw)
    return number if number is not None and number < 100_000 else 1


def _count_only(collection_id: str, total: int) -> Response:
    """A collection whose members are not shown to anyone: its size, no pages."""
    return activity_json(serialize.ordered_collection(collection_id, total))


async def _paged(
    request: Request,
    collection_id: str,
    query: QuerySet,
    order: str,
    items_of: Callable[[list], list[Any]],
    *related: str,
) -> Response:
    """A collection that links its first page (`?page=1`), or one page of it."""
    total = await query.count()
    page = _page_number(request)
    if page is None:
        first = f"{collection_id}?page=1"
        return activity_json(serialize.ordered_collection(collection_id, total, first))
    rows = query.order_by(order).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    items = items_of(await (rows.prefetch_related(*related) if related else rows))
    next_page = f"{collection_id}?page={page + 1}" if page * PAGE_SIZE < total else None
    page_id = f"{collection_id}?page={page}"
    return activity_json(serialize.collection_page(page_id, collection_id, items, next_page))


async def followers(request: Request) -> Response:
    """How many follow the actor; never who (FEDERATION.md, "Followers").

    Residents follow organisations that help vulnerable people (a social-services NGO)
    and each other: the list is not anyone else's business, so every local actor's
    followers collection gives its size only.
    """
    settings: Settings = request.app.state.settings
    actor, path = await _actor_from_path(request)
    if actor is None:
        return not_found("actor")
    collection_id = uris.absolute(settings, uris.followers(path))
    query = Follow.filter(status=FollowStatus.ACCEPTED, **target_lookup(actor))
    return _count_only(collection_id, await query.count())


async def following(request: Request) -> Response:
    """Whom the actor follows elsewhere: listed for the node, its neighbourhoods and
    organisations (their partnerships are public); the size only for a resident."""
    settings: Settings = request.app.state.settings
    actor, path = await _actor_from_path(request)
    if actor is None:
        return not_found("actor")
    collection_id = uris.absolute(settings, uris.following(path))
    kind, key = local_actors.ref(actor)
    query = OutgoingFollow.filter(local_kind=kind, local_key=key, status=FollowStatus.ACCEPTED)
    if isinstance(actor, Account):
        return _count_only(collection_id, await query.count())
    return await _paged(
        request, collection_id, query, "-id", lambda rows: [r.target.uri for r in rows], "target"
    )


async def outbox(request: Request) -> Response:
    """Public activities this actor sent, newest first, in pages of `PAGE_SIZE`."""
    settings: Settings = request.app.state.settings
    actor, path = await _actor_from_path(request)
    if actor is None:
        return not_found("actor")
    collection_id = uris.absolute(settings, uris.outbox(path))
    kind, key = local_actors.ref(actor)
    query = OutboxActivity.filter(actor_kind=kind, actor_key=key, public=True)
    return await _paged(
        request, collection_id, query, "-created_at", lambda rows: [r.payload for r in rows]
    )


async def _follower_may_see(request: Request, post: HelpPost) -> bool:
    """A followers-only post is shown to a signed fetch by an accepted follower (or a
    partner named on it) only."""
    fed = request.app.state.federation
    try:
        actor = await verify_fresh_fetch(fed, request)
    except Unauthorized:
        return False
    # A signature is honoured once: its replay is refused like any stranger's fetch.
    return await remote_may_see(actor, post) and await first_use(request)


async def post_document(request: Request) -> Response:
    """A help post as a Note; gone posts as a Tombstone (410); hidden ones are 404.

    A followers-only Note (and its Tombstone) is marked private: it was shown to one
    follower's server and must not be kept for anyone else.
    """
    settings: Settings = request.app.state.settings
    # Served only at its id: other spellings of the UUID are not this Note's URL.
    post_id = uris.id_key(request.path_params["post_id"])
    if post_id is None:
        return not_found("object")
    post = await HelpPost.get_or_none(id=post_id).prefetch_related(
        "author", "organisation", "neighbourhood"
    )
    if post is None or not is_federated(post.visibility):
        return not_found("object")
    if post.visibility == Visibility.FOLLOWERS and not await _follower_may_see(request, post):
        return not_found("object")
    public = post.visibility == Visibility.PUBLIC
    if post.status in (PostStatus.WITHDRAWN, PostStatus.EXPIRED) or removals.is_removed(post):
        return activity_json(proposals.tombstone(settings, post), 410, public=public)
    accepted = (await accepted_counts([post.id])).get(post.id, 0)
    slots_left = places_left(post.helpers_needed, accepted)
    return activity_json(proposals.post_to_note(settings, post, slots_left), public=public)
