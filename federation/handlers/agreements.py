"""Offer(Agreement) (FEP-0837): an explicit offer to help with one of our requests.

It becomes an offer of help on the post, like a reply; the author's decision goes back
as Accept or Reject of the Offer (see federation.conversations).
"""

from __future__ import annotations

from federation.handlers.local import local_post
from federation.handlers.registry import Incoming, Outcome, handles
from federation.vocab import id_of
from node.errors import Conflict
from node.services import remote_content
from node.services.visibility import remote_may_see
from node.text import html_to_text, sanitise_html


@handles("Offer", objects="agreement")
async def offer(incoming: Incoming) -> Outcome:
    agreement = incoming.object
    if not isinstance(agreement, dict) or agreement.get("type") != "Agreement":
        return Outcome.ignored("an Offer of something other than an Agreement")
    stipulates = agreement.get("stipulates")
    intent = id_of(stipulates.get("satisfies")) if isinstance(stipulates, dict) else None
    post = await local_post(incoming.fed, (intent or "").split("#", 1)[0], incoming.cache)
    if post is None:
        return Outcome.rejected("the agreement satisfies none of our requests or offers")
    if not await remote_may_see(incoming.actor, post):
        return Outcome.rejected("a post this actor may not see")
    content = incoming.activity.get("content")
    html = sanitise_html(content) if isinstance(content, str) else ""
    try:
        await remote_content.add_remote_reply(
            incoming.actor,
            post,
            object_uri=incoming.activity["id"],
            html=html,
            text=html_to_text(html),
            agreement=True,
            cache=incoming.cache,
        )
    except Conflict as exc:
        return Outcome.ignored(str(exc))
    return Outcome.processed("offer of help recorded")
