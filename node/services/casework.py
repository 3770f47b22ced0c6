"""Following an organisation's request up: who it is assigned to, private notes and the
contact log, the helpers and how to reach them, and partner organisations.

Notes and contacts belong to one organisation and only its staff see them (a partner
organisation keeps its own). Partners are named by the posting organisation's staff
(or an admin); a partner here manages the helpers too, a partner on another node is
mentioned on the published Note (see FEDERATION.md, "Partner organisations").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from node import db, events, validation
from node.errors import Conflict, InvalidFields, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.models import (
    Account,
    CaseEntry,
    CaseEntryKind,
    HelpPost,
    Organisation,
    PostPartner,
    Response,
    Role,
)
from node.services import audit
from node.services.organisations import is_staff, staff_organisation_ids
from node.services.remote_actors import RemoteActorData, upsert_remote_actor
from node.states import OfferStatus
from node.timeutil import as_utc, utcnow

MAX_PARTNERS = 10


def _is_admin(account: Account) -> bool:
    return account.is_active and account.role == Role.ADMIN


async def case_organisations(account: Account, post: HelpPost) -> list[int]:
    """The organisations (ids) `account` follows `post` up for: the post's own, and
    partners they are staff of. Admins act for the post's organisation."""
    if post.organisation_id is None:
        return []
    mine = set(await staff_organisation_ids(account))
    partner_ids = set(
        await PostPartner.filter(post_id=post.id, organisation_id__not_isnull=True).values_list(
            "organisation_id", flat=True
        )
    )
    owner = post.organisation_id in mine or _is_admin(account)
    found = [post.organisation_id] if owner else []
    return found + sorted(mine & partner_ids)


async def _require_owner_staff(account: Account, post: HelpPost) -> None:
    """Assigning and naming partners is for the posting organisation (or an admin)."""
    if post.organisation_id is None:
        raise NotFound("this post is not an organisation's")
    if not (_is_admin(account) or await is_staff(account, post.organisation_id)):
        raise PermissionDenied("only the organisation's staff can do this")


async def assign(post: HelpPost, assignee: Account | None, *, by: Account) -> None:
    """Give the request to one staff member (None: to the whole team again)."""
    await _require_owner_staff(by, post)
    if assignee is not None and not await is_staff(assignee, post.organisation_id):
        raise InvalidInput("assignee", N_("choose someone of the organisation's staff"))
    async with db.atomic():
        post.assignee_id = assignee.id if assignee else None
        await post.save(update_fields=["assignee_id", "updated_at"])
        await audit.record(
            by,
            "post.assigned",
            post=post,
            detail={"assignee": assignee.username if assignee else None},
        )


@dataclass(slots=True)
class CaseNote:
    """What the note or contact form sends."""

    kind: str = CaseEntryKind.NOTE
    body: str = ""
    counterpart: str = ""  # with whom, for contacts
    occurred_at: datetime | None = None  # when, for contacts (default: now)


async def add_entry(
    post: HelpPost, organisation_id: int, note: CaseNote, *, by: Account
) -> CaseEntry:
    if organisation_id not in await case_organisations(by, post):
        raise PermissionDenied("only the organisation's staff keep its notes")
    errors: list[InvalidInput] = []
    try:
        kind = CaseEntryKind(note.kind)
    except ValueError:
        errors.append(InvalidInput("kind", N_("choose one of the options")))
        kind = CaseEntryKind.NOTE
    body = counterpart = ""
    try:
        body = validation.text("body", note.body, max_len=4000, required=True)
    except InvalidInput as exc:
        errors.append(exc)
    try:
        counterpart = validation.optional_line("counterpart", note.counterpart, max_len=120) or ""
    except InvalidInput as exc:
        errors.append(exc)
    now = utcnow()
    when = as_utc(note.occurred_at) if note.occurred_at else now
    if when > now:
        errors.append(InvalidInput("occurred_at", N_("is in the future")))
    if errors:
        raise InvalidFields(errors)
    return await CaseEntry.create(
        post=post,
        organisation_id=organisation_id,
        author=by,
        kind=kind,
        body=body,
        counterpart=counterpart,
        occurred_at=when,
    )


async def entries(post: HelpPost, organisation_id: int) -> list[CaseEntry]:
    """One organisation's notes and contacts on `post`, newest first."""
    return (
        await CaseEntry.filter(post_id=post.id, organisation_id=organisation_id)
        .order_by("-occurred_at", "-id")
        .select_related("author")
    )


async def helpers(post: HelpPost) -> list[Response]:
    """Offers of help still standing, accepted first, with their local or remote author
    (a local helper's profile, a remote helper's actor page: how to reach them)."""
    rows = (
        await Response.filter(
            post_id=post.id, offer_status__in=(OfferStatus.ACCEPTED, OfferStatus.OFFERED)
        )
        .order_by("created_at")
        .select_related("author", "remote_author")
    )
    return sorted(rows, key=lambda r: r.offer_status != OfferStatus.ACCEPTED)


async def partners_of(post: HelpPost) -> list[PostPartner]:
    return (
        await PostPartner.filter(post_id=post.id)
        .order_by("id")
        .select_related("organisation", "remote_actor")
    )


async def _add_partner(post: HelpPost, by: Account, **partner: object) -> PostPartner:
    await _require_owner_staff(by, post)
    if await PostPartner.filter(post_id=post.id).count() >= MAX_PARTNERS:
        raise InvalidInput("partner", N_("at most %(max)d partners"), max=MAX_PARTNERS)
    async with db.atomic():
        if await PostPartner.exists(post_id=post.id, **partner):
            raise Conflict("already a partner of this request")
        row = await PostPartner.create(post=post, added_by=by, **partner)
        await audit.record(by, "post.partner_added", post=post, detail=_describe(row))
        # The Note names its partners: followers and the partners get an Update.
        await events.emit(events.PostEdited(post_id=str(post.id)))
    return row


def _describe(row: PostPartner) -> dict[str, object]:
    if row.organisation_id is not None:
        return {"organisation": row.organisation.slug}
    return {"remote": row.remote_actor.uri}


async def add_local_partner(post: HelpPost, partner: Organisation, *, by: Account) -> PostPartner:
    if partner.id == post.organisation_id:
        raise InvalidInput("partner", N_("this is the organisation of the post itself"))
    return await _add_partner(post, by, organisation=partner)


async def add_remote_partner(post: HelpPost, actor: RemoteActorData, *, by: Account) -> PostPartner:
    """A partner on another node, as federation's look-up described it."""
    if actor.actor_type != "Organization":
        raise InvalidInput("partner", N_("this address is not an organisation"))
    await _require_owner_staff(by, post)
    stored = await upsert_remote_actor(actor)
    return await _add_partner(post, by, remote_actor=stored)


async def remove_partner(post: HelpPost, partner_id: int, *, by: Account) -> None:
    await _require_owner_staff(by, post)
    row = await PostPartner.get_or_none(id=partner_id, post_id=post.id).select_related(
        "organisation", "remote_actor"
    )
    if row is None:
        raise NotFound("no such partner")
    async with db.atomic():
        await row.delete()
        await audit.record(by, "post.partner_removed", post=post, detail=_describe(row))
        await events.emit(events.PostEdited(post_id=str(post.id)))
        if row.remote_actor is not None:
            await events.emit(events.PartnerRemoved(str(post.id), row.remote_actor.uri))
