"""Error pages in the visitor's language, for domain errors and HTTP errors alike."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from node.errors import DomainError, NotFound, PermissionDenied
from node.i18n import N_, gettext

log = logging.getLogger("nabuur.web")

MESSAGES = {
    404: (N_("Page not found"), N_("There is nothing at this address. It may have been removed.")),
    403: (N_("Not allowed"), N_("You are not allowed to do this.")),
    500: (N_("Something went wrong"), N_("This is our fault. Please try again in a moment.")),
}


def error_page(request: Request, status: int) -> Response:
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    heading, message = MESSAGES.get(status, MESSAGES[500])
    return renderer.render(
        request,
        "error.html",
        {"heading": gettext(locale, heading), "message": gettext(locale, message)},
        status_code=status,
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in MESSAGES:
        return error_page(request, exc.status_code)
    return Response(exc.detail, status_code=exc.status_code)


async def domain_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotFound):
        return error_page(request, 404)
    if isinstance(exc, PermissionDenied):
        return error_page(request, 403)
    assert isinstance(exc, DomainError)
    return Response(str(exc), status_code=exc.status, media_type="text/plain")


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(request, 500)


HANDLERS = {HTTPException: http_error, DomainError: domain_error, Exception: server_error}
