"""Reports: residents report posts, responses and profiles (here and from other servers);
reports are routed to the organisation whose post it is; limits and bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from node.config import Settings
from node.errors import InvalidInput, NotFound, RateLimited
from node.models import (
    Account,
    Event,
    HelpPost,
    Notification,
    NotificationKind,
    RemoteActor,
    Report,
    Response,
)
from node.services import report_queue, reports
from node.timeutil import utcnow
from tests import factories
from tests.webclient import Browser, browser

SETTINGS = Settings(base_url="http://testserver")


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database) as client:
        yield client


async def remote_actor(name: str = "anna", domain: str = "mastodon.example") -> RemoteActor:
    return await RemoteActor.create(
        uri=f"https://{domain}/users/{name}",
        domain=domain,
        username=name,
        display_name=name.title(),
        inbox=f"https://{domain}/users/{name}/inbox",
        key_id=f"https://{domain}/users/{name}#main-key",
        public_key_pem="unused here",
        fetched_at=utcnow(),
    )


async def world() -> dict:
    """An organisation's post with a coordinator, a resident's post, a moderator, an admin,
    a remote reply."""
    await factories.node_row()
    hood = await factories.neighbourhood("jette-centre")
    staff = await factories.account("staff")
    org = await factories.organisation("buurthuis", staff=[staff])
    coordinator = await factories.coordinator_of(org, "coordinator")
    org_post = await factories.post(staff, hood, organisation="buurthuis", title="Org vraag")
    author = await factories.account("greet")
    post = await factories.post(author, hood, title="Gewone vraag")
    anna = await remote_actor()
    reply = await Response.create(
        post=post,
        remote_author=anna,
        kind="comment",
        object_uri="https://mastodon.example/statuses/1",
        body="Koop mijn pillen",
    )
    return {
        "org": org,
        "staff": staff,
        "coordinator": coordinator,
        "org_post": org_post,
        "author": author,
        "post": post,
        "anna": anna,
        "reply": reply,
        "reporter": await factories.account("reporter"),
        "moderator": await factories.moderator("moderator"),
        "admin": await factories.admin("admin"),
    }


async def file(reporter: Account, kind: str, key: str, **kwargs: object) -> reports.Filed:
    target = await reports.find_target(SETTINGS, kind, key, reporter)
    category = str(kwargs.pop("category", "spam"))
    comment = str(kwargs.pop("comment", "Reclame"))
    return await reports.file_report(SETTINGS, reporter, target, category, comment, **kwargs)  # type: ignore[arg-type]


async def recipients(report: Report) -> set[str]:
    rows = await Notification.filter(report_id=report.id, kind=NotificationKind.REPORT)
    ids = [row.recipient_id for row in rows]
    return set(await Account.filter(id__in=ids).values_list("username", flat=True))


async def test_a_report_about_an_organisations_post_goes_to_its_coordinators(
    database: str,
) -> None:
    w = await world()
    filed = await file(w["reporter"], "post", str(w["org_post"].id), category="dangerous")
    report = filed.report
    assert filed.new
    assert report.organisation_id == w["org"].id and report.post_id == w["org_post"].id
    assert report.category == "dangerous" and report.comment == "Reclame"
    assert report.object_uris == [f"http://testserver/r/{w['org_post'].id}"]
    # Moderators, admins and the coordinators; not the other staff, nor the reporter.
    assert await recipients(report) == {"moderator", "admin", "coordinator"}
    listed = await report_queue.for_organisation(w["coordinator"], w["org"])
    assert [r.id for r in listed] == [report.id]
    assert await report_queue.for_organisation(w["staff"], w["org"]) == []

    plain = (await file(w["reporter"], "post", str(w["post"].id))).report
    assert plain.organisation_id is None
    assert await recipients(plain) == {"moderator", "admin"}


async def test_reporting_again_while_open_returns_the_open_report(database: str) -> None:
    w = await world()
    first = await file(w["reporter"], "post", str(w["post"].id))
    again = await file(w["reporter"], "post", str(w["post"].id), category="abuse")
    assert not again.new and again.report.id == first.report.id
    assert await Report.all().count() == 1
    # Someone else may report the same post.
    assert (await file(w["author"], "account", "reporter")).new


async def test_reports_are_limited_per_hour(database: str, monkeypatch) -> None:
    w = await world()
    monkeypatch.setattr(reports, "PER_HOUR", 2)
    await file(w["reporter"], "post", str(w["post"].id))
    await file(w["reporter"], "account", "greet")
    with pytest.raises(RateLimited):
        await file(w["reporter"], "organisation", "buurthuis")
    assert await Report.all().count() == 2


async def test_remote_content_may_be_forwarded_local_content_never(database: str) -> None:
    w = await world()
    reply = (await file(w["reporter"], "response", str(w["reply"].id), forward=True)).report
    assert reply.forward and reply.remote_actor_id == w["anna"].id
    assert reply.object_uris == ["https://mastodon.example/statuses/1"]
    [event] = await Event.filter(kind="ReportForwarded")
    assert event.payload == {"report_id": reply.id}
    local = (await file(w["reporter"], "post", str(w["post"].id), forward=True)).report
    assert not local.forward
    actor = (await file(w["reporter"], "remote_actor", str(w["anna"].id), forward=True)).report
    assert actor.forward and actor.remote_actor_id == w["anna"].id
    assert await Event.filter(kind="ReportForwarded").count() == 2


async def test_what_cannot_be_seen_cannot_be_reported(database: str) -> None:
    w = await world()
    hood = await factories.neighbourhood("elders")
    private = await factories.post(w["author"], hood, visibility="members", title="Leden")
    outsider = None
    with pytest.raises(NotFound):
        await reports.find_target(SETTINGS, "post", str(private.id), outsider)
    for kind, key in [
        ("post", "not-a-uuid"),
        ("response", "00000000-0000-0000-0000-000000000000"),
        ("account", "nobody"),
        ("remote_actor", "99999"),
        ("remote_actor", "1; drop"),
        ("remote_post", "1"),
        ("bogus", "1"),
    ]:
        with pytest.raises(NotFound):
            await reports.find_target(SETTINGS, kind, key, w["reporter"])
    with pytest.raises(InvalidInput):  # one's own post
        await file(w["author"], "post", str(w["post"].id))


async def test_flag_from_another_server_is_routed_like_a_report(database: str) -> None:
    w = await world()
    base = "http://testserver"
    post_uri = f"{base}/r/{w['org_post'].id}"
    report = await reports.receive_flag(
        SETTINGS,
        w["anna"],
        [f"{base}/o/buurthuis", post_uri, "https://elsewhere.example/x"],
        "Dit is \x00spam",
        summary="spam",
        activity_uri="https://mastodon.example/flags/1",
    )
    assert report is not None
    assert report.post_id == w["org_post"].id and report.organisation_id == w["org"].id
    assert report.reporter_remote_id == w["anna"].id and report.category == "spam"
    assert report.comment == "Dit is spam"
    assert report.object_uris == [f"{base}/o/buurthuis", post_uri]
    assert "coordinator" in await recipients(report)
    # The same Flag again is the same report; a Flag about nothing here is no report.
    again = await reports.receive_flag(
        SETTINGS, w["anna"], [post_uri], "", activity_uri="https://mastodon.example/flags/1"
    )
    assert again is not None and again.id == report.id
    nothing = await reports.receive_flag(SETTINGS, w["anna"], ["https://x.example/1"], "")
    assert nothing is None
    assert await Report.all().count() == 1


# ---- the residents' form -------------------------------------------------------------


async def test_anonymous_visitors_log_in_first(web: Browser) -> None:
    await factories.node_row()
    response = await web.get("/report?account=greet")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + quote("/report?account=greet", "/")


async def test_a_resident_reports_a_post_through_the_form(web: Browser) -> None:
    w = await world()
    await web.log_in_as(w["reporter"])
    page = await web.get(f"/r/{w['post'].id}")
    assert f'href="/report?post={w["post"].id}"' in page.text
    assert f'href="/report?response={w["reply"].id}"' in page.text
    assert f'href="/report?remote_actor={w["anna"].id}"' in page.text
    path = f"/report?post={w['post'].id}"
    form = await web.get(path)
    assert form.status_code == 200 and "Gewone vraag" in form.text
    assert 'name="forward"' not in form.text  # local content is not sent anywhere
    sent = await web.submit(path, {"category": "spam", "comment": "Reclame"}, page=path)
    assert sent.status_code == 303 and sent.headers["location"] == "/report/thanks"
    assert (await web.get("/report/thanks")).status_code == 200
    report = await Report.get()
    assert report.reporter_account_id == w["reporter"].id and report.post_id == w["post"].id

    remote_path = f"/report?response={w['reply'].id}"
    remote_form = await web.get(remote_path)
    assert 'name="forward"' in remote_form.text and "mastodon.example" in remote_form.text


async def test_form_errors_are_shown_and_nothing_is_stored(web: Browser) -> None:
    w = await world()
    await web.log_in_as(w["reporter"])
    path = f"/report?post={w['post'].id}"
    sent = await web.submit(path, {"category": "nonsense", "comment": "x" * 1001}, page=path)
    assert sent.status_code == 400
    assert 'id="category-error"' in sent.text and 'id="comment-error"' in sent.text
    assert await Report.all().count() == 0


async def test_too_many_reports_get_a_429(web: Browser, monkeypatch) -> None:
    w = await world()
    monkeypatch.setattr(reports, "PER_HOUR", 1)
    await web.log_in_as(w["reporter"])
    for target in (f"post={w['post'].id}", "account=greet"):
        path = f"/report?{target}"
        sent = await web.submit(path, {"category": "other"}, page=path)
    assert sent.status_code == 429 and sent.headers["retry-after"] == "3600"
    assert await Report.all().count() == 1


TARGET_KINDS = ["post", "response", "account", "organisation", "remote_actor", "remote_post"]


@pytest.fixture
async def reporter_web(database: str) -> AsyncIterator[tuple[Browser, dict]]:
    w = await world()
    async with browser(database) as client:
        await client.log_in_as(w["reporter"])
        yield client, w


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    kind=st.sampled_from([*TARGET_KINDS, "bogus"]),
    key=st.none() | st.text(max_size=50),
    category=st.text(max_size=20),
    comment=st.text(max_size=1200),
)
@example(kind="post", key=None, category="spam", comment="\x00" + "z" * 1001)
@example(kind="account", key="greet\x00", category="spam", comment="ok")
@example(kind="post", key=None, category="abuse", comment="y" * 1001)
async def test_bad_input_is_a_4xx_and_stores_nothing(
    reporter_web: tuple[Browser, dict], kind: str, key: str | None, category: str, comment: str
) -> None:
    web, w = reporter_web
    real = {"post": str(w["post"].id), "account": "greet"}
    value = real.get(kind, "1") if key is None else key
    query = urlencode({kind: value})
    valid_target = key is None and kind in real
    # The form reader drops NUL characters (as every form does); what is left is judged.
    category, comment = category.replace("\x00", ""), comment.replace("\x00", "")
    text = comment.replace("\r\n", "\n").strip()
    good = valid_target and category in reports.CATEGORIES and len(text) <= 1000
    before = await Report.all().count()
    sent = await web.submit(f"/report?{query}", {"category": category, "comment": comment})
    if good:
        assert sent.status_code == 303
        await Report.all().delete()
        return
    assert 400 <= sent.status_code < 500, (query, sent.status_code)
    assert await Report.all().count() == before


async def test_hidden_content_cannot_be_reported(database: str) -> None:
    w = await world()
    await HelpPost.filter(id=w["post"].id).update(hidden_at=utcnow())
    with pytest.raises(NotFound):
        await reports.find_target(SETTINGS, "post", str(w["post"].id), w["reporter"])
