"""The residents' traps of issue 14, each tried as a new user would, through the pages.

- the notification badge goes once the notifications page has been seen;
- a date or time typed while "Flexible" is chosen is never dropped silently;
- an end before the start is refused (the page, the service and the calendar agree);
- a link in a comment is a link wherever the comment is shown.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.config import Settings
from node.errors import InvalidFields
from node.linkify import LINK_REL
from node.models import (
    Account,
    HelpPost,
    Neighbourhood,
    Notification,
    RemoteActor,
    RemotePost,
)
from node.services import notifications, remote_posts, responses
from node.timeutil import utcnow
from tests import factories
from tests.test_web_posts import compose_fields
from tests.webclient import Browser, browser

BADGE = 'class="badge"'
ZONE = ZoneInfo(Settings().timezone)


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database) as b:
        yield b


@pytest.fixture
async def hood(database: str) -> Neighbourhood:
    return await factories.neighbourhood("jette-centre", commune="Jette")


async def _author(username: str = "camille") -> Account:
    return await Account.get_or_none(username=username) or await factories.account(
        username, languages=["en"]
    )


def _in_days(days: int) -> str:
    return (datetime.now(ZONE) + timedelta(days=days)).date().isoformat()


# --- 1. the notification badge ----------------------------------------------------------


async def test_seeing_the_notifications_page_clears_the_badge(
    web: Browser, hood: Neighbourhood
) -> None:
    author = await _author()
    post = await factories.post(author, hood)
    await factories.offer(post, await factories.account("jef"))
    await web.log_in_as(author)
    assert BADGE in (await web.get("/")).text

    page = await web.get("/notifications")
    assert page.status_code == 200
    assert "Jef answered “Sofa naar het containerpark”." in page.text
    # What was new is still marked as new on this visit, but the badge is gone already.
    assert '<li class="unread">' in page.text
    assert BADGE not in page.text
    assert BADGE not in (await web.get("/")).text
    assert await notifications.unread_count(author) == 0
    assert '<li class="unread">' not in (await web.get("/notifications")).text

    # Something new afterwards brings the badge back, with the right count.
    await factories.offer(post, await factories.account("noor"))
    home = (await web.get("/")).text
    assert BADGE in home and re.search(r'class="badge">1<', home)


async def test_the_badge_goes_even_with_more_notifications_than_one_page(
    web: Browser, hood: Neighbourhood
) -> None:
    author = await _author()
    post = await factories.post(author, hood, helpers_needed=50)
    for _ in range(55):  # the page lists the newest 50
        await notifications.notify(author.id, "response", post=post)
    await web.log_in_as(author)
    assert (await web.get("/notifications")).status_code == 200
    assert await Notification.filter(recipient_id=author.id, read_at=None).count() == 0
    assert BADGE not in (await web.get("/")).text


async def test_a_notification_arriving_while_the_page_is_built_stays_unread(
    hood: Neighbourhood,
) -> None:
    author = await _author()
    post = await factories.post(author, hood)
    await factories.offer(post, await factories.account("jef"))
    shown = await notifications.list_notifications(author)
    await factories.offer(post, await factories.account("noor"))  # after the list was read
    assert await notifications.mark_seen(author, shown) == 1
    assert await notifications.unread_count(author) == 1


async def test_the_mark_all_read_button_still_works(web: Browser, hood: Neighbourhood) -> None:
    author = await _author()
    post = await factories.post(author, hood)
    await factories.offer(post, await factories.account("jef"))
    await web.log_in_as(author)
    # Someone on another page: the form posts without the list having been shown.
    marked = await web.submit("/notifications", {}, page="/settings")
    assert marked.status_code == 303
    assert await notifications.unread_count(author) == 0


# --- 2. "Flexible" with a date typed ------------------------------------------------------

FLEXIBLE_MESSAGE = "You chose “Flexible, no fixed date” but also typed a date or a time"


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    typed=st.fixed_dictionaries(
        {},
        optional={
            "date": st.sampled_from([_in_days(3), "2026-13-45", "tomorrow"]),
            "starts_time": st.sampled_from(["14:00", "9:5", "noon"]),
            "ends_time": st.sampled_from(["16:00", "10:00"]),
        },
    ).filter(bool),
    action=st.sampled_from(["publish", "preview"]),
    when=st.sampled_from(["flexible", "", "someday"]),
)
async def test_a_date_typed_while_flexible_is_never_dropped(
    web: Browser,
    hood: Neighbourhood,
    typed: dict[str, str],
    action: str,
    when: str,
) -> None:
    await web.log_in_as(await _author())
    fields = compose_fields(hood, when=when, action=action, **typed)
    page = await web.submit("/new", fields, page="/new")
    assert page.status_code == 400
    assert FLEXIBLE_MESSAGE in page.text
    # The form comes back with what was typed, for the person to choose.
    for name, value in typed.items():
        assert f'name="{name}" value="{value}"' in page.text
    assert await HelpPost.all().count() == 0


async def test_flexible_without_a_date_and_a_date_with_its_choice_both_publish(
    web: Browser, hood: Neighbourhood
) -> None:
    await web.log_in_as(await _author())
    flexible = await web.submit("/new", compose_fields(hood), page="/new")
    assert flexible.status_code == 303
    day = _in_days(3)
    dated = compose_fields(hood, when="date", date=day, starts_time="14:00", ends_time="16:00")
    assert (await web.submit("/new", dated, page="/new")).status_code == 303
    kept = await HelpPost.filter(starts_at__not_isnull=True).get()
    assert kept.starts_at.astimezone(ZONE).strftime("%Y-%m-%d %H:%M") == f"{day} 14:00"
    assert kept.ends_at is not None and kept.ends_at.astimezone(ZONE).strftime("%H:%M") == "16:00"


async def test_editing_to_flexible_with_the_date_left_in_asks_too(
    web: Browser, hood: Neighbourhood
) -> None:
    author = await _author()
    starts = datetime.now(ZONE).replace(microsecond=0) + timedelta(days=3)
    post = await factories.post(author, hood, starts_at=starts)
    await web.log_in_as(author)
    path = f"/r/{post.id}/edit"
    values = compose_fields(hood, when="flexible", date=_in_days(3), starts_time="10:00")
    page = await web.submit(path, values, page=path)
    assert page.status_code == 400 and FLEXIBLE_MESSAGE in page.text
    assert (await HelpPost.get(id=post.id)).starts_at == starts


# --- 3. an end before the start -----------------------------------------------------------


async def test_an_end_before_the_start_is_refused_on_the_form(
    web: Browser, hood: Neighbourhood
) -> None:
    await web.log_in_as(await _author())
    for action in ("preview", "publish"):  # the preview says so already
        fields = compose_fields(
            hood,
            when="date",
            date=_in_days(3),
            starts_time="14:00",
            ends_time="10:00",
            action=action,
        )
        page = await web.submit("/new", fields, page="/new")
        assert page.status_code == 400
        assert '<p class="error" id="ends_time-error">Must be after the start</p>' in page.text
        assert 'name="ends_time" value="10:00"' in page.text  # kept, to be corrected
        assert 'id="preview-heading"' not in page.text
    assert await HelpPost.all().count() == 0
    # The same on an edit: nothing changes.
    post = await factories.post(await _author(), hood)
    path = f"/r/{post.id}/edit"
    assert (await web.submit(path, fields, page=path)).status_code == 400
    assert (await HelpPost.get(id=post.id)).starts_at is None


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    start=st.integers(min_value=0, max_value=24 * 60 - 1),
    end=st.integers(min_value=0, max_value=24 * 60 - 1),
)
async def test_the_service_keeps_an_end_only_after_the_start(
    hood: Neighbourhood, start: int, end: int
) -> None:
    """Any caller (pages, the demo, an organisation's tools) goes through the service."""
    author = await _author()
    now = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    day = datetime(2026, 6, 3, tzinfo=ZONE)
    starts, ends = day + timedelta(minutes=start), day + timedelta(minutes=end)
    before = await HelpPost.all().count()
    if ends <= starts:
        with pytest.raises(InvalidFields) as refused:
            await factories.post(author, hood, now=now, starts_at=starts, ends_at=ends)
        assert [e.field for e in refused.value.errors] == ["ends_at"]
        assert await HelpPost.all().count() == before
    else:
        post = await factories.post(author, hood, now=now, starts_at=starts, ends_at=ends)
        assert post.ends_at is not None and post.ends_at > post.starts_at


async def test_the_page_and_the_calendar_end_on_the_right_day(
    web: Browser, hood: Neighbourhood
) -> None:
    author = await _author()
    day = datetime.now(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = day + timedelta(days=3, hours=14)
    same_day = await factories.post(author, hood, starts_at=starts, ends_at=starts.replace(hour=16))
    # A night through, given as two moments by a caller that can say so, reads as one.
    night = await factories.post(
        author, hood, title="Nachtwacht", starts_at=starts, ends_at=starts + timedelta(hours=20)
    )
    page = (await web.get(f"/r/{same_day.id}")).text
    assert re.search(r"14:00 – 16:00</dd>", page)
    page = (await web.get(f"/r/{night.id}")).text
    assert not re.search(r"14:00 – 10:00</dd>", page)
    assert re.search(r"14:00 – \w+ \d+ \w+, 10:00</dd>", page)

    calendar = (await web.get(f"/n/{hood.slug}/calendar.ics")).text.replace("\r\n ", "")
    events = calendar.split("BEGIN:VEVENT")[1:]
    assert len(events) == 2
    for event in events:
        start = re.search(r"DTSTART:(\w+)", event)
        end = re.search(r"DTEND:(\w+)", event)
        assert start and end and end.group(1) > start.group(1)


async def test_an_end_before_the_start_from_another_server_is_not_kept(
    hood: Neighbourhood,
) -> None:
    actor = await RemoteActor.create(
        uri="https://elders.example/users/ria",
        domain="elders.example",
        inbox="https://elders.example/users/ria/inbox",
        key_id="https://elders.example/users/ria#main-key",
        public_key_pem="",
        fetched_at=utcnow(),
    )
    starts = utcnow() + timedelta(days=2)
    data = remote_posts.RemotePostData(
        object_uri="https://elders.example/notes/1",
        kind="request",
        title="Boodschappen",
        language="nl",
        content_map={"nl": "<p>Boodschappen</p>"},
        category="shopping",
        place_name="Jette",
        latitude=None,
        longitude=None,
        starts_at=starts,
        ends_at=starts - timedelta(hours=4),
        helpers_needed=1,
        slots_left=1,
        finished=False,
        url=None,
        published_at=None,
    )
    stored = await remote_posts.upsert_remote_post(actor, data)
    row = await RemotePost.get(id=stored.id)
    assert row.starts_at is not None and row.ends_at is None


# --- 4. links in comments -----------------------------------------------------------------


async def test_a_link_in_a_comment_is_a_link(web: Browser, hood: Neighbourhood) -> None:
    author = await _author()
    post = await factories.post(author, hood)
    helper = await factories.account("jef")
    await responses.add_comment(helper, post, "Het containerpark: https://jette.be/recypark")
    await web.log_in_as(author)
    page = (await web.get(f"/r/{post.id}")).text
    assert (
        f'<a href="https://jette.be/recypark" rel="{LINK_REL}">https://jette.be/recypark</a>'
    ) in page
    assert LINK_REL == "nofollow ugc noopener"
