"""Content negotiation: one URL, HTML for browsers and ActivityStreams for servers.

Requests that ask for `application/activity+json` (or the ld+json profile) and match an
ActivityPub route go to federation; everything else goes on to the rest of the app.
Every answer at such a URL says `Vary: Accept`, the HTML page as well as the JSON
document, so that no cache hands one to a client that asked for the other.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from federation.vocab import wants_activitypub


def _vary_accept(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            varies = [v.strip() for v in headers.get("vary", "").split(",") if v.strip()]
            if not any(v.lower() in ("accept", "*") for v in varies):
                headers["vary"] = ", ".join([*varies, "Accept"])
        await send(message)

    return sending


class ActivityPubNegotiation:
    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes
        # Paths that match none of `routes` fall through to the app.
        self.router = Router(routes=routes, default=app)

    def _negotiated(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] == Match.FULL for route in self.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if not self._negotiated(scope):
            await self.app(scope, receive, send)
            return
        accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
        target = self.router if wants_activitypub(accept) else self.app
        await target(scope, receive, _vary_accept(send))
