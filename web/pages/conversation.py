"""The private conversation of a request (`/r/{id}/conversation`): its organisers and its
accepted helpers agree on the details there.

Only `conversations.can_read` opens it. Everyone else — anonymous visitors, strangers,
helpers not (or no longer) accepted, moderators, partner organisations' staff — gets the
very page an unknown request gets (404), on GET and on POST, so the conversation's
existence does not leak; the access check comes before the form is read, so a
stranger's post is not even parsed. Every page here is `private, no-store`: no cache
may keep it, and it is never in the anonymous page cache (`for_anonymous` is not used).
Once the request is withdrawn or expired, the thread stays readable and takes no more
messages (409 with an explanation, nothing stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node import uris
from node.errors import Conflict, InvalidInput, NotFound
from node.i18n import N_, gettext
from node.models import Account, ConversationMessage, HelpPost
from node.services import conversations, posts, removals
from node.services.permissions import can_manage_post
from node.text import sanitise_html
from web.shell.forms import field_error, read_form
from web.shell.session import viewer

NO_STORE = {"cache-control": "private, no-store"}
SENT = N_("Your message has been sent.")
CLOSED = N_("This request is closed: you can still read the conversation, but not write in it.")


@dataclass(frozen=True, slots=True)
class ShownMessage:
    id: str
    person: str  # who wrote it (a remote author: name and handle)
    organisation: str | None  # the organisation a staff member wrote for
    show_person: bool  # with an organisation: does it show its staff's names?
    url: str | None
    remote: bool
    body: str  # local: plain text, linkified when shown
    body_html: Markup | None  # remote: sanitised HTML
    created_at: datetime
    mine: bool


def shown_message(message: ConversationMessage, reader: Account) -> ShownMessage:
    common = {"id": str(message.id), "created_at": message.created_at}
    if message.remote_author_id is not None:
        actor = message.remote_author
        handle = f"@{actor.username}@{actor.domain}" if actor.username else actor.domain
        name = actor.display_name or handle
        # Sanitised when received; again here, as the post page does for remote replies.
        html = Markup(sanitise_html(message.body_html or ""))  # noqa: S704 - nh3 allowlist
        return ShownMessage(
            person=f"{name} ({handle})" if name != handle else handle,
            organisation=None,
            show_person=True,
            url=actor.url or actor.uri,
            remote=True,
            body="",
            body_html=html,
            mine=False,
            **common,
        )
    author, org = message.author, message.organisation
    return ShownMessage(
        person=author.display_name,
        organisation=org.name if org is not None else None,
        show_person=org is None or org.show_staff_names,
        url=uris.organisation(org.slug) if org is not None else uris.account(author.username),
        remote=False,
        body=message.body,
        body_html=None,
        mine=author.id == reader.id,
        **common,
    )


async def _reader_and_post(request: Request) -> tuple[Account, HelpPost]:
    """The participant and the request, or NotFound — the same as for an unknown request."""
    account = viewer(request)
    if account is None:
        raise NotFound("no such post")
    post = await posts.get_post(request.path_params["post_id"], account)
    removal = await removals.post_removal(post, account)
    if removal is not None and not removal.shown:
        raise NotFound("no such post")
    if not await conversations.can_read(account, post):
        raise NotFound("no such post")
    return account, post


async def _page(
    request: Request,
    account: Account,
    post: HelpPost,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    rows = await conversations.messages(post)
    title, _description, language = post.text_in(locale)
    notice = gettext(locale, SENT) if request.query_params.get("done") == "sent" else None
    people = await conversations.participants(post)
    # For a helper reading: the accepted helpers besides them ("who reads this").
    others = len(people.local_helper_ids - {account.id}) + len(people.remote_helpers)
    return await renderer.render(
        request,
        "conversation.html",
        {
            "post": post,
            "title": title,
            "title_language": language,
            "messages": [shown_message(row, account) for row in rows],
            "organiser": await can_manage_post(account, post),
            "others": others,
            "writable": conversations.is_open(post),
            "closed": gettext(locale, CLOSED),
            "max_length": conversations.MAX_LENGTH,
            "notice": notice,
            "problem": gettext(locale, problem) if problem else None,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
        headers=NO_STORE,
    )


async def show(request: Request) -> Response:
    account, post = await _reader_and_post(request)
    return await _page(request, account, post)


async def write(request: Request) -> Response:
    account, post = await _reader_and_post(request)
    form = await read_form(request)
    body = form.get("body")
    try:
        await conversations.post_message(account, post, body)
    except InvalidInput as exc:
        locale = request.app.state.renderer.locale_for(request)
        errors = {"message_body": field_error(locale, exc)}
        values = {"message_body": body}
        return await _page(request, account, post, errors=errors, values=values, status_code=400)
    except Conflict:
        return await _page(request, account, post, problem=CLOSED, status_code=409)
    return RedirectResponse(
        f"{uris.conversation(post.id)}?done=sent#latest", status_code=303, headers=NO_STORE
    )


async def conversation(request: Request) -> Response:
    """GET shows the thread, POST adds a message."""
    if request.method == "POST":
        return await write(request)
    return await show(request)
