"""Flag: a report from another server about something here, for the moderators (and,
about an organisation's post, its coordinators).

As Mastodon does: `object` names accounts and posts by URI, `content` is the comment,
`summary` may carry a category. Flags about nothing here are ignored; a domain whose
reports are refused (its domain rule's `reject_reports`) is not heard.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from federation.handlers.registry import Incoming, Outcome, handles
from federation.parse import is_http_url
from federation.vocab import as_list, id_of
from node.services import domain_policy, reports


@handles("Flag")
async def flag(incoming: Incoming) -> Outcome:
    objects = [u for u in (id_of(o) for o in as_list(incoming.object)) if is_http_url(u)]
    if not objects:
        return Outcome.rejected("Flag of nothing")
    if await domain_policy.rejects_reports(incoming.actor.domain):
        return Outcome.ignored("reports from this domain are refused")
    content = incoming.activity.get("content")
    activity_id = incoming.activity.get("id")
    # The Flag's id names it only when it is on the sender's host (as Mastodon checks).
    same_host = isinstance(activity_id, str) and _host(activity_id) == _host(incoming.actor.uri)
    report = await reports.receive_flag(
        incoming.fed.settings,
        incoming.actor,
        objects,
        content if isinstance(content, str) else "",
        summary=incoming.activity.get("summary"),
        activity_uri=activity_id[:500] if same_host else None,
    )
    if report is None:
        return Outcome.ignored("Flag about nothing here")
    return Outcome.processed("report stored")


def _host(url: str) -> str:
    return urlsplit(url).netloc.lower()
