"""Reporting a post, a response or a profile to the moderators (`/report?post=...`).

Logged-in residents only (others log in first and come back). The form asks for a
reason and a comment; for content from another server it also offers to send the
report there, without the reporter's name. Nothing is stored from a bad form; an
unknown target is not found; too many reports in an hour get a 429.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node.errors import InvalidInput, NotFound, RateLimited
from node.i18n import N_, gettext
from node.services import reports
from node.services.reports import Target, TargetKind
from web.shell.errors import error_page
from web.shell.forms import Form, field_error, read_form
from web.shell.session import viewer

PATH = "/report"
THANKS = "/report/thanks"
# The reasons as the form lists them.
CATEGORY_LABELS = {
    "spam": N_("Spam or advertising"),
    "abuse": N_("Abuse or harassment"),
    "personal_data": N_("Someone's personal data"),
    "dangerous": N_("A dangerous or illegal request"),
    "other": N_("Something else"),
}


def _target_of(request: Request) -> tuple[str, str]:
    """The one kind of target the query names, and its key; NotFound otherwise."""
    named = [(kind.value, request.query_params[kind.value]) for kind in TargetKind
             if kind.value in request.query_params]  # fmt: skip
    if len(named) != 1 or len(request.query_params) > 1:
        raise NotFound("name one thing to report")
    return named[0]


def _login_first(request: Request) -> RedirectResponse:
    here = f"{PATH}?{request.url.query}"
    return RedirectResponse(f"/login?next={quote(here, safe='/')}", status_code=303)


def _describe(target: Target, locale: str) -> dict[str, str]:
    """What the page says is reported: a kind of thing and its name or title."""
    if target.kind == TargetKind.POST and target.post is not None:
        return {"what": "post", "name": target.post.text_in(locale)[0]}
    if target.kind == TargetKind.RESPONSE and target.response is not None:
        author = target.response.remote_author
        who = (
            (author.display_name or f"@{author.username}@{author.domain}")
            if author is not None
            else ""
        )
        return {"what": "response", "name": target.response.body[:120], "who": who}
    if target.account is not None:
        return {"what": "person", "name": target.account.display_name}
    if target.organisation is not None:
        return {"what": "organisation", "name": target.organisation.name}
    if target.remote_actor is not None:
        actor = target.remote_actor
        handle = f"@{actor.username}@{actor.domain}" if actor.username else actor.domain
        return {"what": "person", "name": f"{actor.display_name} ({handle})".strip()}
    assert target.remote_post is not None
    return {"what": "post", "name": target.remote_post.title}


def _server_of(target: Target) -> str:
    if target.remote_actor is not None:
        return target.remote_actor.domain
    if target.remote_post is not None:
        return target.remote_post.actor.domain
    if target.response is not None and target.response.remote_author is not None:
        return target.response.remote_author.domain
    return ""


async def _form_page(
    request: Request,
    target: Target,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    return await renderer.render(
        request,
        "report.html",
        {
            "target": _describe(target, locale),
            "action": f"{PATH}?{urlencode([_target_of(request)])}",
            "categories": [(key, gettext(locale, label)) for key, label in CATEGORY_LABELS.items()],
            "remote_server": _server_of(target) if target.remote else "",
            "comment_max": reports.COMMENT_MAX,
            "values": values or {},
            "errors": errors or {},
        },
        status_code=status_code,
    )


def _errors(locale: str, exc: InvalidInput) -> dict[str, str]:
    problems = getattr(exc, "errors", None) or [exc]
    found: dict[str, str] = {}
    for problem in problems:
        field = problem.field if problem.field in ("category", "comment") else "_form"
        found.setdefault(field, field_error(locale, problem))
    return found


async def report(request: Request) -> Response:
    account = viewer(request)
    if account is None:
        return _login_first(request)
    kind, key = _target_of(request)
    settings = request.app.state.settings
    form: Form | None = None
    if request.method == "POST":
        form = await read_form(request)
    target = await reports.find_target(settings, kind, key, account)
    if form is None:
        return await _form_page(request, target)
    values = {
        "category": form.get("category"),
        "comment": form.get("comment"),
        "forward": "yes" if form.get("forward") == "yes" else "",
    }
    try:
        filed = await reports.file_report(
            settings,
            account,
            target,
            values["category"],
            values["comment"],
            forward=values["forward"] == "yes",
        )
    except InvalidInput as exc:
        locale = request.app.state.renderer.locale_for(request)
        errors = _errors(locale, exc)
        return await _form_page(request, target, values=values, errors=errors, status_code=400)
    except RateLimited as exc:
        page = await error_page(request, 429)
        page.headers["retry-after"] = str(exc.retry_after)
        return page
    return RedirectResponse(THANKS + ("" if filed.new else "?already=1"), status_code=303)


async def thanks(request: Request) -> Response:
    if viewer(request) is None:
        return RedirectResponse(f"/login?next={THANKS}", status_code=303)
    return await request.app.state.renderer.render(
        request, "report_thanks.html", {"already": request.query_params.get("already") == "1"}
    )
