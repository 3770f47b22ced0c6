"""Composing a request or an offer (and editing one): a guided form with a preview."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node import uris, validation
from node.errors import InvalidFields, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_, gettext
from node.models import HelpPost, PostKind, Visibility
from node.services import audit, neighbourhoods, organisations, posts, service_directory
from node.services.guide_texts import guide_for
from node.services.guides import Guide
from node.services.permissions import can_manage_post
from node.services.post_drafts import END_BEFORE_START
from node.states import PostStatus
from node.taxonomy import CATEGORIES
from web.pages.services import ServiceSummary, summaries
from web.shell.card_html import PostCard
from web.shell.forms import Form, field_error, read_form
from web.shell.session import viewer

NO_SECOND_LANGUAGE = ""


def _login_first(path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={path}", status_code=303)


def _date_time(form: Form, prefix: str, zone: ZoneInfo, day: date | None) -> datetime | None:
    """A local date and time from the form, as an aware datetime; None when left empty."""
    raw_time = form.get(f"{prefix}_time").strip()
    if day is None or not raw_time:
        if prefix == "starts" and day is not None:
            raise InvalidInput("starts_time", N_("enter a time such as 14:30"))
        return None
    try:
        clock = time.fromisoformat(raw_time)
    except ValueError:
        raise InvalidInput(f"{prefix}_time", N_("enter a time such as 14:30")) from None
    return datetime.combine(day, clock, tzinfo=zone)


# A typed date outside these years is a typing mistake; inside them, adding a day or
# changing time zone cannot overflow (the service then says "past" or "too far ahead").
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)


# "Flexible" chosen, yet a date or a time typed: which one was meant is not ours to guess.
FLEXIBLE_WITH_DATE = N_(
    "you chose “Flexible, no fixed date” but also typed a date or a time: choose “On a date”"
    " to keep them, or clear them to stay flexible"
)


def _when(form: Form, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    if form.get("when", "flexible") != "date":
        typed = [name for name in ("date", "starts_time", "ends_time") if form.get(name).strip()]
        if typed:  # never drop them silently: the form comes back asking
            raise InvalidInput(typed[0], FLEXIBLE_WITH_DATE)
        return None, None
    raw_day = form.get("date").strip()
    try:
        day: date | None = date.fromisoformat(raw_day)
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        message = N_("enter a date such as 2026-12-05") if raw_day else N_("is required")
        raise InvalidInput("date", message)
    starts = _date_time(form, "starts", zone, day)
    ends = _date_time(form, "ends", zone, day)
    # Both times are on the one date typed: "14:00 – 10:00" is a slip, not a night
    # through. The service refuses it on publishing; the preview says so already.
    if starts and ends and ends <= starts:
        raise InvalidInput("ends_time", END_BEFORE_START)
    return starts, ends


def draft_from(form: Form, zone: ZoneInfo) -> posts.PostDraft:
    """The draft a form describes; raises InvalidInput for date and time fields."""
    second = form.get("second_language")
    translations = {}
    if second and (form.get("second_title").strip() or form.get("second_description").strip()):
        translations[second] = {
            "title": form.get("second_title"),
            "description": form.get("second_description"),
            "on_behalf_label": form.get("second_on_behalf_label"),
        }
    starts, ends = _when(form, zone)
    acting_for = form.get("organisation")
    return posts.PostDraft(
        kind=form.get("kind"),
        title=form.get("title"),
        category=form.get("category"),
        neighbourhood=form.get("neighbourhood"),
        language=form.get("language"),
        description=form.get("description"),
        translations=translations,
        helpers_needed=form.get("helpers_needed", "1") or "1",
        starts_at=starts,
        ends_at=ends,
        visibility=form.get("visibility", Visibility.PUBLIC),
        area_hint=form.get("area_hint"),
        private_location=form.get("private_location"),
        organisation=acting_for or None,
        on_behalf_label=form.get("on_behalf_label"),
        client_consent=form.get("client_consent") == "yes",
    )


def _errors(locale: str, exc: InvalidInput) -> dict[str, str]:
    problems = exc.errors if isinstance(exc, InvalidFields) else [exc]
    errors: dict[str, str] = {}
    for problem in problems:
        field = {
            "starts_at": "starts_time",
            "ends_at": "ends_time",
            "translations": "second_title",
            "second_on_behalf_label": "second_on_behalf_label",
        }
        errors.setdefault(field.get(problem.field, problem.field), field_error(locale, problem))
    return errors


def _preview(form: Form, draft: posts.PostDraft, choices: dict, author) -> PostCard:
    """The card as the published post will show it: an organisation's post names the
    organisation (never the staff member who writes it)."""
    org_name = choices["organisation_names"].get(draft.organisation or "")
    helpers = validation.as_id(str(draft.helpers_needed)) or 1
    return PostCard(
        id="preview",
        kind=draft.kind if draft.kind in (PostKind.REQUEST, PostKind.OFFER) else PostKind.REQUEST,
        status=PostStatus.OPEN,
        category=draft.category if draft.category in {c.slug for c in CATEGORIES} else "other",
        title=draft.title,
        description=draft.description,
        language=draft.language,
        starts_at=draft.starts_at,
        neighbourhood_name=choices["hood_names"].get(draft.neighbourhood, ""),
        area_hint=draft.area_hint or None,
        helpers_needed=helpers,
        slots_left=helpers,
        author_name=author.display_name,
        organisation_name=org_name,
        on_behalf_label=draft.on_behalf_label if org_name else None,
        organisation_slug=draft.organisation if org_name else None,
    )


async def _choices(request: Request, account) -> dict:
    locale = request.app.state.renderer.locale_for(request)
    hoods = await neighbourhoods.list_neighbourhoods()
    orgs = await organisations.staff_organisations(account)
    names = dict(request.app.state.renderer.environments[locale].globals["languages"])
    return {
        "categories": CATEGORIES,
        "hoods": [(h.slug, h.name) for h in hoods],
        "hood_names": {h.slug: h.name for h in hoods},
        "organisations": [("", gettext(locale, N_("Myself"))), *[(o.slug, o.name) for o in orgs]],
        "organisation_names": {o.slug: o.name for o in orgs},
        "organisation_ids": {o.slug: o.id for o in orgs},
        "text_languages": list(names.items()),
        "second_languages": [
            (NO_SECOND_LANGUAGE, gettext(locale, N_("No second language"))),
            *names.items(),
        ],
    }


def _initial(request: Request, account, locale: str) -> dict[str, str]:
    kind = request.query_params.get("kind", PostKind.REQUEST)
    return {
        "kind": kind if kind in (PostKind.REQUEST, PostKind.OFFER) else PostKind.REQUEST,
        "language": locale,
        "helpers_needed": "1",
        "when": "flexible",
        "visibility": Visibility.PUBLIC,
        "neighbourhood": request.query_params.get("neighbourhood", ""),
    }


async def compose(request: Request) -> Response:
    account = viewer(request)
    if account is None:
        return _login_first("/new")
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    zone = renderer.zone
    choices = await _choices(request, account)
    errors: dict[str, str] = {}
    preview = None
    hint: list[ServiceSummary] | None = None
    held_back = False  # a "Publish" that shows the services first
    offer_guide: Guide | None = None
    status = 200
    if request.method == "GET":
        values = _initial(request, account, locale)
        if not values["neighbourhood"]:
            values["neighbourhood"] = await neighbourhoods.home_slug(account) or ""
    else:
        form = await read_form(request)
        values = form.values()
        try:
            draft = draft_from(form, zone)
            hint = await _services_hint(values, locale)
            # The author sees the services that may do this before the request goes out:
            # a first "Publish" with unseen ones shows them with the preview instead.
            unseen = {s.path for s in hint} - set((form.get("services_seen") or "").split())
            if form.get("action") == "publish" and not unseen:
                post = await posts.create_post(account, draft)
                return RedirectResponse(uris.post(post.id) + "?done=published", status_code=303)
            held_back = form.get("action") == "publish"
            preview = _preview(form, draft, choices, account)
            offer_guide = await _offer_guide(draft, locale, choices["organisation_ids"])
        except InvalidInput as exc:
            errors = _errors(locale, exc)
            status = 400
        except PermissionDenied:
            errors = {
                "organisation": gettext(locale, N_("You are not staff of this organisation."))
            }
            status = 400
    if hint is None:
        hint = await _services_hint(values, locale)
    return await renderer.render(
        request,
        "compose.html",
        {
            "values": values,
            "errors": errors,
            "preview": preview,
            "editing": None,
            "services_hint": hint,
            "held_back": held_back,
            "offer_guide": offer_guide,
            **choices,
        },
        status_code=status,
    )


async def _offer_guide(
    draft: posts.PostDraft, locale: str, organisation_ids: dict[str, int]
) -> Guide | None:
    """Previewing an offer: the category's guide for helpers (the organisation's own when
    offering for it), shown to read, not to confirm."""
    if draft.kind != PostKind.OFFER:
        return None
    try:
        return await guide_for(
            draft.category, locale, organisation_ids.get(draft.organisation or "")
        )
    except KeyError:  # no such category: the form says so
        return None


async def _services_hint(values: dict[str, str], locale: str) -> list[ServiceSummary]:
    """Before a request is published: the services that already do what it asks there."""
    if values.get("kind", PostKind.REQUEST) != PostKind.REQUEST:
        return []
    found = await service_directory.for_request(
        values.get("category", ""), values.get("neighbourhood", "")
    )
    return summaries(found, locale)


def _values_of(post: HelpPost, zone: ZoneInfo) -> dict[str, str]:
    second = next(iter(post.translations.items()), None)
    values = {
        "kind": post.kind,
        "title": post.title,
        "description": post.description,
        "language": post.language,
        "category": post.category,
        "neighbourhood": post.neighbourhood.slug,
        "helpers_needed": str(post.helpers_needed),
        "visibility": post.visibility,
        "area_hint": post.area_hint or "",
        "private_location": post.private_location or "",
        "when": "date" if post.starts_at else "flexible",
        "on_behalf_label": post.on_behalf_label or "",
    }
    if second:
        values.update(
            second_language=second[0],
            second_title=second[1].get("title", ""),
            second_description=second[1].get("description", ""),
            second_on_behalf_label=second[1].get("on_behalf_label", ""),
        )
    if post.starts_at:
        local = post.starts_at.astimezone(zone)
        values.update(date=local.date().isoformat(), starts_time=local.strftime("%H:%M"))
        if post.ends_at:
            values["ends_time"] = post.ends_at.astimezone(zone).strftime("%H:%M")
    return values


NOT_EDITABLE_HEADING = N_("This post can no longer be edited")
NOT_EDITABLE = {
    "withdrawn": N_("It was withdrawn: nothing in it changes any more."),
    "expired": N_("It has expired: nothing in it changes any more."),
    "removed": N_("The moderators removed it: nothing in it changes any more."),
    "done": N_("It is marked as done. Open it again on its page to change it."),
}


async def _not_editable(request: Request, reason: str) -> Response:
    """410 for a post that is over (withdrawn, expired, removed); 409 for a done one,
    which its author may reopen."""
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    return await renderer.render(
        request,
        "error.html",
        {
            "heading": gettext(locale, NOT_EDITABLE_HEADING),
            "message": gettext(locale, NOT_EDITABLE.get(reason, NOT_EDITABLE["removed"])),
        },
        status_code=409 if reason == PostStatus.DONE else 410,
    )


async def edit(request: Request) -> Response:
    account = viewer(request)
    post_id = request.path_params["post_id"]
    if uris.id_key(post_id) is None:
        raise NotFound("no such post")
    if account is None:
        return _login_first(uris.post(post_id) + "/edit")
    post = await posts.get_post(post_id, account)
    if not await can_manage_post(account, post):
        raise PermissionDenied("only the author or the organisation's staff can edit this post")
    try:
        await posts.check_editable(post)
    except posts.NotEditable as exc:  # the form and its POST alike: nothing is changed
        return await _not_editable(request, exc.reason)
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    choices = await _choices(request, account)
    if post.organisation is not None:  # a partner's staff may edit it too
        choices["organisation_names"][post.organisation.slug] = post.organisation.name
    errors: dict[str, str] = {}
    preview = None
    status = 200
    if request.method == "GET":
        values = _values_of(post, renderer.zone)
        if post.private_location:  # the form shows the address: it is in the post's trail
            await audit.address_seen(account, post)
    else:
        form = await read_form(request)
        values = {**form.values(), "kind": post.kind, "visibility": post.visibility}
        try:
            draft = draft_from(form, renderer.zone)
            draft.organisation = post.organisation.slug if post.organisation else None
            if form.get("action") == "publish":
                try:
                    await posts.edit_post(account, post, draft)
                except posts.NotEditable as exc:  # withdrawn while the form was open
                    return await _not_editable(request, exc.reason)
                return RedirectResponse(uris.post(post.id) + "?done=edited", status_code=303)
            preview = _preview(form, draft, choices, account)
        except InvalidInput as exc:
            errors = _errors(locale, exc)
            status = 400
    return await renderer.render(
        request,
        "compose.html",
        {"values": values, "errors": errors, "preview": preview, "editing": post, **choices},
        status_code=status,
    )
