"""Serving our actors and their collections as ActivityStreams JSON."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tortoise.queryset import QuerySet

from federation import proposals, serialize
from federation.verification import Unauthorized, signed_request, verify_request
from federation.vocab import AP_MEDIA_TYPE
from node import uris
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
from node.services import local_actors, media, node_profile
from node.services.follows import THIS_NODE, Target, target_lookup
from node.services.responses import accepted_counts
from node.states import FollowStatus, PostStatus

PAGE_SIZE = 20


def activity_json(document: dict[str, Any], status_code: int = 200) -> Response:
    return JSONResponse(
        document,
        status_code=status_code,
        media_type=AP_MEDIA_TYPE,
        headers={"vary": "Accept"},
    )


async def _actor_from_path(request: Request) -> tuple[Target | None, str]:
    params = request.path_params
    for key, kind, path in (
        ("username", "account", uris.account),
        ("hood", "neighbourhood", uris.neighbourhood),
        ("org", "organisation", uris.organisation),
    ):
        if key in params:
            return await local_actors.by_kind_and_name(kind, params[key]), path(params[key])
    return THIS_NODE, uris.INSTANCE_ACTOR


async def document_of(settings: Settings, actor: Target) -> dict[str, Any]:
    """The actor document of one of our actors, as served and as sent in an `Update`."""
    if isinstance(actor, Account):
        return serialize.person(settings, actor)
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
        return JSONResponse({"error": "no such actor"}, status_code=404)
    return activity_json(await document_of(settings, actor))


def _page_number(request: Request) -> int | None:
    raw = request.query_params.get("page")
    if raw is None:
        return None
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


def _collection(
    request: Request, collection_id: str, total: int, items: list[Any] | None, page: int | None
) -> Response:
    if page is None:
        first = f"{collection_id}?page=1" if items is not None else None
        return activity_json(serialize.ordered_collection(collection_id, total, first))
    has_next = page * PAGE_SIZE < total
    next_page = f"{collection_id}?page={page + 1}" if has_next else None
    page_id = f"{collection_id}?page={page}"
    return activity_json(serialize.collection_page(page_id, collection_id, items or [], next_page))


async def _page(query: QuerySet, page: int, order: str, *related: str) -> list:
    rows = query.order_by(order).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return await (rows.prefetch_related(*related) if related else rows)


async def followers(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    actor, path = await _actor_from_path(request)
    if actor is None:
        return JSONResponse({"error": "no such actor"}, status_code=404)
    collection_id = uris.absolute(settings, uris.followers(path))
    query = Follow.filter(status=FollowStatus.ACCEPTED, **target_lookup(actor))
    total = await query.count()
    if isinstance(actor, Account) and actor.manually_approves_followers:
        return _collection(request, collection_id, total, None, None)  # count only
    page = _page_number(request)
    items: list[str] = []
    if page is not None:
        for row in await _page(query, page, "-id", "follower", "follower_remote"):
            if row.follower_remote is not None:
                items.append(row.follower_remote.uri)
            elif row.follower is not None:
                items.append(uris.absolute(settings, uris.account(row.follower.username)))
    return _collection(request, collection_id, total, items, page)


async def following(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    actor, path = await _actor_from_path(request)
    if actor is None:
        return JSONResponse({"error": "no such actor"}, status_code=404)
    collection_id = uris.absolute(settings, uris.following(path))
    kind, key = local_actors.ref(actor)
    query = OutgoingFollow.filter(local_kind=kind, local_key=key, status=FollowStatus.ACCEPTED)
    total = await query.count()
    page = _page_number(request)
    items: list[str] = []
    if page is not None:
        items = [row.target.uri for row in await _page(query, page, "-id", "target")]
    return _collection(request, collection_id, total, items, page)


async def outbox(request: Request) -> Response:
    """Public activities this actor sent, newest first."""
    settings: Settings = request.app.state.settings
    actor, path = await _actor_from_path(request)
    if actor is None:
        return JSONResponse({"error": "no such actor"}, status_code=404)
    collection_id = uris.absolute(settings, uris.outbox(path))
    kind, key = local_actors.ref(actor)
    query = OutboxActivity.filter(actor_kind=kind, actor_key=key, public=True)
    total = await query.count()
    page = _page_number(request)
    items = None
    if page is not None:
        items = [row.payload for row in await _page(query, page, "-created_at")]
    return _collection(request, collection_id, total, items, page)


async def _follower_may_see(request: Request, post: HelpPost) -> bool:
    """A followers-only post is shown to a signed fetch by an accepted follower only."""
    fed = request.app.state.federation
    try:
        actor = await verify_request(fed, signed_request(fed, request, None))
    except Unauthorized:
        return False
    target = post.organisation if post.organisation_id else post.author
    return await Follow.exists(
        follower_remote=actor, status=FollowStatus.ACCEPTED, **target_lookup(target)
    )


async def post_document(request: Request) -> Response:
    """A help post as a Note; gone posts as a Tombstone (410); hidden ones are 404."""
    settings: Settings = request.app.state.settings
    not_found = JSONResponse({"error": "no such object"}, status_code=404)
    try:
        post_id = uuid.UUID(request.path_params["post_id"])
    except ValueError:
        return not_found
    post = await HelpPost.get_or_none(id=post_id).prefetch_related(
        "author", "organisation", "neighbourhood"
    )
    if post is None or post.visibility == Visibility.MEMBERS:
        return not_found
    if post.visibility == Visibility.FOLLOWERS and not await _follower_may_see(request, post):
        return not_found
    if post.status in (PostStatus.WITHDRAWN, PostStatus.EXPIRED):
        return activity_json(proposals.tombstone(settings, post), status_code=410)
    accepted = (await accepted_counts([post.id])).get(post.id, 0)
    slots_left = max(post.helpers_needed - accepted, 0)
    return activity_json(proposals.post_to_note(settings, post, slots_left))
