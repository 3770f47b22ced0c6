"""What moderation here tells other servers: a hidden post or response is deleted for
whoever got it, a suspension not lifted in 30 days deletes the account's actor, and a
report the reporter agreed to forward goes to the reported content's server as a `Flag`.

Called by the event consumer for `PostHidden`, `ResponseHidden`,
`AccountSuspensionFederated` and `ReportForwarded` (emitted by `node.services`).
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from federation import activities, outbox, publishing
from federation.context import Federation
from node import uris
from node.models import Account, OutboxActivity, RemoteActor, Report, Response
from node.services import domain_policy, local_actors
from node.services.follows import THIS_NODE
from node.services.remote_follows import remote_followers
from node.services.visibility import is_federated
from node.timeutil import utcnow


async def on_post_hidden(fed: Federation, payload: dict) -> str | None:
    """Hidden like a withdrawal: pending deliveries cancelled, a Delete to every holder."""
    post = await publishing.load_post(payload["post_id"])
    if post is None or post.hidden_at is None or not is_federated(post.visibility):
        return None  # unhidden again before we got here, or never left the node
    return await publishing.send_delete(fed, post)


async def on_response_hidden(fed: Federation, payload: dict) -> str | None:
    """Every Note of ours about the response (today: the message that told a remote
    helper their offer was accepted) is deleted for those it was sent to."""
    response = await Response.get_or_none(id=uuid.UUID(payload["response_id"]))
    if response is None or response.hidden_at is None:
        return None
    response_url = uris.absolute(
        fed.settings,
        uris.response(response.post_id, response.id),  # type: ignore[attr-defined]
    )
    await outbox.cancel_pending(response_url)
    creates = await OutboxActivity.filter(object_uri=response_url, activity_type="Create")
    for create in creates:
        inboxes = await outbox.inboxes_sent(object_uri=response_url)
        note = create.payload["object"]
        _, activity_id = outbox.new_activity_id(fed)
        delete = activities.about_post(
            "Delete",
            activity_id,
            create.payload["actor"],
            activities.tombstone(note["id"], response.hidden_at),
            note,
        )
        author = await local_actors.load(create.actor_kind, create.actor_key)
        await outbox.enqueue(fed, author, delete, sorted(inboxes), object_uri=response_url)
    if not creates:
        return None  # a local response that never left the node, or a remote one
    return f"Delete of {len(creates)} note(s) about {response_url}"


async def on_account_suspension_federated(fed: Federation, payload: dict) -> str | None:
    """Delete of the actor, as Mastodon sends on account deletion, to its followers and
    to every inbox that was ever sent one of its activities, signed by its own key."""
    account = await Account.get_or_none(id=payload["account_id"])
    if account is None or not account.is_suspended:
        return None  # the suspension was lifted: nothing to tell
    await outbox.cancel_pending_of_actor(account)
    followers = {f.delivery_inbox for f in await remote_followers(account)}
    inboxes = await outbox.with_earlier(followers, await outbox.inboxes_sent(actor=account))
    if not inboxes:
        return None  # nobody elsewhere ever heard of this account
    actor_id = uris.absolute(fed.settings, local_actors.path(account))
    _, activity_id = outbox.new_activity_id(fed)
    delete = activities.delete_actor(activity_id, actor_id)
    await outbox.enqueue(fed, account, delete, sorted(inboxes))
    return f"Delete of the actor {actor_id} to {len(inboxes)} inbox(es)"


def _same_host(uri: str, actor: RemoteActor) -> bool:
    return urlsplit(uri).netloc.lower() == urlsplit(actor.uri).netloc.lower()


async def on_report_forwarded(fed: Federation, payload: dict) -> str | None:
    """A Flag from the instance actor to the reported actor's server: the actor, then
    the reported objects on that server; the comment, never the reporter's name."""
    report = await Report.get_or_none(id=payload["report_id"]).prefetch_related(
        "remote_actor", "remote_post__actor"
    )
    if report is None or not report.forward or report.forwarded_at is not None:
        return None
    target = report.remote_actor or (report.remote_post.actor if report.remote_post else None)
    if target is None:
        return "nothing remote to forward the report to"
    if not await domain_policy.is_domain_allowed(fed.settings, target.domain):
        return f"not forwarded: this node does not federate with {target.domain}"
    reported = [target.uri]
    if report.remote_post is not None:
        reported.append(report.remote_post.object_uri)
    # Only what lives on the reported server: never our own URLs, nor a third server's.
    reported += [u for u in report.object_uris if isinstance(u, str) and _same_host(u, target)]
    objects = list(dict.fromkeys(reported))
    _, activity_id = outbox.new_activity_id(fed)
    instance = uris.absolute(fed.settings, uris.INSTANCE_ACTOR)
    flag = activities.flag(activity_id, instance, objects, report.comment)
    async with in_transaction():
        await outbox.enqueue(fed, THIS_NODE, flag, [target.delivery_inbox])
        report.forwarded_at = utcnow()
        await report.save(update_fields=["forwarded_at"])
    return f"Flag of {len(objects)} object(s) sent to {target.delivery_inbox}"
