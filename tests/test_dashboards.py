"""An organisation's dashboard: the board by status, what needs attention, renewing, the
exports; and following a request up (assignment, notes, partners, notifications)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from node.errors import InvalidInput, PermissionDenied
from node.models import (
    Account,
    AuditEntry,
    HelpPost,
    Notification,
    NotificationKind,
    Organisation,
    Role,
)
from node.services import attention, casework, dashboards, exports, organisations, posts, responses
from node.services.casework import CaseNote
from node.services.dashboards import BoardFilters
from node.services.permissions import can_manage_helpers, can_manage_post
from node.states import PostStatus
from node.timeutil import utcnow
from tests import factories
from tests.webclient import browser

ZONE = ZoneInfo("Europe/Brussels")


async def team() -> tuple[Organisation, Account, Account]:
    """An organisation with a coordinator (karim) and a staff member (els)."""
    org = await factories.organisation("buurthuis")
    coordinator = await factories.coordinator_of(org, "karim")
    els = await factories.account("els", languages=["en"])
    await organisations.add_staff(org, els)
    return org, coordinator, els


async def for_client(author: Account, hood, **fields: object) -> HelpPost:
    return await factories.post(
        author,
        hood,
        organisation="buurthuis",
        on_behalf_label="een buurvrouw",
        client_consent=True,
        private_location="Stationsstraat 12",
        **fields,
    )


async def test_the_board_sorts_posts_by_where_they_stand(database: str) -> None:
    org, _coordinator, els = await team()
    hood = await factories.neighbourhood("jette-centre")
    untouched = await for_client(els, hood, title="Nobody yet")
    waiting = await for_client(els, hood, title="Someone offered")
    await factories.offer(waiting)
    partly = await for_client(els, hood, title="One of two", helpers_needed=2)
    await responses.accept_helper(els, await factories.offer(partly))
    matched = await for_client(els, hood, title="Found")
    await responses.accept_helper(els, await factories.offer(matched))
    done = await for_client(els, hood, title="Done")
    await posts.change_status(els, done, PostStatus.DONE)
    other = await factories.post(await factories.account("greet"), hood, title="Not ours")

    board = await dashboards.board(org, BoardFilters(), ZONE)
    assert board.counts == {
        "offers_waiting": 1,
        "helpers_accepted": 1,
        "needs_helpers": 1,
        "matched": 1,
        "done": 1,
        "expired": 0,
        "withdrawn": 0,
    }
    assert [row["title"] for row in board.rows] == ["Someone offered"]
    assert board.rows[0]["offered"] == 1
    groups = {
        group: [
            r["id"] for r in (await dashboards.board(org, BoardFilters(group=group), ZONE)).rows
        ]
        for group in ("needs_helpers", "helpers_accepted", "matched", "done")
    }
    assert groups == {
        "needs_helpers": [untouched.id],
        "helpers_accepted": [partly.id],
        "matched": [matched.id],
        "done": [done.id],
    }
    assert other.id not in [post_id for ids in groups.values() for post_id in ids]


async def test_filters_search_and_pages(database: str) -> None:
    org, coordinator, els = await team()
    centre = await factories.neighbourhood("jette-centre")
    dieleghem = await factories.neighbourhood("dieleghem")
    for number in range(30):
        await for_client(els, centre if number % 2 else dieleghem, title=f"Vraag {number:02d}")
    await for_client(coordinator, centre, title="Boodschappen", category="shopping")

    def titles(board: dashboards.Board) -> list[str]:
        return [row["title"] for row in board.rows]

    first = await dashboards.board(org, BoardFilters(group="needs_helpers"), ZONE)
    assert (first.total, first.pages, len(first.rows)) == (31, 2, 25)
    second = await dashboards.board(org, BoardFilters(group="needs_helpers", page=2), ZONE)
    assert len(second.rows) == 6 and not set(titles(first)) & set(titles(second))
    in_hood = await dashboards.board(
        org, BoardFilters(group="needs_helpers", neighbourhood="dieleghem"), ZONE
    )
    assert in_hood.total == 15
    shopping = BoardFilters(group="needs_helpers", category="shopping")
    assert titles(await dashboards.board(org, shopping, ZONE)) == ["Boodschappen"]
    by_karim = BoardFilters(group="needs_helpers", staff="karim")
    assert titles(await dashboards.board(org, by_karim, ZONE)) == ["Boodschappen"]
    searched = BoardFilters(group="needs_helpers", search="vraag 1")
    assert (await dashboards.board(org, searched, ZONE)).total == 10
    nonsense = BoardFilters(group="<script>", category="x", page=-3, search="%_'\"")
    assert (await dashboards.board(org, nonsense, ZONE)).filters.group == "offers_waiting"


async def test_what_needs_attention(database: str) -> None:
    org, _coordinator, els = await team()
    hood = await factories.neighbourhood("jette-centre")
    now = utcnow()
    long_ago = now - timedelta(days=5)
    stale = await for_client(els, hood, title="Stale")
    await HelpPost.filter(id=stale.id).update(created_at=long_ago)
    waited = await for_client(els, hood, title="Waited")
    offer = await factories.offer(waited)
    await type(offer).filter(id=offer.id).update(created_at=now - timedelta(days=3))
    tomorrow = await for_client(els, hood, title="Tomorrow", starts_at=now + timedelta(hours=20))
    await for_client(els, hood, title="Next month", starts_at=now + timedelta(days=30))
    found = await attention.attention(org, now)
    titles = {kind: [row["title"] for row in rows] for kind, rows in found.items()}
    assert titles["waiting"] == ["Waited"]
    assert titles["no_offer"] == ["Stale"]
    assert titles["soon"] == ["Tomorrow"]
    assert titles["past"] == []
    assert "Tomorrow" in titles["expiring"]  # a dated post expires a day after its date
    later = await attention.attention(org, now + timedelta(days=2))
    assert [row["title"] for row in later["past"]] == ["Tomorrow"]
    assert stale.id and tomorrow.id


async def test_renewing_pushes_expiry_and_updates_followers(database: str) -> None:
    org, _coordinator, els = await team()
    hood = await factories.neighbourhood("jette-centre")
    post = await for_client(els, hood)
    before = post.expires_at
    greet = await factories.account("greet")
    theirs = await factories.post(greet, hood)
    renewed = await attention.renew(org, [str(post.id), str(theirs.id)], by=els)
    assert renewed == 1  # another author's post is not the organisation's to renew
    assert (await HelpPost.get(id=post.id)).expires_at == before + timedelta(days=30)
    assert (await HelpPost.get(id=theirs.id)).expires_at == theirs.expires_at
    assert await AuditEntry.exists(action="post.renewed", post_id=post.id)
    with pytest.raises(PermissionDenied):
        await attention.renew(org, [str(post.id)], by=greet)


async def test_exports_hold_no_address_and_no_formula(database: str) -> None:
    org, _coordinator, els = await team()
    hood = await factories.neighbourhood("jette-centre")
    await for_client(els, hood, title='=HYPERLINK("http://evil")')
    done = await for_client(els, hood, title="Sofa")
    await responses.accept_helper(els, await factories.offer(done))
    await posts.change_status(els, await HelpPost.get(id=done.id), PostStatus.DONE)
    export = await exports.posts_export(org, ZONE, by=els)
    assert export.columns[0] == "title"
    assert all("Stationsstraat" not in str(cell) for row in export for cell in row)
    async with browser(database) as web:
        await web.log_in_as(els)
        board = "/admin/o/buurthuis"
        assert (await web.get(board + "/export.csv")).status_code == 405  # a form only
        response = await web.submit(board + "/export.csv", {}, page=board)
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
        assert {row["title"] for row in rows} == {'\'=HYPERLINK("http://evil")', "Sofa"}
        sofa = next(row for row in rows if row["title"] == "Sofa")
        assert (sofa["status"], sofa["helpers_accepted"], sofa["client_label"]) == (
            "done",
            "1",
            "een buurvrouw",
        )
        summary = await web.submit(board + "/summary.csv", {}, page=board)
        [line] = list(csv.DictReader(io.StringIO(summary.text.lstrip("\ufeff"))))
        assert (line["category"], line["requests"], line["done"], line["still_open"]) == (
            "transport",
            "2",
            "1",
            "1",
        )
        assert "Stationsstraat" not in response.text + summary.text


async def test_assignment_routes_notifications(database: str) -> None:
    _org, coordinator, els = await team()
    hood = await factories.neighbourhood("jette-centre")
    post = await for_client(els, hood)
    helper = await factories.account("tom")
    await responses.offer_help(helper, post, "Ik kan zaterdag")
    told = await Notification.filter(kind=NotificationKind.RESPONSE).values_list(
        "recipient_id", flat=True
    )
    assert sorted(told) == sorted([coordinator.id, els.id])  # the whole team
    await casework.assign(post, coordinator, by=els)
    assert await AuditEntry.exists(action="post.assigned", post_id=post.id)
    await Notification.all().delete()
    await responses.add_comment(await factories.account("amina"), post, "Hoe zwaar?")
    told = await Notification.filter(kind=NotificationKind.RESPONSE).values_list(
        "recipient_id", flat=True
    )
    assert told == [coordinator.id]
    with pytest.raises(InvalidInput):
        await casework.assign(post, helper, by=els)  # not staff


async def test_a_helper_accepted_on_an_organisations_post_is_told_by_the_organisation(
    database: str,
) -> None:
    org, coordinator, els = await team()
    hood = await factories.neighbourhood("jette-centre")
    post = await for_client(els, hood)
    helper = await factories.account("tom", languages=["en"])
    offer = await responses.offer_help(helper, post, "")
    await responses.accept_helper(els, offer)
    note = await Notification.get(recipient_id=helper.id, kind=NotificationKind.ACCEPTED)
    assert note.organisation_id == org.id
    async with browser(database) as web:
        await web.log_in_as(helper)
        page = await web.get("/notifications")
        assert "Buurthuis accepted your offer" in page.text
        assert "Els" not in page.text  # the staff member stays unnamed
    # A staff member who offers help on the organisation's request cannot accept herself.
    mine = await posts.create_post(coordinator, factories.draft(hood, organisation="buurthuis"))
    own_offer = await responses.offer_help(els, mine, "")
    with pytest.raises(PermissionDenied):
        await responses.accept_helper(els, own_offer)
    await responses.accept_helper(coordinator, own_offer)  # a colleague may


async def test_notes_stay_with_their_organisation(database: str) -> None:
    org, _coordinator, els = await team()
    partner = await factories.organisation("andere-vzw")
    partner_staff = await factories.account("lien")
    await organisations.add_staff(partner, partner_staff)
    hood = await factories.neighbourhood("jette-centre")
    post = await for_client(els, hood)
    with pytest.raises(PermissionDenied):
        await casework.add_entry(post, partner.id, CaseNote(body="x"), by=partner_staff)
    await casework.add_local_partner(post, partner, by=els)
    assert await can_manage_helpers(partner_staff, post)
    assert not await can_manage_post(partner_staff, post)  # no address, no editing
    ours = await casework.add_entry(
        post, org.id, CaseNote(kind="contact", body="Gebeld", counterpart="de cliënte"), by=els
    )
    theirs = await casework.add_entry(
        post, partner.id, CaseNote(body="Ook gezien"), by=partner_staff
    )
    assert [e.id for e in await casework.entries(post, org.id)] == [ours.id]
    assert [e.id for e in await casework.entries(post, partner.id)] == [theirs.id]
    with pytest.raises(PermissionDenied):  # a partner's staff do not read the notes of the owner
        await casework.add_entry(post, org.id, CaseNote(body="x"), by=partner_staff)
    with pytest.raises(InvalidInput):
        await casework.add_entry(post, org.id, CaseNote(body="  "), by=els)
    future = CaseNote(kind="contact", body="x", occurred_at=utcnow() + timedelta(days=1))
    with pytest.raises(InvalidInput):
        await casework.add_entry(post, org.id, future, by=els)
    # The partner sees the request on its own board, marked as shared.
    board = await dashboards.board(partner, BoardFilters(group="needs_helpers"), ZONE)
    assert [(row["id"], row["partner"]) for row in board.rows] == [(post.id, True)]


async def test_the_audit_trail_of_a_request(database: str) -> None:
    _org, coordinator, els = await team()
    hood = await factories.neighbourhood("jette-centre")
    post = await for_client(els, hood)
    helper = await factories.account("tom")
    offer = await responses.offer_help(helper, post, "")
    await responses.accept_helper(els, offer)
    async with browser(database) as web:
        await web.log_in_as(helper)  # an accepted helper sees the address
        assert "Stationsstraat 12" in (await web.get(f"/r/{post.id}")).text
        assert "Stationsstraat 12" in (await web.get(f"/r/{post.id}")).text
        await web.log_in_as(coordinator)
        page = await web.get(f"/admin/o/buurthuis/r/{post.id}")
        assert 'id="trail-heading"' in page.text
        await web.log_in_as(els)
        assert 'id="trail-heading"' not in (await web.get(f"/admin/o/buurthuis/r/{post.id}")).text
    actions = [
        (entry.action, entry.actor_id)
        for entry in await AuditEntry.filter(post_id=post.id).order_by("at", "id")
    ]
    assert actions == [
        ("post.created", els.id),
        ("post.helper_accepted", els.id),
        ("post.status", els.id),  # the last place taken: matched
        ("post.address_seen", helper.id),  # once a day, however often the page is opened
    ]
    created = await AuditEntry.get(post_id=post.id, action="post.created")
    assert created.detail["on_behalf"] is True and created.detail["consent_at"]


async def test_labels_per_language_and_the_organisation_in_the_preview(database: str) -> None:
    _org, _coordinator, els = await team()
    hood = await factories.neighbourhood("jette-centre")
    post = await factories.post(
        els,
        hood,
        organisation="buurthuis",
        on_behalf_label="een buurvrouw",
        client_consent=True,
        translations={"fr": {"title": "Porter un canapé", "on_behalf_label": "une voisine"}},
    )
    assert post.label_in("fr") == "une voisine" and post.label_in("nl") == "een buurvrouw"
    async with browser(database) as web:
        fr = await web.get(f"/r/{post.id}", headers={"accept-language": "fr"})
        assert "une voisine" in fr.text and "een buurvrouw" not in fr.text
        await web.log_in_as(els)
        fields = {
            "kind": "request",
            "title": "Zetel dragen",
            "category": "transport",
            "language": "nl",
            "neighbourhood": "jette-centre",
            "organisation": "buurthuis",
            "on_behalf_label": "een buurman",
            "client_consent": "yes",
            "action": "preview",
        }
        preview = await web.submit("/new", fields, page="/new")
        assert preview.status_code == 200
        card = preview.text.split('class="preview"')[1].split("</section>")[0]
        assert "Buurthuis" in card and "Els" not in card
    with pytest.raises(InvalidInput) as caught:
        await factories.post(
            els, hood, translations={"fr": {"title": "Aide", "on_behalf_label": "une voisine"}}
        )
    assert caught.value.field == "on_behalf_label"


async def test_staff_answers_speak_for_the_organisation(database: str) -> None:
    org, _coordinator, els = await team()
    hood = await factories.neighbourhood("jette-centre")
    post = await for_client(els, hood)
    await responses.add_comment(els, post, "We bellen u morgen.")
    async with browser(database) as web:
        page = await web.get(f"/r/{post.id}")
        response = page.text.split('id="responses"')[1]
        assert "Buurthuis" in response and "Els" not in response
        assert 'class="org-badge"' in page.text
    await Organisation.filter(id=org.id).update(show_staff_names=True)
    async with browser(database) as web:
        assert "Els" in (await web.get(f"/r/{post.id}")).text.split('id="responses"')[1]


async def test_only_staff_and_admins_open_a_dashboard(database: str) -> None:
    org, _coordinator, els = await team()
    admin = await factories.account("root", role=Role.ADMIN)
    greet = await factories.account("greet")
    assert await dashboards.can_see_dashboard(els, org)
    assert await dashboards.can_see_dashboard(admin, org)
    assert not await dashboards.can_see_dashboard(greet, org)
    els.is_active = False
    assert not await dashboards.can_see_dashboard(els, org)
