"""RSS, Atom and iCalendar feeds: public posts only, newest first, well-formed whatever
the posts say, and never the private location or a staff member's name."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from node import uris
from node.app import create_app
from node.config import Settings
from node.models import Account, HelpPost, Neighbourhood
from node.services.posts import change_status
from node.timeutil import utcnow
from tests import factories
from web.feeds.ical import escape_text, fold
from web.pages.feeds import feed_links
from web.routes import TEMPLATES_DIR
from web.shell.rendering import Renderer

BASE = "https://buren.example"
ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
HOSTILE_TITLE = '</title><script>alert("x")</script> ]]> & <![CDATA[ boo'
SECRET = "Kerkstraat 12, bel 3"
FEED_PATHS = ("feed.rss", "feed.atom", "calendar.ics")


@pytest.fixture
async def client(database: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=database, base_url=BASE), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def author() -> Account:
    return await factories.account("marleen")


@pytest.fixture
async def hood() -> Neighbourhood:
    return await factories.neighbourhood("dieleghem")


async def _age(post: HelpPost, hours: int) -> None:
    """Back-date `post` so that listings have a known order."""
    await HelpPost.filter(id=post.id).update(created_at=utcnow() - timedelta(hours=hours))


def _url(post: HelpPost) -> str:
    return BASE + uris.post(post.id)


def _parse(body: bytes) -> ET.Element:
    """Our own feed, parsed strictly: any ill-formed byte fails the test."""
    return ET.fromstring(body)  # noqa: S314 - the node's own output, not untrusted input


def _rss_items(body: bytes) -> list[ET.Element]:
    channel = _parse(body).find("channel")
    assert channel is not None
    return channel.findall("item")


def _atom_entries(body: bytes) -> list[ET.Element]:
    return _parse(body).findall(f"{ATOM}entry")


def _unfold(body: bytes) -> list[str]:
    """The content lines of an iCalendar document, after checking its line endings."""
    text = body.decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", ""), "bare LF"
    assert "\r" not in text.replace("\r\n", ""), "bare CR"
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def _events(body: bytes) -> list[dict[str, str]]:
    """Each VEVENT as {property name (without parameters): raw value}."""
    events: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in _unfold(body):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            assert current is not None
            events.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name.split(";")[0]] = value
    return events


async def test_rss_lists_public_open_posts_newest_first(
    client: httpx.AsyncClient, author: Account, hood: Neighbourhood
) -> None:
    other = await factories.neighbourhood("elsewhere")
    old = await factories.post(author, hood, title="Oude vraag")
    new = await factories.post(
        author, hood, kind="offer", title="Ik laat honden uit", category="pets"
    )
    matched = await factories.post(author, hood, title="Al geholpen", helpers_needed=1)
    await HelpPost.filter(id=matched.id).update(status="matched")
    withdrawn = await factories.post(author, hood, title="Ingetrokken vraag")
    await change_status(author, withdrawn, "withdrawn")
    await factories.post(author, hood, title="Alleen volgers", visibility="followers")
    await factories.post(author, hood, title="Alleen leden", visibility="members")
    await factories.post(author, other, title="Andere buurt")
    await _age(old, 3)
    await _age(matched, 2)
    await _age(new, 1)

    response = await client.get("/n/dieleghem/feed.rss")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["x-content-type-options"] == "nosniff"
    root = _parse(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    assert channel.findtext("link") == BASE + "/n/dieleghem"
    assert channel.findtext("language") == "nl"
    items = _rss_items(response.content)
    assert [i.findtext("title") for i in items] == [
        "Ik laat honden uit",
        "Al geholpen",
        "Oude vraag",
    ]
    first = items[0]
    assert first.findtext("link") == first.findtext("guid") == _url(new)
    assert [c.text for c in first.findall("category")] == ["Aanbod", "Huisdieren"]
    assert first.findtext(f"{DC}creator") == "Marleen"
    assert first.findtext(f"{DC}language") == "nl"
    published = parsedate_to_datetime(first.findtext("pubDate") or "")
    assert published.utcoffset() == timedelta(0)
    assert abs(published - (utcnow() - timedelta(hours=1))) < timedelta(minutes=1)


async def test_atom_entries_carry_language_dates_and_authors(
    client: httpx.AsyncClient, author: Account, hood: Neighbourhood
) -> None:
    org = await factories.organisation("buurthuis", staff=[author])
    french = await factories.post(
        author, hood, title="Cherche aide courses", language="fr", category="shopping"
    )
    client_post = await factories.post(
        author,
        hood,
        title="Boodschappen voor een buurvrouw",
        organisation=org.slug,
        on_behalf_label="een buurvrouw van 80",
        client_consent=True,
    )
    await _age(french, 2)

    response = await client.get("/n/dieleghem/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = _parse(response.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}id") == BASE + "/n/dieleghem/feed.atom"
    rfc3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    assert rfc3339.match(feed.findtext(f"{ATOM}updated") or "")
    entries = _atom_entries(response.content)
    assert [e.findtext(f"{ATOM}id") for e in entries] == [_url(client_post), _url(french)]
    on_behalf, fr = entries
    assert fr.get(XML_LANG) == "fr"
    assert [c.get("label") for c in fr.findall(f"{ATOM}category")] == [
        "Demande",
        "Courses et commissions",
    ]
    link = fr.find(f"{ATOM}link")
    assert link is not None and link.get("href") == _url(french)
    for stamp in ("published", "updated"):
        assert rfc3339.match(fr.findtext(f"{ATOM}{stamp}") or "")
    # Made for a client: the organisation and the label, not the staff member.
    assert on_behalf.findtext(f"{ATOM}author/{ATOM}name") == "Buurthuis — voor een buurvrouw van 80"
    assert "Marleen" not in ET.tostring(on_behalf, encoding="unicode")
    assert fr.findtext(f"{ATOM}author/{ATOM}name") == "Marleen"


async def test_hostile_text_stays_text_in_well_formed_xml(
    client: httpx.AsyncClient, author: Account, hood: Neighbourhood
) -> None:
    post = await factories.post(
        author, hood, title=HOSTILE_TITLE, description="<b>vet</b> & ]]>\nnieuwe regel"
    )
    # Text from before today's cleaning (or a bug) may hold what XML 1.0 forbids.
    await HelpPost.filter(id=post.id).update(
        title=HOSTILE_TITLE + "\x01\x0b\x1f\ufffe", area_hint="bij\x08 het station"
    )

    rss = await client.get("/n/dieleghem/feed.rss")
    atom = await client.get("/n/dieleghem/feed.atom")
    for body in (rss.content, atom.content):
        assert b"<script>" not in body
        assert b"\x01" not in body and b"\x08" not in body
    (item,) = _rss_items(rss.content)
    assert item.findtext("title") == HOSTILE_TITLE
    # RSS readers read the description as HTML: the post's markup arrives escaped.
    description = item.findtext("description") or ""
    assert "&lt;b&gt;vet&lt;/b&gt; &amp; ]]&gt;<br>nieuwe regel" in description
    assert "<b>" not in description
    assert "bij het station" in description
    (entry,) = _atom_entries(atom.content)
    assert entry.findtext(f"{ATOM}title") == HOSTILE_TITLE
    content = entry.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "text"
    assert (content.text or "").startswith("<b>vet</b> & ]]>\nnieuwe regel")


async def test_private_and_restricted_posts_never_appear(
    client: httpx.AsyncClient, author: Account, hood: Neighbourhood
) -> None:
    staff = await factories.account("jozefien")
    org = await factories.organisation("buurthuis", staff=[staff])
    soon = utcnow() + timedelta(days=2)
    await factories.post(
        author, hood, title="Publiek met adres", private_location=SECRET, starts_at=soon
    )
    for visibility in ("followers", "members"):
        for organisation in (None, org.slug):
            await factories.post(
                staff if organisation else author,
                hood,
                title=f"Verborgen {visibility} {organisation}",
                visibility=visibility,
                organisation=organisation,
                starts_at=soon,
            )
    await factories.post(
        staff, hood, title="Namens de organisatie", organisation=org.slug, starts_at=soon
    )

    for actor in ("/n/dieleghem", "/o/buurthuis"):
        for path in FEED_PATHS:
            response = await client.get(f"{actor}/{path}")
            assert response.status_code == 200, path
            body = response.text
            assert "Verborgen" not in body
            assert "Kerkstraat" not in body and SECRET not in body
            # Posted for the organisation: its name, never the staff member's.
            assert "Namens de organisatie" in body
            assert "Jozefien" not in body and "jozefien" not in body


async def test_organisation_feed_lists_its_own_posts(
    client: httpx.AsyncClient, hood: Neighbourhood
) -> None:
    staff = await factories.account("jozefien")
    org = await factories.organisation("buurthuis", staff=[staff])
    await factories.organisation("andere-org", staff=[staff])
    elsewhere = await factories.neighbourhood("elsewhere")
    here = await factories.post(staff, hood, title="Hier", organisation=org.slug)
    there = await factories.post(staff, elsewhere, title="Daar", organisation=org.slug)
    await factories.post(staff, hood, title="Persoonlijk")
    await factories.post(staff, hood, title="Andere org", organisation="andere-org")
    await _age(here, 2)

    response = await client.get("/o/buurthuis/feed.rss")
    items = _rss_items(response.content)
    assert [i.findtext("guid") for i in items] == [_url(there), _url(here)]
    assert {i.findtext(f"{DC}creator") for i in items} == {"Buurthuis"}
    channel = _parse(response.content).find("channel")
    assert channel is not None and channel.findtext("link") == BASE + "/o/buurthuis"


async def test_feeds_hold_at_most_fifty_posts(
    client: httpx.AsyncClient, author: Account, hood: Neighbourhood
) -> None:
    oldest = await factories.post(author, hood, title="De oudste")
    await _age(oldest, 5)
    for n in range(50):
        await factories.post(author, hood, title=f"Vraag {n}")

    rss = _rss_items((await client.get("/n/dieleghem/feed.rss")).content)
    atom = _atom_entries((await client.get("/n/dieleghem/feed.atom")).content)
    assert len(rss) == len(atom) == 50
    assert "De oudste" not in {i.findtext("title") for i in rss}


@pytest.mark.parametrize("actor", ["/n/nergens", "/o/niemand"])
@pytest.mark.parametrize("path", FEED_PATHS)
async def test_unknown_slug_is_not_found(client: httpx.AsyncClient, actor: str, path: str) -> None:
    response = await client.get(f"{actor}/{path}")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]


async def test_calendar_lists_dated_posts_in_utc(
    client: httpx.AsyncClient, author: Account, hood: Neighbourhood
) -> None:
    brussels = ZoneInfo("Europe/Brussels")
    tomorrow = (utcnow() + timedelta(days=1)).date()
    starts = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 14, 30, tzinfo=brussels)
    title = "Koffie, taart; en een praatje \\ met 🍰 " + "é" * 60
    description = "Lijn een\nLijn twee, met komma; en puntkomma\\"
    timed = await factories.post(
        author,
        hood,
        title=title,
        description=description,
        area_hint="bij de kerk, achteraan",
        private_location=SECRET,
        starts_at=starts,
    )
    await factories.post(
        author,
        hood,
        title="Met einde",
        starts_at=starts + timedelta(days=1),
        ends_at=starts + timedelta(days=1, hours=3),
    )
    await factories.post(author, hood, title="Flexibele vraag")
    await factories.post(
        author, hood, title="Gedateerd maar leden", starts_at=starts, visibility="members"
    )
    await _age(timed, 1)

    response = await client.get("/n/dieleghem/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    body = response.content
    for physical in body.split(b"\r\n"):
        assert len(physical) <= 75
        physical.decode("utf-8")  # folding never splits a character
    lines = _unfold(body)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines
    assert any(line.startswith("PRODID:") for line in lines)
    assert SECRET not in body.decode("utf-8")

    events = _events(body)
    assert [_unescape(e["SUMMARY"]) for e in events] == ["Met einde", title]
    with_end, event = events
    assert _unescape(event["UID"]) == event["URL"] == _url(timed)
    assert event["DTSTART"] == starts.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    one_hour_later = starts.astimezone(UTC) + timedelta(hours=1)
    assert event["DTEND"] == one_hour_later.strftime("%Y%m%dT%H%M%SZ")
    assert with_end["DTEND"] == (starts + timedelta(days=1, hours=3)).astimezone(UTC).strftime(
        "%Y%m%dT%H%M%SZ"
    )
    assert re.match(r"^\d{8}T\d{6}Z$", event["DTSTAMP"])
    assert event["SUMMARY"].startswith("Koffie\\, taart\\; en een praatje \\\\ met")
    assert _unescape(event["DESCRIPTION"]).startswith(description)
    assert "\\n" in event["DESCRIPTION"]
    assert _unescape(event["LOCATION"]) == "Dieleghem, bij de kerk, achteraan"
    summary_line = next(line for line in lines if line.startswith("SUMMARY"))
    assert summary_line.startswith("SUMMARY;LANGUAGE=nl:")


def test_ical_text_escaping_and_folding() -> None:
    assert escape_text("a\\b;c,d\r\ne\rf\ng\x07h\ti") == "a\\\\b\\;c\\,d\\ne\\nf\\ngh\ti"
    for prefix in ("", "x", "xy"):
        line = "SUMMARY:" + prefix + "€🙂é" * 40
        folded = fold(line)
        pieces = folded.encode("utf-8").split(b"\r\n")
        assert len(pieces) > 1
        assert all(len(piece) <= 75 for piece in pieces)
        assert all(piece.startswith(b" ") for piece in pieces[1:])
        assert folded.replace("\r\n ", "") == line
    assert fold("SHORT:line") == "SHORT:line"


def test_feed_links_partial_renders_escaped_alternates() -> None:
    settings = Settings(base_url=BASE)
    env = Renderer(settings, template_dirs=[TEMPLATES_DIR]).environments["nl"]
    template = env.get_template("_feed_links.html")
    links = feed_links(settings, uris.neighbourhood("dieleghem"), 'Die"leghem <b>')
    html = template.render(feeds=links)
    assert (
        '<link rel="alternate" type="application/rss+xml" title="Die&#34;leghem &lt;b&gt; (RSS)"'
        f' href="{BASE}/n/dieleghem/feed.rss">' in html
    )
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Die&#34;leghem &lt;b&gt; (Atom)"'
        f' href="{BASE}/n/dieleghem/feed.atom">' in html
    )
    assert template.render().strip() == ""
    assert template.render(feeds=[]).strip() == ""


def test_feed_uris() -> None:
    assert uris.feed("/o/buurthuis", "atom") == "/o/buurthuis/feed.atom"
    assert uris.calendar("/n/dieleghem") == "/n/dieleghem/calendar.ics"
    with pytest.raises(ValueError, match="no feed format"):
        uris.feed("/n/dieleghem", "json")
    # Feeds are not ActivityPub objects: they name nothing federation should resolve.
    assert uris.parse(Settings(base_url=BASE), BASE + "/n/dieleghem/feed.rss") is None
