"""Moderation actions (node.services.sanctions): each one's effects, its audit entry, the
notice to the person concerned, the events federation needs, and every refusal.

Run on SQLite and PostgreSQL (the `database` fixture)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.errors import InvalidInput, PermissionDenied
from node.models import (
    Account,
    AuditEntry,
    Event,
    HelpPost,
    Neighbourhood,
    Notification,
    NotificationKind,
    RemoteActor,
    Response,
)
from node.services import feeds, listings, post_view, removals, sanctions
from node.timeutil import utcnow
from tests import factories
from tests.webclient import browser

REASON = "Spam: the same advert in every neighbourhood"


@pytest.fixture
async def hood(database: str) -> Neighbourhood:
    return await factories.neighbourhood("kuregem")


@pytest.fixture
async def moderator(database: str) -> Account:
    return await factories.moderator("mo")


async def _events(kind: str) -> list[dict]:
    return [row.payload for row in await Event.filter(kind=kind).order_by("id")]


async def _audit(action: str) -> list[AuditEntry]:
    return list(await AuditEntry.filter(action=action).order_by("id"))


async def _notices(account: Account) -> list[Notification]:
    return list(
        await Notification.filter(recipient_id=account.id, kind=NotificationKind.MODERATION)
    )


async def _remote(name: str = "anna") -> RemoteActor:
    return await RemoteActor.create(
        uri=f"https://mastodon.example/users/{name}",
        domain="mastodon.example",
        username=name,
        inbox=f"https://mastodon.example/users/{name}/inbox",
        key_id=f"https://mastodon.example/users/{name}#main-key",
        public_key_pem="unused here",
        fetched_at=utcnow(),
    )


async def _listed_ids(hood: Neighbourhood) -> set[str]:
    return {str(row["id"]) for row in await listings.open_card_rows(hood, None)}


# ---- hiding posts -------------------------------------------------------------------------


async def test_hiding_a_post_takes_it_out_of_everything_and_tells_the_author(
    hood: Neighbourhood, moderator: Account
) -> None:
    author = await factories.account("amina")
    post = await factories.post(author, hood)
    other = await factories.post(author, hood, title="Boodschappen doen")
    assert str(post.id) in await _listed_ids(hood)

    assert await sanctions.hide_post(moderator, post, REASON) is True

    stored = await HelpPost.get(id=post.id)
    assert stored.hidden_at is not None and stored.hidden_reason == REASON
    assert await _listed_ids(hood) == {str(other.id)}
    assert (await listings.open_counts(None)).get(hood.id) == 1
    _, feed = await feeds.neighbourhood_feed("kuregem")
    assert [item.id for item in feed] == [str(other.id)]
    assert await _events("PostHidden") == [{"post_id": str(post.id)}]
    [entry] = await _audit("moderation.post_hidden")
    assert (entry.actor_id, entry.post_id, entry.reason) == (moderator.id, post.id, REASON)
    assert entry.subject == f"post:{post.id}"
    [notice] = await _notices(author)
    assert notice.post_id == post.id
    assert REASON in notice.note and post.title in notice.note


async def test_hiding_twice_changes_nothing_more(hood: Neighbourhood, moderator: Account) -> None:
    post = await factories.post(await factories.account("amina"), hood)
    assert await sanctions.hide_post(moderator, post, REASON) is True
    assert await sanctions.hide_post(moderator, post, "another reason") is False
    assert len(await _events("PostHidden")) == 1
    assert len(await _audit("moderation.post_hidden")) == 1
    assert (await HelpPost.get(id=post.id)).hidden_reason == REASON


async def test_the_post_page_is_410_for_the_public_and_marked_for_its_author(
    database: str, hood: Neighbourhood, moderator: Account
) -> None:
    author = await factories.account("amina")
    post = await factories.post(author, hood)
    await sanctions.hide_post(moderator, post, REASON)
    async with browser(database) as web:
        gone = await web.get(f"/r/{post.id}")
        assert gone.status_code == 410
        assert "removed" in gone.text and post.title not in gone.text
        for account in (author, moderator):
            await web.log_in_as(account)
            page = await web.get(f"/r/{post.id}")
            assert page.status_code == 200
            assert REASON in page.text and 'class="problem" role="status"' in page.text
        doc = await web.get(f"/r/{post.id}", headers={"accept": "application/activity+json"})
        assert doc.status_code == 410, doc.text[:500]
        assert doc.json()["type"] == "Tombstone"


# ---- hiding responses ---------------------------------------------------------------------


async def test_a_hidden_response_is_shown_to_moderators_only(
    hood: Neighbourhood, moderator: Account
) -> None:
    author = await factories.account("amina")
    post = await factories.post(author, hood)
    helper = await factories.account("bert")
    offer = await factories.offer(post, helper)
    remote = await Response.create(
        post=post,
        remote_author=await _remote(),
        kind="comment",
        object_uri="https://mastodon.example/statuses/1",
        body_html="<p>Koop nu!</p>",
    )
    assert await sanctions.hide_response(moderator, offer, REASON) is True
    assert await sanctions.hide_response(moderator, remote, REASON) is True
    assert await sanctions.hide_response(moderator, offer, REASON) is False

    rows = await post_view.responses_of(post)
    assert removals.shown_responses(rows, author) == []
    assert removals.shown_responses(rows, None) == []
    assert len(removals.shown_responses(rows, moderator)) == 2
    # Only our own response has a Note to delete elsewhere, and an author here to tell.
    assert await _events("ResponseHidden") == [{"response_id": str(offer.id)}]
    assert len(await _audit("moderation.response_hidden")) == 2
    [notice] = await _notices(helper)
    assert REASON in notice.note


# ---- accounts -------------------------------------------------------------------------------


async def test_a_warning_is_told_and_recorded_every_time(moderator: Account) -> None:
    els = await factories.account("els")
    assert await sanctions.warn_account(moderator, els, REASON) is True
    assert await sanctions.warn_account(moderator, els, "Second warning") is True
    entries = await _audit("moderation.warned")
    assert [e.subject for e in entries] == ["account:els", "account:els"]
    assert [e.reason for e in entries] == [REASON, "Second warning"]
    assert len(await _notices(els)) == 2


async def test_a_silenced_account_leaves_the_lists_but_keeps_its_page_and_profile(
    database: str, hood: Neighbourhood, moderator: Account
) -> None:
    els = await factories.account("els")
    post = await factories.post(els, hood)
    assert await sanctions.silence_account(moderator, els, REASON) is True
    assert await sanctions.silence_account(moderator, els, REASON) is False
    assert await _listed_ids(hood) == set()
    _, feed = await feeds.neighbourhood_feed("kuregem")
    assert feed == []
    # Its own profile still lists it, and the post answers at its address.
    own = await listings.open_card_rows(None, None, author_id=els.id, organisation_id=None)
    assert [str(row["id"]) for row in own] == [str(post.id)]
    loaded = await HelpPost.get(id=post.id).select_related("author")
    assert removals.shares_widely(loaded) is False
    async with browser(database) as web:
        assert (await web.get(f"/r/{post.id}")).status_code == 200
    [entry] = await _audit("moderation.silenced")
    assert entry.reason == REASON
    assert await sanctions.lift_silence(moderator, els, "Talked it through") is True
    assert await _listed_ids(hood) == {str(post.id)}
    assert len(await _notices(els)) == 2


async def test_suspending_hides_content_ends_sessions_and_lifting_restores(
    hood: Neighbourhood, moderator: Account
) -> None:
    admin = await factories.admin("root")
    els = await factories.account("els")
    post = await factories.post(els, hood)
    other_post = await factories.post(await factories.account("amina"), hood)
    comment = await factories.offer(other_post, els)
    from node.services import sessions

    token = await sessions.start_session(els)
    assert await sanctions.suspend_account(moderator, els, REASON) is True
    assert await sanctions.suspend_account(moderator, els, REASON) is False

    stored = await Account.get(id=els.id)
    assert stored.is_suspended and not stored.is_active
    assert await sessions.account_for(token) is None
    assert await _listed_ids(hood) == {str(other_post.id)}
    rows = await post_view.responses_of(other_post)
    assert [r.id for r in rows] == [comment.id]
    assert removals.shown_responses(rows, None) == []
    assert len(removals.shown_responses(rows, moderator)) == 1
    loaded = await HelpPost.get(id=post.id).select_related("author")
    removal = await removals.post_removal(loaded, None)
    assert removal is not None and not removal.shown
    assert (await removals.post_removal(loaded, moderator)).shown  # type: ignore[union-attr]

    # Lifting is for admins only.
    with pytest.raises(PermissionDenied):
        await sanctions.lift_suspension(moderator, els, "mistake")
    assert await sanctions.lift_suspension(admin, els, "A mistake") is True
    stored = await Account.get(id=els.id)
    assert stored.is_active and not stored.is_suspended
    assert await _listed_ids(hood) == {str(post.id), str(other_post.id)}
    assert [e.action for e in await AuditEntry.filter(subject="account:els").order_by("id")] == [
        "moderation.suspended",
        "moderation.unsuspended",
    ]
    assert len(await _notices(els)) == 2


# ---- remote accounts ------------------------------------------------------------------------


async def test_a_limited_remote_account_is_hidden_from_response_lists(
    hood: Neighbourhood, moderator: Account
) -> None:
    post = await factories.post(await factories.account("amina"), hood)
    anna = await _remote()
    await Response.create(
        post=post,
        remote_author=anna,
        kind="comment",
        object_uri="https://mastodon.example/statuses/2",
        body_html="<p>Hallo</p>",
    )
    assert await sanctions.set_remote_standing(moderator, anna, "limited", REASON) is True
    assert await sanctions.set_remote_standing(moderator, anna, "limited", REASON) is False
    assert (await RemoteActor.get(id=anna.id)).standing == "limited"
    rows = await post_view.responses_of(post)
    assert removals.shown_responses(rows, None) == []
    assert len(removals.shown_responses(rows, moderator)) == 1
    assert await sanctions.set_remote_standing(moderator, anna, "suspended", REASON) is True
    assert await sanctions.set_remote_standing(moderator, anna, "", "Appeal accepted") is True
    assert len(removals.shown_responses(await post_view.responses_of(post), None)) == 1
    entries = await _audit("moderation.remote_standing")
    assert [e.detail["new"] for e in entries] == ["limited", "suspended", ""]
    assert entries[0].subject == "remote:@anna@mastodon.example"
    with pytest.raises(InvalidInput):
        await sanctions.set_remote_standing(moderator, anna, "banished", REASON)


# ---- refusals -------------------------------------------------------------------------------


async def test_only_moderators_act_and_never_on_themselves_or_on_admins(
    hood: Neighbourhood, moderator: Account
) -> None:
    resident = await factories.account("els")
    admin = await factories.admin("root")
    other_moderator = await factories.moderator("mo2")
    post = await factories.post(resident, hood)
    own_post = await factories.post(moderator, hood)
    refusals = [
        sanctions.hide_post(resident, post, REASON),
        sanctions.hide_post(moderator, own_post, REASON),
        sanctions.warn_account(resident, moderator, REASON),
        sanctions.silence_account(moderator, moderator, REASON),
        sanctions.suspend_account(moderator, admin, REASON),
        sanctions.suspend_account(moderator, other_moderator, REASON),
        sanctions.suspend_account(admin, admin, REASON),
        sanctions.set_remote_standing(resident, await _remote(), "limited", REASON),
    ]
    for attempt in refusals:
        with pytest.raises(PermissionDenied):
            await attempt
    assert await AuditEntry.filter(action__startswith="moderation.").count() == 0
    assert await Event.filter(kind="PostHidden").count() == 0
    # An admin may act on a moderator.
    assert await sanctions.silence_account(admin, other_moderator, REASON) is True


async def test_a_suspended_moderator_cannot_act(hood: Neighbourhood, moderator: Account) -> None:
    admin = await factories.admin("root")
    post = await factories.post(await factories.account("els"), hood)
    await sanctions.suspend_account(admin, moderator, REASON)
    with pytest.raises(PermissionDenied):
        await sanctions.hide_post(moderator, post, REASON)


BAD_REASONS = st.one_of(
    st.just(""),
    st.text(alphabet=" \t\n\r\x00\x0b\u200b", max_size=20),  # only blanks and controls
    # Longer than 500 characters even after cleaning (letters NFC leaves alone).
    st.text(alphabet="abcxyzé0129 ", min_size=501, max_size=700).filter(
        lambda t: len(t.strip()) > 500
    ),
)


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(reason=BAD_REASONS)
async def test_a_missing_or_too_long_reason_is_refused_and_nothing_is_stored(
    hood: Neighbourhood, moderator: Account, reason: str
) -> None:
    author = await Account.get_or_none(username="amina") or await factories.account("amina")
    post = await HelpPost.filter(author_id=author.id).first() or await factories.post(author, hood)
    for attempt in (
        sanctions.hide_post(moderator, post, reason),
        sanctions.warn_account(moderator, author, reason),
        sanctions.silence_account(moderator, author, reason),
        sanctions.suspend_account(moderator, author, reason),
    ):
        with pytest.raises(InvalidInput) as refused:
            await attempt
        assert refused.value.field == "reason"
    stored = await Account.get(id=author.id)
    assert stored.silenced_at is None and stored.suspended_at is None
    assert (await HelpPost.get(id=post.id)).hidden_at is None
    assert await AuditEntry.filter(action__startswith="moderation.").count() == 0
    assert await Notification.filter(kind=NotificationKind.MODERATION).count() == 0
