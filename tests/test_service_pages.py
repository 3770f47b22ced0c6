"""The directory of services in the browser: the dashboard's forms, the public pages,
the neighbourhood's list and the hint while composing a request."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from node.models import (
    Account,
    AuditEntry,
    Event,
    GuideText,
    HelpPost,
    Neighbourhood,
    Organisation,
    Role,
    Service,
)
from node.services import service_directory
from node.services.guide_texts import guide_for
from node.services.service_directory import ServiceForm
from tests import factories
from tests.webclient import Browser, browser

LIST, NEW = "/admin/services", "/admin/services/new"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    await factories.node_row()
    async with browser(database) as b:
        yield b


async def setting() -> tuple[Neighbourhood, Organisation, Account]:
    """A neighbourhood and an organisation with one staff member (English)."""
    hood = await factories.neighbourhood("kuregem")
    staff = await factories.account("sami", languages=["en"])
    org = await factories.organisation("gemeente", staff=[staff])
    return hood, org, staff


def fields(hood: Neighbourhood | None = None, **changes: str) -> list[tuple[str, str]]:
    values = {
        "organisation": "gemeente",
        "language": "nl",
        "name_nl": "Maaltijden aan huis",
        "description_nl": "Warme maaltijden, zie https://ocmw.example.be/maaltijden",
        "name_fr": "Repas à domicile",
        "description_fr": "Des repas chauds.",
        "hours_nl": "Ma–vr 9–12",
        "phone": "+32 2 123 45 67",
        "email": "repas@ocmw.example.be",
        "address": "Kuregemstraat 1",
        "website": "https://ocmw.example.be",
        "free": "no",
        "area": "listed" if hood else "everywhere",
        **changes,
    }
    pairs = [*values.items(), ("categories", "meals"), ("categories", "shopping")]
    if hood:
        pairs.append(("neighbourhoods", str(hood.id)))
    return pairs


async def test_staff_add_edit_and_delete_a_service_over_http(web: Browser) -> None:
    hood, org, staff = await setting()
    await web.log_in_as(staff)
    assert (await web.get(LIST)).status_code == 200
    created = await web.submit(NEW, fields(hood), page=NEW)
    assert created.status_code == 303
    service = await Service.get(organisation_id=org.id)
    assert created.headers["location"] == f"{LIST}/{service.id}?done=created"
    assert (service.categories, service.free, service.everywhere) == (
        ["shopping", "meals"],
        False,
        False,
    )
    listed = await web.get(LIST)
    assert "Maaltijden aan huis" in listed.text
    page = f"{LIST}/{service.id}"
    form = await web.get(page)
    assert form.status_code == 200 and 'value="repas@ocmw.example.be"' in form.text
    edited = await web.submit(page, fields(None, name_nl="Warme maaltijden"), page=page)
    assert edited.status_code == 303
    assert (await Service.get(id=service.id)).name["nl"] == "Warme maaltijden"
    kinds = await Event.filter(kind__startswith="Service").values_list("kind", flat=True)
    assert sorted(kinds) == ["ServiceChanged", "ServiceChanged"]
    # The delete button only opens the confirmation, which holds the real one.
    confirm = form.text[form.text.index('<details class="confirm">') :]
    assert f'action="{page}/delete"' in confirm[: confirm.index("</details>")]
    assert "Yes, delete “Warme maaltijden”" in (await web.get(page)).text
    deleted = await web.submit(f"{page}/delete", {}, page=page)
    assert deleted.status_code == 303
    assert deleted.headers["location"] == f"{LIST}?done=service_removed"
    after = await web.get(deleted.headers["location"])
    assert '<p class="notice" role="status">The service is removed.</p>' in after.text
    assert "Your changes are saved." not in after.text
    assert await Service.all().count() == 0
    assert await Event.filter(kind="ServiceRemoved").count() == 1
    assert await AuditEntry.filter(action__startswith="service.").count() == 3
    assert (await web.get(page)).status_code == 404


async def test_bad_forms_answer_400_with_the_fields_and_store_nothing(web: Browser) -> None:
    hood, _, staff = await setting()
    await web.log_in_as(staff)
    bad = fields(
        hood,
        name_nl="",
        website="javascript:alert(1)",
        phone="call me",
        hours_fr="x" * 201,
    )
    bad = [pair for pair in bad if pair[0] != "categories"]
    response = await web.submit(NEW, bad, page=NEW)
    assert response.status_code == 400
    for field in ("name_nl", "website", "phone", "hours_fr", "categories"):
        assert f'id="{field}-error"' in response.text
    assert "Please correct 5 fields." in response.text
    unknown_org = await web.submit(NEW, fields(hood, organisation="nobody"), page=NEW)
    assert unknown_org.status_code == 400 and 'id="organisation-error"' in unknown_org.text
    assert await Service.all().count() == 0
    assert await Event.filter(kind__startswith="Service").count() == 0


async def test_a_post_without_the_form_token_is_refused(web: Browser) -> None:
    _, _, staff = await setting()
    await web.log_in_as(staff)
    await web.get(NEW)
    response = await web.http.post(
        NEW,
        content="organisation=gemeente&language=nl&name_nl=X&description_nl=Y&categories=meals",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 403
    assert await Service.all().count() == 0


async def test_staff_of_another_organisation_are_refused(web: Browser) -> None:
    hood, org, staff = await setting()
    service = await service_directory.create_service(
        org,
        ServiceForm(name={"nl": "Grofvuil"}, description={"nl": "Ophaling"}, categories=["diy"]),
        staff,
    )
    outsider = await factories.account("other", languages=["en"])
    await factories.organisation("andere", staff=[outsider])
    await web.log_in_as(outsider)
    listed = await web.get(LIST)
    assert listed.status_code == 200 and "Grofvuil" not in listed.text
    page = f"{LIST}/{service.id}"
    assert (await web.get(page)).status_code == 403
    assert (await web.submit(page, fields(None), page=LIST)).status_code == 403
    assert (await web.submit(f"{page}/delete", {}, page=LIST)).status_code == 403
    into_other = await web.submit(NEW, fields(hood), page=NEW)  # organisation=gemeente
    assert into_other.status_code == 400
    assert [s.name["nl"] for s in await Service.all()] == ["Grofvuil"]
    resident = await factories.account("resident", languages=["en"])
    await web.log_in_as(resident)
    assert (await web.get(LIST)).status_code == 403
    assert (await web.get(NEW)).status_code == 403
    web.log_out_locally()
    assert (await web.get(LIST)).headers["location"].startswith("/login?next=")


async def test_an_admin_sees_every_service_and_may_edit_it(web: Browser) -> None:
    _, org, staff = await setting()
    service = await service_directory.create_service(
        org,
        ServiceForm(name={"nl": "Grofvuil"}, description={"nl": "Ophaling"}, categories=["diy"]),
        staff,
    )
    admin = await factories.account("els", role=Role.ADMIN, languages=["en"])
    await web.log_in_as(admin)
    assert "Grofvuil" in (await web.get(LIST)).text
    page = f"{LIST}/{service.id}"
    assert (await web.submit(page, fields(None), page=page)).status_code == 303
    assert (await Service.get(id=service.id)).name["nl"] == "Maaltijden aan huis"


async def make_service(org: Organisation, staff: Account, hood: Neighbourhood) -> Service:
    return await service_directory.create_service(
        org,
        ServiceForm(
            language="nl",
            name={"nl": "Maaltijden aan huis", "fr": "Repas à domicile"},
            description={"nl": f"Warm eten {HOSTILE}\n\nZie https://ocmw.example.be/info"},
            categories=["meals"],
            everywhere=False,
            neighbourhoods=[hood.id],
            phone="+32 (0)2 123 45 67",
            email="repas@ocmw.example.be",
            hours={"nl": "Ma–vr 9–12"},
            website='https://ocmw.example.be/a"onmouseover="alert(1)',
            free=True,
        ),
        staff,
    )


async def test_the_public_pages_of_the_directory(web: Browser) -> None:
    hood, org, staff = await setting()
    elsewhere = await factories.neighbourhood("elders")
    service = await make_service(org, staff, hood)
    page = await web.get(f"/services/{service.id}")
    assert page.status_code == 200
    text = page.text
    assert '<h1 lang="nl">Maaltijden aan huis</h1>' in text  # no English: the lead language
    assert HOSTILE not in text and "&lt;script&gt;" in text
    assert '<a href="https://ocmw.example.be/info"' in text  # linkified description
    assert 'href="tel:+32021234567"' in text
    assert 'href="mailto:repas@ocmw.example.be"' in text
    escaped = "https://ocmw.example.be/a&#34;onmouseover=&#34;alert(1)"
    assert f'<a href="{escaped}" rel="nofollow ugc noopener">' in text
    assert 'href="/o/gemeente"' in text and 'href="/n/kuregem"' in text
    french = await web.get(f"/services/{service.id}", headers={"accept-language": "fr"})
    assert '<h1 lang="fr">Repas à domicile</h1>' in french.text
    for wrong in (str(service.id).upper(), service.id.hex, str(uuid.uuid4()), "x", "%00"):
        assert (await web.get(f"/services/{wrong}")).status_code == 404
    everything = await web.get("/services")
    assert everything.status_code == 200 and "Maaltijden aan huis" in everything.text
    assert 'href="/services"' in everything.text  # the site's navigation
    here = await web.get("/services?neighbourhood=kuregem&category=meals")
    assert f'href="/services/{service.id}"' in here.text
    there = await web.get("/services?neighbourhood=elders")
    assert f'href="/services/{service.id}"' not in there.text
    assert elsewhere.slug in there.text
    other = await web.get("/services?category=diy")
    assert f'href="/services/{service.id}"' not in other.text
    for query in ("neighbourhood=%00", "category=%3Cscript%3E", "neighbourhood=x" * 50, "a=b&&"):
        odd = await web.get(f"/services?{query}")
        assert odd.status_code == 200 and f'href="/services/{service.id}"' in odd.text


async def test_the_neighbourhood_page_lists_the_services_there(web: Browser) -> None:
    hood, org, staff = await setting()
    await factories.neighbourhood("elders")
    service = await make_service(org, staff, hood)
    here = await web.get("/n/kuregem")
    assert 'id="services-here"' in here.text and f'href="/services/{service.id}"' in here.text
    there = await web.get("/n/elders")
    assert 'id="services-here"' not in there.text


def compose(hood: Neighbourhood, **changes: str) -> dict[str, str]:
    return {
        "kind": "request",
        "category": "meals",
        "language": "en",
        "title": "Someone to cook for my mother",
        "description": "She cannot cook any more.",
        "helpers_needed": "1",
        "when": "flexible",
        "neighbourhood": hood.slug,
        "visibility": "public",
        "action": "preview",
        **changes,
    }


async def test_composing_a_request_shows_the_services_that_do_it(web: Browser) -> None:
    hood, org, staff = await setting()
    elsewhere = await factories.neighbourhood("elders")
    service = await make_service(org, staff, hood)
    resident = await factories.account("amina", languages=["en"])
    await web.log_in_as(resident)
    preview = await web.submit("/new", compose(hood), page="/new")
    assert preview.status_code == 200
    assert "The commune or an organisation may do this for you:" in preview.text
    assert f'href="/services/{service.id}"' in preview.text
    assert preview.text.index('id="preview-heading"') < preview.text.index(
        'id="services-hint-heading"'
    )
    for changes in ({"category": "garden"}, {"kind": "offer"}, {"neighbourhood": elsewhere.slug}):
        other = await web.submit("/new", compose(hood, **changes), page="/new")
        assert other.status_code == 200, changes
        assert f'href="/services/{service.id}"' not in other.text
    odd = await web.submit("/new", compose(hood, category="<b>", neighbourhood="%"), page="/new")
    assert odd.status_code < 500 and f'href="/services/{service.id}"' not in odd.text
    # Errors in the form still show the hint before anything is published.
    faulty = await web.submit("/new", compose(hood, when="date", date="tomorrow"), page="/new")
    assert faulty.status_code == 400 and f'href="/services/{service.id}"' in faulty.text


async def test_publishing_straight_away_shows_the_services_first(web: Browser) -> None:
    hood, org, staff = await setting()
    service = await make_service(org, staff, hood)
    resident = await factories.account("amina", languages=["en"])
    await web.log_in_as(resident)
    first = await web.submit("/new", compose(hood, action="publish"), page="/new")
    assert first.status_code == 200 and f'href="/services/{service.id}"' in first.text
    assert await HelpPost.all().count() == 0
    # The form that came back says which services were shown: publishing it goes through.
    seen = f"/services/{service.id}"
    assert f'name="services_seen" value="{seen}"' in first.text
    done = await web.submit(
        "/new", compose(hood, action="publish", services_seen=seen), page="/new"
    )
    assert done.status_code == 303 and await HelpPost.all().count() == 1
    # Without a matching service, publishing is one step as before.
    garden = await web.submit(
        "/new", compose(hood, action="publish", category="garden"), page="/new"
    )
    assert garden.status_code == 303 and await HelpPost.all().count() == 2


NOT_YET = (
    "Not published yet: the services below may do this for you. "
    "Press Publish again to publish your request."
)


async def test_a_held_back_publish_says_so_and_offers_publish_again(web: Browser) -> None:
    hood, org, staff = await setting()
    await make_service(org, staff, hood)
    resident = await factories.account("amina", languages=["en"])
    await web.log_in_as(resident)
    first = await web.submit("/new", compose(hood, action="publish"), page="/new")
    assert first.status_code == 200 and await HelpPost.all().count() == 0
    notice = f'<p class="notice" role="status">{NOT_YET}</p>'
    assert notice in first.text
    assert first.text.index(notice) < first.text.index('id="preview-heading"')
    # A Publish right under the services sends the compose form (with what was shown).
    hint = first.text[first.text.index('id="services-hint-heading"') :]
    hint = hint[: hint.index("</section>")]
    assert '<button type="submit" form="compose-form" name="action" value="publish">' in hint
    assert 'id="compose-form"' in first.text
    # A plain preview shows the services and the button, but nothing was held back.
    preview = await web.submit("/new", compose(hood), page="/new")
    assert NOT_YET not in preview.text and 'form="compose-form"' in preview.text
    # Without services there is nothing to say.
    garden = await web.submit("/new", compose(hood, category="garden"), page="/new")
    assert NOT_YET not in garden.text and 'form="compose-form"' not in garden.text


async def test_previewing_an_offer_shows_the_categorys_guide(web: Browser) -> None:
    hood, _, _ = await setting()
    resident = await factories.account("amina", languages=["en"])
    await web.log_in_as(resident)
    offer = await web.submit("/new", compose(hood, kind="offer"), page="/new")
    assert offer.status_code == 200
    shipped = await guide_for("meals", "en")
    assert f"Before you offer help: {shipped.title}" in offer.text
    assert shipped.points[0] in offer.text and shipped.general[0] in offer.text
    assert 'name="read_guide"' not in offer.text  # shown to read, nothing to tick
    # The node's edited points replace the shipped ones.
    await GuideText.create(category="meals", language="en", points=["Ask about allergies."])
    edited = await web.submit("/new", compose(hood, kind="offer"), page="/new")
    assert "<li>Ask about allergies.</li>" in edited.text
    assert shipped.points[0] not in edited.text
    # Not on a request's preview, nor before the preview, nor for an unknown category.
    request = await web.submit("/new", compose(hood), page="/new")
    assert "Before you offer help" not in request.text
    assert "Before you offer help" not in (await web.get("/new?kind=offer")).text
    odd = await web.submit("/new", compose(hood, kind="offer", category="<b>"), page="/new")
    assert odd.status_code < 500 and "Before you offer help" not in odd.text


async def test_the_organisations_page_lists_its_services(web: Browser) -> None:
    hood, org, staff = await setting()
    assert 'id="org-services"' not in (await web.get("/o/gemeente")).text
    service = await make_service(org, staff, hood)
    other_staff = await factories.account("other", languages=["en"])
    other = await factories.organisation("andere", staff=[other_staff])
    elsewhere = await service_directory.create_service(
        other,
        ServiceForm(name={"nl": "Grofvuil"}, description={"nl": "Ophaling"}, categories=["diy"]),
        other_staff,
    )
    await web.log_in_as(staff)  # a fresh page (anonymous ones are kept a few seconds)
    page = await web.get("/o/gemeente")
    assert 'id="org-services"' in page.text
    assert f'<a href="/services/{service.id}" lang="nl">Maaltijden aan huis</a>' in page.text
    assert f'href="/services/{elsewhere.id}"' not in page.text
    web.log_out_locally()  # in French: not asked before, so not a kept copy
    french = await web.get("/o/gemeente", headers={"accept-language": "fr"})
    assert f'<a href="/services/{service.id}" lang="fr">Repas à domicile</a>' in french.text
