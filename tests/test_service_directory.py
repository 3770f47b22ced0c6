"""The directory of services: its rules, who may change it, and the events it emits."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from node.errors import InvalidFields, InvalidInput, NotFound, PermissionDenied
from node.models import (
    Account,
    AuditEntry,
    Event,
    Neighbourhood,
    Organisation,
    Service,
    ServiceArea,
)
from node.services import neighbourhoods, service_directory
from node.services.service_directory import ServiceForm
from node.text import clean_line
from tests import factories

SLOW = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def good_form(**changes: object) -> ServiceForm:
    form = ServiceForm(
        language="nl",
        name={"nl": "Ophaling grofvuil", "fr": "Collecte des encombrants"},
        description={"nl": "Wij halen grofvuil op, zie https://jette.example.be", "fr": "Nous…"},
        categories=["transport", "cleaning"],
        phone="+32 (0)2 123.45/67",
        email="Grofvuil@Jette.example.be",
        hours={"nl": "Ma–vr 9–12"},
        address="Wemmelsesteenweg 100, 1090 Jette",
        website="https://jette.example.be/grofvuil",
        free=True,
    )
    return replace(form, **changes)


async def world() -> tuple[Organisation, Account, Account, Account]:
    """An organisation with a staff member, another organisation's staff, an admin."""
    staff, other_staff = await factories.account("staff"), await factories.account("other")
    org = await factories.organisation("gemeente", staff=[staff])
    await factories.organisation("andere", staff=[other_staff])
    return org, staff, other_staff, await factories.admin()


async def nothing_stored() -> None:
    assert await Service.all().count() == 0
    assert await ServiceArea.all().count() == 0
    assert await Event.filter(kind__in=["ServiceChanged", "ServiceRemoved"]).count() == 0


async def test_staff_add_a_service_with_its_event_and_audit_entry(database: str) -> None:
    org, staff, _, _ = await world()
    service = await service_directory.create_service(org, good_form(), staff)
    stored = await Service.get(id=service.id)
    assert stored.name == {"nl": "Ophaling grofvuil", "fr": "Collecte des encombrants"}
    assert stored.categories == ["transport", "cleaning"]
    assert (stored.email, stored.phone, stored.everywhere) == (
        "grofvuil@jette.example.be",
        "+32 (0)2 123.45/67",
        True,
    )
    assert stored.hours == {"nl": "Ma–vr 9–12"}
    assert stored.created_by_id == staff.id
    payloads = await Event.filter(kind="ServiceChanged").values_list("payload", flat=True)
    assert payloads == [{"service_id": str(service.id), "created": True}]
    assert await AuditEntry.exists(
        action="service.created", subject=f"service:{service.id}", organisation_id=org.id
    )


async def test_an_admin_edits_any_service_and_its_areas_are_replaced(database: str) -> None:
    org, staff, _, admin = await world()
    one, two = await factories.neighbourhood("one"), await factories.neighbourhood("two")
    service = await service_directory.create_service(
        org, good_form(everywhere=False, neighbourhoods=[one.id, str(two.id)]), staff
    )
    assert [h.slug for h in await service_directory.areas_of(service)] == ["one", "two"]
    await service_directory.update_service(
        service, good_form(everywhere=False, neighbourhoods=[two.id], free=False), admin
    )
    assert [h.slug for h in await service_directory.areas_of(service)] == ["two"]
    assert (await Service.get(id=service.id)).free is False
    changed = await Event.filter(kind="ServiceChanged").order_by("id")
    assert [e.payload["created"] for e in changed] == [True, False]
    assert [s.id for s in await service_directory.list_services(neighbourhood_id=one.id)] == []
    await service_directory.update_service(service, good_form(everywhere=True), staff)
    assert await ServiceArea.filter(service_id=service.id).count() == 0
    assert [s.id for s in await service_directory.list_services(neighbourhood_id=one.id)] == [
        service.id
    ]


async def test_deleting_removes_areas_and_emits_the_removal(database: str) -> None:
    org, staff, _, _ = await world()
    hood = await factories.neighbourhood("one")
    service = await service_directory.create_service(
        org, good_form(everywhere=False, neighbourhoods=[hood.id]), staff
    )
    await service_directory.delete_service(service, staff)
    assert await Service.all().count() == 0
    assert await ServiceArea.all().count() == 0
    removed = await Event.get(kind="ServiceRemoved")
    assert removed.payload == {"service_id": str(service.id), "organisation_id": org.id}
    assert await AuditEntry.exists(action="service.deleted", subject=f"service:{service.id}")


@pytest.mark.parametrize("who", ["other-staff", "resident", "moderator", "inactive-admin"])
async def test_only_its_staff_and_admins_change_an_organisations_services(
    database: str, who: str
) -> None:
    org, staff, other_staff, _ = await world()
    if who == "other-staff":
        intruder = other_staff
    elif who == "resident":
        intruder = await factories.account("resident")
    elif who == "moderator":
        intruder = await factories.moderator()
    else:
        intruder = await factories.admin("former")
        intruder.is_active = False
        await intruder.save(update_fields=["is_active"])
    with pytest.raises(PermissionDenied):
        await service_directory.create_service(org, good_form(), intruder)
    await nothing_stored()
    service = await service_directory.create_service(org, good_form(), staff)
    with pytest.raises(PermissionDenied):
        await service_directory.update_service(service, good_form(name={"nl": "Weg"}), intruder)
    with pytest.raises(PermissionDenied):
        await service_directory.delete_service(service, intruder)
    with pytest.raises(PermissionDenied):
        await service_directory.get_managed_service(str(service.id), intruder)
    assert (await Service.get(id=service.id)).name["nl"] == "Ophaling grofvuil"
    assert await Event.filter(kind="ServiceChanged").count() == 1


async def test_every_bad_field_is_named_at_once_and_nothing_is_stored(database: str) -> None:
    org, staff, _, _ = await world()
    archived = await factories.neighbourhood("old")
    await neighbourhoods.set_archived(archived, True, await factories.admin("boss"))
    bad = good_form(
        language="nl",
        name={"fr": "Seulement en français"},
        description={"fr": ""},
        categories=["teleportation"],
        everywhere=False,
        neighbourhoods=[archived.id],
        phone="call me",
        email="not-an-address",
        website="javascript:alert(1)",
        address="x" * 201,
        hours={"en": "h" * 201},
    )
    with pytest.raises(InvalidFields) as refused:
        await service_directory.create_service(org, bad, staff)
    fields = {error.field for error in refused.value.errors}
    assert fields == {
        "name_nl",
        "description_nl",
        "hours_en",
        "categories",
        "neighbourhoods",
        "phone",
        "email",
        "website",
        "address",
    }
    await nothing_stored()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"language": "de"}, "language"),
        ({"name": {"nl": "Grofvuil", "de": "Sperrmüll"}}, "language"),
        ({"categories": []}, "categories"),
        ({"categories": ["", " "]}, "categories"),
        ({"everywhere": False, "neighbourhoods": []}, "neighbourhoods"),
        ({"everywhere": False, "neighbourhoods": ["999999"]}, "neighbourhoods"),
        ({"everywhere": False, "neighbourhoods": ["1; drop"]}, "neighbourhoods"),
        ({"name": {"nl": "\u200b\u200b"}}, "name_nl"),
    ],
)
async def test_single_bad_values_are_refused(
    database: str, changes: dict[str, object], field: str
) -> None:
    org, staff, _, _ = await world()
    with pytest.raises(InvalidInput) as refused:
        await service_directory.create_service(org, good_form(**changes), staff)
    errors = getattr(refused.value, "errors", [refused.value])
    assert field in {error.field for error in errors}
    await nothing_stored()


BAD_WEBSITES = st.one_of(
    st.sampled_from(
        [
            "javascript:alert(1)",
            "JavaScript://example.com/%0aalert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "ftp://example.com/file",
            "//example.com/no-scheme",
            "/relative/path",
            "example.com",
            "https://",
            "http:example.com",
            "https://exa mple.com",
            "https:\\\\example.com",
            "https://example.com:port/",
            "https://localhost",
            "https://example.com/\x00",
            "https://" + "a" * 300 + ".be",
        ]
    ),
    st.text(max_size=40).filter(
        lambda t: not t.strip().lower().startswith(("http://", "https://"))
    ),
    st.builds(lambda s: "https://" + s, st.text(alphabet=" \t\n\\<>\x00\x7f", min_size=1)),
)


@SLOW
@given(website=BAD_WEBSITES)
async def test_websites_other_than_absolute_http_are_refused(database: str, website: str) -> None:
    assume(website.strip())
    org = await Organisation.get_or_none(slug="gemeente") or (await world())[0]
    staff = await Account.get(username="staff")
    with pytest.raises(InvalidInput) as refused:
        await service_directory.create_service(org, good_form(website=website), staff)
    assert refused.value.field == "website"
    await nothing_stored()


@pytest.mark.parametrize(
    "website",
    ["https://jette.be", "http://www.example.org/a?b=c#d", "HTTPS://Example.COM:8443/x"],
)
async def test_good_websites_are_kept(database: str, website: str) -> None:
    org, staff, _, _ = await world()
    service = await service_directory.create_service(org, good_form(website=website), staff)
    assert (await Service.get(id=service.id)).website == website


@SLOW
@given(
    phone=st.one_of(
        # Control characters are removed first (as from every line of text): what
        # remains must still hold something other than a phone number's characters.
        st.text(min_size=1, max_size=60).filter(
            lambda t: any(c not in "0123456789 +()-./" for c in clean_line(t))
        ),
        st.just("1" * 41),
        st.just("+ ( ) - . /"),
    )
)
@example(phone="02 123 45 67 ext. 4")
@example(phone="tel:+3221234567")
async def test_phones_with_other_characters_or_too_long_are_refused(
    database: str, phone: str
) -> None:
    assume(clean_line(phone))
    org = await Organisation.get_or_none(slug="gemeente") or (await world())[0]
    staff = await Account.get(username="staff")
    with pytest.raises(InvalidInput) as refused:
        await service_directory.create_service(org, good_form(phone=phone), staff)
    assert refused.value.field == "phone"
    await nothing_stored()


@SLOW
@given(
    which=st.sampled_from(["name", "description", "hours", "address"]),
    extra=st.integers(min_value=1, max_value=300),
    letter=st.sampled_from(["a", "é", "ж", "😀"]),
)
async def test_texts_over_their_limit_are_refused(
    database: str, which: str, extra: int, letter: str
) -> None:
    org = await Organisation.get_or_none(slug="gemeente") or (await world())[0]
    staff = await Account.get(username="staff")
    limit = {"name": 120, "description": 2000, "hours": 200, "address": 200}[which]
    text = letter * (limit + extra)
    changes: dict[str, object] = (
        {"address": text} if which == "address" else {which: {"nl": text, "fr": "x"}}
    )
    if which == "name":
        changes["description"] = {"nl": "d", "fr": "d"}
    with pytest.raises(InvalidInput) as refused:
        await service_directory.create_service(org, good_form(**changes), staff)
    assert refused.value.field == (which if which == "address" else f"{which}_nl")
    await nothing_stored()


async def test_reading_the_directory(database: str) -> None:
    org, staff, _, admin = await world()
    hood = await factories.neighbourhood("kuregem")
    other = await factories.neighbourhood("elders")
    meals = await service_directory.create_service(
        org,
        good_form(
            name={"nl": "Maaltijden aan huis"},
            description={"nl": "Warme maaltijden"},
            categories=["meals"],
            everywhere=False,
            neighbourhoods=[hood.id],
        ),
        staff,
    )
    waste = await service_directory.create_service(org, good_form(), staff)
    assert [s.id for s in await service_directory.for_request("meals", "kuregem")] == [meals.id]
    assert await service_directory.for_request("meals", "elders") == []
    assert await service_directory.for_request("teleportation", "kuregem") == []
    assert await service_directory.for_request("meals", "no such/hood") == []
    listed = await service_directory.list_services(neighbourhood_id=other.id, category="cleaning")
    assert [s.id for s in listed] == [waste.id]
    assert {s.id for s in await service_directory.manageable(admin)} == {meals.id, waste.id}
    assert {s.id for s in await service_directory.manageable(staff)} == {meals.id, waste.id}
    assert await service_directory.manageable(await Account.get(username="other")) == []
    assert [o.slug for o in await service_directory.organisations_for(staff)] == ["gemeente"]
    assert len(await service_directory.organisations_for(admin)) == 2
    form = await service_directory.form_of(meals)
    assert (form.everywhere, list(form.neighbourhoods)) == (False, [hood.id])
    for spelling in (str(meals.id).upper(), meals.id.hex, f"{{{meals.id}}}", "nonsense", ""):
        with pytest.raises(NotFound):
            await service_directory.get_service(spelling)
    assert (await service_directory.get_service(str(meals.id))).organisation.slug == "gemeente"
    assert await Neighbourhood.exists(slug="kuregem")
