"""Pointing a request's author to a service, and closing the request with it: the rules
in `node.services.service_pointers` and the request page over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.models import (
    Account,
    AuditEntry,
    Event,
    HelpPost,
    Neighbourhood,
    Notification,
    Organisation,
    Response,
    ResponseKind,
    Service,
    ServiceArea,
)
from node.services import posts, responses, service_pointers
from node.states import PostStatus
from tests import factories
from tests.webclient import Browser, browser


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database) as b:
        yield b


@pytest.fixture
async def hood(database: str) -> Neighbourhood:
    return await factories.neighbourhood("jette-centre", commune="Jette")


async def make_service(
    org: Organisation,
    name: str = "Bulky waste pick-up",
    categories: tuple[str, ...] = ("transport",),
) -> Service:
    return await Service.create(
        organisation=org,
        language="en",
        name={"en": name, "fr": f"{name} (fr)"},
        description={"en": "Free twice a year."},
        categories=list(categories),
        phone="02 423 12 00",
        website="https://jette.example/bulky",
    )


class World:
    """A resident's transport request, a helper, and the commune's services."""

    author: Account
    helper: Account
    post: HelpPost
    service: Service
    other_service: Service


@pytest.fixture
async def world(hood: Neighbourhood) -> World:
    w = World()
    w.author = await factories.account("amina", languages=["en"])
    w.helper = await factories.account("bert", languages=["en"])
    commune = await factories.organisation("commune")
    w.service = await make_service(commune)
    w.other_service = await make_service(commune, "Meals on wheels", ("meals",))
    w.post = await factories.post(w.author, hood, language="en")
    return w


async def snapshot(post: HelpPost) -> tuple[Any, ...]:
    """Everything a refused pointer or "this solved it" must leave as it was."""
    row = await HelpPost.get(id=post.id)
    return (
        row.status,
        row.solved_by_service_id,
        row.updated_at,
        await Response.all().count(),
        await Event.all().count(),
        await Notification.all().count(),
        await AuditEntry.all().count(),
    )


# --- the rules -------------------------------------------------------------------------


async def test_a_helper_points_the_author_once_per_service(world: World) -> None:
    pointer = await service_pointers.point_to_service(
        world.helper, world.post, str(world.service.id), "  They come on Tuesdays.  "
    )
    assert pointer.kind == ResponseKind.SERVICE and pointer.offer_status is None
    assert pointer.service_id == world.service.id and pointer.body == "They come on Tuesdays."
    # The author hears of it, as of a comment; the event says a response was stored.
    assert await Notification.filter(recipient_id=world.author.id).count() == 1
    created = await Event.filter(kind="ResponseCreated").values_list("payload", flat=True)
    assert created == [{"response_id": str(pointer.id), "post_id": str(world.post.id)}]

    before = await snapshot(world.post)
    with pytest.raises(service_pointers.AlreadyPointed):
        await service_pointers.point_to_service(world.helper, world.post, world.service.id)
    assert await snapshot(world.post) == before
    # Another listed service, or another helper pointing to the same one, is a new
    # suggestion.
    second = await make_service(await world.service.organisation, "Transport desk")
    await service_pointers.point_to_service(world.helper, world.post, second.id)
    await service_pointers.point_to_service(await factories.account(), world.post, world.service.id)
    assert await Response.filter(kind=ResponseKind.SERVICE).count() == 3


async def test_pointing_is_refused_with_nothing_stored(world: World, hood: Neighbourhood) -> None:
    offer_post = await factories.post(world.author, hood, kind="offer", title="Ik rij naar Ikea")
    suspended = await factories.account("suspended")
    suspended.is_active = False
    await suspended.save()
    # Seen by neighbours only: someone who neither lives there nor follows it cannot.
    hidden_post = await factories.post(
        world.author, hood, visibility="neighbours", title="Alleen voor buren"
    )
    outsider = await factories.account("outsider")
    cases: list[tuple[Account, HelpPost, object, str, type[Exception]]] = [
        (world.helper, world.post, uuid.uuid4(), "", InvalidInput),  # no such service
        (world.helper, world.post, "not-an-id", "", InvalidInput),
        (world.helper, world.post, "", "", InvalidInput),
        (world.helper, world.post, world.service.id, "x" * 501, InvalidInput),
        (world.author, world.post, world.service.id, "", Conflict),  # their own request
        (world.helper, offer_post, world.service.id, "", Conflict),  # not a request
        (suspended, world.post, world.service.id, "", PermissionDenied),
        (outsider, hidden_post, world.service.id, "", NotFound),  # cannot see it
    ]
    for account, post, service_id, note, error in cases:
        before = await snapshot(post)
        with pytest.raises(error):
            await service_pointers.point_to_service(account, post, service_id, note)
        assert await snapshot(post) == before, (account.username, service_id)
    for status in (PostStatus.DONE, PostStatus.WITHDRAWN, PostStatus.EXPIRED):
        await HelpPost.filter(id=world.post.id).update(status=status)
        post = await HelpPost.get(id=world.post.id)
        before = await snapshot(post)
        with pytest.raises(Conflict):
            await service_pointers.point_to_service(world.helper, post, world.service.id)
        assert await snapshot(post) == before, status
    # Matched requests still take pointers, as they take comments.
    await HelpPost.filter(id=world.post.id).update(status=PostStatus.MATCHED)
    post = await HelpPost.get(id=world.post.id)
    assert await service_pointers.point_to_service(world.helper, post, world.service.id)


async def test_only_a_service_the_form_lists_is_taken(world: World, hood: Neighbourhood) -> None:
    """The form lists the services answering the request's category in its neighbourhood;
    a hand-made form naming any other is refused like an unknown one."""
    commune = await world.service.organisation
    elsewhere = await factories.neighbourhood("laeken")
    there_only = await make_service(commune, "Laeken transport")
    there_only.everywhere = False
    await there_only.save()
    await ServiceArea.create(service=there_only, neighbourhood=elsewhere)
    nowhere = await make_service(commune, "Nowhere transport")
    nowhere.everywhere = False
    await nowhere.save()
    removed = await make_service(commune, "Gone transport")
    await Service.filter(id=removed.id).delete()
    for refused in (world.other_service.id, there_only.id, nowhere.id, removed.id):
        before = await snapshot(world.post)
        with pytest.raises(InvalidInput) as caught:
            await service_pointers.point_to_service(world.helper, world.post, refused)
        assert caught.value.field == "service"
        assert caught.value.message == "choose a service from the list"
        assert await snapshot(world.post) == before, refused
    # Listed where the request is: taken.
    here = await make_service(commune, "Jette transport")
    here.everywhere = False
    await here.save()
    await ServiceArea.create(service=here, neighbourhood=hood)
    pointer = await service_pointers.point_to_service(world.helper, world.post, str(here.id))
    assert pointer.service_id == here.id


async def test_this_solved_it_closes_the_request_as_done(world: World) -> None:
    pointer = await service_pointers.point_to_service(world.helper, world.post, world.service.id)
    await Event.all().delete()
    post = await posts.get_post(world.post.id, world.author)
    await service_pointers.solved_with_service(world.author, post, str(pointer.id))
    assert post.status == PostStatus.DONE
    stored = await HelpPost.get(id=world.post.id)
    assert stored.status == PostStatus.DONE and stored.solved_by_service_id == world.service.id
    # The ordinary status change goes out (federation sends the Update from it).
    changed = await Event.filter(kind="PostStatusChanged").values_list("payload", flat=True)
    assert changed == [
        {"post_id": str(post.id), "old": "open", "new": "done", "by_account_id": world.author.id}
    ]
    entry = await AuditEntry.get(action="post.solved_by_service")
    assert entry.actor_id == world.author.id
    assert entry.detail == {"response": str(pointer.id), "service": str(world.service.id)}
    # Done now: the same button again changes nothing.
    before = await snapshot(post)
    with pytest.raises(Conflict):
        await service_pointers.solved_with_service(world.author, post, pointer.id)
    assert await snapshot(post) == before


async def test_this_solved_it_is_refused_with_nothing_changed(
    world: World, hood: Neighbourhood
) -> None:
    pointer = await service_pointers.point_to_service(world.helper, world.post, world.service.id)
    comment = await responses.add_comment(world.helper, world.post, "Try the commune?")
    offer = await factories.offer(world.post, await factories.account())
    elsewhere = await factories.post(world.author, hood, title="Another sofa to carry")
    foreign = await service_pointers.point_to_service(world.helper, elsewhere, world.service.id)
    stranger = await factories.account("stranger")
    cases: list[tuple[Account, object, type[Exception]]] = [
        (world.helper, pointer.id, PermissionDenied),  # someone else's request
        (stranger, pointer.id, PermissionDenied),
        (world.author, comment.id, NotFound),  # not a service pointer
        (world.author, offer.id, NotFound),
        (world.author, foreign.id, NotFound),  # a pointer on another request
        (world.author, uuid.uuid4(), NotFound),
        (world.author, "junk", NotFound),
        (world.author, "", NotFound),
    ]
    for account, response_id, error in cases:
        before = await snapshot(world.post)
        with pytest.raises(error):
            await service_pointers.solved_with_service(account, world.post, response_id)
        assert await snapshot(world.post) == before, (account.username, response_id)
    # A pointer to a service removed since cannot close the request.
    await Service.filter(id=world.service.id).delete()
    before = await snapshot(world.post)
    with pytest.raises(NotFound):
        await service_pointers.solved_with_service(world.author, world.post, pointer.id)
    assert await snapshot(world.post) == before


async def test_an_organisations_staff_close_its_request_with_a_service(
    world: World, hood: Neighbourhood
) -> None:
    social_worker = await factories.account("sofie")
    org = await factories.organisation("buurthuis", staff=[social_worker])
    colleague = await factories.coordinator_of(org, "colleague")
    post = await factories.post(
        social_worker,
        hood,
        organisation=org.slug,
        on_behalf_label="a neighbour",
        client_consent=True,
    )
    pointer = await service_pointers.point_to_service(world.helper, post, world.service.id)
    # The whole staff heard of it (nobody follows the request up yet).
    assert set(
        await Notification.filter(kind="response").values_list("recipient_id", flat=True)
    ) == {
        social_worker.id,
        colleague.id,
    }
    await service_pointers.solved_with_service(colleague, post, pointer.id)
    stored = await HelpPost.get(id=post.id)
    assert stored.status == PostStatus.DONE and stored.solved_by_service_id == world.service.id


# --- over HTTP ---------------------------------------------------------------------------


async def test_the_page_offers_services_and_the_author_closes_with_one(
    web: Browser, world: World
) -> None:
    path = f"/r/{world.post.id}"
    await web.log_in_as(world.helper)
    page = await web.get(path)
    assert 'id="point-heading"' in page.text
    assert (
        f'<option value="{world.service.id}">Bulky waste pick-up (Buurthuis)</option>' in page.text
    )
    # Only services answering the request's category in its neighbourhood are listed.
    assert str(world.other_service.id) not in page.text

    sent = await web.submit(
        f"{path}/comment", {"service": str(world.service.id), "note": "Call them."}, page=path
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{path}?done=pointed#responses"
    pointer = await Response.get(kind=ResponseKind.SERVICE)
    assert pointer.author_id == world.helper.id and pointer.body == "Call them."
    # Everyone reads who pointed to which service; only the author gets the button.
    shown = await web.get(path)
    assert (
        '<a href="/@bert">Bert</a> pointed to a service: '
        f'<a href="/services/{world.service.id}">Bulky waste pick-up</a>'
    ) in shown.text
    assert "This solved it" not in shown.text

    await web.log_in_as(world.author)
    mine = await web.get(path)
    assert 'id="point-heading"' not in mine.text  # nobody points their own request
    assert 'href="tel:024231200"' in mine.text and "https://jette.example/bulky" in mine.text
    solved_path = f"{path}/responses/{pointer.id}/solved"
    assert f'action="{solved_path}"' in mine.text
    done = await web.submit(solved_path, {}, page=path)
    assert done.status_code == 303 and done.headers["location"] == f"{path}?done=solved"
    stored = await HelpPost.get(id=world.post.id)
    assert stored.status == PostStatus.DONE and stored.solved_by_service_id == world.service.id
    assert await Event.filter(kind="PostStatusChanged").count() == 1
    after = await web.get(f"{path}?done=solved")
    assert "closed as done" in after.text and "This solved it" not in after.text
    solved_line = (
        '<p class="solved" lang="en">Solved with the help of '
        f'<a href="/services/{world.service.id}">Bulky waste pick-up</a></p>'
    )
    assert solved_line in after.text
    web.log_out_locally()  # everyone reads it
    assert solved_line in (await web.get(path)).text
    await web.log_in_as(world.author)
    # Done: pressing it again (an old tab) is refused, and nothing moves.
    before = await snapshot(world.post)
    again = await web.submit(solved_path, {}, page=path)
    assert again.status_code == 409
    assert await snapshot(world.post) == before


async def test_the_author_is_told_of_a_pointer_as_such(web: Browser, world: World) -> None:
    await service_pointers.point_to_service(world.helper, world.post, world.service.id)
    await responses.add_comment(await factories.account("carla"), world.post, "When?")
    await web.log_in_as(world.author)
    told = (await web.get("/notifications")).text
    assert "Bert pointed you to a service for “Sofa naar het containerpark”." in told
    assert "Carla answered “Sofa naar het containerpark”." in told
    assert "Bert answered" not in told


async def test_a_solved_request_keeps_saying_so_until_reopened(web: Browser, world: World) -> None:
    path = f"/r/{world.post.id}"
    pointer = await service_pointers.point_to_service(world.helper, world.post, world.service.id)
    await web.log_in_as(world.helper)  # fresh pages (anonymous ones are kept a few seconds)
    assert "Solved with the help of" not in (await web.get(path)).text  # open: not yet
    await service_pointers.solved_with_service(world.author, world.post, pointer.id)
    # The service is removed from the directory later: the request still says so.
    await Service.filter(id=world.service.id).delete()
    gone = await web.get(path)
    assert "Solved with the help of a service no longer listed" in gone.text
    # Reopened, then marked done by hand: no longer solved by the service.
    post = await HelpPost.get(id=world.post.id)
    await posts.change_status(world.author, post, PostStatus.OPEN)
    assert "Solved with the help of" not in (await web.get(path)).text
    await posts.change_status(world.author, post, PostStatus.DONE)
    assert "Solved with the help of" not in (await web.get(path)).text


async def test_bad_pointers_and_solves_over_http_are_refused(web: Browser, world: World) -> None:
    path = f"/r/{world.post.id}"
    pointer = await service_pointers.point_to_service(world.helper, world.post, world.service.id)
    comment = await responses.add_comment(world.helper, world.post, "A question")
    await web.log_in_as(world.helper)
    before = await snapshot(world.post)
    unknown = await web.submit(f"{path}/comment", {"service": str(uuid.uuid4())}, page=path)
    assert unknown.status_code == 400 and 'id="service-error"' in unknown.text
    # A service that exists but is not in the list (another category): refused alike.
    unlisted = {"service": str(world.other_service.id), "note": "Try them"}
    off_list = await web.submit(f"{path}/comment", unlisted, page=path)
    assert off_list.status_code == 400 and 'id="service-error"' in off_list.text
    assert "Choose a service from the list" in off_list.text
    twice = await web.submit(f"{path}/comment", {"service": str(world.service.id)}, page=path)
    assert twice.status_code == 409 and "already pointed to this service" in twice.text
    long_note = {"service": str(world.service.id), "note": "n" * 501}
    too_long = await web.submit(f"{path}/comment", long_note, page=path)
    assert too_long.status_code == 400 and 'id="pointer_note-error"' in too_long.text
    # The helper cannot close the author's request, with any response.
    for target in (pointer.id, comment.id):
        refused = await web.submit(f"{path}/responses/{target}/solved", {}, page=path)
        assert refused.status_code == 403
    await web.log_in_as(world.author)
    for target in (comment.id, uuid.uuid4(), "junk"):
        refused = await web.submit(f"{path}/responses/{target}/solved", {}, page=path)
        assert refused.status_code == 404, target
    # Without the form's CSRF token nothing is taken.
    forged = await web.http.post(
        f"{path}/responses/{pointer.id}/solved",
        content="csrf_token=forged",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert forged.status_code == 403
    assert await snapshot(world.post) == before
    # Logged out: to the login page, nothing stored.
    web.log_out_locally()
    anonymous = await web.submit(f"{path}/comment", {"service": str(world.service.id)}, page=path)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert await snapshot(world.post) == before


JUNK = st.one_of(
    st.text(max_size=60),
    st.uuids().map(str),
    st.sampled_from(["", " ", "0", "-1", "null", "{}", "../..", "%00", "urn:uuid:"]),
)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(service_id=JUNK, note=st.text(max_size=700), response_id=JUNK)
async def test_junk_ids_and_notes_are_refused_with_nothing_stored(
    web: Browser, world: World, service_id: str, note: str, response_id: str
) -> None:
    path = f"/r/{world.post.id}"
    before = await snapshot(world.post)
    await web.log_in_as(world.helper)
    pointed = await web.submit(f"{path}/comment", {"service": service_id, "note": note}, page=path)
    assert 400 <= pointed.status_code < 500, (service_id, pointed.status_code)
    await web.log_in_as(world.author)
    target = quote(response_id, safe="")
    solved = await web.submit(f"{path}/responses/{target}/solved", {}, page=path)
    assert 400 <= solved.status_code < 500, (response_id, solved.status_code)
    assert await snapshot(world.post) == before
