"""Guides for helpers in the browser: the node's at /admin/guides (its admins), an
organisation's at /admin/o/{slug}/guides (its staff read them, its coordinators and the
node's admins edit them). A table of categories by language says which are edited; each
opens a form with the points helpers are shown now, one per line, to save or to take
back to what they replaced. The rules live in `node.services.guide_editing`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import admins_only, back, errors_of, logged_in, me
from admin.rendering import render
from node import uris
from node.errors import InvalidInput, PermissionDenied
from node.i18n import LANGUAGE_NAMES, N_, gettext
from node.models import Organisation
from node.services import guide_editing, organisations
from node.services.guides import MAX_POINT_CHARS, MAX_POINTS
from web.shell.forms import read_form

RESET = "reset"  # the `done` of a reset: its notice is this page's own
RESET_NOTICE = N_("The edited text is removed: helpers see the guide it replaced again.")


def list_path(org: Organisation | None) -> str:
    return f"{uris.dashboard(org.slug)}/guides" if org else uris.ADMIN_GUIDES


def edit_path(org: Organisation | None, category: str, language: str) -> str:
    return f"{list_path(org)}/{category}/{language}"


async def _organisation(request: Request) -> Organisation:
    """The organisation of the URL, if its staff or an admin asks (404 before 403)."""
    org = await organisations.get_organisation(request.path_params["slug"])
    if not await guide_editing.can_see_guides(me(request), org):
        raise PermissionDenied("only the organisation's staff and the node's admins")
    return org


async def _list(request: Request, org: Organisation | None) -> Response:
    return await render(
        request,
        "guides.html",
        {
            "org": org,
            "categories": guide_editing.CATEGORY_SLUGS,
            "sources": await guide_editing.sources(org.id if org else None),
            "list_path": list_path(org),
        },
    )


async def _form(
    request: Request,
    org: Organisation | None,
    *,
    text: str | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    category, language = request.path_params["category"], request.path_params["language"]
    org_id = org.id if org else None
    current = await guide_editing.editable(category, language, org_id)
    extra = {}
    if request.query_params.get("done") == RESET:
        locale = request.app.state.renderer.locale_for(request)
        extra["notice"] = gettext(locale, RESET_NOTICE)
    return await render(
        request,
        "guide_form.html",
        {
            "org": org,
            "current": current,
            "language_name": LANGUAGE_NAMES[language],
            "can_edit": await guide_editing.can_edit_guides(me(request), org_id),
            "values": {"points": "\n".join(current.guide.points) if text is None else text},
            "errors": errors or {},
            "action": edit_path(org, category, language),
            "list_path": list_path(org),
            "max_points": MAX_POINTS,
            "max_chars": MAX_POINT_CHARS,
            **extra,
        },
        status_code=400 if errors else 200,
    )


async def _save(request: Request, org: Organisation | None) -> Response:
    category, language = request.path_params["category"], request.path_params["language"]
    org_id = org.id if org else None
    await guide_editing.editable(category, language, org_id)  # 404 for no such guide
    if not await guide_editing.can_edit_guides(me(request), org_id):
        raise PermissionDenied("only coordinators and admins edit the guides")
    form = await read_form(request)
    text = form.get("points")
    try:
        await guide_editing.save_guide(
            me(request),
            organisation_id=org_id,
            category=category,
            language=language,
            points=guide_editing.points_from_text(text),
        )
    except InvalidInput as exc:
        return await _form(request, org, text=text, errors=errors_of(request, exc))
    return back(edit_path(org, category, language), "saved")


async def _reset(request: Request, org: Organisation | None) -> Response:
    category, language = request.path_params["category"], request.path_params["language"]
    org_id = org.id if org else None
    await guide_editing.editable(category, language, org_id)
    if not await guide_editing.can_edit_guides(me(request), org_id):
        raise PermissionDenied("only coordinators and admins edit the guides")
    await read_form(request)  # the CSRF check
    await guide_editing.reset_guide(
        me(request), organisation_id=org_id, category=category, language=language
    )
    return back(edit_path(org, category, language), RESET)


@admins_only
async def node_guides(request: Request) -> Response:
    return await _list(request, None)


@admins_only
async def node_guide(request: Request) -> Response:
    if request.method == "POST":
        return await _save(request, None)
    return await _form(request, None)


@admins_only
async def node_guide_reset(request: Request) -> Response:
    return await _reset(request, None)


@logged_in
async def organisation_guides(request: Request) -> Response:
    return await _list(request, await _organisation(request))


@logged_in
async def organisation_guide(request: Request) -> Response:
    org = await _organisation(request)
    if request.method == "POST":
        return await _save(request, org)
    return await _form(request, org)


@logged_in
async def organisation_guide_reset(request: Request) -> Response:
    return await _reset(request, await _organisation(request))
