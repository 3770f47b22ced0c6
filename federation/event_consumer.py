"""Turning domain events into federation: the node says what happened, we tell others.

Services store events in the same transaction as their change (`node.events`); this
consumer claims unhandled ones with a lease and acts on those that concern other
servers. An event whose remote side is temporarily unreachable is tried again later.
What each event sends lives in the modules named in `CONSUMERS`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from tortoise.expressions import Case, Q, RawSQL, When
from tortoise.transactions import in_transaction

from federation import (
    actor_updates,
    conversation_out,
    conversations,
    follows_outgoing,
    moderation_outgoing,
    publishing,
    services_out,
    survey_publishing,
    thanks_out,
)
from federation.context import Federation
from federation.follows_outgoing import TryLater
from federation.retry import backoff
from node.errors import Conflict, NotFound
from node.events import URGENT_KINDS
from node.leases import Leases, lease_length
from node.models import Event
from node.timeutil import utcnow

log = logging.getLogger("nabuur.events")

MAX_ATTEMPTS = 8


# Each returns a note for the log, or None when the event needed nothing from us.
CONSUMERS: dict[str, Callable[[Federation, dict], Awaitable[str | None]]] = {
    "RemoteFollowRequested": follows_outgoing.on_follow_requested,
    "RemoteUnfollowRequested": follows_outgoing.on_unfollow_requested,
    "FollowChanged": follows_outgoing.on_follow_changed,
    "PostPublished": publishing.on_post_published,
    "PostEdited": publishing.on_post_edited,
    "PostStatusChanged": publishing.on_post_status_changed,
    "OfferStatusChanged": conversations.on_offer_status_changed,
    "ConversationMessagePosted": conversation_out.on_message_posted,
    "ActorChanged": actor_updates.on_actor_changed,
    "PartnerRemoved": publishing.on_partner_removed,
    "PostHidden": moderation_outgoing.on_post_hidden,
    "ResponseHidden": moderation_outgoing.on_response_hidden,
    "AccountSuspensionFederated": moderation_outgoing.on_account_suspension_federated,
    "ReportForwarded": moderation_outgoing.on_report_forwarded,
    "ServiceChanged": services_out.on_service_changed,
    "ServiceRemoved": services_out.on_service_removed,
    "SurveyPublished": survey_publishing.on_survey_published,
    "SurveyCountsChanged": survey_publishing.on_survey_counts_changed,
    "SurveyWithdrawn": survey_publishing.on_survey_withdrawn,
    "HelpersThanked": thanks_out.on_helpers_thanked,
}


def event_leases(fed: Federation) -> Leases:
    # A claimed event is unhandled. One waiting to try later is not held: its
    # `locked_until` is then the time of its next try.
    return Leases(Event, lease_length(fed.settings), Q(handled_at=None))


async def _claim(limit: int, leases: Leases) -> list[Event]:
    now = utcnow()
    async with in_transaction():
        rows = (
            await Event.filter(Q(locked_until=None) | Q(locked_until__lt=now), handled_at=None)
            # What a person just did goes before a backlog of the rest (node.events).
            .annotate(
                later=Case(
                    When(kind__in=sorted(URGENT_KINDS), then=RawSQL("0")), default=RawSQL("1")
                )
            )
            .order_by("later", "id")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        if rows:
            await Event.filter(id__in=[r.id for r in rows]).update(locked_until=leases.until())
    leases.hold(row.id for row in rows)
    return rows


async def _consume(fed: Federation, event: Event) -> None:
    consumer = CONSUMERS.get(event.kind)
    event.attempts += 1
    try:
        note = await consumer(fed, event.payload) if consumer else None
    except TryLater as exc:
        if event.attempts < MAX_ATTEMPTS:
            event.locked_until = utcnow() + backoff(event.attempts)
            await event.save(update_fields=["attempts", "locked_until"])
            log.info("event %s %d: try later (%s)", event.kind, event.id, exc)
            return
        note = f"gave up: {exc}"
    except (NotFound, Conflict) as exc:
        note = f"dropped: {exc}"
    event.handled_at = utcnow()
    event.locked_until = None
    await event.save(update_fields=["attempts", "locked_until", "handled_at"])
    if note is not None:
        log.info("event %s %d: %s", event.kind, event.id, note)


async def consume_events_once(
    fed: Federation,
    limit: int = 100,
    *,
    leases: Leases | None = None,
    stopping: asyncio.Event | None = None,
) -> int:
    """Claim and act on one batch of events; returns how many were claimed.

    A worker that is `stopping` finishes the event it is on and gives the rest back.
    """
    leases = leases if leases is not None else event_leases(fed)
    rows = await _claim(limit, leases)
    for index, event in enumerate(rows):
        if stopping is not None and stopping.is_set():
            released = await leases.release(row.id for row in rows[index:])
            log.info("stopping: %d events given back to the queue", released)
            break
        try:
            await _consume(fed, event)
        except Exception:  # a bug must not stop the queue: the lease brings it back
            log.exception("event %s %d failed", event.kind, event.id)
        leases.drop([event.id])  # handled, waiting to try later, or left to its lease
    return len(rows)
