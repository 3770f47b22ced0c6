"""`post_roles.ask_at_once`: who the viewer is to a request, asked in one statement while
its page is made, must be what each rule says asking for itself, on every backend; the
rules then ask nothing more in that GET, and outside one it asks nothing at all."""

from __future__ import annotations

import pytest

from node import raw_sql
from node.models import Account, HelpPost, StaffRole
from node.request_memo import serving_a_get
from node.services import (
    casework,
    conversations,
    neighbourhoods,
    organisations,
    post_roles,
    post_view,
)
from node.services.permissions import (
    PARTNER_STAFF_SQL,
    can_manage_helpers,
    can_manage_post,
    can_withdraw_post,
)
from node.services.responses import accept_helper
from tests import factories

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements read through `raw_sql.rows` from now on."""
    seen: list[str] = []
    read = raw_sql.rows

    async def counted(sql: str, params: list[object]) -> list[object]:
        seen.append(sql)
        return await read(sql, params)

    monkeypatch.setattr(raw_sql, "rows", counted)
    return seen


async def _answers(viewer: Account, post: HelpPost) -> tuple[object, ...]:
    membership = await organisations.membership(viewer, post.organisation_id)
    return (
        None if membership is None else (membership.id, membership.role),
        await neighbourhoods.is_connector(viewer, post.neighbourhood_id),
        await can_manage_post(viewer, post),
        await can_manage_helpers(viewer, post),
        await can_withdraw_post(viewer, post),
        await conversations.can_read(viewer, post),
    )


async def _world() -> tuple[dict[str, Account], list[HelpPost]]:
    admin = await factories.admin()
    hood = await factories.neighbourhood("jette-centre")
    org = await factories.organisation("buurthuis")
    coordinator = await factories.coordinator_of(org, "karim")
    staff = await factories.account("els")
    await organisations.add_staff(org, staff, StaffRole.STAFF)
    partner = await factories.organisation("andere-vzw")
    partner_staff = await factories.account("lien")
    await organisations.add_staff(partner, partner_staff)
    connector = await factories.account("connector")
    await neighbourhoods.add_connector(hood, connector, by=admin)
    helper = await factories.account("helper")
    shared = await factories.post(staff, hood, organisation=org.slug, title="Shared")
    await casework.add_local_partner(shared, partner, by=coordinator)
    await accept_helper(coordinator, await factories.offer(shared, helper))
    own = await factories.post(helper, hood, title="Without an organisation")
    viewers = {
        "coordinator": coordinator,
        "staff": staff,
        "partner staff": partner_staff,
        "connector": connector,
        "accepted helper": helper,
        "nobody": await factories.account("nobody"),
    }
    return viewers, [shared, own]


async def test_one_statement_answers_what_each_rule_says(asked: list[str]) -> None:
    viewers, posts = await _world()
    differ = set()
    for post in posts:
        for name, viewer in viewers.items():
            fresh = await _answers(viewer, post)
            with serving_a_get():
                asked.clear()
                await post_roles.ask_at_once(viewer, post)
                assert len(asked) == 1, name
                asked.clear()
                assert await _answers(viewer, post) == fresh, (name, post.title)
                assert asked == [], (name, post.title)  # the rules asked nothing more
            differ.add(fresh)
    assert len(differ) >= 5  # the positions really differ


async def test_outside_a_get_nothing_is_asked_or_kept(asked: list[str]) -> None:
    viewers, posts = await _world()
    asked.clear()
    await post_roles.ask_at_once(viewers["staff"], posts[0])
    assert asked == []
    with serving_a_get():
        await post_roles.ask_at_once(None, posts[0])  # a visitor: each rule answers it
    assert asked == []


async def test_a_request_page_asks_the_viewers_roles_once(asked: list[str]) -> None:
    """`view_post`, as a request page calls it in a GET: the rules' own statements about
        the viewer are not asked, the one statement is (the author's page too: its rules ask
    about memberships and connectors of the neighbourhood as well)."""
    viewers, posts = await _world()
    own_statements = (
        "FROM memberships t",
        neighbourhoods.CONNECTOR_SQL,
        PARTNER_STAFF_SQL,
        conversations.ACCEPTED_HELPER_SQL,
    )
    for post in posts:
        for name, viewer in viewers.items():
            with serving_a_get():
                asked.clear()
                await post_view.view_post(post, viewer)
            at_once = [sql for sql in asked if "LEFT JOIN memberships m" in sql]
            alone = [
                sql
                for sql in asked
                if sql not in at_once and any(own in sql for own in own_statements)
            ]
            assert alone == [], (name, post.title)
            assert len(at_once) == 1, (name, post.title)
