"""Error pages in the visitor's language, for domain errors and HTTP errors alike.

A database that is away, cut, full or read-only (`node.db_faults`) is a 503 "temporarily
unavailable" page with Retry-After, drawn without the database (no session, no node
profile), and logged once per streak of failures instead of a traceback per request.
`DatabaseFaults` catches it wherever it is raised: in a page, or in the session lookup
before any page runs.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.db_faults import RETRY_AFTER_SECONDS, FailureStreak, fault_of
from node.errors import Conflict, DomainError, NotFound, PermissionDenied
from node.i18n import N_, gettext
from node.logs import loggable_path
from web.shell.rendering import SECURITY_HEADERS

log = logging.getLogger("nabuur.web")

MESSAGES = {
    400: (N_("Something is wrong with this request"), N_("The form could not be read.")),
    403: (N_("Not allowed"), N_("You are not allowed to do this.")),
    404: (N_("Page not found"), N_("There is nothing at this address. It may have been removed.")),
    405: (N_("Not allowed"), N_("This address cannot be used this way.")),
    409: (N_("This cannot be done now"), N_("Someone changed this in the meantime.")),
    413: (N_("Too much text"), N_("What you sent is too long. Please shorten it.")),
    415: (N_("Something is wrong with this request"), N_("The form could not be read.")),
    429: (N_("Too many attempts"), N_("Please wait a few minutes and try again.")),
    500: (N_("Something went wrong"), N_("This is our fault. Please try again in a moment.")),
    503: (
        N_("Temporarily unavailable"),
        N_("This site cannot reach its data right now. Please try again in a few minutes."),
    ),
    # A second thank-you for the same request (`node.services.thanks.AlreadyThanked`).
    "thanked": (
        N_("This cannot be done now"),
        N_("You have already thanked the helpers of this request."),
    ),
    "csrf": (
        N_("This form has expired"),
        N_("Go back, reload the page and try again. Your text was not saved."),
    ),
}


async def error_page(request: Request, status: int, kind: int | str | None = None) -> Response:
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    heading, message = MESSAGES.get(kind or status, MESSAGES[500])
    return await renderer.render(
        request,
        "error.html",
        {"heading": gettext(locale, heading), "message": gettext(locale, message)},
        status_code=status,
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 403 and exc.detail == "csrf":
        return await error_page(request, 403, "csrf")
    if exc.status_code in MESSAGES:
        return await error_page(request, exc.status_code)
    return Response(exc.detail, status_code=exc.status_code, headers=exc.headers)


async def domain_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotFound):
        return await error_page(request, 404)
    if isinstance(exc, PermissionDenied):
        return await error_page(request, 403)
    if isinstance(exc, Conflict):
        return await error_page(request, 409)
    assert isinstance(exc, DomainError)
    return await error_page(request, 400)


async def server_error(request: Request, exc: Exception) -> Response:
    if fault_of(exc) is not None:  # raised outside DatabaseFaults: still no 500
        log.error("%s %s: %s", request.method, loggable_path(request.url.path), exc)
        return unavailable(request)
    log.exception(
        "unhandled error on %s %s", request.method, loggable_path(request.url.path), exc_info=exc
    )
    return await error_page(request, 500)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.url.path.endswith("/inbox") or ("json" in accept and "html" not in accept)


def unavailable(request: Request) -> Response:
    """The 503 answer to a database fault, made without touching the database."""
    headers = {"retry-after": str(RETRY_AFTER_SECONDS), "cache-control": "no-store"}
    if _wants_json(request):
        return JSONResponse({"error": "temporarily unavailable"}, 503, headers=headers)
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    heading, message = MESSAGES[503]
    html = (
        renderer.environments[locale]
        .get_template("error.html")
        .render(
            request=request,
            viewer=None,
            unread=0,
            dashboard=False,
            node_name=request.app.state.settings.name,  # the stored profile is out of reach
            node_tagline="",
            node_tagline_lang=locale,
            csrf_token=lambda: "",  # the session is out of reach; no form works now anyway
            here=request.url.path,
            heading=gettext(locale, heading),
            message=gettext(locale, message),
        )
    )
    return HTMLResponse(html, 503, headers={**SECURITY_HEADERS, **headers})


class DatabaseFaults:
    """Pure ASGI: a database fault raised inside becomes the 503 page, logged once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.faults = FailureStreak(log, "pages: the database")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            if status or fault_of(exc) is None:  # a bug, or too late to answer otherwise
                raise
            self.faults.failed(exc)
            await unavailable(Request(scope))(scope, receive, send)
            return
        # A page answered: the database works again (static files prove nothing).
        if self.faults.failing and status < 500 and not scope["path"].startswith("/static/"):
            self.faults.succeeded()


HANDLERS = {HTTPException: http_error, DomainError: domain_error, Exception: server_error}
