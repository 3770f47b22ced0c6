"""Headers every response of the node carries, whatever route or error produced it.

`X-Content-Type-Options: nosniff` on everything (pages, JSON, ActivityPub, static files,
media, feeds, exports, redirects and error pages), so no browser reads a document as
another type than the one it was sent as. `Strict-Transport-Security` when the node's
public URL is https: browsers then never try plain http for it again. Without
`includeSubDomains` or `preload`: a node often lives on one subdomain of a commune's or
an NGO's domain, whose other hosts are not ours to commit to https.

A pure ASGI middleware (no `BaseHTTPMiddleware`, which costs a task and a copy per
request), wrapped around the whole app, the server-error handler included.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOSNIFF = (b"x-content-type-options", b"nosniff")
HSTS = (b"strict-transport-security", b"max-age=31536000")


def headers_for(public_url: str) -> tuple[tuple[bytes, bytes], ...]:
    """What every response of a node at `public_url` adds."""
    return (NOSNIFF, HSTS) if public_url.lower().startswith("https://") else (NOSNIFF,)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, public_url: str) -> None:
        self.app = app
        self.extra = headers_for(public_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in self.extra if pair[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)
