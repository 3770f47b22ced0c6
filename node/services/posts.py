"""Help requests and offers: publishing, editing, status changes and expiry.

Listings are in `node.services.listings`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from node import db, events, validation
from node.errors import Conflict, InvalidFields, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.models import (
    Account,
    HelpPost,
    Neighbourhood,
    Organisation,
    PostKind,
    Response,
    Visibility,
)
from node.services.organisations import is_staff
from node.services.permissions import can_manage_post, can_withdraw_post
from node.services.visibility import can_view
from node.states import POST_GRAPH, OfferStatus, PostStatus
from node.taxonomy import BY_SLUG
from node.timeutil import as_utc, utcnow

MAX_HELPERS = 50
FLEXIBLE_LIFETIME = timedelta(days=30)
DATED_GRACE = timedelta(days=1)
MAX_AHEAD = timedelta(days=366)
# Digits in a public area hint are almost always a house number or postcode.
_DIGITS = re.compile(r"\d")
# An e-mail address, or a phone number even when written as "0470 12 34 56" or "02/512.34.56".
_CONTACT = re.compile(r"@|\d{5,}|\+\d|\d(?:[\s./-]?\d){7,}")


@dataclass(slots=True)
class PostDraft:
    """What a person fills in to publish a request or an offer."""

    kind: str
    title: str
    category: str
    neighbourhood: str  # slug
    language: str
    description: str = ""
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    helpers_needed: int | str = 1
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    expires_at: datetime | None = None
    visibility: str = Visibility.PUBLIC
    area_hint: str | None = None
    private_location: str | None = None
    organisation: str | None = None  # slug: post as (or for a client of) this organisation
    on_behalf_label: str | None = None
    client_consent: bool = False


def _choice(field_name: str, value: str, enum: type) -> str:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise InvalidInput(field_name, N_("expected one of %(allowed)s"), allowed=allowed) from None


def _check_times(
    draft: PostDraft, now: datetime
) -> tuple[datetime | None, datetime | None, datetime]:
    starts = as_utc(draft.starts_at) if draft.starts_at else None
    ends = as_utc(draft.ends_at) if draft.ends_at else None
    if ends and not starts:
        raise InvalidInput("ends_at", N_("an end needs a start"))
    if starts and starts < now - DATED_GRACE:
        raise InvalidInput("starts_at", N_("is in the past"))
    if starts and starts > now + MAX_AHEAD:
        raise InvalidInput("starts_at", N_("is more than a year ahead"))
    if starts and ends and ends < starts:
        raise InvalidInput("ends_at", N_("is before the start"))
    if draft.expires_at is not None:
        expires = as_utc(draft.expires_at)
        if expires <= now:
            raise InvalidInput("expires_at", N_("is in the past"))
        if expires > now + MAX_AHEAD:
            raise InvalidInput("expires_at", N_("is more than a year ahead"))
    elif starts:
        expires = (ends or starts) + DATED_GRACE
    else:
        expires = now + FLEXIBLE_LIFETIME
    return starts, ends, expires


def _check_translations(
    translations: Mapping[str, Mapping[str, str]], language: str
) -> dict[str, dict[str, str]]:
    checked: dict[str, dict[str, str]] = {}
    for lang, texts in translations.items():
        tag = validation.language_tag("translations", lang)
        if tag == language:
            continue
        checked[tag] = {
            "title": validation.line("translations", texts.get("title"), min_len=3, max_len=120),
            "description": validation.text("translations", texts.get("description"), max_len=5000),
        }
    return checked


async def _organisation_for(
    author: Account, draft: PostDraft
) -> tuple[Organisation | None, str | None]:
    label = validation.optional_line("on_behalf_label", draft.on_behalf_label, max_len=80)
    if not draft.organisation:
        if label:
            raise InvalidInput("on_behalf_label", N_("posting for a client needs an organisation"))
        return None, None
    org = await Organisation.get_or_none(slug=draft.organisation)
    if org is None:
        raise InvalidInput("organisation", N_("no such organisation"))
    if not await is_staff(author, org.id):
        raise PermissionDenied(f"only staff of {org.name} can post for it")
    if label:
        if len(label) < 3:
            raise InvalidInput("on_behalf_label", N_("needs at least %(min)d characters"), min=3)
        if _CONTACT.search(label):
            raise InvalidInput(
                "on_behalf_label", N_("describe the person without names or contact details")
            )
        if not draft.client_consent:
            raise InvalidInput("client_consent", N_("the client must agree before you post"))
    return org, label


@dataclass(slots=True)
class _Checked:
    """The fields of a draft, validated."""

    values: dict[str, object]
    hood: Neighbourhood


async def _check_draft(draft: PostDraft, now: datetime) -> _Checked:
    """Validate every field of `draft`; raise one InvalidInput listing all that are bad."""
    errors: list[InvalidInput] = []
    values: dict[str, object] = {}

    def check(name: str, make, *args) -> object:
        try:
            values[name] = make(*args)
        except InvalidInput as exc:
            errors.append(exc)
        return values.get(name)

    check("kind", _choice, "kind", draft.kind, PostKind)
    check("visibility", _choice, "visibility", draft.visibility, Visibility)
    if draft.category not in BY_SLUG:
        errors.append(InvalidInput("category", N_("choose one of the categories")))
    values["category"] = draft.category
    language = check("language", validation.language_tag, "language", draft.language)
    check("title", lambda: validation.line("title", draft.title, min_len=3, max_len=120))
    check("description", lambda: validation.text("description", draft.description, max_len=5000))
    if language:
        check("translations", _check_translations, draft.translations, language)
    check(
        "helpers_needed", validation.integer, "helpers_needed", draft.helpers_needed, 1, MAX_HELPERS
    )
    try:
        values["starts_at"], values["ends_at"], values["expires_at"] = _check_times(draft, now)
    except InvalidInput as exc:
        errors.append(exc)
    area_hint = check(
        "area_hint", lambda: validation.optional_line("area_hint", draft.area_hint, max_len=80)
    )
    if area_hint and _DIGITS.search(str(area_hint)):
        errors.append(InvalidInput("area_hint", N_("keep it rough: no house numbers or postcodes")))
    check(
        "private_location",
        lambda: validation.optional_line("private_location", draft.private_location, max_len=200),
    )
    hood = await Neighbourhood.get_or_none(slug=draft.neighbourhood)
    if hood is None:
        errors.append(InvalidInput("neighbourhood", N_("no such neighbourhood")))
    if errors:
        raise InvalidFields(errors)
    assert hood is not None
    return _Checked(values, hood)


async def create_post(
    author: Account, draft: PostDraft, *, now: datetime | None = None
) -> HelpPost:
    """Validate and publish a request or offer; nothing is stored if any field is bad."""
    now = now or utcnow()
    if not author.is_active:
        raise PermissionDenied("this account is suspended")
    checked = await _check_draft(draft, now)
    org, label = await _organisation_for(author, draft)
    async with db.atomic():
        post = await HelpPost.create(
            **checked.values,
            neighbourhood=checked.hood,
            author=author,
            organisation=org,
            on_behalf_label=label,
            client_consent_at=now if label else None,
        )
        await events.emit(events.PostPublished(post_id=str(post.id)))
    return post


# What an edit may change; kind, visibility, organisation and client stay as published
# (changing who may see a post after it has federated cannot be taken back).
EDITABLE = (
    "title",
    "description",
    "language",
    "translations",
    "category",
    "helpers_needed",
    "starts_at",
    "ends_at",
    "expires_at",
    "area_hint",
    "private_location",
)


async def edit_post(
    actor: Account, post: HelpPost, draft: PostDraft, *, now: datetime | None = None
) -> HelpPost:
    """Change an open or matched post; followers get an Update. Slots follow the new count."""
    now = now or utcnow()
    if not await can_manage_post(actor, post):
        raise PermissionDenied("only the author or the organisation's staff can edit this post")
    draft.kind, draft.visibility = post.kind, post.visibility
    checked = await _check_draft(draft, now)
    async with db.atomic():
        locked = await HelpPost.select_for_update().get(id=post.id)
        if locked.status not in (PostStatus.OPEN, PostStatus.MATCHED):
            raise Conflict(f"this post is {locked.status} and can no longer be edited")
        accepted = await Response.filter(post_id=post.id, offer_status=OfferStatus.ACCEPTED).count()
        helpers = int(checked.values["helpers_needed"])  # type: ignore[call-overload]
        if helpers < accepted:
            raise InvalidFields(
                [
                    InvalidInput(
                        "helpers_needed",
                        N_("%(num)d helpers are already accepted: release one first"),
                        num=accepted,
                    )
                ]
            )
        for name in EDITABLE:
            setattr(locked, name, checked.values[name])
        locked.neighbourhood = checked.hood
        await locked.save()
        await events.emit(events.PostEdited(post_id=str(post.id)))
        if locked.status == PostStatus.MATCHED and accepted < helpers:
            await set_status(locked, PostStatus.OPEN, by=actor, now=now)
        elif locked.status == PostStatus.OPEN and accepted == helpers and accepted > 0:
            await set_status(locked, PostStatus.MATCHED, by=actor, now=now)
    return locked


async def get_post(post_id: str | uuid.UUID, viewer: Account | None) -> HelpPost:
    """The post if `viewer` may see it; otherwise NotFound, so its existence does not leak."""
    try:
        key = post_id if isinstance(post_id, uuid.UUID) else uuid.UUID(str(post_id))
    except ValueError:
        raise NotFound("no such post") from None
    # Fetched with what every page of a post shows, in one query.
    post = await HelpPost.get_or_none(id=key).select_related(
        "author", "neighbourhood", "organisation"
    )
    if post is None or not await can_view(viewer, post):
        raise NotFound("no such post")
    return post


async def set_status(
    post: HelpPost, new: PostStatus, *, by: Account | None, now: datetime | None = None
) -> HelpPost:
    """Move `post` along the post graph and record the event (no permission check)."""
    old = PostStatus(post.status)
    POST_GRAPH.check(old, new)
    post.status = new
    post.status_changed_at = now or utcnow()
    await post.save(update_fields=["status", "status_changed_at", "updated_at"])
    await events.emit(
        events.PostStatusChanged(
            post_id=str(post.id), old=old.value, new=new.value, by_account_id=by.id if by else None
        )
    )
    return post


async def change_status(actor: Account, post: HelpPost, new: PostStatus | str) -> HelpPost:
    """Mark matched or done, reopen, or withdraw, as a person."""
    target = PostStatus(new)
    if target == PostStatus.EXPIRED:
        raise PermissionDenied("only the node expires posts")
    allowed = (
        await can_withdraw_post(actor, post)
        if target == PostStatus.WITHDRAWN
        else await can_manage_post(actor, post)
    )
    if not allowed:
        raise PermissionDenied("only the author or the organisation's staff can do that")
    async with db.atomic():
        fresh = await HelpPost.select_for_update().get(id=post.id)
        await set_status(fresh, target, by=actor)
    post.status, post.status_changed_at = fresh.status, fresh.status_changed_at
    return post


async def expire_due_posts(now: datetime | None = None, batch: int = 200) -> int:
    """Expire open posts whose expiry has passed; returns how many were expired."""
    now = now or utcnow()
    expired = 0
    while True:
        async with db.atomic():
            due = (
                await HelpPost.filter(status=PostStatus.OPEN, expires_at__lte=now)
                .select_for_update(skip_locked=True)
                .limit(batch)
            )
            for post in due:
                await set_status(post, PostStatus.EXPIRED, by=None, now=now)
        expired += len(due)
        if len(due) < batch:
            return expired
