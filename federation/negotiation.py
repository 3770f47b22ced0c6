"""Content negotiation: one URL, HTML for browsers and ActivityStreams for servers.

Requests that ask for `application/activity+json` (or the ld+json profile) and match an
ActivityPub route go to federation; everything else goes on to the rest of the app.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from federation.vocab import wants_activitypub


class ActivityPubNegotiation:
    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        # Paths that match none of `routes` fall through to the app.
        self.router = Router(routes=routes, default=app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
            if wants_activitypub(accept):
                await self.router(scope, receive, send)
                return
        await self.app(scope, receive, send)
