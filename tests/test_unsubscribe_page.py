"""How a notification e-mail lets its reader stop: footer, header, page.

The footer says why the e-mail came (the account's settings: immediate mail is the
default, nobody asked for it). The `List-Unsubscribe` header goes out as plain text, so
mail clients offer one-click unsubscribe (RFC 8058). The link is opened in whatever
browser is at hand (a shared computer, a relative's phone): the page belongs to the
account the link names, so it is in that account's first language the node speaks, as
the e-mail was. Without a valid token there is no account, and the refusal is in the
browser's language.
"""

from __future__ import annotations

from dataclasses import replace

from node.config import Settings
from node.mail_sender import send_once
from node.services import mail_notifications, unsubscribe
from node.timeutil import utcnow
from tests import factories
from tests.smtp_server import SmtpTestServer, mail_settings
from tests.webclient import browser

BASE = "https://buren.example"
FORM = {"content-type": "application/x-www-form-urlencoded"}
DUTCH = {"accept-language": "nl"}


async def test_a_french_accounts_link_opened_in_a_dutch_browser_is_in_french(
    database: str, smtp_server: SmtpTestServer
) -> None:
    await factories.node_row("Buren Jette")
    settings = mail_settings(Settings(database_url=database, base_url=BASE), smtp_server)
    claire = await factories.account("claire", email="claire@example.org", languages=("fr", "nl"))
    path = (await unsubscribe.link(settings, claire)).removeprefix(BASE)
    async with browser(
        database, base_url=BASE, smtp_url=settings.smtp_url, mail_from=settings.mail_from
    ) as client:
        client.log_out_locally()
        page = await client.http.get(path, headers=DUTCH)
        assert page.status_code == 200
        assert '<html lang="fr">' in page.text
        assert "Arrêter toutes les notifications par e-mail de Buren Jette" in page.text
        assert "stopzetten" not in page.text
        done = await client.http.post(
            path, content="List-Unsubscribe=One-Click", headers=FORM | DUTCH
        )
        assert done.status_code == 200 and '<html lang="fr">' in done.text

        # A bad link names no account: the browser's language.
        bad = await client.http.get(path + "x", headers=DUTCH)
        assert bad.status_code == 400 and '<html lang="nl">' in bad.text


async def test_a_language_the_node_does_not_speak_falls_back_to_the_next_then_the_browser(
    database: str, smtp_server: SmtpTestServer
) -> None:
    await factories.node_row("Buren Jette")
    settings = mail_settings(Settings(database_url=database, base_url=BASE), smtp_server)
    settings = replace(settings, languages=("nl", "en"))
    both = await factories.account("dirk", email="dirk@example.org", languages=("fr", "en"))
    none = await factories.account("elif", email="elif@example.org", languages=("fr",))
    async with browser(
        database,
        base_url=BASE,
        smtp_url=settings.smtp_url,
        mail_from=settings.mail_from,
        languages=settings.languages,
    ) as client:
        client.log_out_locally()
        english = await client.http.get(
            (await unsubscribe.link(settings, both)).removeprefix(BASE), headers=DUTCH
        )
        assert english.status_code == 200 and '<html lang="en">' in english.text
        dutch = await client.http.get(
            (await unsubscribe.link(settings, none)).removeprefix(BASE), headers=DUTCH
        )
        assert dutch.status_code == 200 and '<html lang="nl">' in dutch.text


async def test_the_footer_says_why_and_the_header_offers_one_click(
    database: str, smtp_server: SmtpTestServer
) -> None:
    await factories.node_row("Buren Jette")
    settings = mail_settings(Settings(database_url=database, base_url=BASE), smtp_server)
    hood = await factories.neighbourhood()
    anna = await factories.account("anna", email="anna@example.org", languages=("en",))
    anna.email_confirmed_at = utcnow()
    await anna.save()
    await factories.offer(await factories.post(anna, hood))
    assert await mail_notifications.send_due(settings) == 1
    assert await send_once(settings) == 1
    [message] = await smtp_server.wait_for(1)
    why = "You receive this e-mail because of your notification settings on Buren Jette."
    for subtype in ("plain", "html"):
        part = message.get_body((subtype,))
        assert part is not None and why in part.get_content()
        assert "because you asked" not in part.get_content()
    # The header as it went over the wire: the URL itself, no RFC 2047 encoded word.
    link = await unsubscribe.link(settings, anna)
    head = smtp_server.raw[0].split(b"\r\n\r\n", 1)[0]
    assert f"List-Unsubscribe: <{link}>".encode() in head.split(b"\r\n")
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in head.split(b"\r\n")
