"""Accounts and logging in, organisation staff, neighbourhood areas and follows."""

from __future__ import annotations

import asyncio

import pytest

from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.models import (
    Account,
    Event,
    Follow,
    Membership,
    Neighbourhood,
    Notification,
    NotificationKind,
    StaffRole,
)
from node.passwords import hash_password
from node.services import accounts, follows, neighbourhoods, organisations
from tests import factories

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def password_hash() -> str:
    """One argon2 hash for the whole module: each hash costs about 0.2 s on purpose."""
    return asyncio.run(hash_password(PASSWORD))


# --- creating accounts ---------------------------------------------------------------


async def test_create_account_cleans_and_stores_fields(database: str) -> None:
    account = await accounts.create_account(
        "  Griet_V ", " Griet \u202e  V. ", email=" Griet@Example.BE ", languages=["fr", "NL", "fr"]
    )
    stored = await Account.get(id=account.id)
    assert stored.username == "griet_v"
    assert stored.display_name == "Griet V."
    assert stored.email == "griet@example.be"
    assert stored.languages == ["fr", "nl"]
    assert stored.password_hash is None
    assert stored.role == "resident" and stored.is_active


@pytest.mark.parametrize(
    "username",
    ["g", "", "x" * 31, "jan.peeters", "jan-peeters", "jan peeters", "jöran", "@griet"],
)
async def test_invalid_username_is_refused(database: str, username: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await accounts.create_account(username, "Someone")
    assert caught.value.field == "username"
    assert await Account.all().count() == 0


@pytest.mark.parametrize("username", ["inbox", "nodeinfo", "login", "Static"])
async def test_reserved_username_is_refused(database: str, username: str) -> None:
    with pytest.raises(InvalidInput, match="reserved") as caught:
        await accounts.create_account(username, "Someone")
    assert caught.value.field == "username"
    assert await Account.all().count() == 0


async def test_duplicate_username_is_a_conflict(database: str) -> None:
    await factories.account("griet")
    with pytest.raises(Conflict):
        await accounts.create_account("GRIET", "Another Griet")
    assert await Account.all().count() == 1


async def test_duplicate_email_is_a_conflict(database: str) -> None:
    await factories.account("griet", email="griet@example.be")
    with pytest.raises(Conflict):
        await factories.account("other", email="GRIET@example.be")
    assert await Account.all().count() == 1


@pytest.mark.parametrize("email", ["griet", "griet@", "griet@example", "gr iet@example.be"])
async def test_invalid_email_is_refused(database: str, email: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await factories.account("griet", email=email)
    assert caught.value.field == "email"
    assert await Account.all().count() == 0


@pytest.mark.parametrize("password", ["", "short", "123456789", "x" * 1025])
async def test_unusable_password_is_refused(database: str, password: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await factories.account("griet", password=password)
    assert caught.value.field == "password"
    assert await Account.all().count() == 0


@pytest.mark.parametrize(("languages", "field"), [([], "languages"), (["dutch"], "languages")])
async def test_invalid_languages_are_refused(
    database: str, languages: list[str], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await factories.account("griet", languages=languages)
    assert caught.value.field == field


# --- logging in ---------------------------------------------------------------------------


async def test_authenticate_with_right_password(database: str) -> None:
    created = await accounts.create_account("griet", "Griet", password=PASSWORD)
    assert created.password_hash is not None and created.password_hash.startswith("$argon2id$")
    assert PASSWORD not in created.password_hash
    assert created.last_login_at is None

    account = await accounts.authenticate(" GRIET ", PASSWORD)
    assert account is not None and account.id == created.id
    stored = await Account.get(id=created.id)
    assert stored.last_login_at is not None


async def test_authenticate_refuses_bad_credentials(database: str, password_hash: str) -> None:
    griet = await factories.account("griet")
    await Account.filter(id=griet.id).update(password_hash=password_hash)
    await factories.account("nopass")  # an account that cannot log in

    assert await accounts.authenticate("griet", PASSWORD + "!") is None
    assert await accounts.authenticate("nobody", PASSWORD) is None
    assert await accounts.authenticate("nopass", PASSWORD) is None
    await Account.filter(id=griet.id).update(is_active=False)
    assert await accounts.authenticate("griet", PASSWORD) is None
    assert (await Account.get(id=griet.id)).last_login_at is None


# --- organisations ----------------------------------------------------------------------


async def test_adding_staff_needs_a_coordinator(database: str) -> None:
    org = await factories.organisation("buurthuis")
    other_org = await factories.organisation("andere-vzw")
    coordinator = await factories.coordinator_of(org)
    other_coordinator = await factories.coordinator_of(other_org)
    staff = await factories.account("staff")
    await organisations.add_staff(org, staff, by=coordinator)
    newcomer = await factories.account("newcomer")
    stranger = await factories.account("stranger")

    for by in (staff, stranger, other_coordinator):
        with pytest.raises(PermissionDenied):
            await organisations.add_staff(org, newcomer, by=by)
    assert not await organisations.is_staff(newcomer, org.id)

    membership = await organisations.add_staff(org, newcomer, StaffRole.COORDINATOR, by=coordinator)
    assert membership.role == StaffRole.COORDINATOR
    assert await organisations.is_staff(newcomer, org.id)


async def test_suspended_coordinator_cannot_add_staff(database: str) -> None:
    org = await factories.organisation("buurthuis")
    coordinator = await factories.coordinator_of(org)
    coordinator.is_active = False
    with pytest.raises(PermissionDenied):
        await organisations.add_staff(org, await factories.account(), by=coordinator)


async def test_node_admin_can_add_staff(database: str) -> None:
    org = await factories.organisation("buurthuis")
    admin = await factories.admin("nodeadmin")
    member = await factories.account("member")
    await organisations.add_staff(org, member, by=admin)
    assert await organisations.is_staff(member, org.id)


async def test_adding_staff_twice_is_a_conflict(database: str) -> None:
    member = await factories.account("member")
    org = await factories.organisation("buurthuis", staff=[member])
    with pytest.raises(Conflict):
        await organisations.add_staff(org, member, StaffRole.COORDINATOR)
    assert await Membership.filter(account_id=member.id).count() == 1


async def test_organisation_slug_and_website_rules(database: str) -> None:
    await factories.organisation("buurthuis")
    with pytest.raises(InvalidInput) as taken:
        await organisations.create_organisation("buurthuis", "Ander buurthuis")
    assert taken.value.field == "slug"
    with pytest.raises(InvalidInput) as caught:
        await organisations.create_organisation("vzw", "VZW", website="javascript:alert(1)")
    assert caught.value.field == "website"


# --- neighbourhoods -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"centre": (50.878, 4.325), "radius_m": 199}, "radius_m", id="radius-199"),
        pytest.param({"centre": None, "radius_m": 800}, "radius_m", id="radius-without-centre"),
        pytest.param({"centre": (91.0, 4.3), "radius_m": 800}, "centre", id="latitude-91"),
        pytest.param(
            {"centre": None, "radius_m": None, "polygon": [[4.3, 50.8], [4.4, 50.8], [4.4, 50.9]]},
            "polygon",
            id="polygon-not-closed",
        ),
        pytest.param(
            {"centre": None, "radius_m": None, "polygon": [[4.3, 50.8], [4.4, 50.8], [4.3, 50.8]]},
            "polygon",
            id="polygon-two-corners",
        ),
        pytest.param({"country": "BEL"}, "country", id="bad-country"),
    ],
)
async def test_invalid_neighbourhood_area_is_refused(
    database: str, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await factories.neighbourhood("kuregem", **kwargs)
    assert caught.value.field == field
    assert await Neighbourhood.all().count() == 0


async def test_neighbourhood_with_closed_polygon(database: str) -> None:
    square = [[4.31, 50.83], [4.32, 50.83], [4.32, 50.84], [4.31, 50.84], [4.31, 50.83]]
    hood = await neighbourhoods.create_neighbourhood("kuregem", "Kuregem", polygon=square)
    stored = await Neighbourhood.get(id=hood.id)
    assert stored.polygon == square
    # The centre (for the federated Place) is the polygon's; there is no radius.
    assert stored.radius_m is None
    assert (stored.centre_lat, stored.centre_lon) == (50.835, 4.315)


async def test_a_taken_neighbourhood_slug_is_refused(database: str) -> None:
    await factories.neighbourhood("kuregem")
    await factories.account("anneessens")
    await factories.organisation("buurthuis")
    for taken in ("Kuregem", "anneessens", "buurthuis"):  # one handle, one owner
        with pytest.raises(InvalidInput) as caught:
            await factories.neighbourhood(taken)
        assert caught.value.field == "slug"
    assert await Neighbourhood.all().count() == 1


# --- follows ------------------------------------------------------------------------------


async def test_follow_twice_is_a_conflict(database: str) -> None:
    griet, amina = await factories.account("griet"), await factories.account("amina")
    row = await follows.follow(griet, amina)
    assert row.status == "accepted"
    with pytest.raises(Conflict):
        await follows.follow(griet, amina)
    assert await Follow.all().count() == 1
    note = await Notification.get(recipient_id=amina.id)
    assert (note.kind, note.actor_id) == (NotificationKind.FOLLOW, griet.id)


async def test_following_yourself_is_a_conflict(database: str) -> None:
    griet = await factories.account("griet")
    with pytest.raises(Conflict):
        await follows.follow(griet, griet)
    assert await Follow.all().count() == 0


async def test_unfollow_removes_follow_and_emits_event(database: str) -> None:
    griet, amina = await factories.account("griet"), await factories.account("amina")
    hood = await factories.neighbourhood("kuregem")
    org = await factories.organisation("buurthuis")
    row = await follows.follow(griet, amina)
    await follows.follow(griet, hood)
    await follows.follow(griet, org)
    await follows.follow(await factories.account("sami"), amina)
    assert await follows.follower_count(amina) == 2
    assert await follows.follower_count(hood) == 1
    assert await follows.follower_count(org) == 0  # organisations approve each follower

    await follows.unfollow(griet, amina)
    assert not await Follow.filter(id=row.id).exists()
    assert await follows.follower_count(amina) == 1
    assert await follows.follower_count(hood) == 1
    events = [e.payload for e in await Event.filter(kind="FollowChanged").order_by("id")]
    assert events[0] == {"follow_id": row.id, "status": "accepted", "decided_locally": False}
    assert events[-1] == {"follow_id": row.id, "status": "removed", "decided_locally": False}

    with pytest.raises(NotFound):
        await follows.unfollow(griet, amina)
