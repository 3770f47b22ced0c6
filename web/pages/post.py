"""A request's or offer's page (the object's `url`), and what people do on it.

Everyone sees what a helper needs to know; the author and the organisation's staff
also accept or decline helpers and change the status; the exact place is shown only
to them and to accepted helpers. Responses come fifty to a page (`?page=N`, oldest
first; see `post_view`). On a request, helpers read the category's guide (confirmed
before their first offer in it) and may point the author to a service, which the author
may mark as having solved it (`service_pointers`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node import uris
from node.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from node.i18n import N_, gettext
from node.models import Account, HelpPost, PostKind
from node.models import Response as PostResponse
from node.services import (
    conversations,
    helper_firsts,
    post_view,
    posts,
    remote_content,
    removals,
    responses,
    service_pointers,
)
from node.states import PostAction, PostStatus, post_allows
from web.pages.cards import build_cards
from web.pages.post_guidance import guide_shown, service_options, shown_service
from web.pages.post_responses import ShownResponse, shown_response
from web.pages.remote_follow import form_headers
from web.shell.forms import Form, field_error, read_form
from web.shell.page_cache import for_anonymous
from web.shell.session import viewer

DONE_MESSAGES = {
    "published": N_("Your post is published. Neighbours can now answer it."),
    "edited": N_("Your changes are saved."),
    "offered": N_("Thank you! The author has been told that you can help."),
    "commented": N_("Your comment has been added."),
    "accepted": N_("The helper has been accepted and told."),
    "declined": N_("The offer has been declined."),
    "withdrawn": N_("Your offer has been withdrawn."),
    "status": N_("The status has been changed."),
    "pointed": N_("Thank you! The author has been pointed to the service."),
    "solved": N_("Glad the service helped: your request is closed as done."),
    "thanked": N_("Your thank-you is published and the helpers have been told."),
}
CONFLICT = N_("This cannot be done now: the post or the offer changed in the meantime.")
DECLINED = N_("Your offer of help on this post was declined: you cannot offer again.")
ALREADY_POINTED = N_("You have already pointed to this service here.")
READ_GUIDE_FIRST = N_("Please read the guide and confirm it before your first offer.")
STATUS_ACTIONS = {
    PostStatus.MATCHED: N_("Mark as matched (enough helpers)"),
    PostStatus.DONE: N_("Mark as done"),
    PostStatus.OPEN: N_("Open it again"),
    PostStatus.WITHDRAWN: N_("Withdraw this post"),
}


async def _page(
    request: Request,
    post: HelpPost,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    removal: removals.Removal | None = None,
    problem: str | None = None,
) -> Response:
    renderer = request.app.state.renderer
    settings = request.app.state.settings
    locale = renderer.locale_for(request)
    account = viewer(request)
    view = await post_view.view_post(post, account, page_number(request))
    [card] = await build_cards([post], locale, accepted={post.id: view.accepted})
    org = post.organisation
    org_voice = None
    if org is not None and not org.show_staff_names:
        org_voice = (org.name, uris.organisation(org.slug))

    def shown_all(rows: list[PostResponse]) -> list[ShownResponse]:
        return [
            shown_response(
                row,
                account,
                org_voice if row.author_id in view.team_ids else None,
                service=shown_service(view.pointed.get(str(row.id)), locale),
                first_time=str(row.id) in view.first_timers,
            )
            for row in rows
        ]

    shown, pinned = shown_all(view.responses), shown_all(view.pinned)
    done = request.query_params.get("done")
    if problem is None and request.query_params.get("problem") == "conflict":
        problem = CONFLICT
    solved, solving_service = await service_pointers.solved_by(post)
    versions = [(post.language, post.title, post.description)] + [
        (lang, text.get("title", ""), text.get("description", ""))
        for lang, text in post.translations.items()
    ]
    return await renderer.render(
        request,
        "post.html",
        {
            "post": post,
            "card": card,
            "other_texts": [v for v in versions if v[0] != card.language],
            "responses": shown,
            "pinned": pinned,
            "total": view.total,
            "page": view.page,
            "pages": view.pages,
            "manage": view.manage,
            "manage_helpers": view.manage_helpers,
            "can_withdraw": view.may_withdraw,
            "private_location": view.private_location,
            "own_offer": next(
                (r for r in shown + pinned if view.own_offer and r.id == str(view.own_offer.id)),
                None,
            ),
            "can_offer": view.can_offer,
            "declined": view.declined,
            "can_comment": view.can_comment,
            "offers_may_change": post_allows(post.status, PostAction.DECLINE),
            "offer_may_be_withdrawn": post_allows(post.status, PostAction.WITHDRAW_OFFER),
            "status_actions": [
                (target, gettext(locale, STATUS_ACTIONS[target])) for target in view.status_moves
            ],
            "reactions": await remote_content.reaction_counts(post),
            "notice": gettext(locale, DONE_MESSAGES[done]) if done in DONE_MESSAGES else None,
            "problem": gettext(locale, problem) if problem else None,
            "errors": errors or {},
            "values": values or {},
            "activitypub_url": uris.absolute(settings, uris.post(post.id)),
            "is_request": post.kind == PostKind.REQUEST,
            "removal": removal,
            "guide": await guide_shown(post, account, locale, manages=view.manage),
            "needs_guide": view.needs_guide,
            "can_point": view.can_point and bool(view.services),
            "service_options": service_options(view.services, locale),
            "can_solve_with_service": view.can_solve_with_service,
            "solved_with_service": solved,
            "solving_service": shown_service(solving_service, locale),
            # The author's thank-you, shown apart (`_thanks.html`); its form for managers.
            "thanks": shown_all([view.thanks])[0] if view.thanks else None,
            "may_thank": view.may_thank,
            "not_needed": view.not_needed,
            # Its participants only: nobody else learns the conversation exists.
            "conversation": await conversations.summary(account, post),
            # For a helper reading it: the accepted helpers besides them.
            "conversation_others": max(view.accepted - 1, 0),
        },
        status_code=status_code,
        headers=(form_headers(settings) if account is None else {})
        # Only its audience may see a post that is not public: no cache may keep it.
        | ({} if post.visibility == "public" else {"cache-control": "private, no-store"}),
    )


REMOVED = {
    "post": (
        N_("Removed by the moderators"),
        N_("The moderators of this node removed this post. It is no longer available."),
    ),
    "account": (
        N_("Suspended by the moderators"),
        N_("The moderators of this node suspended this account. Its page is not available."),
    ),
}


async def removed_page(request: Request, what: str = "post") -> Response:
    """410: what the moderators removed is gone for this visitor."""
    locale = request.app.state.renderer.locale_for(request)
    heading, message = (gettext(locale, text) for text in REMOVED[what])
    return await request.app.state.renderer.render(
        request, "error.html", {"heading": heading, "message": message}, status_code=410
    )


def page_number(request: Request) -> int:
    """The page of responses asked for (`?page=N`): anything but a number from 1 to 99999
    is the first page; past the last page, `view_post` shows the last."""
    raw = request.query_params.get("page", "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 5 else 1


@for_anonymous
async def show(request: Request) -> Response:
    raw = request.path_params["post_id"]
    canonical = uris.canonical_id(raw) if uris.id_key(raw) is None else None
    if canonical is not None:  # "urn:uuid:…", braces, capitals: the page has one URL
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(uris.post(canonical) + query, status_code=301)
    post = await posts.get_post(raw, viewer(request))
    removal = await removals.post_removal(post, viewer(request))
    if removal is not None and not removal.shown:
        return await removed_page(request)
    return await _page(request, post, removal=removal)


def _back(post: HelpPost, query: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"{uris.post(post.id)}?{query}{anchor}", status_code=303)


async def _acting(request: Request) -> tuple[Account | None, HelpPost]:
    """The logged-in account and the post; the post must be visible to them."""
    account = viewer(request)
    post = await posts.get_post(request.path_params["post_id"], account)
    removal = await removals.post_removal(post, account)
    if removal is not None and not removal.shown:
        raise HTTPException(410)
    return account, post


def _login_first(post: HelpPost) -> RedirectResponse:
    return RedirectResponse(f"/login?next={uris.post(post.id)}", status_code=303)


async def _respond(
    request: Request,
    write: Callable[[Account, HelpPost, str], Awaitable[object]],
    field: str,
    done: str,
    form: Form | None = None,
    *,
    guide_first: bool = False,
) -> Response:
    """Post a response with `write` (offer or comment); errors go back to the form `field`.
    `guide_first`: a first offer of help in the post's category waits for its reader to
    confirm the category's guide (shown open with the form)."""
    form = form or await read_form(request)
    account, post = await _acting(request)
    if account is None:
        return _login_first(post)
    if (
        guide_first
        and post.kind == PostKind.REQUEST
        and form.get("read_guide") != "yes"
        and await helper_firsts.needs_guide(account, post.category)
    ):
        locale = request.app.state.renderer.locale_for(request)
        errors = {"read_guide": gettext(locale, READ_GUIDE_FIRST)}
        values = {field: form.get("body")}
        return await _page(request, post, errors=errors, values=values, status_code=400)
    try:
        await write(account, post, form.get("body"))
    except InvalidInput as exc:
        locale = request.app.state.renderer.locale_for(request)
        errors = {field: field_error(locale, exc)}
        values = {field: form.get("body")}
        return await _page(request, post, errors=errors, values=values, status_code=400)
    except responses.AlreadyDeclined:
        return await _page(request, post, status_code=409, problem=DECLINED)
    except Conflict:
        return _back(post, "problem=conflict")
    # The new response is the newest: on the last page.
    last = await post_view.page_count(post, account)
    return _back(post, f"done={done}" + (f"&page={last}" if last > 1 else ""), "#responses")


async def offer(request: Request) -> Response:
    return await _respond(request, responses.offer_help, "offer_body", "offered", guide_first=True)


async def comment(request: Request) -> Response:
    """A comment, or, with a `service` field, a pointer to a service (a structured
    comment: the service chosen and an optional note)."""
    form = await read_form(request)
    if form.has("service"):
        return await _point(request, form)
    return await _respond(request, responses.add_comment, "comment_body", "commented", form)


async def _point(request: Request, form: Form) -> Response:
    account, post = await _acting(request)
    if account is None:
        return _login_first(post)
    try:
        await service_pointers.point_to_service(
            account, post, form.get("service"), form.get("note")
        )
    except InvalidInput as exc:
        locale = request.app.state.renderer.locale_for(request)
        errors = {"pointer_note" if exc.field == "note" else "service": field_error(locale, exc)}
        values = {"service": form.get("service"), "pointer_note": form.get("note")}
        return await _page(request, post, errors=errors, values=values, status_code=400)
    except service_pointers.AlreadyPointed:
        return await _page(request, post, status_code=409, problem=ALREADY_POINTED)
    except Conflict:
        return await _page(request, post, status_code=409, problem=CONFLICT)
    last = await post_view.page_count(post, account)
    return _back(post, "done=pointed" + (f"&page={last}" if last > 1 else ""), "#responses")


ANSWERS = {
    "accept": (responses.accept_helper, "accepted"),
    "decline": (responses.decline_helper, "declined"),
    "withdraw": (responses.withdraw_offer, "withdrawn"),
}


async def answer(request: Request) -> Response:
    """Accept or decline a helper (author, staff), withdraw one's own offer, or close the
    request as done with the service a response pointed to ("solved")."""
    await read_form(request)
    account, post = await _acting(request)
    if account is None:
        return _login_first(post)
    action = request.path_params["action"]
    if action == "solved":  # the service a response pointed to solved the request
        try:
            await service_pointers.solved_with_service(
                account, post, request.path_params["response_id"]
            )
        except Conflict:
            return await _page(request, post, status_code=409, problem=CONFLICT)
        return _back(post, "done=solved")
    if action not in ANSWERS:
        raise NotFound("no such action")
    run, done = ANSWERS[action]
    target = await post_view.response_of(post, request.path_params["response_id"])
    try:
        await run(account, target)
    except (Conflict, IllegalTransition):
        return _back(post, "problem=conflict")
    return _back(post, f"done={done}", "#responses")


async def change_status(request: Request) -> Response:
    form = await read_form(request)
    account, post = await _acting(request)
    if account is None:
        return _login_first(post)
    try:
        target = PostStatus(form.get("status"))
    except ValueError:
        raise HTTPException(400) from None
    try:
        await posts.change_status(account, post, target)
    except (Conflict, IllegalTransition):
        return _back(post, "problem=conflict")
    return _back(post, "done=status")
