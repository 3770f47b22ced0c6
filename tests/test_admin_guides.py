"""The guides for helpers in the browser: /admin/guides (the node's admins) and
/admin/o/{slug}/guides (the organisation's staff read, its coordinators edit), with CSRF,
clear 400s that store nothing, 403 for everyone else, and going back to the default."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html import escape
from urllib.parse import urlencode

import pytest

from node.models import Account, GuideText, Organisation, Role, StaffRole
from node.services import organisations
from node.services.guide_editing import save_guide
from node.services.guides import MAX_POINTS, default_guide
from tests import factories
from tests.webclient import Browser, browser

NODE_PETS = "/admin/guides/pets/nl"
ORG_PETS = "/admin/o/buurthuis/guides/pets/nl"


@pytest.fixture
async def org(database: str) -> Organisation:
    await factories.node_row()
    return await factories.organisation("buurthuis")


@pytest.fixture
async def web(database: str, org: Organisation) -> AsyncIterator[Browser]:
    async with browser(database) as b:
        yield b


async def as_(web: Browser, username: str, **kwargs: object) -> Account:
    account = await factories.account(username, languages=["en"], **kwargs)
    await web.log_in_as(account)
    return account


def points(*lines: str) -> list[tuple[str, str]]:
    return [("points", "\n".join(lines))]


async def test_an_admin_edits_a_node_guide_and_takes_it_back(web: Browser) -> None:
    await as_(web, "els", role=Role.ADMIN)
    listing = await web.get("/admin/guides")
    assert listing.status_code == 200
    assert f'href="{NODE_PETS}"' in listing.text
    form = await web.get(NODE_PETS)
    assert form.status_code == 200
    shipped = default_guide("pets", "nl").points
    assert escape(shipped[0], quote=False) in form.text  # prefilled with the default
    assert "/reset" not in form.text  # nothing to reset yet

    response = await web.submit(
        NODE_PETS, points("Vraag naar allergieën.", "", "Hou de hond aan de lijn."), page=NODE_PETS
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{NODE_PETS}?done=saved"
    row = await GuideText.get(category="pets", language="nl")
    assert (row.organisation_id, row.points) == (
        None,
        ["Vraag naar allergieën.", "Hou de hond aan de lijn."],
    )
    form = await web.get(NODE_PETS)
    assert "Hou de hond aan de lijn." in form.text and f"{NODE_PETS}/reset" in form.text
    assert 'class="guide-node"' in (await web.get("/admin/guides")).text

    response = await web.submit(f"{NODE_PETS}/reset", {}, page=NODE_PETS)
    assert response.status_code == 303
    assert not await GuideText.exists()
    assert escape(shipped[0], quote=False) in (await web.get(response.headers["location"])).text


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        pytest.param([f"Punt {n}." for n in range(MAX_POINTS + 1)], "too many points", id="8"),
        pytest.param(["Kort.", "x" * 10_000], "too long", id="10000-chars"),
        pytest.param(["", "   ", ""], "at least one point", id="blank"),
    ],
)
async def test_bad_points_show_the_form_again_and_store_nothing(
    web: Browser, lines: list[str], message: str
) -> None:
    await as_(web, "els", role=Role.ADMIN)
    response = await web.submit(NODE_PETS, points(*lines), page=NODE_PETS)
    assert response.status_code == 400
    assert message in response.text.lower()
    assert 'aria-invalid="true"' in response.text
    assert escape(lines[0], quote=False) in response.text  # what was typed stays
    assert not await GuideText.exists()


async def test_html_is_stored_as_text_and_shown_escaped(web: Browser) -> None:
    await as_(web, "els", role=Role.ADMIN)
    typed = '<script>alert("x")</script> <b>vet</b>'
    response = await web.submit(NODE_PETS, points(typed), page=NODE_PETS)
    assert response.status_code == 303
    assert (await GuideText.get()).points == [typed]
    page = (await web.get(NODE_PETS)).text
    assert "<script>alert" not in page and "&lt;script&gt;" in page


async def test_a_form_without_its_token_is_refused(web: Browser) -> None:
    await as_(web, "els", role=Role.ADMIN)
    for path in (NODE_PETS, f"{NODE_PETS}/reset"):
        response = await web.http.post(
            path,
            content=urlencode(points("Zonder token.")),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 403
    assert not await GuideText.exists()


async def test_unknown_guides_are_not_found(web: Browser) -> None:
    await as_(web, "els", role=Role.ADMIN)
    for path in ("/admin/guides/general/nl", "/admin/guides/nope/nl", "/admin/guides/pets/de"):
        assert (await web.get(path)).status_code == 404
        assert (await web.get("/admin/o/buurthuis" + path[6:])).status_code == 404
    response = await web.submit("/admin/guides/nope/nl", points("Ok."), page=NODE_PETS)
    assert response.status_code == 404
    assert (await web.get("/admin/o/no-such-org/guides")).status_code == 404
    assert not await GuideText.exists()


@pytest.mark.parametrize("who", ["resident", "moderator", "coordinator", "staff"])
async def test_only_admins_edit_the_node_guides(web: Browser, org: Organisation, who: str) -> None:
    if who == "moderator":
        await as_(web, who, role=Role.MODERATOR)
    else:
        account = await as_(web, who)
        if who != "resident":
            role = StaffRole.COORDINATOR if who == "coordinator" else StaffRole.STAFF
            await organisations.add_staff(org, account, role)
    token = await web.token("/settings")
    for path in ("/admin/guides", NODE_PETS):
        assert (await web.get(path)).status_code == 403
    for path in (NODE_PETS, f"{NODE_PETS}/reset"):
        response = await web.http.post(
            path,
            content=urlencode([*points("Niet van jou."), ("csrf_token", token)]),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 403
    assert not await GuideText.exists()


async def test_a_coordinator_edits_the_organisation_guide(web: Browser, org: Organisation) -> None:
    admin = await factories.admin()
    await save_guide(admin, organisation_id=None, category="pets", language="nl", points=["Node."])
    coordinator = await as_(web, "coord")
    await organisations.add_staff(org, coordinator, StaffRole.COORDINATOR)
    tabs = (await web.get("/admin/o/buurthuis")).text
    assert 'href="/admin/o/buurthuis/guides"' in tabs
    listing = await web.get("/admin/o/buurthuis/guides")
    assert listing.status_code == 200 and 'class="guide-node"' in listing.text
    form = await web.get(ORG_PETS)
    assert form.status_code == 200 and ">Node.</textarea>" in form.text  # the node's text

    response = await web.submit(ORG_PETS, points("Bel eerst het buurthuis."), page=ORG_PETS)
    assert response.status_code == 303
    row = await GuideText.get(organisation_id=org.id)
    assert (row.category, row.language, row.points) == ("pets", "nl", ["Bel eerst het buurthuis."])
    assert 'class="guide-organisation"' in (await web.get("/admin/o/buurthuis/guides")).text
    # The node's text is untouched; the coordinator cannot open it.
    assert (await GuideText.get(organisation_id=None)).points == ["Node."]
    assert (await web.get(NODE_PETS)).status_code == 403

    response = await web.submit(f"{ORG_PETS}/reset", {}, page=ORG_PETS)
    assert response.status_code == 303
    assert not await GuideText.exists(organisation_id=org.id)
    assert await GuideText.exists(organisation_id=None)
    assert (
        "helpers see the guide it replaced again"
        in (await web.get(response.headers["location"])).text
    )


async def test_staff_read_the_organisation_guides_without_a_form(
    web: Browser, org: Organisation
) -> None:
    staff = await as_(web, "medewerker")
    await organisations.add_staff(org, staff, StaffRole.STAFF)
    assert (await web.get("/admin/o/buurthuis/guides")).status_code == 200
    page = await web.get(ORG_PETS)
    assert page.status_code == 200 and "<textarea" not in page.text
    assert escape(default_guide("pets", "nl").points[0], quote=False) in page.text
    token = await web.token(ORG_PETS.rsplit("/guides", 1)[0] + "/staff")
    for path in (ORG_PETS, f"{ORG_PETS}/reset"):
        response = await web.http.post(
            path,
            content=urlencode([*points("Mag niet."), ("csrf_token", token)]),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 403
    assert not await GuideText.exists()


@pytest.mark.parametrize("who", ["resident", "other-coordinator", "moderator"])
async def test_others_are_refused_the_organisation_guides(
    web: Browser, org: Organisation, who: str
) -> None:
    other = await factories.organisation("andere-vzw")
    admin = await factories.admin()
    await save_guide(admin, organisation_id=org.id, category="pets", language="nl", points=["Of."])
    if who == "moderator":
        await as_(web, who, role=Role.MODERATOR)
    else:
        account = await as_(web, who.replace("-", "_"))
        if who == "other-coordinator":
            await organisations.add_staff(other, account, StaffRole.COORDINATOR)
    token = await web.token("/settings")
    for path in ("/admin/o/buurthuis/guides", ORG_PETS):
        assert (await web.get(path)).status_code == 403
    for path in (ORG_PETS, f"{ORG_PETS}/reset"):
        response = await web.http.post(
            path,
            content=urlencode([*points("Van iemand anders."), ("csrf_token", token)]),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 403
    assert [r.points for r in await GuideText.all()] == [["Of."]]


async def test_an_admin_edits_an_organisation_guide_too(web: Browser, org: Organisation) -> None:
    await as_(web, "els", role=Role.ADMIN)
    response = await web.submit(ORG_PETS, points("Door de admin."), page=ORG_PETS)
    assert response.status_code == 303
    assert (await GuideText.get()).organisation_id == org.id
