"""Editing the guides for helpers (node.services.guide_editing): who may, what a valid
text is, that bad input stores nothing, and that helpers then see the organisation's
text, else the node's, else the shipped one."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.config import SUPPORTED_LANGUAGES
from node.errors import InvalidInput, NotFound, PermissionDenied
from node.models import Account, AuditEntry, GuideText, Organisation, StaffRole
from node.services import guide_editing, organisations
from node.services.guide_editing import Source, reset_guide, save_guide
from node.services.guide_texts import guide_for
from node.services.guides import MAX_POINT_CHARS, MAX_POINTS, default_guide
from tests import factories

SLUGS = list(guide_editing.CATEGORY_SLUGS)
HYPOTHESIS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
async def admin(database: str) -> Account:
    return await factories.admin()


@pytest.fixture
async def org(database: str) -> Organisation:
    return await factories.organisation("buurthuis")


async def stored() -> tuple[int, int]:
    """Guide texts and audit entries about guides: bad input must add neither."""
    return (
        await GuideText.all().count(),
        await AuditEntry.filter(action__startswith="guide.").count(),
    )


async def test_an_admin_edits_the_node_guide_and_helpers_see_it(admin: Account) -> None:
    row = await save_guide(
        admin,
        organisation_id=None,
        category="pets",
        language="nl",
        points=["", "  Vraag eerst   naar allergieën.  ", "\t", "Hou de hond aan de lijn."],
    )
    assert row.points == ["Vraag eerst naar allergieën.", "Hou de hond aan de lijn."]
    guide = await guide_for("pets", "nl-BE")
    assert guide.points == ("Vraag eerst naar allergieën.", "Hou de hond aan de lijn.")
    # The title and the general points stay the shipped ones.
    shipped = default_guide("pets", "nl")
    assert (guide.title, guide.general) == (shipped.title, shipped.general)
    # The other languages keep their shipped text.
    assert (await guide_for("pets", "fr")).points == default_guide("pets", "fr").points
    entry = await AuditEntry.get(action="guide.saved")
    assert (entry.actor_id, entry.organisation_id, entry.subject) == (
        admin.id,
        None,
        "guide:node:pets:nl",
    )
    assert entry.detail == {"category": "pets", "language": "nl", "points": 2}


async def test_saving_again_replaces_the_one_text(admin: Account) -> None:
    for text in ("Eerste versie.", "Tweede versie."):
        await save_guide(
            admin, organisation_id=None, category="garden", language="fr", points=[text]
        )
    rows = await GuideText.filter(category="garden", language="fr")
    assert [r.points for r in rows] == [["Tweede versie."]]
    assert rows[0].updated_by_id == admin.id


async def test_html_stays_plain_text(admin: Account) -> None:
    point = '<script>alert("x")</script> <b>vet</b> &amp;'
    await save_guide(admin, organisation_id=None, category="meals", language="en", points=[point])
    assert (await guide_for("meals", "en")).points == (point,)


async def test_one_to_seven_points_are_allowed(admin: Account) -> None:
    for count in (1, MAX_POINTS):
        points = [f"Point {n}" for n in range(count)]
        row = await save_guide(
            admin, organisation_id=None, category="diy", language="en", points=points
        )
        assert row.points == points
    longest = "x" * MAX_POINT_CHARS
    row = await save_guide(
        admin, organisation_id=None, category="diy", language="en", points=[longest]
    )
    assert row.points == [longest]


@HYPOTHESIS
@given(
    points=st.one_of(
        # too many points
        st.lists(st.text("abc xyz", min_size=1).map(lambda t: t + "!"), min_size=8, max_size=30),
        # a point too long, up to 10,000 characters
        st.integers(MAX_POINT_CHARS + 1, 10_000).map(lambda n: ["Kort.", "y" * n]),
        # nothing to read: empty, blank lines, zero-width joiners, control characters
        st.lists(st.sampled_from(["", " ", "\t", "\u200d\u200d", "\x00\x01", "\n"]), max_size=9),
    )
)
async def test_bad_points_are_refused_and_nothing_is_stored(
    admin: Account, points: list[str]
) -> None:
    before = await stored()
    with pytest.raises(InvalidInput) as caught:
        await save_guide(
            admin, organisation_id=None, category="shopping", language="nl", points=points
        )
    assert caught.value.field == "points"
    assert await stored() == before


@HYPOTHESIS
@given(
    category=st.one_of(st.just("general"), st.text(max_size=30).filter(lambda s: s not in SLUGS)),
    language=st.sampled_from(SUPPORTED_LANGUAGES),
)
async def test_unknown_categories_are_refused(admin: Account, category: str, language: str) -> None:
    before = await stored()
    with pytest.raises(InvalidInput) as caught:
        await save_guide(
            admin, organisation_id=None, category=category, language=language, points=["Ok."]
        )
    assert caught.value.field == "category"
    with pytest.raises(InvalidInput):
        await reset_guide(admin, organisation_id=None, category=category, language=language)
    assert await stored() == before


@HYPOTHESIS
@given(language=st.text(max_size=12).filter(lambda s: s not in SUPPORTED_LANGUAGES))
async def test_unknown_languages_are_refused(admin: Account, language: str) -> None:
    before = await stored()
    with pytest.raises(InvalidInput) as caught:
        await save_guide(
            admin, organisation_id=None, category="pets", language=language, points=["Ok."]
        )
    assert caught.value.field == "language"
    assert await stored() == before


@HYPOTHESIS
@given(
    points=st.lists(
        st.text(min_size=1, max_size=MAX_POINT_CHARS).filter(lambda t: t.strip()),
        min_size=1,
        max_size=MAX_POINTS,
    )
)
async def test_whatever_is_saved_reads_back_as_stored(admin: Account, points: list[str]) -> None:
    try:
        row = await save_guide(
            admin, organisation_id=None, category="company", language="en", points=points
        )
    except InvalidInput as exc:  # only when cleaning left no readable point
        assert exc.field == "points"
        return
    assert 1 <= len(row.points) <= MAX_POINTS
    assert all(0 < len(p) <= MAX_POINT_CHARS and "\n" not in p for p in row.points)
    assert (await guide_for("company", "en")).points == tuple(row.points)
    assert await GuideText.filter(category="company", language="en").count() == 1


async def test_organisation_text_wins_over_the_node_text_over_the_default(
    admin: Account, org: Organisation
) -> None:
    other = await factories.organisation("andere-vzw")
    coordinator = await factories.coordinator_of(org)
    shipped = default_guide("transport", "fr").points
    assert (await guide_for("transport", "fr", org.id)).points == shipped

    await save_guide(
        admin, organisation_id=None, category="transport", language="fr", points=["Noeud."]
    )
    assert (await guide_for("transport", "fr", org.id)).points == ("Noeud.",)
    await save_guide(
        coordinator, organisation_id=org.id, category="transport", language="fr", points=["Org."]
    )
    assert (await guide_for("transport", "fr", org.id)).points == ("Org.",)
    assert (await guide_for("transport", "fr", other.id)).points == ("Noeud.",)
    assert (await guide_for("transport", "fr")).points == ("Noeud.",)
    assert (await guide_editing.sources(org.id))[("transport", "fr")] is Source.ORGANISATION
    assert (await guide_editing.sources(other.id))[("transport", "fr")] is Source.NODE
    assert (await guide_editing.sources(None))[("transport", "nl")] is Source.DEFAULT

    assert await reset_guide(
        coordinator, organisation_id=org.id, category="transport", language="fr"
    )
    assert (await guide_for("transport", "fr", org.id)).points == ("Noeud.",)
    assert await reset_guide(admin, organisation_id=None, category="transport", language="fr")
    assert (await guide_for("transport", "fr", org.id)).points == shipped
    # Nothing left to reset: no change, nothing recorded.
    assert not await reset_guide(admin, organisation_id=None, category="transport", language="fr")
    actions = await AuditEntry.filter(action__startswith="guide.").order_by("id")
    assert [(a.action, a.organisation_id) for a in actions] == [
        ("guide.saved", None),
        ("guide.saved", org.id),
        ("guide.reset", org.id),
        ("guide.reset", None),
    ]


async def test_who_may_edit(admin: Account, org: Organisation) -> None:
    coordinator = await factories.coordinator_of(org)
    staff = await factories.account("medewerker")
    org_with_staff = await factories.organisation("andere-vzw", staff=[staff])
    other_coordinator = await factories.coordinator_of(org_with_staff)
    resident = await factories.account("bewoner")
    moderator = await factories.moderator()
    suspended = await factories.admin("oud_admin")
    suspended.is_active = False
    await suspended.save(update_fields=["is_active"])
    refused = [
        (resident, None),
        (moderator, None),
        (coordinator, None),  # an organisation's coordinator: not the node's guides
        (suspended, None),
        (None, None),
        (resident, org.id),
        (moderator, org.id),
        (other_coordinator, org.id),
        (staff, org_with_staff.id),  # staff read the guides; coordinators edit them
        (suspended, org.id),
    ]
    before = await stored()
    for account, org_id in refused:
        with pytest.raises(PermissionDenied):
            await save_guide(
                account, organisation_id=org_id, category="pets", language="en", points=["Ok."]
            )
        with pytest.raises(PermissionDenied):
            await reset_guide(account, organisation_id=org_id, category="pets", language="en")
    assert await stored() == before
    for account, org_id in [(admin, None), (admin, org.id), (coordinator, org.id)]:
        await save_guide(
            account, organisation_id=org_id, category="pets", language="en", points=["Ok."]
        )
    assert await GuideText.filter(category="pets").count() == 2


async def test_an_unknown_organisation_is_not_found(admin: Account) -> None:
    with pytest.raises(NotFound):
        await save_guide(
            admin, organisation_id=987654, category="pets", language="en", points=["Ok."]
        )
    assert await stored() == (0, 0)


async def test_duplicate_node_texts_are_merged_into_one(admin: Account) -> None:
    # SQL NULLs are distinct: the unique constraint cannot stop two node texts, so the
    # service keeps them single (and cleans up any left from before).
    await GuideText.create(category="lending", language="nl", points=["Oud 1."])
    await GuideText.create(category="lending", language="nl", points=["Oud 2."])
    await save_guide(
        admin, organisation_id=None, category="lending", language="nl", points=["Nieuw."]
    )
    assert [r.points for r in await GuideText.filter(category="lending")] == [["Nieuw."]]
    await GuideText.create(category="lending", language="nl", points=["Oud 3."])
    assert await reset_guide(admin, organisation_id=None, category="lending", language="nl")
    assert not await GuideText.filter(category="lending").exists()


async def test_the_edit_form_starts_from_what_helpers_see(
    admin: Account, org: Organisation
) -> None:
    shown = await guide_editing.editable("paperwork", "nl", org.id)
    assert (shown.source, shown.guide.points) == (
        Source.DEFAULT,
        default_guide("paperwork", "nl").points,
    )
    await save_guide(
        admin, organisation_id=None, category="paperwork", language="nl", points=["Node."]
    )
    shown = await guide_editing.editable("paperwork", "nl", org.id)
    assert (shown.source, shown.guide.points) == (Source.NODE, ("Node.",))
    for category, language in [("general", "nl"), ("nope", "nl"), ("pets", "de"), ("pets", "")]:
        with pytest.raises(NotFound):
            await guide_editing.editable(category, language, None)


async def test_staff_see_their_organisation_guides_and_only_coordinators_edit(
    admin: Account, org: Organisation
) -> None:
    staff = await factories.account("medewerker")
    await organisations.add_staff(org, staff, StaffRole.STAFF)
    coordinator = await factories.coordinator_of(org)
    other = await factories.organisation("andere-vzw")
    resident = await factories.account("bewoner")
    assert await guide_editing.can_see_guides(staff, org)
    assert await guide_editing.can_see_guides(coordinator, org)
    assert await guide_editing.can_see_guides(admin, org)
    assert not await guide_editing.can_see_guides(staff, other)
    assert not await guide_editing.can_see_guides(resident, org)
    assert not await guide_editing.can_see_guides(staff, None)
    assert await guide_editing.can_see_guides(admin, None)
    assert not await guide_editing.can_edit_guides(staff, org.id)
    assert await guide_editing.can_edit_guides(coordinator, org.id)
    assert not await guide_editing.can_edit_guides(coordinator, other.id)
