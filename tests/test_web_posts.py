"""Composing, reading and answering requests and offers through the residents' pages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from node.models import Event, HelpPost, Neighbourhood, RemoteActor, Response
from node.states import OfferStatus, PostStatus
from node.timeutil import utcnow
from tests import factories
from tests.webclient import Browser, browser

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database) as b:
        yield b


@pytest.fixture
async def hood() -> Neighbourhood:
    return await factories.neighbourhood("jette-centre", commune="Jette")


def compose_fields(hood: Neighbourhood, **overrides: str) -> dict[str, str]:
    fields = {
        "kind": "request",
        "category": "transport",
        "language": "fr",
        "title": "Transporter un canapé au parc à conteneurs",
        "description": "Il est lourd.\n\nDeux personnes suffisent.",
        "helpers_needed": "2",
        "when": "flexible",
        "neighbourhood": hood.slug,
        "area_hint": "près de la gare",
        "private_location": "Rue Exemple 12, boîte 3",
        "visibility": "public",
        "action": "publish",
    }
    fields.update(overrides)
    return fields


async def test_compose_needs_an_account(web: Browser) -> None:
    response = await web.get("/new")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/new"


async def test_preview_saves_nothing_then_publish_saves_once(
    web: Browser, hood: Neighbourhood
) -> None:
    author = await factories.account("camille", languages=["fr"])
    await web.log_in_as(author)
    preview = await web.submit("/new", compose_fields(hood, action="preview"), page="/new")
    assert preview.status_code == 200
    assert "Transporter un canapé" in preview.text
    assert 'id="preview-heading"' in preview.text
    assert await HelpPost.all().count() == 0

    published = await web.submit("/new", compose_fields(hood), page="/new")
    assert published.status_code == 303
    post = await HelpPost.get()
    assert published.headers["location"] == f"/r/{post.id}?done=published"
    assert post.language == "fr" and post.helpers_needed == 2
    page = await web.get(f"/r/{post.id}?done=published")
    assert page.status_code == 200
    assert 'lang="fr"' in page.text
    assert "<p>Il est lourd.</p><p>Deux personnes suffisent.</p>" in page.text
    # The author sees the exact address, marked as private.
    assert "Rue Exemple 12, boîte 3" in page.text


async def test_bad_compose_shows_every_field_error_and_saves_nothing(
    web: Browser, hood: Neighbourhood
) -> None:
    await web.log_in_as(await factories.account("camille", languages=["en"]))
    response = await web.submit(
        "/new",
        compose_fields(
            hood, title="ab", category="not-a-category", helpers_needed="500", area_hint="Rue 12"
        ),
        page="/new",
    )
    assert response.status_code == 400
    for field in ("title", "category", "helpers_needed", "area_hint"):
        assert f'id="{field}-error"' in response.text, field
    assert "Needs at least 3 characters" in response.text
    assert await HelpPost.all().count() == 0


async def test_a_date_and_times_are_read_in_the_nodes_time_zone(
    web: Browser, hood: Neighbourhood
) -> None:
    await web.log_in_as(await factories.account("camille"))
    bad = await web.submit(
        "/new", compose_fields(hood, when="date", date="5 december"), page="/new"
    )
    assert bad.status_code == 400
    assert 'id="date-error"' in bad.text
    from datetime import date, timedelta

    day = (date.today() + timedelta(days=10)).isoformat()
    ok = await web.submit(
        "/new",
        compose_fields(hood, when="date", date=day, starts_time="10:00", ends_time="12:30"),
        page="/new",
    )
    assert ok.status_code == 303
    post = await HelpPost.get()
    assert post.starts_at is not None and post.ends_at is not None
    assert (post.ends_at - post.starts_at).total_seconds() == 2.5 * 3600
    # Brussels is UTC+1 in winter and UTC+2 in summer.
    assert post.starts_at.hour in (8, 9)


async def test_staff_posts_on_behalf_of_a_client_with_consent(
    web: Browser, hood: Neighbourhood
) -> None:
    worker = await factories.account("sophie")
    org = await factories.organisation("buurthuis", staff=[worker])
    await web.log_in_as(worker)
    form = await web.get("/new")
    assert 'name="on_behalf_label"' in form.text
    fields = compose_fields(hood, organisation=org.slug, on_behalf_label="a neighbour of 82")
    refused = await web.submit("/new", fields, page="/new")
    assert refused.status_code == 400
    assert 'id="client_consent-error"' in refused.text
    assert await HelpPost.all().count() == 0
    ok = await web.submit("/new", {**fields, "client_consent": "yes"}, page="/new")
    assert ok.status_code == 303
    post = await HelpPost.get()
    assert post.organisation_id == org.id and post.client_consent_at is not None
    await web.log_in_as(await factories.account("visitor"))
    page = await web.get(f"/r/{post.id}")
    assert "a neighbour of 82" in page.text
    assert "Rue Exemple 12" not in page.text  # never on a page the public can see


async def test_residents_cannot_post_for_an_organisation(web: Browser, hood: Neighbourhood) -> None:
    org = await factories.organisation("buurthuis")
    await web.log_in_as(await factories.account("mallory"))
    response = await web.submit(
        "/new", compose_fields(hood, organisation=org.slug, client_consent="yes"), page="/new"
    )
    assert response.status_code == 400
    assert await HelpPost.all().count() == 0


async def test_offer_accept_done_flow(web: Browser, hood: Neighbourhood) -> None:
    author = await factories.account("camille")
    helper = await factories.account("jef")
    post = await factories.post(author, hood, helpers_needed=1, private_location="Rue X 1")
    page_path = f"/r/{post.id}"

    anonymous = await web.get(page_path)
    assert "Rue X 1" not in anonymous.text
    assert "/login?next=" in anonymous.text

    await web.log_in_as(helper)
    before = await web.get(page_path)
    assert "Rue X 1" not in before.text
    offered = await web.submit(
        f"{page_path}/offer", {"body": "Zaterdag kan ik", "read_guide": "yes"}, page=page_path
    )
    assert offered.status_code == 303
    offer = await Response.get(post_id=post.id)
    assert offer.offer_status == OfferStatus.OFFERED

    await web.log_in_as(author)
    accepted = await web.submit(f"{page_path}/responses/{offer.id}/accept", {}, page=page_path)
    assert accepted.status_code == 303
    assert (await HelpPost.get(id=post.id)).status == PostStatus.MATCHED

    await web.log_in_as(helper)
    assert "Rue X 1" in (await web.get(page_path)).text  # accepted helpers see the address

    await web.log_in_as(author)
    done = await web.submit(f"{page_path}/status", {"status": "done"}, page=page_path)
    assert done.status_code == 303
    assert (await HelpPost.get(id=post.id)).status == PostStatus.DONE


async def test_only_managers_change_status_or_accept(web: Browser, hood: Neighbourhood) -> None:
    author = await factories.account("camille")
    post = await factories.post(author, hood)
    offer = await factories.offer(post)
    await web.log_in_as(await factories.account("mallory"))
    path = f"/r/{post.id}"
    assert (await web.submit(f"{path}/status", {"status": "done"}, page=path)).status_code == 403
    accept = await web.submit(f"{path}/responses/{offer.id}/accept", {}, page=path)
    assert accept.status_code == 403
    assert (await HelpPost.get(id=post.id)).status == PostStatus.OPEN
    assert (await Response.get(id=offer.id)).offer_status == OfferStatus.OFFERED


async def test_post_actions_refuse_missing_csrf(web: Browser, hood: Neighbourhood) -> None:
    author = await factories.account("camille")
    post = await factories.post(author, hood)
    await web.log_in_as(author)
    await web.get(f"/r/{post.id}")
    response = await web.http.post(f"/r/{post.id}/status", data={"status": "withdrawn"})
    assert response.status_code == 403
    assert (await HelpPost.get(id=post.id)).status == PostStatus.OPEN


async def test_hostile_text_in_every_field_is_escaped(web: Browser, hood: Neighbourhood) -> None:
    worker = await factories.account("sophie")
    org = await factories.organisation("buurthuis", staff=[worker])
    await web.log_in_as(worker)
    response = await web.submit(
        "/new",
        compose_fields(
            hood,
            title=HOSTILE,
            description=HOSTILE,
            area_hint="<b>bij</b> de kerk",
            second_language="nl",
            second_title=HOSTILE,
            second_description=HOSTILE,
            organisation=org.slug,
            on_behalf_label="<script>x</script> buur",
            client_consent="yes",
        ),
        page="/new",
    )
    assert response.status_code == 303, response.text
    post = await HelpPost.get()
    path = f"/r/{post.id}"
    await web.submit(f"{path}/comment", {"body": HOSTILE}, page=path)
    helper = await factories.account("jef")
    await web.log_in_as(helper)
    await web.submit(f"{path}/offer", {"body": HOSTILE, "read_guide": "yes"}, page=path)
    for page in (path, "/", f"/n/{hood.slug}", "/o/buurthuis"):
        html = (await web.get(page)).text
        assert "<script>" not in html, page
        assert "onerror=alert" not in html or "&lt;img" in html, page
        assert "<b>bij</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (await web.get(path)).text


async def test_remote_replies_are_sanitised_when_shown(web: Browser, hood: Neighbourhood) -> None:
    author = await factories.account("camille")
    post = await factories.post(author, hood)
    remote = await RemoteActor.create(
        uri="https://mastodon.example/users/anna",
        domain="mastodon.example",
        username="anna",
        display_name="<i>Anna</i>",
        inbox="https://mastodon.example/users/anna/inbox",
        key_id="https://mastodon.example/users/anna#main-key",
        public_key_pem="unused here",
        fetched_at=utcnow(),
    )
    # Written straight to the table, as an older version or a bug might have left it.
    await Response.create(
        post=post,
        remote_author=remote,
        kind="comment",
        object_uri="https://mastodon.example/statuses/1",
        body_html=(
            '<p>Ik help <script>alert(1)</script><a href="javascript:alert(2)">hier</a>'
            '<img src=x onerror=alert(3)><span onclick="alert(4)">!</span></p>'
        ),
    )
    html = (await web.get(f"/r/{post.id}")).text
    assert "Ik help" in html
    for bad in ("<script", "javascript:", "onerror", "onclick", "<img"):
        assert bad not in html, bad
    assert "&lt;i&gt;Anna&lt;/i&gt;" in html
    assert "@anna@mastodon.example" in html


async def test_hidden_posts_are_not_found(web: Browser, hood: Neighbourhood) -> None:
    author = await factories.account("camille")
    post = await factories.post(author, hood, visibility="followers")
    assert (await web.get(f"/r/{post.id}")).status_code == 404
    assert (await web.get("/r/not-a-uuid")).status_code == 404
    await web.log_in_as(author)
    assert (await web.get(f"/r/{post.id}")).status_code == 200


async def test_edit_changes_the_post_and_federates_an_update(
    web: Browser, hood: Neighbourhood
) -> None:
    author = await factories.account("camille")
    post = await factories.post(author, hood, helpers_needed=2)
    offer = await factories.offer(post)
    from node.services import responses

    await responses.accept_helper(author, offer)
    await web.log_in_as(author)
    path = f"/r/{post.id}/edit"
    form = await web.get(path)
    assert "Sofa naar het containerpark" in form.text
    fields = {
        "category": "transport",
        "language": "nl",
        "title": "Zetel naar het containerpark",
        "description": "Zwaar",
        "helpers_needed": "0",
        "when": "flexible",
        "neighbourhood": hood.slug,
        "action": "publish",
    }
    refused = await web.submit(path, fields, page=path)
    assert refused.status_code == 400
    assert (await HelpPost.get(id=post.id)).title == "Sofa naar het containerpark"
    saved = await web.submit(path, {**fields, "helpers_needed": "1"}, page=path)
    assert saved.status_code == 303
    edited = await HelpPost.get(id=post.id)
    assert edited.title == "Zetel naar het containerpark"
    # One accepted helper for one place: the post is matched now.
    assert edited.status == PostStatus.MATCHED
    assert await Event.filter(kind="PostEdited").count() == 1
    await web.log_in_as(await factories.account("mallory"))
    assert (await web.get(path)).status_code == 403


async def test_neighbourhood_filters_and_follow(web: Browser, hood: Neighbourhood) -> None:
    author = await factories.account("camille")
    await factories.post(author, hood, title="Boodschappen doen", category="shopping")
    await factories.post(author, hood, title="Hond uitlaten", category="pets", kind="offer")
    page = await web.get(f"/n/{hood.slug}?category=pets")
    assert "Hond uitlaten" in page.text and "Boodschappen doen" not in page.text
    page = await web.get(f"/n/{hood.slug}?kind=request")
    assert "Boodschappen doen" in page.text and "Hond uitlaten" not in page.text
    page = await web.get(f"/n/{hood.slug}?when=flexible&category=bogus")
    assert "Boodschappen doen" in page.text and "Hond uitlaten" in page.text
    assert f"@{hood.slug}@127.0.0.1:8000" in page.text  # the handle to follow from Mastodon
    assert "feed.rss" in page.text

    reader = await factories.account("jef", languages=["en"])
    await web.log_in_as(reader)
    path = f"/n/{hood.slug}"
    web.http.headers["accept-language"] = "en"
    followed = await web.submit(f"{path}/follow", {"follow": "yes"}, page=path)
    assert followed.status_code == 303
    assert "Stop following" in (await web.get(path)).text
    await web.submit(f"{path}/follow", {"follow": "no"}, page=path)
    assert "Follow this neighbourhood" in (await web.get(path)).text


async def test_notifications_list_and_mark_read(web: Browser, hood: Neighbourhood) -> None:
    author = await factories.account("camille", languages=["en"])
    post = await factories.post(author, hood)
    await factories.offer(post, await factories.account("jef"))
    await web.log_in_as(author)
    assert 'class="badge"' in (await web.get("/")).text
    page = await web.get("/notifications")
    assert "Jef answered “Sofa naar het containerpark”." in page.text
    # Seen is read (tests/test_residents_traps.py): the badge is gone on this page already.
    assert 'class="badge"' not in page.text
    assert 'class="badge"' not in (await web.get("/")).text
