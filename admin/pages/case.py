"""One request as its organisation follows it up, at /admin/o/{slug}/r/{id}: assignment,
the helpers and how to reach them, partner organisations, private notes and contacts,
and (for coordinators and admins) the request's audit trail."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import back, errors_of, logged_in, me
from admin.rendering import render
from federation.lookup import LookupFailed, actor_uri_for_handle, parse_handle, remote_actor
from node import uris
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_, gettext
from node.models import HelpPost, Organisation, Role
from node.services import accounts, audit, casework, organisations, posts
from node.services.casework import CaseNote
from web.shell.forms import read_form

PARTNER_PROBLEMS = {
    "not_found": N_("No organisation was found at this address."),
    "taken": N_("This organisation is already a partner."),
    "other": N_("That organisation could not be reached. Check the address and try again."),
}


async def _case(request: Request) -> tuple[Organisation, HelpPost, list[int]]:
    """The organisation of the URL, the post, and the organisations the viewer acts for."""
    org = await organisations.get_organisation(request.path_params["slug"])
    post = await posts.get_post(request.path_params["post_id"], me(request))
    acting = await casework.case_organisations(me(request), post)
    if org.id not in acting:
        raise PermissionDenied("this request is not followed up by this organisation")
    return org, post, acting


def _path(org: Organisation, post: HelpPost) -> str:
    return uris.case(org.slug, post.id)


async def _page(
    request: Request, org: Organisation, post: HelpPost, errors: dict[str, str] | None = None
) -> Response:
    account = me(request)
    own = post.organisation_id == org.id
    coordinator = account.role == Role.ADMIN or await organisations.is_coordinator(
        account, post.organisation_id
    )
    title, _, title_lang = post.text_in(request.app.state.renderer.locale_for(request))
    return await render(
        request,
        "case.html",
        {
            "org": org,
            "post": post,
            "title": title,
            "title_lang": title_lang,
            "label": post.label_in(title_lang),
            "own": own,
            "staff": await organisations.staff_of(org) if own else [],
            "helpers": await casework.helpers(post),
            "partners": await casework.partners_of(post),
            "partner_choices": [
                o for o in await organisations.list_organisations() if o.id != post.organisation_id
            ],
            "entries": await casework.entries(post, org.id),
            "trail": await audit.trail_of(post) if coordinator and own else None,
            "errors": errors or {},
        },
        status_code=400 if errors else 200,
    )


@logged_in
async def case(request: Request) -> Response:
    org, post, _ = await _case(request)
    return await _page(request, org, post)


@logged_in
async def assign(request: Request) -> Response:
    org, post, _ = await _case(request)
    form = await read_form(request)
    username = form.get("assignee")
    try:
        assignee = await accounts.get_account(username) if username else None
        await casework.assign(post, assignee, by=me(request))
    except (InvalidInput, NotFound):
        locale = request.app.state.renderer.locale_for(request)
        message = gettext(locale, N_("Choose someone of the organisation's staff."))
        return await _page(request, org, post, {"assignee": message})
    return back(_path(org, post), "assigned" if assignee else "unassigned")


def _moment(text: str, zone: ZoneInfo) -> datetime:
    """A date and time typed in the form (the node's time zone), from 1900 to 2199:
    beyond, taking it to UTC may leave the calendar (year 9999 in a zone behind UTC)."""
    try:
        moment = datetime.fromisoformat(text).replace(tzinfo=zone)
    except ValueError:
        raise InvalidInput("occurred_at", N_("enter a date and time")) from None
    if not 1900 <= moment.year <= 2199:
        raise InvalidInput("occurred_at", N_("enter a date and time"))
    return moment


@logged_in
async def add_note(request: Request) -> Response:
    org, post, _ = await _case(request)
    form = await read_form(request)
    note = CaseNote(
        kind=form.get("kind"), body=form.get("body"), counterpart=form.get("counterpart")
    )
    when = form.get("occurred_at")
    try:
        if when:
            note.occurred_at = _moment(when, request.app.state.renderer.zone)
        await casework.add_entry(post, org.id, note, by=me(request))
    except InvalidInput as exc:
        return await _page(request, org, post, errors_of(request, exc))
    return back(_path(org, post), "note")


async def _remote_partner(request: Request, post: HelpPost, address: str) -> None:
    fed = request.app.state.federation
    handle = parse_handle(address)
    uri = await actor_uri_for_handle(fed, handle) if handle else address
    await casework.add_remote_partner(post, await remote_actor(fed, uri), by=me(request))


@logged_in
async def partners(request: Request) -> Response:
    """Name a partner organisation (here by choice, elsewhere by address) or remove one."""
    org, post, _ = await _case(request)
    form = await read_form(request)
    locale = request.app.state.renderer.locale_for(request)
    try:
        if form.get("action") == "remove":
            partner_id = form.get("partner")
            if not partner_id.isdigit() or len(partner_id) > 9:
                raise NotFound("no such partner")
            await casework.remove_partner(post, int(partner_id), by=me(request))
        elif form.get("address").strip():
            await _remote_partner(request, post, form.get("address").strip()[:300])
        else:
            partner = await organisations.get_organisation(form.get("organisation"))
            await casework.add_local_partner(post, partner, by=me(request))
    except InvalidInput as exc:
        problem = next(iter(errors_of(request, exc).values()))
    except Conflict:
        problem = gettext(locale, PARTNER_PROBLEMS["taken"])
    except (NotFound, ValueError):
        problem = gettext(locale, PARTNER_PROBLEMS["not_found"])
    except LookupFailed as exc:
        key = "not_found" if exc.reason in ("not_found", "not_actor") else "other"
        problem = gettext(locale, PARTNER_PROBLEMS[key])
    else:
        return back(_path(org, post), "partner")
    return await _page(request, org, post, {"partner": problem})
