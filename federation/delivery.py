"""Sending one delivery: sign at send time, knock twice if needed, classify the answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from federation.context import Federation
from federation.retry import Decision, decide
from federation.signing import Profile
from federation.ssrf import FetchError
from node.models import Delivery, OutboxActivity
from node.timeutil import utcnow

if TYPE_CHECKING:
    from federation.client import HttpResponse

log = logging.getLogger("nabuur.delivery")

CONTENT_TYPE = "application/activity+json"


@dataclass(frozen=True, slots=True)
class Attempt:
    status: int | None
    retry_after: str | None
    error: str


async def _post(
    fed: Federation, activity: OutboxActivity, inbox: str, body: bytes, profile: Profile
) -> HttpResponse:
    key = await fed.signing_key(activity.actor_kind, activity.actor_key)
    return await fed.client.request(
        "POST",
        inbox,
        headers={"content-type": CONTENT_TYPE, "accept": CONTENT_TYPE},
        body=body,
        signer=key.signer(profile),
    )


async def attempt(
    fed: Federation, delivery: Delivery, activity: OutboxActivity, body: bytes
) -> Attempt:
    """One POST of `activity` to the delivery's inbox.

    The configured profile goes first (draft-cavage unless set otherwise: most servers
    verify it); a 401 is answered once with the other profile ("double knock"), and the
    profile that worked is remembered for the host.
    """
    default: Profile = "rfc9421" if fed.settings.signature_profile == "rfc9421" else "cavage"
    first: Profile = fed.host_profiles.get(delivery.host, default)
    try:
        response = await _post(fed, activity, delivery.inbox, body, first)
        if response.status == 401:
            second: Profile = "rfc9421" if first == "cavage" else "cavage"
            retry = await _post(fed, activity, delivery.inbox, body, second)
            if 200 <= retry.status < 300:
                fed.host_profiles[delivery.host] = second
            response = retry
        elif 200 <= response.status < 300:
            fed.host_profiles.setdefault(delivery.host, first)
    except FetchError as exc:
        return Attempt(None, None, exc.reason[:300])
    return Attempt(response.status, response.headers.get("retry-after"), "")


async def deliver(
    fed: Federation, delivery: Delivery, activity: OutboxActivity, body: bytes | None = None
) -> Decision:
    """Attempt a delivery and decide, with the pure retry policy, what happens next.

    `body` is the serialised activity; a fan-out serialises it once for all its inboxes.
    """
    result = await attempt(fed, delivery, activity, body or orjson.dumps(activity.payload))
    decision = decide(
        status=result.status,
        attempts=delivery.attempts + 1,
        created_at=delivery.created_at,
        now=utcnow(),
        retry_after_header=result.retry_after,
    )
    log.info(
        "deliver %s %s to %s: %s %s",
        activity.activity_type,
        activity.activity_uri,
        delivery.inbox,
        result.status if result.status is not None else result.error,
        decision.verdict,
    )
    return decision
