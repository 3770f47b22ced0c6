"""Flag: a report from another server, stored for the moderators."""

from __future__ import annotations

from federation.handlers import Incoming, Outcome, handles
from federation.parse import is_http_url
from federation.vocab import as_list, id_of
from node.services import moderation
from node.text import clean_text


@handles("Flag")
async def flag(incoming: Incoming) -> Outcome:
    objects = [u for u in (id_of(o) for o in as_list(incoming.object)) if is_http_url(u)]
    if not objects:
        return Outcome.rejected("Flag of nothing")
    content = incoming.activity.get("content")
    await moderation.add_report(
        object_uris=objects,
        comment=clean_text(content) if isinstance(content, str) else "",
        reporter_remote=incoming.actor,
        activity_uri=incoming.activity["id"],
    )
    return Outcome.processed("report stored")
