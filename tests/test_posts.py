"""Publishing help posts: validation, on-behalf rules, status changes and expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from node.errors import IllegalTransition, InvalidInput, PermissionDenied
from node.models import Account, Event, HelpPost, Neighbourhood, Role
from node.services import neighbourhoods, posts, responses
from node.states import PostStatus
from tests import factories

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
async def hood(database: str) -> Neighbourhood:
    return await factories.neighbourhood("kuregem")


@pytest.fixture
async def author(database: str) -> Account:
    return await factories.account("amina")


async def _counts() -> tuple[int, int]:
    return await HelpPost.all().count(), await Event.all().count()


async def _status_events(post: HelpPost) -> list[dict[str, object]]:
    rows = await Event.filter(kind="PostStatusChanged").order_by("id")
    return [row.payload for row in rows if row.payload["post_id"] == str(post.id)]


# --- publishing -------------------------------------------------------------------------


async def test_create_post_stores_fields_and_publishes_event(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(
        author,
        hood,
        now=NOW,
        kind="offer",
        title="  Hulp bij\u202e   boodschappen ",
        category="shopping",
        description="Ik ga elke zaterdag naar de markt.",
        helpers_needed="3",
        visibility="members",
        area_hint="bij het station",
        private_location="Kapelstraat 12, bus 3",
        translations={"fr": {"title": "Aide pour les courses"}, "nl": {"title": "ignored"}},
    )
    stored = await HelpPost.get(id=post.id)
    assert stored.kind == "offer"
    assert stored.title == "Hulp bij boodschappen"
    assert stored.description == "Ik ga elke zaterdag naar de markt."
    assert stored.category == "shopping"
    assert stored.language == "nl"
    assert stored.translations == {"fr": {"title": "Aide pour les courses", "description": ""}}
    assert stored.helpers_needed == 3
    assert stored.visibility == "members"
    assert stored.area_hint == "bij het station"
    assert stored.private_location == "Kapelstraat 12, bus 3"
    assert stored.status == PostStatus.OPEN
    assert (stored.neighbourhood_id, stored.author_id) == (hood.id, author.id)
    assert stored.organisation_id is None
    assert stored.on_behalf_label is None and stored.client_consent_at is None
    assert stored.starts_at is None and stored.is_flexible
    events = await Event.all()
    assert [(e.kind, e.payload) for e in events] == [("PostPublished", {"post_id": str(post.id)})]


async def test_suspended_author_cannot_publish(hood: Neighbourhood, author: Account) -> None:
    author.is_active = False
    with pytest.raises(PermissionDenied):
        await factories.post(author, hood, now=NOW)
    assert await _counts() == (0, 0)


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        pytest.param({}, NOW + timedelta(days=30), id="flexible-now-plus-30-days"),
        pytest.param(
            {"starts_at": NOW + 2 * DAY, "ends_at": NOW + 2 * DAY + timedelta(hours=3)},
            NOW + 3 * DAY + timedelta(hours=3),
            id="dated-end-plus-1-day",
        ),
        pytest.param({"starts_at": NOW + 5 * DAY}, NOW + 6 * DAY, id="dated-start-plus-1-day"),
        pytest.param({"expires_at": NOW + 7 * DAY}, NOW + 7 * DAY, id="explicit"),
    ],
)
async def test_default_expiry(
    hood: Neighbourhood, author: Account, times: dict[str, datetime], expected: datetime
) -> None:
    post = await factories.post(author, hood, now=NOW, **times)
    stored = await HelpPost.get(id=post.id)
    assert stored.expires_at == expected


async def test_start_within_the_grace_day_is_accepted(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW, starts_at=NOW - timedelta(hours=23))
    assert (await HelpPost.get(id=post.id)).expires_at == NOW + timedelta(hours=1)


INVALID_DRAFTS = [
    pytest.param({"kind": "question"}, "kind", id="unknown-kind"),
    pytest.param({"visibility": "secret"}, "visibility", id="unknown-visibility"),
    pytest.param({"category": "plumbing"}, "category", id="unknown-category"),
    pytest.param({"neighbourhood": "atlantis"}, "neighbourhood", id="unknown-neighbourhood"),
    pytest.param({"title": ""}, "title", id="empty-title"),
    pytest.param({"title": " \u202e\u200b "}, "title", id="invisible-title"),
    pytest.param({"title": "ab"}, "title", id="short-title"),
    pytest.param({"title": "x" * 121}, "title", id="long-title"),
    pytest.param({"helpers_needed": 0}, "helpers_needed", id="zero-helpers"),
    pytest.param({"helpers_needed": 51}, "helpers_needed", id="51-helpers"),
    pytest.param({"helpers_needed": "abc"}, "helpers_needed", id="helpers-not-a-number"),
    pytest.param(
        {"starts_at": NOW + 2 * DAY, "ends_at": NOW + DAY}, "ends_at", id="end-before-start"
    ),
    pytest.param({"ends_at": NOW + DAY}, "ends_at", id="end-without-start"),
    pytest.param(
        {"starts_at": NOW - DAY - timedelta(minutes=1)}, "starts_at", id="start-in-the-past"
    ),
    pytest.param({"expires_at": NOW - timedelta(minutes=1)}, "expires_at", id="expiry-past"),
    pytest.param({"expires_at": NOW}, "expires_at", id="expiry-now"),
    pytest.param({"area_hint": "Kapelstraat 12"}, "area_hint", id="area-hint-house-number"),
    pytest.param({"area_hint": "rond 1070"}, "area_hint", id="area-hint-postcode"),
    pytest.param({"language": "nederlands"}, "language", id="bad-language-tag"),
    pytest.param({"language": ""}, "language", id="empty-language"),
    pytest.param(
        {"translations": {"fr": {"title": "ab"}}}, "translations", id="translation-short-title"
    ),
    pytest.param(
        {"translations": {"french": {"title": "Aide"}}}, "translations", id="translation-bad-tag"
    ),
]


@pytest.mark.parametrize(("fields", "field"), INVALID_DRAFTS)
async def test_invalid_draft_stores_nothing(
    hood: Neighbourhood, author: Account, fields: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await factories.post(author, hood, now=NOW, **fields)
    assert caught.value.field == field
    assert await _counts() == (0, 0)


# --- posting for an organisation's client ---------------------------------------------


async def test_label_without_organisation_is_refused(hood: Neighbourhood, author: Account) -> None:
    with pytest.raises(InvalidInput) as caught:
        await factories.post(
            author, hood, now=NOW, on_behalf_label="oudere dame", client_consent=True
        )
    assert caught.value.field == "on_behalf_label"
    assert await _counts() == (0, 0)


async def test_unknown_organisation_is_refused(hood: Neighbourhood, author: Account) -> None:
    with pytest.raises(InvalidInput) as caught:
        await factories.post(author, hood, now=NOW, organisation="nobody")
    assert caught.value.field == "organisation"
    assert await _counts() == (0, 0)


async def test_non_staff_cannot_post_for_organisation(hood: Neighbourhood, author: Account) -> None:
    org = await factories.organisation("buurthuis")
    with pytest.raises(PermissionDenied):
        await factories.post(author, hood, now=NOW, organisation=org.slug)
    assert await _counts() == (0, 0)


async def test_label_needs_client_consent(hood: Neighbourhood, author: Account) -> None:
    org = await factories.organisation("buurthuis", staff=[author])
    with pytest.raises(InvalidInput) as caught:
        await factories.post(
            author, hood, now=NOW, organisation=org.slug, on_behalf_label="oudere dame"
        )
    assert caught.value.field == "client_consent"
    assert await _counts() == (0, 0)


@pytest.mark.parametrize(
    "label",
    [
        "mevr. jan@example.be",
        "tel 0470123456",
        "bel +32 470 12 34 56",
        "bel 0470 12 34 56",
        "gsm 0470/12.34.56",
        "02 512 34 56",
    ],
)
async def test_label_with_contact_details_is_refused(
    hood: Neighbourhood, author: Account, label: str
) -> None:
    org = await factories.organisation("buurthuis", staff=[author])
    with pytest.raises(InvalidInput) as caught:
        await factories.post(
            author,
            hood,
            now=NOW,
            organisation=org.slug,
            on_behalf_label=label,
            client_consent=True,
        )
    assert caught.value.field == "on_behalf_label"
    assert await _counts() == (0, 0)


async def test_staff_posts_for_client_with_consent(hood: Neighbourhood, author: Account) -> None:
    org = await factories.organisation("buurthuis", staff=[author])
    post = await factories.post(
        author,
        hood,
        now=NOW,
        organisation=org.slug,
        on_behalf_label="oudere dame (82), dossier 2024-117",
        client_consent=True,
    )
    stored = await HelpPost.get(id=post.id)
    assert stored.organisation_id == org.id
    assert stored.on_behalf_label == "oudere dame (82), dossier 2024-117"
    assert stored.client_consent_at == NOW


async def test_staff_posts_as_organisation_without_client(
    hood: Neighbourhood, author: Account
) -> None:
    org = await factories.organisation("buurthuis", staff=[author])
    post = await factories.post(author, hood, now=NOW, organisation=org.slug)
    stored = await HelpPost.get(id=post.id)
    assert stored.organisation_id == org.id
    assert stored.on_behalf_label is None and stored.client_consent_at is None


# --- status changes -----------------------------------------------------------------------


async def test_author_marks_done_reopens_and_withdraws(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW)
    for target in (PostStatus.DONE, PostStatus.OPEN, PostStatus.WITHDRAWN):
        returned = await posts.change_status(author, post, target)
        assert returned.status == target
        assert (await HelpPost.get(id=post.id)).status == target
    assert await _status_events(post) == [
        {"post_id": str(post.id), "old": "open", "new": "done", "by_account_id": author.id},
        {"post_id": str(post.id), "old": "done", "new": "open", "by_account_id": author.id},
        {"post_id": str(post.id), "old": "open", "new": "withdrawn", "by_account_id": author.id},
    ]


@pytest.mark.parametrize("target", [PostStatus.DONE, PostStatus.WITHDRAWN, PostStatus.MATCHED])
async def test_stranger_cannot_change_status(
    hood: Neighbourhood, author: Account, target: PostStatus
) -> None:
    post = await factories.post(author, hood, now=NOW)
    stranger = await factories.account("stranger")
    with pytest.raises(PermissionDenied):
        await posts.change_status(stranger, post, target)
    assert (await HelpPost.get(id=post.id)).status == PostStatus.OPEN
    assert await _status_events(post) == []


async def test_suspended_author_cannot_change_status(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    author.is_active = False
    await author.save()
    with pytest.raises(PermissionDenied):
        await posts.change_status(author, post, PostStatus.WITHDRAWN)
    assert (await HelpPost.get(id=post.id)).status == PostStatus.OPEN


async def test_organisation_staff_can_mark_organisation_post_done(
    hood: Neighbourhood, author: Account
) -> None:
    colleague = await factories.account("colleague")
    org = await factories.organisation("buurthuis", staff=[author, colleague])
    post = await factories.post(author, hood, now=NOW, organisation=org.slug)
    await posts.change_status(colleague, post, PostStatus.DONE)
    assert (await HelpPost.get(id=post.id)).status == PostStatus.DONE


async def test_moderator_may_withdraw_but_not_mark_done(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW)
    moderator = await factories.moderator()
    assert moderator.role == Role.MODERATOR
    with pytest.raises(PermissionDenied):
        await posts.change_status(moderator, post, PostStatus.DONE)
    assert (await HelpPost.get(id=post.id)).status == PostStatus.OPEN
    await posts.change_status(moderator, post, PostStatus.WITHDRAWN)
    assert (await HelpPost.get(id=post.id)).status == PostStatus.WITHDRAWN
    assert (await _status_events(post))[-1]["by_account_id"] == moderator.id


async def test_connector_of_the_neighbourhood_may_withdraw(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW)
    connector = await factories.account("connector")
    elsewhere = await factories.account("elsewhere")
    await neighbourhoods.add_connector(hood, connector)
    await neighbourhoods.add_connector(await factories.neighbourhood("anderlecht"), elsewhere)
    with pytest.raises(PermissionDenied):
        await posts.change_status(elsewhere, post, PostStatus.WITHDRAWN)
    with pytest.raises(PermissionDenied):
        await posts.change_status(connector, post, PostStatus.DONE)
    await posts.change_status(connector, post, PostStatus.WITHDRAWN)
    assert (await HelpPost.get(id=post.id)).status == PostStatus.WITHDRAWN


async def test_withdrawn_post_cannot_reopen(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    await posts.change_status(author, post, PostStatus.WITHDRAWN)
    with pytest.raises(IllegalTransition):
        await posts.change_status(author, post, PostStatus.OPEN)
    assert (await HelpPost.get(id=post.id)).status == PostStatus.WITHDRAWN
    assert len(await _status_events(post)) == 1


async def test_nobody_sets_expired_by_hand(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    admin = await factories.admin("nodeadmin")
    for actor in (author, admin):
        with pytest.raises(PermissionDenied):
            await posts.change_status(actor, post, "expired")
    assert (await HelpPost.get(id=post.id)).status == PostStatus.OPEN
    assert await _status_events(post) == []


# --- expiry -------------------------------------------------------------------------------


async def test_expire_due_posts_expires_only_open_posts_past_expiry(
    hood: Neighbourhood, author: Account
) -> None:
    flexible = await factories.post(author, hood, now=NOW)  # expires NOW + 30 days
    soon = await factories.post(author, hood, now=NOW, expires_at=NOW + 2 * DAY)
    later = await factories.post(author, hood, now=NOW, expires_at=NOW + 40 * DAY)
    matched = await factories.post(author, hood, now=NOW, expires_at=NOW + DAY)
    await responses.accept_helper(author, await factories.offer(matched))
    withdrawn = await factories.post(author, hood, now=NOW, expires_at=NOW + DAY)
    await posts.change_status(author, withdrawn, PostStatus.WITHDRAWN)

    run_at = NOW + 31 * DAY
    assert await posts.expire_due_posts(now=run_at) == 2

    statuses = {p.id: p.status for p in await HelpPost.all()}
    assert statuses == {
        flexible.id: PostStatus.EXPIRED,
        soon.id: PostStatus.EXPIRED,
        later.id: PostStatus.OPEN,
        matched.id: PostStatus.MATCHED,
        withdrawn.id: PostStatus.WITHDRAWN,
    }
    for post in (flexible, soon):
        assert (await HelpPost.get(id=post.id)).status_changed_at == run_at
        assert (await _status_events(post))[-1] == {
            "post_id": str(post.id),
            "old": "open",
            "new": "expired",
            "by_account_id": None,
        }
    events_after_first_run = await Event.all().count()

    assert await posts.expire_due_posts(now=run_at + DAY) == 0
    assert await Event.all().count() == events_after_first_run


async def test_post_expiring_after_now_stays_open(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW, expires_at=NOW + DAY)
    assert await posts.expire_due_posts(now=NOW + DAY - timedelta(seconds=1)) == 0
    assert (await HelpPost.get(id=post.id)).status == PostStatus.OPEN


async def test_expire_due_posts_works_through_batches(hood: Neighbourhood, author: Account) -> None:
    for _ in range(5):
        await factories.post(author, hood, now=NOW, expires_at=NOW + DAY)
    assert await posts.expire_due_posts(now=NOW + 2 * DAY, batch=2) == 5
    assert await HelpPost.filter(status=PostStatus.EXPIRED).count() == 5
