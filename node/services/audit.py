"""Recording and reading the audit log (see `node.models.audit`).

Services call `record` inside the transaction of the change it describes, so the log
and the change commit together. Reading is for coordinators (a request's trail) and
admins (everything).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from node.models import Account, AuditEntry, HelpPost, Organisation
from node.timeutil import utcnow

# Seeing the private address is recorded once a day per person and post: the trail says
# who looked, without a row for every page view.
ADDRESS_SEEN_EVERY = timedelta(days=1)


async def record(
    actor: Account | None,
    action: str,
    subject: str = "",
    *,
    post: HelpPost | None = None,
    organisation: Organisation | int | None = None,
    detail: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    """Add one entry; `actor` None means the node itself (expiry, say)."""
    org_id = organisation.id if isinstance(organisation, Organisation) else organisation
    if org_id is None and post is not None:
        org_id = post.organisation_id
    return await AuditEntry.create(
        actor=actor,
        actor_name=actor.display_name if actor else "",
        action=action,
        subject=subject or (f"post:{post.id}" if post else ""),
        post=post,
        organisation_id=org_id,
        detail=detail or {},
        reason=reason,
    )


async def address_seen(viewer: Account, post: HelpPost) -> None:
    """Note that `viewer` was shown the post's private address (its author is not)."""
    if viewer.id == post.author_id:
        return
    since = utcnow() - ADDRESS_SEEN_EVERY
    if await AuditEntry.exists(
        action="post.address_seen", post_id=post.id, actor_id=viewer.id, at__gte=since
    ):
        return
    await record(viewer, "post.address_seen", post=post)


async def trail_of(post: HelpPost) -> list[AuditEntry]:
    """Everything recorded about `post`, oldest first."""
    return await AuditEntry.filter(post_id=post.id).order_by("at", "id")
