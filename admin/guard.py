"""Who may open an admin page, and what every admin page needs around its form.

Anonymous visitors are sent to log in (and come back); logged-in people without the
right get the 403 page in their language. Node administration is for the node's admins;
an organisation's dashboard for its staff and the admins (see `node.services.dashboards`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node.errors import InvalidFields, InvalidInput, PermissionDenied
from node.models import Account, Role
from web.shell.forms import field_error
from web.shell.session import viewer

Handler = Callable[[Request], Awaitable[Response]]
_PAGE = re.compile(r"[0-9]{1,5}")


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


def logged_in(handler: Handler) -> Handler:
    """Anonymous visitors log in first; the handler decides the rest."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        if viewer(request) is None:
            return login_redirect(request)
        return await handler(request)

    return guarded


def admins_only(handler: Handler) -> Handler:
    """Node administration: the node's admins; everyone else who is logged in gets 403."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        account = viewer(request)
        if account is None:
            return login_redirect(request)
        if account.role != Role.ADMIN or not account.is_active:
            raise PermissionDenied("node administration is for the node's admins")
        return await handler(request)

    return guarded


def moderators_only(handler: Handler) -> Handler:
    """Moderation (reports, sanctions, the audit log): the node's moderators and admins."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        account = viewer(request)
        if account is None:
            return login_redirect(request)
        if not account.is_staff_of_node or not account.is_active:
            raise PermissionDenied("moderation is for the node's moderators and admins")
        return await handler(request)

    return guarded


def me(request: Request) -> Account:
    """The logged-in account of a guarded page."""
    account = viewer(request)
    assert account is not None, "use a guard first"
    return account


def errors_of(request: Request, exc: InvalidInput) -> dict[str, str]:
    """Every field's error, translated, for the form to show next to each field."""
    locale = request.app.state.renderer.locale_for(request)
    problems = exc.errors if isinstance(exc, InvalidFields) else [exc]
    errors: dict[str, str] = {}
    for problem in problems:
        errors.setdefault(problem.field, field_error(locale, problem))
    return errors


def back(path: str, done: str = "") -> RedirectResponse:
    """After a form: back to a page (303, so a reload does not post again)."""
    return RedirectResponse(path + (f"?done={done}" if done else ""), status_code=303)


def page_number(raw: str | None) -> int:
    """A page number from a URL: 1 to 99999, and 1 for anything else."""
    text = raw or ""
    return int(text) if _PAGE.fullmatch(text) and int(text) > 0 else 1


def texts_by_language(form: Any, prefix: str, languages: tuple[str, ...]) -> dict[str, str]:
    """`{lang: text}` from fields named `prefix_nl`, `prefix_fr`, ..."""
    return {lang: form.get(f"{prefix}_{lang}") for lang in languages}
