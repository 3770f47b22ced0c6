"""The moderation queue and a report's page: moderators decide with a reason, coordinators
decide about their organisation's posts only; every decision is in the audit log."""

from __future__ import annotations

import pytest

from node.errors import InvalidInput, PermissionDenied
from node.models import AuditEntry, HelpPost, Notification, NotificationKind, RemoteActor, Report
from node.services import report_decisions, report_queue
from tests.test_reports import file, remote_actor, world
from tests.webclient import browser


async def test_a_moderator_hides_a_reported_post_from_the_queue(database: str) -> None:
    w = await world()
    report = (await file(w["reporter"], "post", str(w["post"].id), comment="Oplichting")).report
    async with browser(database) as web:
        await web.log_in_as(w["moderator"])
        queue = await web.get("/admin/moderation")
        assert queue.status_code == 200 and "Gewone vraag" in queue.text
        assert f"/admin/moderation/reports/{report.id}" in queue.text
        path = f"/admin/moderation/reports/{report.id}"
        page = await web.get(path)
        assert page.status_code == 200
        # In context: the post, its responses (the remote reply too), the reporter.
        for shown in ("Gewone vraag", "Koop mijn pillen", "Oplichting", "Reporter"):
            assert shown in page.text, shown
        # No reason: the page again with the error, nothing done.
        refused = await web.submit(f"{path}/act", {"action": "hide_post", "reason": " "}, page=path)
        assert refused.status_code == 400
        assert (await HelpPost.get(id=w["post"].id)).hidden_at is None
        done = await web.submit(
            f"{path}/act", {"action": "hide_post", "reason": "Oplichting"}, page=path
        )
        assert done.status_code == 303
    post = await HelpPost.get(id=w["post"].id)
    assert post.hidden_at is not None and post.hidden_reason == "Oplichting"
    resolved = await Report.get(id=report.id)
    assert resolved.resolution == "hidden" and resolved.resolved_by_id == w["moderator"].id
    assert await AuditEntry.exists(action="report.resolved", subject=f"report:{report.id}")
    assert await Notification.exists(recipient_id=w["author"].id, kind=NotificationKind.MODERATION)
    # Resolved: no second decision.
    rows, total = await report_queue.queue(w["moderator"], "resolved")
    assert total == 1 and rows[0].id == report.id


async def test_take_hand_over_reopen_and_resolve_without_action(database: str) -> None:
    w = await world()
    report = (await file(w["reporter"], "account", "greet")).report
    await report_decisions.take(report, w["moderator"])
    assert (await report_queue.queue(w["moderator"], "mine"))[1] == 1
    await report_decisions.hand_over(report, w["moderator"], "admin")
    assert (await Report.get(id=report.id)).handler_id == w["admin"].id
    with pytest.raises(InvalidInput):
        await report_decisions.hand_over(report, w["moderator"], "greet")  # not a moderator
    with pytest.raises(InvalidInput):
        await report_decisions.resolve_without_action(report, w["moderator"], "")
    await report_decisions.resolve_without_action(report, w["moderator"], "Geen probleem")
    assert (await Report.get(id=report.id)).resolution == "no_action"
    await report_decisions.reopen(report, w["moderator"], "Nieuwe feiten")
    reopened = await Report.get(id=report.id)
    assert reopened.resolved_at is None and reopened.resolution == ""
    actions = await AuditEntry.filter(subject=f"report:{report.id}").values_list(
        "action", flat=True
    )
    assert set(actions) >= {
        "report.taken",
        "report.handed_over",
        "report.resolved",
        "report.reopened",
    }


async def test_a_remote_account_is_limited_from_a_report_about_its_reply(database: str) -> None:
    w = await world()
    report = (await file(w["reporter"], "response", str(w["reply"].id))).report
    actions = await report_decisions.actions_for(w["moderator"], report)
    assert {"hide_response", "limit_remote", "suspend_remote"} <= set(actions)
    await report_decisions.act(report, w["moderator"], "limit_remote", "Spam")
    assert (await RemoteActor.get(id=w["anna"].id)).standing == "limited"
    assert (await Report.get(id=report.id)).resolution == "remote_limited"


async def test_coordinators_decide_only_about_their_organisations_posts(database: str) -> None:
    w = await world()
    org_report = (await file(w["reporter"], "post", str(w["org_post"].id))).report
    other = (await file(w["reporter"], "post", str(w["post"].id))).report
    coordinator = w["coordinator"]
    assert await report_decisions.actions_for(coordinator, org_report) == ["hide_post"]
    with pytest.raises(PermissionDenied):
        await report_decisions.resolve_without_action(other, coordinator, "Niet van ons")
    with pytest.raises(InvalidInput):  # coordinators do not suspend
        await report_decisions.act(org_report, coordinator, "suspend", "Nee")
    async with browser(database) as web:
        await web.log_in_as(coordinator)
        dashboard = await web.get("/admin/o/buurthuis")
        path = f"/admin/o/buurthuis/reports/{org_report.id}"
        assert path in dashboard.text
        assert (await web.get(path)).status_code == 200
        assert (await web.get(f"/admin/o/buurthuis/reports/{other.id}")).status_code == 404
        assert (await web.get(f"/admin/moderation/reports/{org_report.id}")).status_code == 403
        done = await web.submit(
            path, {"action": "hide_post", "reason": "Verkeerd geplaatst"}, page=path
        )
        assert done.status_code == 303
    hidden = await HelpPost.get(id=w["org_post"].id)  # hidden, as a moderator would
    assert hidden.hidden_at is not None and hidden.hidden_reason == "Verkeerd geplaatst"
    assert (await Report.get(id=org_report.id)).resolution == "hidden"


async def test_a_report_about_a_remote_account_shows_it(database: str) -> None:
    w = await world()
    bob = await remote_actor("bob", "other.example")
    report = (await file(w["reporter"], "remote_actor", str(bob.id))).report
    async with browser(database) as web:
        await web.log_in_as(w["admin"])
        page = await web.get(f"/admin/moderation/reports/{report.id}")
        assert page.status_code == 200 and "@bob@other.example" in page.text
        assert (await web.get("/admin/moderation/reports/abc")).status_code == 404
        assert (await web.get("/admin/moderation/reports/99999")).status_code == 404
