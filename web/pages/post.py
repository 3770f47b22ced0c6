"""A request's or offer's page (the object's `url`), and what people do on it.

Everyone sees what a helper needs to know; the author and the organisation's staff
also accept or decline helpers and change the status; the exact place is shown only
to them and to accepted helpers. Responses come fifty to a page (`?page=N`, oldest
first; see `post_view`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node import uris
from node.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from node.i18n import N_, gettext
from node.models import Account, HelpPost, PostKind
from node.models import Response as PostResponse
from node.services import (
    post_view,
    posts,
    remote_content,
    removals,
    responses,
)
from node.states import PostAction, PostStatus, post_allows
from node.text import sanitise_html
from web.pages.cards import build_cards
from web.pages.remote_follow import form_headers
from web.shell.forms import field_error, read_form
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
}
CONFLICT = N_("This cannot be done now: the post or the offer changed in the meantime.")
DECLINED = N_("Your offer of help on this post was declined: you cannot offer again.")
STATUS_ACTIONS = {
    PostStatus.MATCHED: N_("Mark as matched (enough helpers)"),
    PostStatus.DONE: N_("Mark as done"),
    PostStatus.OPEN: N_("Open it again"),
    PostStatus.WITHDRAWN: N_("Withdraw this post"),
}


@dataclass(frozen=True, slots=True)
class ShownResponse:
    id: str
    kind: str
    author_name: str
    author_url: str | None
    remote: bool
    body: str
    body_html: Markup | None
    offer_status: str | None
    is_viewers: bool
    created_at: Any
    remote_actor_id: int | None = None  # a reply from another server: its account
    removed: bool = False  # by moderation: only moderators see it, marked


def _shown(
    response: PostResponse, account: Account | None, speaks_for: tuple[str, str] | None = None
) -> ShownResponse:
    """`speaks_for`: (name, page) shown instead of the author's (an organisation's staff
    answering on its post)."""
    if response.remote_author_id is not None:
        actor = response.remote_author
        handle = f"@{actor.username}@{actor.domain}" if actor.username else actor.domain
        name = actor.display_name or handle
        # Sanitised when stored; again here, so a row written by an older version
        # or by hand cannot carry markup that the allowlist now refuses.
        html = Markup(sanitise_html(response.body_html or ""))  # noqa: S704 - nh3 allowlist
        return ShownResponse(
            id=str(response.id),
            kind=response.kind,
            author_name=f"{name} ({handle})" if name != handle else handle,
            author_url=actor.url or actor.uri,
            remote_actor_id=actor.id,
            remote=True,
            body=response.body,
            body_html=html,
            offer_status=response.offer_status,
            is_viewers=False,
            created_at=response.created_at,
            removed=removals.response_removed(response),
        )
    author = response.author
    return ShownResponse(
        id=str(response.id),
        kind=response.kind,
        author_name=speaks_for[0] if speaks_for else author.display_name,
        author_url=speaks_for[1] if speaks_for else uris.account(author.username),
        remote=False,
        body=response.body,
        body_html=None,
        offer_status=response.offer_status,
        is_viewers=account is not None and author.id == account.id,
        created_at=response.created_at,
        removed=removals.response_removed(response),
    )


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
            _shown(row, account, org_voice if row.author_id in view.team_ids else None)
            for row in rows
        ]

    shown, pinned = shown_all(view.responses), shown_all(view.pinned)
    done = request.query_params.get("done")
    if problem is None and request.query_params.get("problem") == "conflict":
        problem = CONFLICT
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
) -> Response:
    """Post a response with `write` (offer or comment); errors go back to the form `field`."""
    form = await read_form(request)
    account, post = await _acting(request)
    if account is None:
        return _login_first(post)
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
    return await _respond(request, responses.offer_help, "offer_body", "offered")


async def comment(request: Request) -> Response:
    return await _respond(request, responses.add_comment, "comment_body", "commented")


ANSWERS = {
    "accept": (responses.accept_helper, "accepted"),
    "decline": (responses.decline_helper, "declined"),
    "withdraw": (responses.withdraw_offer, "withdrawn"),
}


async def answer(request: Request) -> Response:
    """Accept or decline a helper (author, staff), or withdraw one's own offer."""
    await read_form(request)
    account, post = await _acting(request)
    if account is None:
        return _login_first(post)
    action = request.path_params["action"]
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
