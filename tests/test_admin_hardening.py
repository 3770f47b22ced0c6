"""What a review of the dashboards found, each kept from coming back: void invitations,
partners' posts that were never public, assignments that outlive the staff member,
addresses seen through the edit form, the last admin, and odd input."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.vocab import PUBLIC
from node.errors import InvalidInput
from node.models import Account, AuditEntry, HelpPost, Neighbourhood, Notification, Role
from node.services import casework, neighbourhoods, organisations, responses, signups
from node.services.neighbourhoods import NeighbourhoodForm
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node
from tests.webclient import browser

PASSWORD = "a long enough password"


async def test_an_invitation_dies_with_its_makers_right_to_make_it(database: str) -> None:
    org = await factories.organisation("buurthuis")
    keeper = await factories.coordinator_of(org, "karim")
    leaver = await factories.coordinator_of(org, "mallory")
    invite = await signups.create_invitation(leaver, organisation=org, role="coordinator")
    assert await signups.valid_invitation(invite.code) is not None
    await organisations.remove_staff(org, leaver, by=keeper)
    assert await signups.valid_invitation(invite.code) is None
    with pytest.raises(InvalidInput):
        await signups.join_with_invitation(leaver, invite.code)
    assert not await organisations.is_staff(leaver, org.id)

    # Suspended: also the node's sign-up links of a former admin stop working.
    admin = await factories.account("root", role=Role.ADMIN)
    link = await signups.create_invitation(admin)
    admin.is_active = False
    await admin.save()
    assert await signups.valid_invitation(link.code) is None
    # The operator's links (made with `nabuur invite`) have no maker to lose.
    assert await signups.valid_invitation((await signups.create_invitation(None)).code)


async def test_a_staff_invitation_can_be_revoked(database: str) -> None:
    org = await factories.organisation("buurthuis")
    karim = await factories.coordinator_of(org, "karim")
    invite = await signups.create_invitation(karim, organisation=org)
    await signups.revoke_invitation(invite.id, org, by=karim)
    assert await signups.valid_invitation(invite.code) is None
    assert await AuditEntry.exists(action="invitation.revoked")


async def test_a_partners_private_request_stays_off_our_public_pages(
    node: Node, remote: FakeRemote
) -> None:
    org = await factories.organisation("buurthuis")
    await factories.neighbourhood("jette-centre")
    remote.add_actor("buurtwerk", 2, actor_type="Organization")
    note = {
        "id": remote.new_id("notes"),
        "type": "Note",
        "attributedTo": remote.actor_url("buurtwerk"),
        "to": [remote.actor_url("buurtwerk") + "/followers"],  # not public
        "cc": [f"{BASE}/o/buurthuis"],
        "name": "Mevrouw X heeft hulp nodig",
        "content": "<p>privé</p>",
        "purpose": "request",
        "tag": [{"type": "Mention", "href": f"{BASE}/o/buurthuis"}],
    }
    await node.post_activity(remote, "buurtwerk", remote.activity("buurtwerk", "Create", note))
    await node.work()
    assert [p.title for p in await organisations.remote_partner_posts(org)] == [
        "Mevrouw X heeft hulp nodig"
    ]
    for page in ("/", "/n/jette-centre"):
        assert "Mevrouw X" not in (await node.client.get(page)).text
    # Named no more, and nobody here follows its author: forgotten altogether.
    update = remote.activity("buurtwerk", "Update", {**note, "tag": [], "cc": []})
    await node.post_activity(remote, "buurtwerk", update)
    await node.work()
    assert await organisations.remote_partner_posts(org) == []
    assert "Mevrouw X" not in (await node.client.get("/")).text


async def test_a_removed_partner_gets_a_delete_of_a_post_it_may_no_longer_see(
    node: Node, remote: FakeRemote
) -> None:
    from tests.test_partners_and_profiles import organisation_elsewhere

    org = await factories.organisation("buurthuis")
    els = await factories.coordinator_of(org, "els")
    hood = await factories.neighbourhood("jette-centre")
    post = await factories.post(els, hood, organisation="buurthuis", visibility="followers")
    partner = await organisation_elsewhere(remote)
    row = await casework.add_remote_partner(post, partner, by=els)
    await node.work()
    assert any(r.json["type"] == "Update" for r in remote.received)
    remote.received.clear()
    await casework.remove_partner(post, row.id, by=els)
    await node.work()
    sent = [r.json for r in remote.received]
    assert [a["type"] for a in sent] == ["Delete"]
    assert sent[0]["to"] == [partner.uri] and sent[0]["object"]["type"] == "Tombstone"
    assert PUBLIC not in sent[0]["to"] + sent[0]["cc"]


async def test_removing_an_assignee_from_the_staff_gives_the_post_back_to_the_team(
    database: str,
) -> None:
    org = await factories.organisation("buurthuis")
    karim = await factories.coordinator_of(org, "karim")
    leaver = await factories.account("leaver")
    await organisations.add_staff(org, leaver)
    hood = await factories.neighbourhood("jette-centre")
    post = await factories.post(karim, hood, organisation="buurthuis")
    await casework.assign(post, leaver, by=karim)
    await organisations.remove_staff(org, leaver, by=karim)
    assert (await HelpPost.get(id=post.id)).assignee_id is None
    await responses.offer_help(await factories.account("tom"), await HelpPost.get(id=post.id))
    told = await Notification.all().values_list("recipient_id", flat=True)
    assert told == [karim.id]


async def test_the_edit_form_records_who_saw_the_address(database: str) -> None:
    org = await factories.organisation("buurthuis")
    karim = await factories.coordinator_of(org, "karim")
    els = await factories.account("els")
    await organisations.add_staff(org, els)
    hood = await factories.neighbourhood("jette-centre")
    post = await factories.post(
        karim, hood, organisation="buurthuis", private_location="Stationsstraat 12"
    )
    async with browser(database) as web:
        await web.log_in_as(els)
        page = await web.get(f"/r/{post.id}/edit")
        assert "Stationsstraat 12" in page.text
    assert await AuditEntry.exists(action="post.address_seen", actor_id=els.id, post_id=post.id)


async def test_partners_accept_helpers_but_neither_edit_nor_see_the_address(
    database: str,
) -> None:
    org = await factories.organisation("buurthuis")
    karim = await factories.coordinator_of(org, "karim")
    partner = await factories.organisation("andere-vzw")
    lien = await factories.account("lien")
    await organisations.add_staff(partner, lien)
    hood = await factories.neighbourhood("jette-centre")
    post = await factories.post(
        karim, hood, organisation="buurthuis", private_location="Stationsstraat 12"
    )
    await casework.assign(post, karim, by=karim)
    await casework.add_local_partner(post, partner, by=karim)
    offer = await factories.offer(post)
    async with browser(database) as web:
        await web.log_in_as(lien)
        page = await web.get(f"/r/{post.id}")
        assert "Stationsstraat 12" not in page.text
        assert f"/responses/{offer.id}/accept" in page.text
        assert (await web.get(f"/r/{post.id}/edit")).status_code == 403
        board = await web.get("/admin/o/andere-vzw?group=offers_waiting")
        assert "Karim" not in board.text  # the other organisation keeps its staff unnamed
    await responses.accept_helper(lien, offer)


async def test_two_admins_demoting_each_other_leave_one(database: str) -> None:
    alpha = await factories.account("alpha", role=Role.ADMIN)
    beta = await factories.account("beta", role=Role.ADMIN)
    results = await asyncio.gather(
        neighbourhoods_free_set_role(alpha, beta),
        neighbourhoods_free_set_role(beta, alpha),
        return_exceptions=True,
    )
    assert sum(isinstance(r, InvalidInput) for r in results) == 1
    assert await Account.filter(role=Role.ADMIN, is_active=True).count() == 1


async def neighbourhoods_free_set_role(target: Account, by: Account) -> object:
    from node.services import accounts

    return await accounts.set_role(await Account.get(id=target.id), "resident", by=by)


async def test_an_edit_keeps_an_archive_saved_meanwhile(database: str) -> None:
    admin = await factories.account("root", role=Role.ADMIN)
    stale = await factories.neighbourhood("dieleghem")
    await neighbourhoods.set_archived(await Neighbourhood.get(id=stale.id), True, admin)
    form = NeighbourhoodForm(name="Dieleghem", centre="50.88, 4.31", radius_m="900")
    await neighbourhoods.update_from_form(stale, form, admin)
    fresh = await Neighbourhood.get(id=stale.id)
    assert fresh.archived_at is not None and fresh.radius_m == 900


async def test_an_admin_who_is_a_partners_staff_still_opens_the_owners_case(
    database: str,
) -> None:
    org = await factories.organisation("buurthuis")
    karim = await factories.coordinator_of(org, "karim")
    partner = await factories.organisation("andere-vzw")
    root = await factories.account("root", role=Role.ADMIN)
    await organisations.add_staff(partner, root)
    hood = await factories.neighbourhood("jette-centre")
    post = await factories.post(karim, hood, organisation="buurthuis")
    await casework.add_local_partner(post, partner, by=karim)
    assert await casework.case_organisations(root, post) == [org.id, partner.id]


ODD = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["²", "9" * 5000, "0000-01-01", "9999-12-31", "a\x00b", "-1", "1e9"]),
)


async def _busy_node() -> tuple[Account, HelpPost]:
    """An admin who coordinates `buurthuis`, and one of its posts (made once per test)."""
    karim = await Account.get_or_none(username="karim")
    if karim is None:
        org = await factories.organisation("buurthuis")
        karim = await factories.coordinator_of(org, "karim")
        karim.role = Role.ADMIN
        await karim.save()
        hood = await factories.neighbourhood("jette-centre")
        await factories.post(karim, hood, organisation="buurthuis")
    return karim, await HelpPost.get(organisation__slug="buurthuis")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(page=ODD, day=ODD, text=ODD, when=ODD, partner=ODD, post_id=ODD)
async def test_odd_input_anywhere_in_the_dashboards_is_never_a_server_error(
    database: str, page: str, day: str, text: str, when: str, partner: str, post_id: str
) -> None:
    karim, post = await _busy_node()
    board = "/admin/o/buurthuis"
    case = f"{board}/r/{post.id}"
    filters = {"page": page, "since": day, "until": day, "q": text, "staff": text}
    async with browser(database) as web:
        await web.log_in_as(karim)
        answers = [
            await web.get(board, params={**filters, "neighbourhood": text}),
            await web.get("/admin/people", params={"page": page, "q": text}),
            await web.get("/signup", params={"invite": text}),
            await web.submit(
                case + "/notes", {"kind": "contact", "body": "x", "occurred_at": when}, page=case
            ),
            await web.submit(
                case + "/partners", {"action": "remove", "partner": partner}, page=case
            ),
            await web.submit(board + "/renew", {"post": post_id}, page=board),
        ]
    assert all(answer.status_code < 500 for answer in answers), [a.status_code for a in answers]
    assert (await HelpPost.get(id=post.id)).expires_at == post.expires_at  # nothing renewed


async def test_the_staff_page_revokes_only_its_own_organisations_links(database: str) -> None:
    org = await factories.organisation("buurthuis")
    other = await factories.organisation("andere-vzw")
    karim = await factories.coordinator_of(org, "karim")
    theirs = await signups.create_invitation(None, organisation=other)
    ours = await signups.create_invitation(karim, organisation=org)
    page = "/admin/o/buurthuis/staff"
    async with browser(database) as web:
        await web.log_in_as(karim)
        for invitation in (theirs, ours):
            fields = {"action": "revoke", "invitation": str(invitation.id)}
            assert (await web.submit(page, fields, page=page)).status_code == 303
    assert await signups.valid_invitation(theirs.code) is not None  # not ours to revoke
    assert await signups.valid_invitation(ours.code) is None
