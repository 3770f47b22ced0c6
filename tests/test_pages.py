"""The public pages: home and neighbourhood, in the visitor's language, escaped, private."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from node.app import create_app
from node.config import Settings
from node.models import Account
from node.services import organisations, responses
from node.services.posts import change_status
from tests import factories


def title_link(lang: str, title: str) -> str:
    """A card's title: a link to the post page, marked with the text's language."""
    return f'<h3 lang="{lang}"><a href="/r/[^"]+">{re.escape(title)}</a></h3>'


@pytest.fixture
async def client(database: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=database), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def author() -> Account:
    return await factories.account("marleen", languages=["nl", "fr"])


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize(
    ("accept", "lang", "heading"),
    [
        ("nl-BE,nl;q=0.9", "nl", "Hulp in je buurt"),
        ("fr-BE,fr;q=0.8,en;q=0.5", "fr", "De l’aide dans votre quartier"),
        ("en-GB", "en", "Help in your neighbourhood"),
        ("de-DE, *;q=0.1", "nl", "Hulp in je buurt"),  # unsupported: the node's first language
    ],
)
async def test_home_in_visitor_language(
    client: httpx.AsyncClient, author: Account, accept: str, lang: str, heading: str
) -> None:
    hood = await factories.neighbourhood("jette-centre", commune="Jette")
    await factories.post(author, hood)
    page = await client.get("/", headers={"accept-language": accept})
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    assert heading in page.text
    assert 'href="/n/jette-centre"' in page.text
    assert "Sofa naar het containerpark" in page.text
    assert "accept-language" in page.headers["vary"].lower()


async def test_neighbourhood_lists_public_open_posts_only(
    client: httpx.AsyncClient, author: Account
) -> None:
    hood = await factories.neighbourhood("dieleghem")
    other = await factories.neighbourhood("elsewhere")
    await factories.post(author, hood, title="Publieke vraag")
    await factories.post(author, hood, title="Alleen volgers", visibility="followers")
    await factories.post(author, hood, title="Alleen leden", visibility="members")
    await factories.post(author, other, title="Andere buurt")
    await factories.post(author, hood, kind="offer", title="Ik laat honden uit", category="pets")
    withdrawn = await factories.post(author, hood, title="Ingetrokken vraag")
    await change_status(author, withdrawn, "withdrawn")

    page = await client.get("/n/dieleghem", headers={"accept-language": "nl"})
    assert page.status_code == 200
    text = page.text
    assert "Publieke vraag" in text
    assert "Ik laat honden uit" in text
    for hidden in ("Alleen volgers", "Alleen leden", "Andere buurt", "Ingetrokken vraag"):
        assert hidden not in text
    # Requests and offers are listed under their own headings.
    assert text.index("Hulpvragen") < text.index("Publieke vraag") < text.index("Hulpaanbod")
    assert text.index("Hulpaanbod") < text.index("Ik laat honden uit")


async def test_post_shown_in_a_language_its_author_wrote(
    client: httpx.AsyncClient, author: Account
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    await factories.post(
        author,
        hood,
        title="Hulp bij de boodschappen",
        category="shopping",
        translations={"fr": {"title": "Aide pour les courses", "description": "Le samedi."}},
    )
    french = await client.get("/n/jette-centre", headers={"accept-language": "fr"})
    assert re.search(title_link("fr", "Aide pour les courses"), french.text)
    assert "Courses et commissions" in french.text  # the category label, translated
    english = await client.get("/n/jette-centre", headers={"accept-language": "en"})
    # No English text was written: the original stays, marked with its own language.
    assert re.search(title_link("nl", "Hulp bij de boodschappen"), english.text)
    assert "Shopping and errands" in english.text


async def test_hostile_text_is_escaped_and_private_location_never_shown(
    client: httpx.AsyncClient, author: Account
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    await factories.post(
        author,
        hood,
        title='<script>alert("x")</script> Help',
        description='<img src=x onerror="alert(1)">',
        private_location="Rue Léopold I 123, boîte 4",
    )
    page = await client.get("/n/jette-centre")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "<img src=x" not in page.text
    assert "Léopold I 123" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_on_behalf_post_names_the_organisation_and_label_not_the_writer(
    client: httpx.AsyncClient,
) -> None:
    worker = await factories.account("els", languages=["nl"])
    org = await factories.organisation("tussen-buren")
    await organisations.add_staff(org, worker)
    hood = await factories.neighbourhood("jette-centre")
    await factories.post(
        worker,
        hood,
        organisation="tussen-buren",
        on_behalf_label="een oudere dame zonder auto",
        client_consent=True,
    )
    page = await client.get("/n/jette-centre", headers={"accept-language": "nl"})
    assert "Buurthuis" in page.text  # the organisation's name
    assert "voor een oudere dame zonder auto" in page.text
    assert ">Els<" not in page.text


async def test_matched_request_shows_no_free_places(
    client: httpx.AsyncClient, author: Account
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    post = await factories.post(author, hood, helpers_needed=1)
    helper = await factories.account("youssef")
    await responses.accept_helper(author, await responses.offer_help(helper, post))
    page = await client.get("/n/jette-centre", headers={"accept-language": "en"})
    assert "Helpers found" in page.text
    assert "Places left: 0 of 1" in page.text


async def test_each_card_counts_only_its_own_accepted_helpers(
    client: httpx.AsyncClient, author: Account
) -> None:
    """The listing reads each card's accepted helpers in its own statement: offers still
    waiting and declined ones leave the places free, other posts' helpers do not count."""
    hood = await factories.neighbourhood("jette-centre")
    busy = await factories.post(author, hood, title="Three movers", helpers_needed=3)
    quiet = await factories.post(author, hood, title="Two walkers", helpers_needed=2)
    helpers = [await factories.account(name) for name in ("youssef", "ann", "bea", "cas")]
    for helper in helpers[:2]:
        await responses.accept_helper(author, await responses.offer_help(helper, busy))
    await responses.offer_help(helpers[2], busy)
    await responses.decline_helper(author, await responses.offer_help(helpers[3], busy))
    await responses.offer_help(helpers[3], quiet)
    page = await client.get("/n/jette-centre", headers={"accept-language": "en"})
    cards = page.text.split("<article")[1:]
    assert "Places left: 1 of 3" in next(card for card in cards if "Three movers" in card)
    assert "Places left: 2 of 2" in next(card for card in cards if "Two walkers" in card)


@pytest.mark.parametrize(
    ("accept", "heading"),
    [("nl", "Pagina niet gevonden"), ("fr", "Page introuvable"), ("en", "Page not found")],
)
async def test_unknown_pages_are_404_in_visitor_language(
    client: httpx.AsyncClient, accept: str, heading: str
) -> None:
    for path in ("/n/nowhere", "/no/such/page"):
        page = await client.get(path, headers={"accept-language": accept})
        assert page.status_code == 404
        assert heading in page.text
        assert f'<html lang="{accept}">' in page.text
