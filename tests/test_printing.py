"""Window cards, posters and request sheets, read back as a person would: `pdftotext`
finds the texts in each language, `zbarimg` decodes the QR code from the rendered page
to the exact URL, and no private data (the address, the client's label) ever appears.
Also: who may print a sheet, bad `?lang=` values, archived neighbourhoods, the links on
the pages, and setting how to ask for help without internet (/admin/n/{slug}/contact).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from node import printing
from node.i18n import gettext
from node.models import Account, HelpPost, Neighbourhood
from node.printing import texts
from node.printing.draw import BOLD, Column, printable, wrap
from node.services import neighbourhoods, offline_contact, responses
from node.timeutil import utcnow
from tests import factories
from tests.conftest import IN_CI
from tests.webclient import Browser, browser

BASE = "https://buren.example"
TOOLS = ("pdftotext", "pdftoppm", "pdffonts", "zbarimg")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
if MISSING:
    reason = f"{', '.join(MISSING)} missing: apt install poppler-utils zbar-tools"
    if IN_CI:
        pytest.fail(reason + " (CI=true: the print tests must run)", pytrace=False)
    pytestmark = pytest.mark.skip(reason=reason)

ADDRESS = "Rue Secrète 7, boîte 3"
LABEL = "Mevrouw Peeters-label"
FR_LABEL = "Madame Peeters-label"
PHONE, OFFICE, HOURS = "+32 2 555 12 34", "Buurthuis Kuregem, Rue Émile Carpentier 12", "ma–vr 9–12"


def pdf_text(body: bytes) -> str:
    """The PDF's text with its line breaks and runs of spaces as single spaces."""
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=body, capture_output=True, check=True
    )
    return " ".join(done.stdout.decode().split())


def pdf_lines(body: bytes) -> list[str]:
    """The PDF's text lines as pdftotext reads them (no layout)."""
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=body, capture_output=True, check=True
    )
    return [" ".join(line.split()) for line in done.stdout.decode().splitlines()]


def fonts_of(body: bytes, tmp_path: Path) -> list[tuple[str, str]]:
    """(font name, emb column) for each font `pdffonts` lists."""
    pdf = tmp_path / "fonts.pdf"
    pdf.write_bytes(body)
    done = subprocess.run(["pdffonts", str(pdf)], capture_output=True, check=True, text=True)
    rows = done.stdout.splitlines()[2:]  # after the header and its rule
    # The columns from the right: emb sub uni object-number generation.
    return [(row.split()[0], row.split()[-5]) for row in rows if row.strip()]


def qr_of(body: bytes, tmp_path: Path) -> str:
    """What the QR code on the first page says, decoded from a 200 dpi rendering."""
    pdf = tmp_path / "printed.pdf"
    pdf.write_bytes(body)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "200",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    done = subprocess.run(
        ["zbarimg", "--raw", "-q", str(tmp_path / "page.png")], capture_output=True, check=True
    )
    return done.stdout.decode().strip()


def spoken(message: str, languages: tuple[str, ...], **values: object) -> list[str]:
    return [" ".join(texts.say(lang, message, **values).split()) for lang in languages]


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database, base_url=BASE) as b:
        yield b


@pytest.fixture
async def hood() -> Neighbourhood:
    hood = await factories.neighbourhood("kuregem", commune="Anderlecht")
    await offline_contact.set_contact(
        hood, offline_contact.ContactForm(PHONE, OFFICE, HOURS), await factories.admin()
    )
    return hood


@pytest.mark.parametrize("kind", ["card", "poster"])
@pytest.mark.parametrize("lang", ["nl", "fr", "en", "nl-fr"])
async def test_window_card_and_poster_in_each_language(
    web: Browser, hood: Neighbourhood, kind: str, lang: str, tmp_path: Path
) -> None:
    response = await web.get(f"/n/kuregem/{kind}.pdf?lang={lang}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    name = "window-card" if kind == "card" else "poster"
    assert (
        response.headers["content-disposition"] == f'inline; filename="kuregem-{name}-{lang}.pdf"'
    )
    assert response.headers["cache-control"] == "public, max-age=300"
    text = pdf_text(response.content)
    languages = printing.languages_of(lang)
    assert languages is not None
    for expected in [
        "Kuregem",
        "Anderlecht",
        "buren.example/n/kuregem",
        "@kuregem@buren.example",
        PHONE,
        OFFICE,
        HOURS,
        *spoken(texts.CALL, languages),
        *spoken(texts.NEIGHBOURS, languages),
        *spoken(texts.NO_INTERNET, languages),
        *(gettext(language, texts.PHONE) for language in languages),
    ]:
        assert expected in text, f"{expected!r} not in {text!r}"
    assert qr_of(response.content, tmp_path) == f"{BASE}/n/kuregem"


async def test_without_an_offline_contact_the_card_says_where_to_ask(
    web: Browser, tmp_path: Path
) -> None:
    await factories.neighbourhood("jette-centre", commune="Jette")
    response = await web.get("/n/jette-centre/card.pdf?lang=en")
    text = pdf_text(response.content)
    assert "Ask at buren.example/n/jette-centre" in text
    assert texts.NO_INTERNET not in text
    assert qr_of(response.content, tmp_path) == f"{BASE}/n/jette-centre"


async def test_the_card_follows_the_visitors_language_by_default(
    web: Browser, hood: Neighbourhood
) -> None:
    response = await web.get("/n/kuregem/card.pdf", headers={"accept-language": "fr"})
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith('-fr.pdf"')
    assert "Accept-Language" in response.headers["vary"]
    assert response.headers["cache-control"].startswith("private")
    assert spoken(texts.CALL, ("fr",))[0] in pdf_text(response.content)


@pytest.mark.parametrize("bad", ["de", "NL", "nl-en", "fr-nl", "", "nl,fr", "../etc"])
async def test_an_unknown_language_is_a_clear_400(
    web: Browser, hood: Neighbourhood, bad: str
) -> None:
    author = await factories.account("auteur")
    post = await factories.post(author, hood)
    await web.log_in_as(author)
    for path in ("/n/kuregem/card.pdf", "/n/kuregem/poster.pdf", f"/r/{post.id}/sheet.pdf"):
        response = await web.get(path, params={"lang": bad})
        assert response.status_code == 400, path
        assert response.headers["content-type"].startswith("text/html")
        assert "nl, fr, en, nl-fr" in response.text


async def test_archived_and_unknown_neighbourhoods_have_no_card(
    web: Browser, hood: Neighbourhood
) -> None:
    await neighbourhoods.set_archived(hood, True, await factories.admin("admin2"))
    for path in ("/n/kuregem/card.pdf", "/n/kuregem/poster.pdf", "/n/nowhere/card.pdf"):
        assert (await web.get(path + "?lang=nl")).status_code == 404
    page = await web.get("/n/kuregem")
    assert "/n/kuregem/card.pdf" not in page.text


async def _client_request(hood: Neighbourhood) -> tuple[HelpPost, Account]:
    staff = await factories.account("maatschappelijk")
    await factories.organisation("buurthuis", staff=[staff])
    start = utcnow().replace(microsecond=0) + timedelta(days=3)
    post = await factories.post(
        staff,
        hood,
        organisation="buurthuis",
        on_behalf_label=LABEL,
        client_consent=True,
        private_location=ADDRESS,
        area_hint="bij het station",
        helpers_needed=2,
        starts_at=start,
        translations={
            "fr": {
                "title": "Un canapé au parc à conteneurs",
                "description": "Il est lourd.",
                "on_behalf_label": FR_LABEL,
            }
        },
    )
    return post, staff


@pytest.mark.parametrize("lang", ["nl", "fr", "en", "nl-fr"])
async def test_the_request_sheet_shows_what_a_helper_needs_and_nothing_private(
    web: Browser, hood: Neighbourhood, lang: str, tmp_path: Path
) -> None:
    post, staff = await _client_request(hood)
    await web.log_in_as(staff)
    response = await web.get(f"/r/{post.id}/sheet.pdf?lang={lang}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["content-disposition"] == (
        f'inline; filename="request-{post.id}-{lang}.pdf"'
    )
    text = pdf_text(response.content)
    languages = printing.languages_of(lang)
    assert languages is not None
    titles = {"nl": post.title, "fr": "Un canapé au parc à conteneurs", "en": post.title}
    for expected in [
        *(titles[language] for language in languages),
        "Kuregem (Anderlecht)",
        PHONE,
        f"buren.example/r/{post.id}",
        *(gettext(language, texts.WHEN) for language in languages),
        *(gettext(language, texts.PLACES_LABEL) for language in languages),
        *spoken(texts.PLACES, languages, num=2, total=2),
        *spoken(texts.ANSWER_REQUEST, languages),
    ]:
        assert expected in text, f"{expected!r} not in {text!r}"
    for private in (ADDRESS, "Secrète", LABEL, FR_LABEL, "Peeters", "bij het station"):
        assert private not in text
        assert private.encode() not in response.content
    assert qr_of(response.content, tmp_path) == f"{BASE}/r/{post.id}"


@pytest.mark.parametrize("status", ["open", "done", "withdrawn", "expired", "filled"])
async def test_the_sheet_of_a_finished_request_shows_its_status_and_asks_no_help(
    web: Browser, hood: Neighbourhood, status: str
) -> None:
    post, staff = await _client_request(hood)
    await responses.accept_helper(staff, await factories.offer(post))
    if status == "filled":
        await responses.accept_helper(staff, await factories.offer(post))
    elif status != "open":
        await HelpPost.filter(id=post.id).update(status=status)
    await web.log_in_as(staff)
    for lang in ("en", "nl-fr"):
        response = await web.get(f"/r/{post.id}/sheet.pdf?lang={lang}")
        assert response.status_code == 200
        text = pdf_text(response.content)
        languages = printing.languages_of(lang)
        assert languages is not None
        calls = spoken(texts.ANSWER_REQUEST, languages)
        places = spoken(texts.PLACES, languages, num=1, total=2)
        if status == "open":  # one of the two places taken: the honest count
            shown, missing = [*calls, *places], [texts.FINISHED_REQUEST["done"]]
        else:
            shown = [
                *spoken(texts.FINISHED_REQUEST[status], languages),
                *spoken(texts.STATUS, languages),
                *spoken(texts.STATUS_LABELS[status], languages),
            ]
            missing = [*calls, *places, "Places left"]
        for expected in shown:
            assert expected in text, f"{expected!r} not in {text!r}"
        for unexpected in missing:
            assert unexpected not in text, f"{unexpected!r} in {text!r}"
        assert f"buren.example/r/{post.id}" in text


async def test_every_font_in_the_prints_is_embedded(
    web: Browser, hood: Neighbourhood, tmp_path: Path
) -> None:
    post, staff = await _client_request(hood)
    await web.log_in_as(staff)
    for path in ("/n/kuregem/card.pdf", "/n/kuregem/poster.pdf", f"/r/{post.id}/sheet.pdf"):
        body = (await web.get(path, params={"lang": "nl-fr"})).content
        fonts = fonts_of(body, tmp_path)
        assert fonts, path
        assert all(emb == "yes" for _, emb in fonts), (path, fonts)
        assert not any("Helvetica" in name for name, _ in fonts), (path, fonts)


async def test_the_bilingual_sheet_wraps_its_labels_and_keeps_french_colons(
    web: Browser, hood: Neighbourhood
) -> None:
    post, staff = await _client_request(hood)
    await web.log_in_as(staff)
    body = (await web.get(f"/r/{post.id}/sheet.pdf?lang=nl-fr")).content
    lines = pdf_lines(body)
    assert not any(line[:1] in {":", ";", "?", "!"} for line in lines), lines
    assert not any(line.endswith("…") for line in lines if "/" in line), lines


@pytest.mark.parametrize("room", [float(w) for w in range(60, 330, 7)])
def test_a_label_wraps_whole_and_a_french_colon_stays_with_its_word(room: float) -> None:
    label = "Helpers gezocht / Bénévoles recherchés"
    column = Column(None, 0, room, 0)
    drawn = column.paragraph(label, BOLD, 10)
    lines = wrap(label, BOLD, 10, room)
    assert drawn == len(lines)  # no line left out, no ellipsis
    assert "".join(lines).replace(" ", "") == label.replace(" ", "")  # nothing lost
    french = "Vous pouvez aider ? Scannez le code ou rendez-vous sur :"
    for line in wrap(french, BOLD, 11, room):
        assert line[:1] not in {":", "?"}, line
    flat = "".join(wrap(french, BOLD, 11, room)).replace("\u00a0", "").replace(" ", "")
    assert flat == french.replace(" ", "")


async def test_only_the_requests_managers_get_its_sheet(web: Browser, hood: Neighbourhood) -> None:
    post, _ = await _client_request(hood)
    path = f"/r/{post.id}/sheet.pdf"
    anonymous = await web.get(path)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/login?next={path}"
    for stranger in (await factories.account("buur"), await factories.moderator()):
        await web.log_in_as(stranger)
        response = await web.get(path)
        assert response.status_code == 403
        assert b"%PDF" not in response.content
    author = await factories.account("auteur")
    own = await factories.post(author, hood, visibility="neighbours")
    await web.log_in_as(await factories.account("elders"))
    assert (await web.get(f"/r/{own.id}/sheet.pdf")).status_code in (403, 404)
    assert (await web.get("/r/not-a-post/sheet.pdf")).status_code == 404
    await web.log_in_as(author)
    assert (await web.get(f"/r/{own.id}/sheet.pdf")).status_code == 200


async def test_a_hidden_request_is_not_printed(web: Browser, hood: Neighbourhood) -> None:
    post, staff = await _client_request(hood)
    await HelpPost.filter(id=post.id).update(hidden_at=utcnow(), hidden_reason="spam")
    await web.log_in_as(staff)
    assert (await web.get(f"/r/{post.id}/sheet.pdf")).status_code == 404


async def test_the_pages_link_to_their_prints(web: Browser, hood: Neighbourhood) -> None:
    page = await web.get("/n/kuregem")
    for lang in ("nl", "fr", "en", "nl-fr"):
        assert f'href="/n/kuregem/card.pdf?lang={lang}"' in page.text
        assert f'href="/n/kuregem/poster.pdf?lang={lang}"' in page.text
    post, staff = await _client_request(hood)
    sheet = f'href="/r/{post.id}/sheet.pdf?lang=nl-fr"'
    await web.log_in_as(staff)
    assert sheet in (await web.get(f"/r/{post.id}")).text
    await web.log_in_as(await factories.account("buur"))
    assert sheet not in (await web.get(f"/r/{post.id}")).text


async def test_admins_and_connectors_set_the_offline_contact(
    database: str, hood: Neighbourhood
) -> None:
    # An http:// node: the session cookies of an https:// one are not sent back here.
    async with browser(database) as web:
        await _set_contact_through_the_form(web, hood)


async def _set_contact_through_the_form(web: Browser, hood: Neighbourhood) -> None:
    admin = await neighbourhoods.get_neighbourhood("kuregem")
    assert admin.help_phone == PHONE
    connector = await factories.account("connector")
    await neighbourhoods.add_connector(hood, connector)
    path = "/admin/n/kuregem/contact"
    await web.log_in_as(connector)
    page = await web.get(path)
    assert page.status_code == 200
    assert 'href="/admin/n/kuregem/contact"' in page.text  # in the admin navigation
    fields = {"help_phone": "02/555.66.77", "help_office": "", "help_hours": "Di 14:00"}
    saved = await web.submit(path, fields, page=path)
    assert saved.status_code == 303
    stored = await neighbourhoods.get_neighbourhood("kuregem")
    assert (stored.help_phone, stored.help_office, stored.help_hours) == (
        "02/555.66.77",
        "",
        "Di 14:00",
    )
    text = pdf_text((await web.get("/n/kuregem/card.pdf?lang=en")).content)
    assert "02/555.66.77" in text and OFFICE not in text

    bad = {"help_phone": "call me maybe", "help_office": "x" * 201, "help_hours": "y" * 101}
    refused = await web.submit(path, bad, page=path)
    assert refused.status_code == 400
    for field in bad:
        assert f'id="{field}-error"' in refused.text
    again = await neighbourhoods.get_neighbourhood("kuregem")
    assert again.help_phone == "02/555.66.77" and again.help_hours == "Di 14:00"

    await web.log_in_as(await factories.account("buur"))
    assert (await web.get(path)).status_code == 403
    assert (await web.submit(path, fields, page="/login")).status_code == 403
    web.log_out_locally()
    assert (await web.get(path)).status_code == 303


@pytest.mark.parametrize(
    ("phone", "ok"),
    [
        ("+32 (0)2 555.12.34", True),
        ("02/555-12-34", True),
        ("", True),
        ("0" * 41, False),
        ("call me", False),
        ("++--", False),
        ("02 555 12 34 ext", False),
    ],
)
def test_phone_numbers(phone: str, ok: bool) -> None:
    form = offline_contact.ContactForm(phone=phone)
    if ok:
        assert offline_contact.check(form).phone == phone
    else:
        with pytest.raises(offline_contact.InvalidInput):
            offline_contact.check(form)


def test_text_the_fonts_cannot_draw_is_left_out_not_boxed() -> None:
    assert printable("Sofa 🛋️ naar\nhet park") == "Sofa naar het park"
    assert printable("Œuvre, cœur, 10 €, l’été… « oui »") == "Œuvre, cœur, 10 €, l’été… « oui »"


def test_a_long_name_and_emoji_stay_on_a_card_that_scans(tmp_path: Path) -> None:
    data = printing.NeighbourhoodPrint(
        slug="x",
        name="Quartier Maritime – Sainte-Marie-aux-Bois-de-la-Cambre 🏘️ " * 3,
        commune="Sint-Jans-Molenbeek",
        url=f"{BASE}/n/x",
        handle="@x@buren.example",
        contact=printing.OfflineContact("0" * 40, "o" * 200, "h" * 100),
        node_name="Buren",
    )
    body = printing.window_card(data, ("nl", "fr"))
    assert qr_of(body, tmp_path) == f"{BASE}/n/x"
    assert "🏘" not in pdf_text(body)
