"""Sending one delivery: sign at send time, knock twice if needed, classify the answer,
and apply the decision to its row (statuses only as DELIVERY_GRAPH allows)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from federation.context import Federation
from federation.retry import Decision, Verdict, decide
from federation.signing import Profile
from federation.ssrf import FetchError, UnsafeAddressError
from node.models import Delivery, OutboxActivity
from node.states import DELIVERY_GRAPH, DeliveryStatus
from node.timeutil import utcnow

if TYPE_CHECKING:
    from federation.client import HttpResponse

log = logging.getLogger("nabuur.delivery")

CONTENT_TYPE = "application/activity+json"


@dataclass(frozen=True, slots=True)
class Attempt:
    status: int | None
    retry_after: str | None
    error: str  # why there was no answer: a short reason, never a body or a header
    refused: bool = False  # our SSRF rules forbid the address


async def _post(
    fed: Federation, activity: OutboxActivity, inbox: str, body: bytes, profile: Profile
) -> HttpResponse:
    key = await fed.signing_key(activity.actor_kind, activity.actor_key)
    return await fed.client.request(
        "POST",
        inbox,
        headers={"content-type": CONTENT_TYPE, "accept": CONTENT_TYPE},
        body=body,
        # Signed in the signing threads: the loop sends the others meanwhile.
        signer=key.pooled_signer(profile),
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
        return Attempt(None, None, exc.reason[:200], isinstance(exc, UnsafeAddressError))
    return Attempt(response.status, response.headers.get("retry-after"), "")


async def deliver(
    fed: Federation, delivery: Delivery, activity: OutboxActivity, body: bytes | None = None
) -> Decision:
    """Attempt a delivery and decide, with the pure retry policy, what happens next.

    `body` is the serialised activity; a fan-out serialises it once for all its inboxes.
    The caller applies the decision to the row (`apply`) and to host health.
    """
    result = await attempt(fed, delivery, activity, body or orjson.dumps(activity.payload))
    decision = decide(
        status=result.status,
        attempts=delivery.attempts + 1,
        created_at=delivery.created_at,
        now=utcnow(),
        retry_after_header=result.retry_after,
        error=result.error,
        refused=result.refused,
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


def apply(row: Delivery, decision: Decision) -> dict[str, object]:
    """Set the outcome of one attempt on `row`; returns the fields it set, to write.

    The status moves only as DELIVERY_GRAPH allows; a retry stays pending, later.
    """
    row.attempts += 1
    row.locked_until = None
    row.last_error = decision.reason[:300]
    row.last_status = decision.answer
    changed = ["attempts", "locked_until", "last_error", "last_status"]
    if decision.verdict == Verdict.SENT:
        DELIVERY_GRAPH.check(row.status, DeliveryStatus.SENT)
        row.status, row.sent_at = DeliveryStatus.SENT, utcnow()
        changed += ["status", "sent_at"]
    elif decision.failed:
        DELIVERY_GRAPH.check(row.status, DeliveryStatus.FAILED)
        row.status = DeliveryStatus.FAILED
        changed.append("status")
    else:
        row.next_attempt_at = decision.next_attempt_at
        changed.append("next_attempt_at")
    # Only what changed: outcomes alike are then written in one statement, whenever
    # their rows fell due (`federation.delivery_worker`).
    return {name: getattr(row, name) for name in changed}


OUTCOME_FIELDS = (
    "attempts",
    "locked_until",
    "last_error",
    "last_status",
    "status",
    "sent_at",
    "next_attempt_at",
)
