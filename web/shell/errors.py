"""Error pages in the visitor's language, for domain errors and HTTP errors alike."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from node.errors import Conflict, DomainError, NotFound, PermissionDenied
from node.i18n import N_, gettext

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
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return await error_page(request, 500)


HANDLERS = {HTTPException: http_error, DomainError: domain_error, Exception: server_error}
