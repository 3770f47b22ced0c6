"""Organisations, people, roles, staff invitations and the node's settings in the browser."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from node.config import Settings, load_settings
from node.errors import InvalidInput, PermissionDenied
from node.models import (
    Account,
    AuditEntry,
    Event,
    Membership,
    NodeSettings,
    Organisation,
    OrganisationArea,
    Role,
    StaffRole,
)
from node.services import accounts, node_profile, organisations, signups
from tests import factories
from tests.webclient import Browser, browser

PASSWORD = "a long enough password"


async def english_admin(username: str = "els") -> Account:
    return await factories.account(username, role=Role.ADMIN, languages=["en"])


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    await factories.node_row()
    async with browser(database) as b:
        await b.log_in_as(await english_admin())
        yield b


async def test_an_admin_creates_an_organisation_with_its_neighbourhoods(web: Browser) -> None:
    await factories.neighbourhood("jette-centre")
    await factories.neighbourhood("dieleghem")
    page = "/admin/organisations/new"
    fields = [
        ("name", "Tussen Buren / Entre Voisins"),
        ("slug", "tussen-buren"),
        ("kind", "association"),
        ("description_nl", "Buurthuis in Jette"),
        ("website", "https://tussenburen.example.be"),
        ("contact", "Ma–vr 9–12, 02 123 45 67"),
        ("neighbourhoods", "jette-centre"),
        ("neighbourhoods", "dieleghem"),
    ]
    response = await web.submit(page, fields, page=page)
    assert response.status_code == 303
    org = await Organisation.get(slug="tussen-buren")
    assert (org.kind, org.contact, org.website) == (
        "association",
        "Ma–vr 9–12, 02 123 45 67",
        "https://tussenburen.example.be",
    )
    assert sorted(await organisations.area_slugs(org)) == ["dieleghem", "jette-centre"]
    document = (
        await web.get("/o/tussen-buren", headers={"accept": "application/activity+json"})
    ).json()
    assert document["type"] == "Organization"
    assert [f["name"] for f in document["attachment"]] == ["Website", "Contact"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"slug": "jette-centre"}, "slug", id="slug-of-a-neighbourhood"),
        pytest.param({"website": "javascript:alert(1)"}, "website", id="website"),
        pytest.param({"kind": "cult"}, "kind", id="kind"),
        pytest.param({"name": "X"}, "name", id="short-name"),
        pytest.param({"neighbourhoods": "atlantis"}, "neighbourhoods", id="no-such-hood"),
    ],
)
async def test_a_bad_organisation_form_saves_nothing(
    web: Browser, fields: dict[str, str], field: str
) -> None:
    await factories.neighbourhood("jette-centre")
    values = {"name": "Buurthuis", "slug": "buurthuis", "kind": "ngo", **fields}
    response = await web.submit("/admin/organisations/new", values, page="/admin/organisations/new")
    assert response.status_code == 400
    assert f"{field}-error" in response.text or 'class="error"' in response.text
    assert await Organisation.all().count() == 0
    assert await OrganisationArea.all().count() == 0


async def test_a_coordinator_edits_the_profile_and_it_federates(database: str) -> None:
    await factories.node_row()
    org = await factories.organisation("buurthuis")
    coordinator = await factories.coordinator_of(org, "karim")
    staff = await factories.account("sami")
    await organisations.add_staff(org, staff)
    page = "/admin/o/buurthuis/profile"
    async with browser(database) as web:
        await web.log_in_as(staff)
        assert (await web.get(page)).status_code == 403
        await web.log_in_as(coordinator)
        values = {"name": "Buurthuis Jette", "kind": "ngo", "show_staff_names": "yes"}
        assert (await web.submit(page, values, page=page)).status_code == 303
    fresh = await Organisation.get(id=org.id)
    assert (fresh.name, fresh.show_staff_names) == ("Buurthuis Jette", True)
    payloads = await Event.filter(kind="ActorChanged").values_list("payload", flat=True)
    assert {"kind": "organisation", "key": org.id} in payloads


async def test_roles_change_but_the_last_admin_stays(web: Browser) -> None:
    greet = await factories.account("greet")
    page = "/admin/people/greet"
    assert (
        await web.submit(page, {"action": "role", "role": "moderator"}, page=page)
    ).status_code == 303
    assert (await Account.get(id=greet.id)).role == Role.MODERATOR
    own = "/admin/people/els"
    refused = await web.submit(own, {"action": "role", "role": "resident"}, page=own)
    assert refused.status_code == 400 and "last admin" in refused.text
    assert (await Account.get(username="els")).role == Role.ADMIN
    bad = await web.submit(page, {"action": "role", "role": "king"}, page=page)
    assert bad.status_code == 400
    assert (await Account.get(id=greet.id)).role == Role.MODERATOR
    entries = await AuditEntry.filter(action="account.role").values_list("detail", flat=True)
    assert entries == [{"old": "resident", "new": "moderator"}]


async def test_people_are_searched_by_name_username_or_email(web: Browser) -> None:
    await factories.account("greet", email="greet@example.be")
    await factories.account("amina")
    found = await web.get("/admin/people?q=example.be")
    assert "@greet" in found.text and "@amina" not in found.text
    everyone = await web.get("/admin/people")
    assert "@amina" in everyone.text and "@greet" in everyone.text


async def test_staff_added_twice_is_refused_once(web: Browser) -> None:
    org = await factories.organisation("buurthuis")
    await factories.account("greet")
    page = "/admin/people/greet"
    fields = {"action": "add_staff", "organisation": "buurthuis", "staff_role": "coordinator"}
    assert (await web.submit(page, fields, page=page)).status_code == 303
    again = await web.submit(page, fields, page=page)
    assert again.status_code == 400 and "already staff" in again.text
    assert await Membership.filter(organisation=org).count() == 1


async def test_a_staff_invitation_lands_the_new_account_in_the_organisation(
    database: str,
) -> None:
    await factories.node_row()
    org = await factories.organisation("buurthuis")
    coordinator = await factories.coordinator_of(org, "karim")
    staff_page = "/admin/o/buurthuis/staff"
    async with browser(database, signups="closed") as web:
        await web.log_in_as(coordinator)
        made = await web.submit(
            staff_page, {"action": "invite", "staff_role": "staff", "uses": "1"}, page=staff_page
        )
        assert made.status_code == 200
        code = made.text.split("/signup?invite=")[1].split("<")[0]
        web.log_out_locally()
        page = f"/signup?invite={code}"
        form = await web.get(page)
        assert "invited to join the staff of Buurthuis" in form.text
        signed = await web.submit(
            "/signup",
            {"invitation": code, "display_name": "Lien", "username": "lien", "password": PASSWORD},
            page=page,
        )
        assert signed.status_code == 303
    lien = await Account.get(username="lien")
    membership = await Membership.get(account=lien, organisation=org)
    assert membership.role == StaffRole.STAFF
    # Used once: the same link does not make another account.
    assert await signups.valid_invitation(code) is None


async def test_someone_with_an_account_joins_with_the_link(database: str) -> None:
    await factories.node_row()
    org = await factories.organisation("buurthuis")
    greet = await factories.account("greet")
    invitation = await signups.create_invitation(None, organisation=org, role="coordinator")
    async with browser(database) as web:
        await web.log_in_as(greet)
        page = f"/signup?invite={invitation.code}"
        joined = await web.submit("/signup/join", {"invitation": invitation.code}, page=page)
        assert joined.status_code == 303 and joined.headers["location"] == "/admin/o/buurthuis"
        again = await web.submit("/signup/join", {"invitation": invitation.code}, page=page)
        assert "problem=join" in again.headers["location"]
    assert await organisations.is_coordinator(greet, org.id)


async def test_residents_cannot_take_an_organisations_name(database: str) -> None:
    await factories.organisation("tussen-buren")
    await Organisation.filter(slug="tussen-buren").update(name="Tussen Buren / Entre Voisins")
    for imitation in (
        "Tussen Buren / Entre Voisins — voor een buurvrouw",
        "TUSSEN-BUREN",
        "Tussen Вuren",  # a Cyrillic В
        "Entre Voisins",
        "tussenburen",
    ):
        with pytest.raises(InvalidInput) as caught:
            await accounts.create_account("imitator", imitation)
        assert caught.value.field == "display_name"
    assert (await accounts.create_account("jan", "Jan Buren")).display_name == "Jan Buren"


async def test_settings_are_saved_unless_the_configuration_pins_them(database: str) -> None:
    await factories.node_row()
    admin = await english_admin()
    pinned = load_settings({"NABUUR_DATABASE_URL": database, "NABUUR_SIGNUPS": "closed"})
    assert node_profile.pinned(pinned) == {"signups": "NABUUR_SIGNUPS"}
    async with browser(database, sources={"signups": "NABUUR_SIGNUPS"}, signups="closed") as web:
        await web.log_in_as(admin)
        page = await web.get("/admin/settings")
        assert "Set in the server's configuration (NABUUR_SIGNUPS)" in page.text
        fields = {
            "name": "Buren van Jette",
            "signups": "open",  # pinned: ignored
            "contact_email": "info@buren.example.be",
            "tagline_nl": "Buren helpen buren in Jette",
            "rules_en": "Be kind\nNo addresses in public",
        }
        assert (
            await web.submit("/admin/settings", fields, page="/admin/settings")
        ).status_code == 303
        row = await NodeSettings.get(id=1)
        assert (row.name, row.signups, row.contact_email) == (
            "Buren van Jette",
            None,
            "info@buren.example.be",
        )
        about = await web.get("/about")
        assert "Buren van Jette" in about.text and "<li>No addresses in public</li>" in about.text
        assert "does not take new accounts" in about.text  # the pinned policy applies
        info = (await web.get("/nodeinfo/2.1")).json()
        assert info["metadata"]["nodeName"] == "Buren van Jette"
        assert info["metadata"]["aboutUrl"].endswith("/about")
        assert info["openRegistrations"] is False
        bad = await web.submit(
            "/admin/settings", {**fields, "contact_email": "not-an-address"}, page="/admin/settings"
        )
        assert bad.status_code == 400 and "contact_email-error" in bad.text
    assert (await NodeSettings.get(id=1)).contact_email == "info@buren.example.be"


async def test_without_pins_the_browser_sets_the_signup_policy(database: str) -> None:
    await factories.node_row()
    settings = Settings(database_url=database)
    admin = await english_admin()
    changes = node_profile.ProfileChanges(name="Buren", signups="open")
    profile = await node_profile.update(settings, admin, changes)
    assert profile.signups == "open"
    with pytest.raises(InvalidInput):
        await node_profile.update(
            settings, admin, node_profile.ProfileChanges(name="B", signups="x")
        )
    greet = await factories.account("greet")
    with pytest.raises(PermissionDenied):
        await node_profile.update(settings, greet, changes)


def test_pinned_values_survive_the_trip_to_worker_processes() -> None:
    settings = load_settings({"NABUUR_NAME": "Buren", "NABUUR_PORT": "8123"})
    environ = settings.to_environ()
    assert environ == {"NABUUR_NAME": "Buren", "NABUUR_PORT": "8123"}  # defaults stay defaults
    again = load_settings(environ)
    assert node_profile.pinned(again) == {"name": "NABUUR_NAME"}
    overridden = settings.with_overrides(signups="open")
    assert overridden.source_of("signups") == "a command-line option"
