"""The operator's endpoints /readyz and /metrics, answered before sessions and pages.

They are for monitoring, not for visitors: no session lookup, no cookie, no page cache,
no CSRF seed, and they answer even when the pages cannot (a database without tables,
say). A pure ASGI middleware placed right inside the request log (so they are logged
and counted like any request):

- `/readyz` (GET or HEAD): 200 when every check of `node.readiness` says "ok", else 503;
  the JSON body names each check and what is wrong.
- `/metrics` (GET or HEAD with the right bearer token, when `metrics_token` is set):
  `node.metrics`. Anything else goes on to the pages, which have no /metrics: the 404
  of any unknown page.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from node import metrics, readiness
from node.config import Settings

READY_PATH = "/readyz"
READ_METHODS = ("GET", "HEAD")
NO_STORE = {"cache-control": "no-store"}


async def ready_response(settings: Settings) -> Response:
    checks = await readiness.check(settings)
    ready = readiness.is_ready(checks)
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers=NO_STORE,
    )


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


class OperatorEndpoints:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def _metrics_allowed(self, scope: Scope) -> bool:
        token = self.settings.metrics_token
        return token is not None and metrics.token_matches(_authorization(scope), token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in READ_METHODS:
            response: Response | None = None
            if scope["path"] == READY_PATH:
                response = await ready_response(self.settings)
            elif scope["path"] == metrics.PATH and self._metrics_allowed(scope):
                response = Response(
                    await metrics.render(), media_type=metrics.CONTENT_TYPE, headers=NO_STORE
                )
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
