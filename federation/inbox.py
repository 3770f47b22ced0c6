"""The inbox endpoints: check, verify, store, answer 202. Processing happens later.

Order of checks: content type, size, JSON shape (an object with an id, a type and an
actor, that the database can store: no U+0000, bounded nesting), domain policy (202,
dropped, before any key is fetched), signature and signer = actor (401, with the
reason; a key whose fetch the SSRF guard refuses is a 401 too, as the sender cannot fix
it by retrying; only a key that could not be fetched for now, a timeout or its host's
5xx, is a 503), origin (400),
then the durable store (503 if it fails, so the sender retries), where a repeated
activity id is dropped by the unique index: the 202 is the same, and no query per
request is spent on it. 202 means committed. A database that is away, cut, full or
read-only at any step is a 503 with Retry-After, never a 500 (node.db_faults).
"""

from __future__ import annotations

import logging

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from federation.context import Federation
from federation.inbox_store import InboxWriter, Received
from federation.parse import host_of, is_http_url
from federation.verification import Unauthorized, signed_request, verify_request
from federation.vocab import id_of, is_activitypub_content_type
from node import metrics, uris
from node.db_faults import RETRY_AFTER_SECONDS, fault_of

log = logging.getLogger("nabuur.inbox")

MAX_BODY = 1024 * 1024


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _error(status: int, reason: str) -> Response:
    return JSONResponse({"error": reason}, status_code=status)


def _unavailable(reason: str) -> Response:
    headers = {"retry-after": str(RETRY_AFTER_SECONDS)}
    return JSONResponse({"error": reason}, status_code=503, headers=headers)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isascii() or not declared.isdigit()):
        raise Rejected(400, "bad Content-Length")
    if declared is not None and len(declared) > 18:  # `int` refuses 4300 digits
        raise Rejected(413, f"body over {MAX_BODY} bytes")
    if declared is not None and int(declared) > MAX_BODY:
        raise Rejected(413, f"body over {MAX_BODY} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise Rejected(413, f"body over {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


# Deeper than any activity needs, and well below what the JSON column's encoder writes
# (orjson reads 1024 levels but writes only 254: a deeper activity could not be stored).
MAX_DEPTH = 64


def _unstorable(document: object) -> str | None:
    """Why `document` cannot be stored as it stands, or None. PostgreSQL's JSON holds no
    U+0000 (SQLite would, and then only one database would refuse it)."""
    stack = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return "activity contains a NUL character"
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                return "activity is nested too deeply"
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
                value = list(value.values())
            stack.extend((inner, depth + 1) for inner in value)
    return None


def _parse_activity(body: bytes) -> dict:
    try:
        activity = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Rejected(400, "body is not JSON") from None
    if not isinstance(activity, dict):
        raise Rejected(400, "activity is not a JSON object")
    unstorable = _unstorable(activity)
    if unstorable is not None:
        raise Rejected(400, unstorable)
    if not is_http_url(activity.get("id")):
        raise Rejected(400, "activity has no id")
    if not isinstance(activity.get("type"), str) or not activity["type"]:
        raise Rejected(400, "activity has no type")
    if not is_http_url(id_of(activity.get("actor"))):
        raise Rejected(400, "activity has no actor")
    return activity


async def receive(request: Request) -> Response:
    fed: Federation = request.app.state.federation
    writer: InboxWriter = request.app.state.inbox_writer
    metrics.inbox_received()
    try:
        if not is_activitypub_content_type(request.headers.get("content-type")):
            raise Rejected(415, "expected application/activity+json")
        body = await _read_body(request)
        activity = _parse_activity(body)
        actor_uri = id_of(activity["actor"])
        assert actor_uri is not None
        if not await fed.domain_allowed(host_of(actor_uri)):
            metrics.inbox_refused("domain_blocked")
            return Response(status_code=202)  # dropped on purpose, and not said why
        signer = await verify_request(fed, signed_request(fed, request, body))
        if signer.uri != actor_uri:
            raise Rejected(401, "signer and actor do not match")
        if uris.is_local(fed.settings, activity["id"]):
            raise Rejected(400, "activity claims a local id")
        if host_of(activity["id"]) != host_of(actor_uri):
            raise Rejected(400, "activity id is not on the actor's host")
    except Rejected as exc:
        log.info("inbox refused %s: %s", request.url.path, exc.reason)
        metrics.inbox_refused(exc.status)
        return _error(exc.status, exc.reason)
    except Unauthorized as exc:
        log.info("inbox refused %s: %s", request.url.path, exc.reason)
        metrics.inbox_refused("key_unavailable" if exc.temporary else "bad_signature")
        return _error(503 if exc.temporary else 401, exc.reason)
    except Exception as exc:  # the database is away, cut, full or read-only
        if fault_of(exc) is None:
            raise
        writer.faults.failed(exc)  # logged once per streak, not per request
        metrics.inbox_refused("store_failed")
        return _unavailable("temporarily unavailable")
    try:
        await writer.store(Received(activity["id"], activity["type"][:40], actor_uri, activity))
    except Exception as exc:  # the database refused or is away: the sender retries later
        # The writer logged the cause once for its streak of failures.
        log.debug("inbox could not store %s: %s", activity["id"], type(exc).__name__)
        metrics.inbox_refused("store_failed")
        return _unavailable("the activity could not be stored now")
    metrics.inbox_accepted()
    return Response(status_code=202)
