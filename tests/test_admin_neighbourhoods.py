"""Neighbourhoods in the browser: creating and editing them (area, icon, connectors,
archive), with every bad field answered next to it and nothing saved."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from node.errors import InvalidFields, PermissionDenied
from node.models import AuditEntry, Connector, Event, MediaFile, Neighbourhood, Role
from node.services import neighbourhoods, posts
from tests import factories
from tests.webclient import Browser, browser

NEW = "/admin/neighbourhoods/new"
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[4.31, 50.83], [4.32, 50.83], [4.32, 50.84], [4.31, 50.84], [4.31, 50.83]]],
}


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    await factories.node_row()
    async with browser(database) as b:
        await b.log_in_as(await factories.account("els", role=Role.ADMIN, languages=["en"]))
        yield b


def form(**fields: str) -> dict[str, str]:
    values = {
        "name": "Jette Centre",
        "slug": "jette-centre",
        "commune": "Jette",
        "country": "BE",
        "description_nl": "Rond het station",
        "description_fr": "Autour de la gare",
        "area_kind": "circle",
        "centre": "50.878, 4.325",
        "radius_m": "800",
    }
    values.update(fields)
    return values


async def test_an_admin_creates_a_neighbourhood_with_a_circle(web: Browser) -> None:
    response = await web.submit(NEW, form(), page=NEW)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/neighbourhoods/jette-centre?done=created"
    hood = await Neighbourhood.get(slug="jette-centre")
    assert (hood.centre_lat, hood.centre_lon, hood.radius_m) == (50.878, 4.325, 800)
    assert hood.description == {"nl": "Rond het station", "fr": "Autour de la gare"}
    assert hood.public_key_pem and hood.private_key_pem
    entry = await AuditEntry.get(action="neighbourhood.created")
    assert entry.subject == "neighbourhood:jette-centre"
    page = await web.get("/admin/neighbourhoods/jette-centre")
    assert "<svg" in page.text and "<circle" in page.text  # the outline is drawn
    # Residents find it at once: home page, its page, the compose form.
    assert "Jette Centre" in (await web.get("/")).text
    assert (await web.get("/n/jette-centre")).status_code == 200


async def test_a_polygon_area_gets_its_centre_and_draws_an_outline(web: Browser) -> None:
    fields = form(area_kind="polygon", geojson=json.dumps(SQUARE), centre="", radius_m="")
    assert (await web.submit(NEW, fields, page=NEW)).status_code == 303
    hood = await Neighbourhood.get(slug="jette-centre")
    assert hood.polygon == SQUARE["coordinates"][0]
    assert (hood.centre_lat, hood.centre_lon, hood.radius_m) == (50.835, 4.315, None)
    page = await web.get("/admin/neighbourhoods/jette-centre")
    assert "<polygon points=" in page.text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        pytest.param({"centre": "91, 4.3"}, "centre", "latitude must be between", id="lat-91"),
        pytest.param({"centre": "somewhere"}, "centre", "enter latitude and longitude", id="text"),
        pytest.param({"radius_m": "50"}, "radius_m", "between 200 and 20000", id="radius-50"),
        pytest.param({"name": ""}, "name", "is required", id="no-name"),
        pytest.param({"slug": "Jette Centre!"}, "slug", "lowercase", id="bad-slug"),
        pytest.param({"slug": "els"}, "slug", "already taken", id="slug-of-a-person"),
        pytest.param({"country": "BEL"}, "country", "two-letter", id="country"),
        pytest.param(
            {
                "area_kind": "polygon",
                "geojson": '{"type": "Polygon", "coordinates": '
                "[[[4.31, 50.83], [4.32, 50.83], [4.32, 50.84]]]}",
            },
            "geojson",
            "end where it starts",
            id="open-ring",
        ),
        pytest.param(
            {"area_kind": "polygon", "geojson": "not json"},
            "geojson",
            "not valid GeoJSON",
            id="not-json",
        ),
    ],
)
async def test_bad_input_is_answered_at_its_field_and_nothing_is_saved(
    web: Browser, fields: dict[str, str], field: str, message: str
) -> None:
    response = await web.submit(NEW, form(**fields), page=NEW)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text
    assert message.lower() in response.text.lower()
    assert await Neighbourhood.all().count() == 0
    assert await AuditEntry.all().count() == 0


async def test_every_bad_field_is_shown_at_once(web: Browser) -> None:
    response = await web.submit(NEW, form(name="", centre="x", radius_m="5", country="B"), page=NEW)
    assert response.status_code == 400
    for field in ("name", "centre", "radius_m", "country"):
        assert f'id="{field}-error"' in response.text
    assert "Please correct 4 fields." in response.text


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(max_size=150),
    centre=st.text(max_size=60),
    radius=st.text(max_size=12),
    geojson=st.one_of(st.text(max_size=300), st.just('{"type": "Polygon"}')),
    kind=st.sampled_from(["circle", "polygon", "", "triangle"]),
)
async def test_any_form_gives_a_clear_answer_and_bad_ones_store_nothing(
    web: Browser, name: str, centre: str, radius: str, geojson: str, kind: str
) -> None:
    before = await Neighbourhood.all().count()
    fields = form(
        name=name,
        slug=f"h{before}",
        centre=centre,
        radius_m=radius,
        geojson=geojson,
        area_kind=kind,
    )
    response = await web.submit(NEW, fields, page=NEW)
    assert response.status_code in (303, 400)
    after = await Neighbourhood.all().count()
    assert after == before + (1 if response.status_code == 303 else 0)


async def test_editing_keeps_the_slug_federates_and_is_audited(web: Browser) -> None:
    hood = await factories.neighbourhood("dieleghem")
    page = "/admin/neighbourhoods/dieleghem"
    response = await web.submit(page, form(name="Dieleghem-Noord", slug="stolen"), page=page)
    assert response.status_code == 303
    fresh = await Neighbourhood.get(id=hood.id)
    assert (fresh.slug, fresh.name) == ("dieleghem", "Dieleghem-Noord")
    changed = await Event.filter(kind="ActorChanged").values_list("payload", flat=True)
    assert {"kind": "neighbourhood", "key": hood.id} in changed
    assert await AuditEntry.exists(action="neighbourhood.edited", subject="neighbourhood:dieleghem")
    bad = await web.submit(page, form(centre="0"), page=page)
    assert bad.status_code == 400
    assert (await Neighbourhood.get(id=hood.id)).name == "Dieleghem-Noord"


def png(width: int = 600, height: int = 400) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (11, 110, 79, 255)).save(buffer, "PNG")
    return buffer.getvalue()


async def upload(web: Browser, path: str, data: bytes, page: str) -> object:
    token = await web.token(page)
    return await web.http.post(
        path,
        data={"csrf_token": token},
        files={"icon": ("icon.png", data, "image/png")},
    )


async def test_an_icon_is_resized_stored_once_and_served_for_ever(web: Browser) -> None:
    await factories.neighbourhood("dieleghem")
    page = "/admin/neighbourhoods/dieleghem"
    response = await upload(web, page + "/icon", png(), page)
    assert response.status_code == 303
    stored = await MediaFile.get()
    assert (stored.width, stored.height, stored.media_type) == (400, 400, "image/png")
    hood = await Neighbourhood.get(slug="dieleghem")
    assert hood.icon_id == stored.id
    served = await web.get(f"/media/{stored.sha256}.png")
    assert served.status_code == 200 and served.content == stored.data
    assert "immutable" in served.headers["cache-control"]
    assert (await web.get(f"/media/{stored.sha256}.jpg")).status_code == 404
    # The Group carries it as its icon, for Mastodon to show.
    group = await web.get("/n/dieleghem", headers={"accept": "application/activity+json"})
    assert group.json()["icon"]["url"].endswith(f"/media/{stored.sha256}.png")
    assert (await upload(web, page + "/icon", png(), page)).status_code == 303
    assert await MediaFile.all().count() == 1  # the same picture again is kept once


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        pytest.param(b"hello, this is text", 400, "choose a PNG or JPEG image", id="text"),
        pytest.param(b"", 400, "choose an image file", id="empty"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, 400, "could not be read", id="broken"),
    ],
)
async def test_an_upload_that_is_not_an_image_is_refused(
    web: Browser, data: bytes, status: int, message: str
) -> None:
    await factories.neighbourhood("dieleghem")
    page = "/admin/neighbourhoods/dieleghem"
    response = await upload(web, page + "/icon", data, page)
    assert response.status_code == status
    assert message.lower() in response.text.lower() and 'id="icon-error"' in response.text
    assert await MediaFile.all().count() == 0
    assert (await Neighbourhood.get(slug="dieleghem")).icon_id is None


async def test_a_decompression_bomb_and_a_40_mb_upload_are_refused(web: Browser) -> None:
    await factories.neighbourhood("dieleghem")
    page = "/admin/neighbourhoods/dieleghem"
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, "PNG")  # 400 megapixels in a few kB
    bomb = await upload(web, page + "/icon", buffer.getvalue(), page)
    assert bomb.status_code == 400 and "too many pixels" in bomb.text
    huge = await upload(web, page + "/icon", b"\0" * (40 * 1024 * 1024), page)
    assert huge.status_code == 413
    assert await MediaFile.all().count() == 0


async def test_connectors_are_added_by_username_and_removed(web: Browser) -> None:
    hood = await factories.neighbourhood("dieleghem")
    greet = await factories.account("greet")
    page = "/admin/neighbourhoods/dieleghem"
    added = await web.submit(page + "/connectors", {"username": "@Greet"}, page=page)
    assert added.status_code == 303
    assert await Connector.exists(neighbourhood=hood, account=greet)
    twice = await web.submit(page + "/connectors", {"username": "greet"}, page=page)
    assert twice.status_code == 400 and "already a connector" in twice.text
    nobody = await web.submit(page + "/connectors", {"username": "nobody"}, page=page)
    assert nobody.status_code == 400 and "no account with this username" in nobody.text
    removed = await web.submit(
        page + "/connectors", {"username": "greet", "action": "remove"}, page=page
    )
    assert removed.status_code == 303
    assert not await Connector.exists(neighbourhood=hood)


async def test_an_archived_neighbourhood_takes_no_new_posts_but_keeps_its_page(
    web: Browser,
) -> None:
    hood = await factories.neighbourhood("dieleghem")
    greet = await factories.account("greet")
    earlier = await factories.post(greet, hood)
    page = "/admin/neighbourhoods/dieleghem"
    assert (await web.submit(page + "/archive", {"archived": "yes"}, page=page)).status_code == 303
    assert (await Neighbourhood.get(id=hood.id)).archived_at is not None
    assert "dieleghem" not in [h.slug for h in await neighbourhoods.list_neighbourhoods()]
    assert (await web.get("/n/dieleghem")).status_code == 200
    with pytest.raises(InvalidFields) as caught:
        await factories.post(greet, hood)
    assert caught.value.errors[0].field == "neighbourhood"
    # A post already there can still be edited in place.
    edited = factories.draft(hood, title="Nog altijd nodig")
    assert (await posts.edit_post(greet, earlier, edited)).title == "Nog altijd nodig"
    assert (await web.submit(page + "/archive", {"archived": "no"}, page=page)).status_code == 303
    assert (await Neighbourhood.get(id=hood.id)).archived_at is None


async def test_the_cli_and_the_pages_refuse_the_same_things(database: str) -> None:
    admin = await factories.admin("els")
    resident = await factories.account("greet", role=Role.RESIDENT)
    with pytest.raises(PermissionDenied):
        await neighbourhoods.create_neighbourhood(
            "x-hood", "X", centre=(50.8, 4.3), radius_m=800, by=resident
        )
    with pytest.raises(InvalidFields) as caught:
        await neighbourhoods.create_neighbourhood(
            "els", "", centre=(50.8, 4.3), radius_m=50, by=admin
        )
    assert {e.field for e in caught.value.errors} == {"slug", "name", "radius_m"}
    assert await Neighbourhood.all().count() == 0
