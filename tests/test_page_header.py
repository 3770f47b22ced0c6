"""The header of every logged-in page (`page_header.header_facts`) reads the badge and
the dashboard link in one statement: it must say what the two rules say one by one
(`notifications.unread_count`, `dashboards.has_dashboard`), on every database backend."""

from __future__ import annotations

import pytest

from node.models import Account, StaffRole
from node.services import (
    dashboards,
    follow_requests,
    follows,
    neighbourhoods,
    notifications,
    organisations,
    responses,
)
from node.services.page_header import HeaderFacts, header_facts
from tests import factories

pytestmark = pytest.mark.usefixtures("database")


async def _one_by_one(account: Account) -> HeaderFacts:
    return HeaderFacts(
        await notifications.unread_count(account), await dashboards.has_dashboard(account)
    )


async def _everyone() -> dict[str, Account]:
    """Accounts in every position the two rules tell apart."""
    admin = await factories.admin()
    hood = await factories.neighbourhood("jette-centre")
    gone = await factories.neighbourhood("oud-jette")
    org = await factories.organisation("buurthuis")
    coordinator = await factories.account("els")
    await organisations.add_staff(org, coordinator, StaffRole.COORDINATOR)
    follower = await factories.account("verre")
    asked = await follows.follow(follower, org)
    await follow_requests.decide(coordinator, org, asked.id, accept=True)
    for title, visibility in (("Voedselpakket", "followers"), ("Haag snoeien", "public")):
        post = await factories.post(
            coordinator, hood, title=title, visibility=visibility, organisation=org.slug
        )
        await responses.decline_helper(coordinator, await factories.offer(post, follower))
    # Told about a followers-only post it may no longer see: not counted.
    await follow_requests.remove_follower(coordinator, org, asked.id)
    connector = await factories.account("connector")
    await neighbourhoods.add_connector(hood, connector, by=admin)
    retired = await factories.account("retired")
    await neighbourhoods.add_connector(gone, retired, by=admin)
    await neighbourhoods.set_archived(gone, True, admin)
    return {
        "admin": admin,
        "moderator": await factories.moderator(),
        "coordinator": coordinator,
        "follower": follower,
        "connector": connector,
        "connector of an archived neighbourhood": retired,
        "nobody": await factories.account("nobody"),
    }


async def test_the_header_says_what_the_badge_and_the_dashboard_rules_say() -> None:
    accounts = await _everyone()
    seen = {}
    for name, account in accounts.items():
        facts = await header_facts(account)
        assert facts == await _one_by_one(account), name
        seen[name] = facts
    # The positions really differ (the comparison above is not between zeros).
    assert seen["follower"] == HeaderFacts(unread=1, dashboard=False)
    assert seen["coordinator"] == HeaderFacts(unread=3, dashboard=True)
    assert seen["connector"].dashboard
    assert not seen["connector of an archived neighbourhood"].dashboard
    assert seen["admin"] == seen["moderator"] == HeaderFacts(unread=0, dashboard=True)
    assert seen["nobody"] == HeaderFacts(unread=0, dashboard=False)


async def test_a_page_that_knows_the_dashboard_link_gets_the_badge_alone() -> None:
    accounts = await _everyone()
    for name, account in accounts.items():
        facts = await header_facts(account, ask_dashboard=False)
        assert facts == HeaderFacts(await notifications.unread_count(account), False), name


async def test_an_inactive_account_gets_no_dashboard_link() -> None:
    accounts = await _everyone()
    coordinator = accounts["coordinator"]
    coordinator.is_active = False
    assert (await header_facts(coordinator)).dashboard is False
    assert await dashboards.has_dashboard(coordinator) is False
