"""A suspended account: log-in refused with a clear message, sessions ended, its pages and
actor answer 410, its deliveries cancelled; after 30 days the suspension is federated
once; an admin's lift restores everything here. Also the moderation page of one account.

Run on SQLite and PostgreSQL (the `database` fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from node.app import periodic_jobs
from node.config import Settings
from node.models import (
    Account,
    AuditEntry,
    Delivery,
    DeliveryStatus,
    Event,
    Neighbourhood,
    OutboxActivity,
)
from node.passwords import hash_password
from node.services import sanctions
from node.timeutil import utcnow
from tests import factories
from tests.webclient import Browser, browser

PASSWORD = "a long enough password"
REASON = "Threatening messages to neighbours"
AP = {"accept": "application/activity+json"}


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database) as b:
        yield b


@pytest.fixture
async def hood(database: str) -> Neighbourhood:
    return await factories.neighbourhood("kuregem")


@pytest.fixture
async def els(database: str) -> Account:
    account = await factories.account("els", languages=["en"])
    account.password_hash = await hash_password(PASSWORD)
    await account.save()
    return account


async def test_a_suspended_account_cannot_log_in_and_is_told_why(
    web: Browser, els: Account
) -> None:
    await sanctions.suspend_account(await factories.moderator(languages=["en"]), els, REASON)
    refused = await web.submit("/login", {"username": "els", "password": PASSWORD})
    assert refused.status_code == 403
    assert "suspended this account" in refused.text
    assert "set-cookie" not in refused.headers or "nabuur_session" not in str(
        refused.headers.get_list("set-cookie")
    )
    # A wrong password learns nothing about the suspension.
    wrong = await web.submit("/login", {"username": "els", "password": "not the password!"})
    assert wrong.status_code == 400 and "suspended" not in wrong.text


async def test_suspension_ends_the_sessions_it_had(web: Browser, els: Account) -> None:
    await web.log_in_as(els)
    assert (await web.get("/notifications")).status_code == 200
    await sanctions.suspend_account(await factories.moderator(languages=["en"]), els, REASON)
    assert (await web.get("/notifications")).status_code == 303  # to the log-in page


async def test_its_profile_posts_and_actor_answer_410(
    web: Browser, els: Account, hood: Neighbourhood
) -> None:
    post = await factories.post(els, hood)
    moderator = await factories.moderator(languages=["en"])
    await sanctions.suspend_account(moderator, els, REASON)
    profile = await web.get("/@els")
    assert profile.status_code == 410 and "suspended this account" in profile.text
    assert (await web.get("/@els", headers=AP)).status_code == 410
    assert (await web.get(f"/r/{post.id}")).status_code == 410
    tombstone = await web.get(f"/r/{post.id}", headers=AP)
    assert tombstone.status_code == 410 and tombstone.json()["type"] == "Tombstone"
    # Moderators still see the post, marked.
    await web.log_in_as(moderator)
    page = await web.get(f"/r/{post.id}")
    assert page.status_code == 200 and "account is suspended" in page.text
    # An unknown account stays a plain 404.
    assert (await web.get("/@nobody", headers=AP)).status_code == 404


async def test_its_pending_deliveries_are_cancelled(els: Account) -> None:
    activity = await OutboxActivity.create(
        activity_uri="https://testserver/activities/1",
        activity_type="Create",
        actor_kind="account",
        actor_key=els.id,
        payload={},
    )
    pending = await Delivery.create(
        activity=activity,
        inbox="https://mastodon.example/inbox",
        host="mastodon.example",
        next_attempt_at=utcnow(),
    )
    await sanctions.suspend_account(await factories.moderator(languages=["en"]), els, REASON)
    assert (await Delivery.get(id=pending.id)).status == DeliveryStatus.CANCELLED
    [entry] = await AuditEntry.filter(action="moderation.suspended")
    assert entry.detail == {"deliveries_cancelled": 1}


async def test_after_30_days_the_suspension_is_federated_once(els: Account) -> None:
    await sanctions.suspend_account(await factories.moderator(languages=["en"]), els, REASON)
    suspended_at = (await Account.get(id=els.id)).suspended_at
    assert suspended_at is not None
    assert await sanctions.federate_old_suspensions(suspended_at + timedelta(days=29)) == 0
    later = suspended_at + timedelta(days=30, minutes=1)
    assert await sanctions.federate_old_suspensions(later) == 1
    assert await sanctions.federate_old_suspensions(later + timedelta(days=5)) == 0
    events = await Event.filter(kind="AccountSuspensionFederated").values_list("payload", flat=True)
    assert events == [{"account_id": els.id}]
    assert (await Account.get(id=els.id)).suspension_federated_at == later
    [entry] = await AuditEntry.filter(action="moderation.suspension_federated")
    assert entry.actor_id is None and entry.subject == "account:els"


def test_the_job_is_registered() -> None:
    jobs = {job.name: job for job in periodic_jobs(Settings())}
    assert jobs["federate-suspensions"].run is sanctions.federate_old_suspensions


async def test_an_admin_lifts_it_and_everything_comes_back(
    web: Browser, els: Account, hood: Neighbourhood
) -> None:
    post = await factories.post(els, hood)
    admin = await factories.admin("root", languages=["en"])
    await sanctions.suspend_account(await factories.moderator(languages=["en"]), els, REASON)
    suspended_at = (await Account.get(id=els.id)).suspended_at
    assert suspended_at is not None
    await sanctions.federate_old_suspensions(suspended_at + timedelta(days=31))

    await web.log_in_as(admin)
    page = await web.get("/admin/people/els/moderation")
    assert "other servers were told to delete this account" in page.text
    lifted = await web.submit(
        "/admin/people/els/moderation",
        {"action": "unsuspend", "reason": "Appeal heard"},
        page="/admin/people/els/moderation",
    )
    assert lifted.status_code == 303
    web.log_out_locally()
    assert (await web.get("/@els")).status_code == 200
    assert (await web.get(f"/r/{post.id}")).status_code == 200
    assert (await web.get("/@els", headers=AP)).status_code == 200
    logged_in = await web.submit("/login", {"username": "els", "password": PASSWORD})
    assert logged_in.status_code == 303


async def test_the_moderation_page_refuses_what_a_moderator_may_not_do(
    web: Browser, els: Account
) -> None:
    moderator = await factories.moderator(languages=["en"])
    admin = await factories.admin("root", languages=["en"])
    await web.log_in_as(moderator)
    page = "/admin/people/els/moderation"
    empty = await web.submit(page, {"action": "suspend", "reason": "  "}, page=page)
    assert empty.status_code == 400 and 'id="reason-suspend-error"' in empty.text
    done = await web.submit(page, {"action": "suspend", "reason": REASON}, page=page)
    assert done.status_code == 303 and done.headers["location"].endswith("done=suspended")
    assert "Only an admin can lift a suspension" in (await web.get(page)).text
    lift = await web.submit(page, {"action": "unsuspend", "reason": "no"}, page=page)
    assert lift.status_code == 403
    on_admin = await web.submit(
        "/admin/people/root/moderation", {"action": "warn", "reason": REASON}, page=page
    )
    assert on_admin.status_code == 403
    unknown = await web.submit(page, {"action": "delete", "reason": REASON}, page=page)
    assert unknown.status_code == 400
    assert (await Account.get(id=admin.id)).is_active
    assert await AuditEntry.filter(action__startswith="moderation.").count() == 1
