"""Notification e-mail: at once, in a daily digest, and one-click unsubscribe.

Real SMTP (the aiosmtpd `smtp_server` fixture) and the real sender (`send_once`); the
unsubscribe page over the app's own HTTP stack, without cookies or CSRF token, as a
mail client sends it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from node.app import periodic_jobs
from node.config import Settings
from node.i18n import gettext
from node.mail_sender import send_once
from node.models import (
    Account,
    HelpPost,
    MailFrequency,
    MailKind,
    MailMessage,
    Neighbourhood,
    Notification,
    NotificationKind,
)
from node.services import (
    conversations,
    follows,
    mail_digest,
    mail_notifications,
    responses,
    unsubscribe,
)
from node.states import MailStatus
from node.timeutil import utcnow
from tests import factories
from tests.smtp_server import SmtpTestServer, mail_settings
from tests.webclient import Browser, browser

BASE = "https://buren.example"
FORM = {"content-type": "application/x-www-form-urlencoded"}
ONE_CLICK = "List-Unsubscribe=One-Click"


async def _setup(database: str, smtp_server: SmtpTestServer) -> Settings:
    await factories.node_row("Buren Jette")
    return mail_settings(Settings(database_url=database, base_url=BASE), smtp_server)


async def _person(
    name: str,
    language: str = "nl",
    frequency: MailFrequency = MailFrequency.IMMEDIATE,
    *,
    confirmed: bool = True,
    new_requests: bool = False,
    hood: Neighbourhood | None = None,
) -> Account:
    account = await factories.account(
        name, email=f"{name}@example.org", languages=(language,), home_neighbourhood=hood
    )
    account.email_confirmed_at = utcnow() if confirmed else None
    account.mail_frequency = frequency
    account.mail_new_requests = new_requests
    await account.save()
    return account


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None, "both a text and an HTML part"
    # Lines end in CRLF on the wire; compare with plain newlines.
    return text.get_content().replace("\r\n", "\n"), html.get_content()


def _to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if address in str(m["To"])]


async def test_an_offer_is_mailed_at_once_in_the_readers_language_and_only_once(
    database: str, smtp_server: SmtpTestServer
) -> None:
    settings = await _setup(database, smtp_server)
    hood = await factories.neighbourhood()
    anna = await _person("anna", "nl")
    claire = await _person("claire", "fr")
    helper = await factories.account("helga")
    nl_post = await factories.post(anna, hood, private_location="Kerkstraat 12")
    fr_post = await factories.post(
        claire, hood, title="Courses <b>& co</b>", language="fr", description="Merci"
    )
    await factories.offer(nl_post, helper)
    await factories.offer(fr_post, helper)

    assert await mail_notifications.send_due(settings) == 2
    assert await mail_notifications.send_due(settings) == 0  # never twice
    assert await send_once(settings) == 2
    messages = await smtp_server.wait_for(2)
    assert await send_once(settings) == 0
    assert len(smtp_server.messages) == 2

    [to_anna] = _to(messages, "anna@example.org")
    [to_claire] = _to(messages, "claire@example.org")
    for message, post, language in ((to_anna, nl_post, "nl"), (to_claire, fr_post, "fr")):
        text, html = _parts(message)
        assert f'<html lang="{language}">' in html
        assert post.title in str(message["Subject"]) and post.title in text
        assert "Helga" in text and "Ik kan helpen" in text  # who offered, and their words
        assert f"{BASE}/r/{post.id}" in text and f'href="{BASE}/r/{post.id}"' in html
        assert f"{BASE}/settings" in text
        link = str(message["List-Unsubscribe"]).strip("<>")
        assert link.startswith(f"{BASE}/email/unsubscribe/") and link in text
        assert message["List-Unsubscribe-Post"] == ONE_CLICK
        assert "Kerkstraat" not in text and "Kerkstraat" not in html  # private address
    # Plain text says a title as it is; HTML escapes it.
    assert "Courses <b>& co</b>" in _parts(to_claire)[0]
    assert "Courses &lt;b&gt;&amp; co&lt;/b&gt;" in _parts(to_claire)[1]
    assert "<b>" not in _parts(to_claire)[1]
    rows = await MailMessage.filter(kind=MailKind.NOTIFY).order_by("id")
    assert [(r.to_address, r.language) for r in rows] == [
        ("anna@example.org", "nl"),
        ("claire@example.org", "fr"),
    ]
    assert not await Notification.filter(emailed_at=None).exists()


async def test_accepted_and_declined_offers_are_told_in_dutch_and_french(
    database: str, smtp_server: SmtpTestServer
) -> None:
    settings = await _setup(database, smtp_server)
    hood = await factories.neighbourhood()
    author = await factories.account("anna")
    post = await factories.post(author, hood, helpers_needed=2)
    jan = await _person("jan", "nl")
    julie = await _person("julie", "fr")
    await responses.accept_helper(author, await factories.offer(post, jan))
    await responses.decline_helper(author, await factories.offer(post, julie))

    assert await mail_notifications.send_due(settings) == 2
    await send_once(settings)
    messages = await smtp_server.wait_for(2)
    jan_text, _ = _parts(_to(messages, "jan@example.org")[0])
    julie_text, _ = _parts(_to(messages, "julie@example.org")[0])
    accepted = gettext("nl", "%(who)s accepted your offer of help for “%(title)s”.")
    declined = gettext("fr", "Your offer of help for “%(title)s” was declined.")
    assert accepted % {"who": "Anna", "title": post.title} in jan_text
    assert declined % {"title": post.title} in julie_text
    assert "aanvaard" in jan_text and "refusée" in julie_text


async def test_no_mail_without_a_confirmed_address_or_with_none_chosen(
    database: str, smtp_server: SmtpTestServer
) -> None:
    settings = await _setup(database, smtp_server)
    hood = await factories.neighbourhood()
    unconfirmed = await _person("bert", confirmed=False)
    quiet = await _person("carla", frequency=MailFrequency.NONE)
    comments = await _person("dirk")
    for author in (unconfirmed, quiet):
        await factories.offer(await factories.post(author, hood))
    commented = await factories.post(comments, hood)
    await responses.add_comment(await factories.account(), commented, "Waar precies?")

    assert await mail_notifications.send_due(settings) == 0
    assert not await MailMessage.exists()
    # Decided on all the same: confirming later or switching on does not send old news.
    assert await Notification.filter(emailed_at=None).count() == 0
    unconfirmed.email_confirmed_at = utcnow()
    await unconfirmed.save()
    assert await mail_notifications.send_due(settings) == 0
    assert await send_once(settings) == 0 and smtp_server.messages == []


async def test_daily_sends_one_digest_with_notifications_and_new_requests(
    database: str, smtp_server: SmtpTestServer
) -> None:
    settings = await _setup(database, smtp_server)
    home, other = await factories.neighbourhood(), await factories.neighbourhood()
    dora = await _person("dora", "nl", MailFrequency.DAILY, new_requests=True)
    await follows.follow(dora, other)
    neighbour = await factories.account("nele")
    mine = await factories.post(dora, home, title="Mijn zetel wegbrengen")
    await factories.offer(mine, neighbour)  # an offer on my request
    theirs = await factories.post(neighbour, home, title="Soep koken voor Mia")
    await responses.accept_helper(neighbour, await factories.offer(theirs, dora))
    new = await factories.post(neighbour, other, title="Boodschappen voor Jef")
    own = await factories.post(dora, other, title="Eigen vraag van Dora")
    await factories.post(neighbour, home, title="Niet gevolgde buurt")

    assert await mail_notifications.send_due(settings) == 0  # nothing one by one
    assert await mail_digest.send_digests(settings) == 1
    assert await mail_digest.send_digests(settings) == 0  # once in 24 hours
    await send_once(settings)
    [message] = await smtp_server.wait_for(1)
    text, html = _parts(message)
    assert '<html lang="nl">' in html
    assert message["List-Unsubscribe-Post"] == ONE_CLICK
    assert "Nele" in text and mine.title in text  # the offer on my request
    assert theirs.title in text  # my offer accepted
    assert new.title in text and f"{BASE}/r/{new.id}" in html
    assert own.title not in text  # not my own request
    assert "Niet gevolgde buurt" not in text  # a neighbourhood dora does not follow
    assert await Notification.filter(recipient=dora, emailed_at=None).count() == 0

    # A new notification waits for tomorrow's digest.
    await factories.offer(mine, await factories.account())
    assert await mail_notifications.send_due(settings) == 0
    assert await mail_digest.send_digests(settings) == 0
    tomorrow = utcnow() + timedelta(hours=24, minutes=1)
    assert await mail_digest.send_digests(settings, now=tomorrow) == 1
    # The day after, with nothing new: nothing sent.
    assert await mail_digest.send_digests(settings, now=tomorrow + timedelta(hours=25)) == 0
    assert await MailMessage.filter(kind=MailKind.DIGEST).count() == 2


async def test_one_click_unsubscribe_without_cookies_turns_everything_off(
    database: str, smtp_server: SmtpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = await _setup(database, smtp_server)
    hood = await factories.neighbourhood()
    eva = await _person("eva", "en", new_requests=True, hood=hood)
    post = await factories.post(eva, hood)
    await factories.offer(post)
    assert await mail_notifications.send_due(settings) == 1  # queued, not yet sent
    link = await unsubscribe.link(settings, eva)
    path = link.removeprefix(BASE)
    caplog.set_level(logging.INFO)

    async with browser(database, base_url=BASE, smtp_url=settings.smtp_url,
                       mail_from=settings.mail_from) as client:  # fmt: skip
        page = await client.get(path)
        assert page.status_code == 200
        assert "Stop all e-mail notifications from Buren Jette" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert (await Account.get(id=eva.id)).mail_frequency == MailFrequency.IMMEDIATE

        client.log_out_locally()  # a mail client: no session, no CSRF seed
        answer = await client.http.post(path, content=ONE_CLICK, headers=FORM)
        assert answer.status_code == 200
        assert "no more e-mail notifications" in answer.text
        again = await client.http.post(path, content=ONE_CLICK, headers=FORM)
        assert again.status_code == 200  # a second click is harmless

    token = path.rsplit("/", 1)[1]
    logged = "\n".join(  # the node's log lines, not the test's HTTP client's
        record.getMessage() for record in caplog.records if record.name.startswith("nabuur")
    )
    assert "/email/unsubscribe/…" in logged and token not in logged  # no secret in logs
    eva = await Account.get(id=eva.id)
    assert eva.mail_frequency == MailFrequency.NONE and eva.mail_new_requests is False
    [queued] = await MailMessage.all()
    assert queued.status == MailStatus.CANCELLED
    assert await send_once(settings) == 0
    await factories.offer(post)
    await factories.post(await factories.account(), hood, title="Nog een vraag")
    assert await mail_notifications.send_due(settings) == 0
    assert await mail_digest.send_digests(settings) == 0
    assert smtp_server.messages == []


@pytest.mark.parametrize("kind", ["tampered", "address changed"])
async def test_a_bad_unsubscribe_link_answers_400_and_changes_nothing(
    database: str, smtp_server: SmtpTestServer, kind: str
) -> None:
    settings = await _setup(database, smtp_server)
    fien = await _person("fien", new_requests=True)
    other = await _person("gert")
    token = await unsubscribe.token(settings, fien)
    if kind == "tampered":
        account_id, mac = token.split(".")
        bad = [
            f"{account_id}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",
            f"{other.id}.{mac}",  # another account's id with fien's MAC
            f"{account_id}.",
            "x.y",
            f"{account_id}.{mac}{'A' * 100}",
            f"{account_id}.{mac[:-1]}é",
        ]
    else:
        fien.email = "fien.nieuw@example.org"
        await fien.save()
        bad = [token]
    async with browser(database, base_url=BASE) as client:
        for value in bad:
            for method in ("GET", "POST"):
                answer = await client.http.request(
                    method, f"/email/unsubscribe/{value}", content=ONE_CLICK, headers=FORM
                )
                assert answer.status_code == 400, (value, method)
                assert "This link does not work" in answer.text
    for account in (await Account.get(id=fien.id), await Account.get(id=other.id)):
        assert account.mail_frequency == MailFrequency.IMMEDIATE
    assert (await Account.get(id=fien.id)).mail_new_requests is True
    if kind == "address changed":  # the new address has its own, working link
        fresh = await unsubscribe.token(settings, await Account.get(id=fien.id))
        assert fresh != token and await unsubscribe.apply(settings, fresh) is not None


async def test_with_mail_disabled_the_jobs_do_nothing_and_store_nothing(
    database: str, smtp_server: SmtpTestServer
) -> None:
    settings = await _setup(database, smtp_server)
    disabled = replace(settings, smtp_url=None, mail_from=None)
    hood = await factories.neighbourhood()
    hana = await _person("hana", frequency=MailFrequency.DAILY, new_requests=True, hood=hood)
    iris = await _person("iris")
    await factories.offer(await factories.post(hana, hood))
    await factories.offer(await factories.post(iris, hood))
    await factories.post(await factories.account(), hood)

    assert await mail_notifications.send_due(disabled) == 0
    assert await mail_digest.send_digests(disabled) == 0
    assert not await MailMessage.exists()
    assert await Notification.filter(emailed_at__isnull=False).count() == 0
    assert (await Account.get(id=hana.id)).mail_digest_at is None
    # Both jobs run with the node's other periodic work.
    names = {job.name for job in periodic_jobs(disabled)}
    assert {"mail-notifications", "mail-digests"} <= names


async def test_message_and_thanks_kinds_are_worded_and_others_are_not_mailed(
    database: str, smtp_server: SmtpTestServer
) -> None:
    """The new kinds render (whoever creates them); follows and moderation stay in the web."""
    settings = await _setup(database, smtp_server)
    hood = await factories.neighbourhood()
    kim = await _person("kim", "en")
    author = await factories.account("lotte")
    post = await factories.post(author, hood)
    await responses.accept_helper(author, await factories.offer(post, kim))
    await Notification.filter(recipient=kim).update(emailed_at=utcnow())
    for kind in (NotificationKind.NOT_NEEDED, NotificationKind.THANKED, NotificationKind.FOLLOW):
        await Notification.create(recipient=kim, kind=kind, actor=author, post=post)
    await conversations.post_message(author, post, "Ik ben er om 10 uur.\nBel maar aan.")
    assert await mail_notifications.send_due(settings) == 3
    await send_once(settings)
    messages = await smtp_server.wait_for(3)
    subjects = sorted(str(m["Subject"]) for m in messages)
    assert subjects == [
        f"Lotte thanks you for your help with “{post.title}”",
        f"New message about “{post.title}”",
        f"Your help with “{post.title}” is no longer needed",
    ]
    [message] = [m for m in messages if str(m["Subject"]).startswith("New message")]
    text, _ = _parts(message)
    assert "> Ik ben er om 10 uur.\n> Bel maar aan." in text  # the reader takes part
    assert f"{BASE}/r/{post.id}/conversation" in text


@pytest.fixture
async def web(database: str, smtp_server: SmtpTestServer) -> AsyncIterator[Browser]:
    await factories.node_row("Buren Jette")
    async with browser(database, base_url=BASE, page_cache_seconds=0) as client:
        yield client


@hypothesis_settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=st.one_of(
        st.text(max_size=90),
        st.sampled_from(["", ".", "1.", "1.x", "0." + "A" * 43, "%00", "../..", "9" * 40 + ".a"]),
    )
)
async def test_arbitrary_unsubscribe_tokens_are_refused_and_change_nothing(
    web: Browser, text: str
) -> None:
    await Account.get_or_none(username="olga") or await _person("olga", new_requests=True)
    before = await Account.all().values_list("id", "mail_frequency", "mail_new_requests")
    path = f"/email/unsubscribe/{quote(text, safe='') or 'x'}"
    web.log_out_locally()
    for method in ("GET", "POST"):
        answer = await web.http.request(method, path, content=ONE_CLICK, headers=FORM)
        # "…/0%2F" is "…/0/" to the router: a redirect to "…/0", which answers 400.
        slash = 307 if path.endswith("%2F") else 400
        assert answer.status_code in (400, 404, slash), (path, method, answer.status_code)
    after = await Account.all().values_list("id", "mail_frequency", "mail_new_requests")
    assert after == before


@pytest.mark.parametrize("account_part", ["99999999999", "2147483648", "9223372036854775808"])
async def test_an_unsubscribe_token_naming_an_impossible_account_id_is_a_400(
    web: Browser, account_part: str
) -> None:
    """An id no account can have (over PostgreSQL's integer) is a bad link, not a 500."""
    olga = await _person("olga", new_requests=True)
    web.log_out_locally()
    path = f"/email/unsubscribe/{account_part}.{'A' * 43}"
    for method in ("GET", "POST"):
        answer = await web.http.request(method, path, content=ONE_CLICK, headers=FORM)
        assert answer.status_code == 400, (method, answer.status_code)
    fresh = await Account.get(id=olga.id)
    assert fresh.mail_frequency == MailFrequency.IMMEDIATE and fresh.mail_new_requests


async def test_mail_is_in_the_first_language_of_the_reader_that_the_node_speaks(
    database: str, smtp_server: SmtpTestServer
) -> None:
    """English first, French second, on a Dutch and French node: French, as their pages
    and their confirmation mail are (not the node's default, Dutch)."""
    settings = replace(await _setup(database, smtp_server), languages=("nl", "fr"))
    hood = await factories.neighbourhood()
    author = await factories.account("anna")
    post = await factories.post(author, hood, helpers_needed=2)
    chloe = await _person("chloe", "en")
    chloe.languages_csv = "en,fr"
    await chloe.save()
    await responses.accept_helper(author, await factories.offer(post, chloe))

    assert await mail_notifications.send_due(settings) == 1
    row = await MailMessage.get(kind=MailKind.NOTIFY)
    assert row.language == "fr"
    assert "acceptée" in row.text_body or "accepté" in row.text_body


async def test_the_digest_keeps_its_time_of_day_and_lists_each_request_once(
    database: str, smtp_server: SmtpTestServer
) -> None:
    """The job runs every ten minutes: a digest it makes 7 minutes late still counts from
    the usual time, so tomorrow's is not 7 minutes later again (and so on, every day); a
    request published in those 7 minutes is in the next digest, once."""
    settings = await _setup(database, smtp_server)
    hood = await factories.neighbourhood()
    dora = await _person("dora", "nl", MailFrequency.DAILY, new_requests=True, hood=hood)
    usual = utcnow().replace(microsecond=0) - timedelta(days=3)
    await Account.filter(id=dora.id).update(mail_digest_at=usual)
    late = usual + mail_digest.PERIOD + timedelta(minutes=7)
    neighbour = await factories.account("nele")
    meanwhile = await factories.post(neighbour, hood, title="Soep voor Mia")
    await HelpPost.filter(id=meanwhile.id).update(created_at=late - timedelta(minutes=3))

    # Published after the usual time: in tomorrow's digest, so nothing today.
    assert await mail_digest.send_digests(settings, now=late) == 0
    fresh = await Account.get(id=dora.id)
    assert fresh.mail_digest_at == usual + mail_digest.PERIOD
    next_day = usual + 2 * mail_digest.PERIOD + timedelta(minutes=2)
    assert await mail_digest.send_digests(settings, now=next_day) == 1
    [row] = await MailMessage.filter(kind=MailKind.DIGEST)
    assert row.text_body.count("Soep voor Mia") == 1
    assert (await Account.get(id=dora.id)).mail_digest_at == usual + 2 * mail_digest.PERIOD
    # After a long pause (the node was off), the next digest counts from when it is made.
    much_later = next_day + 3 * mail_digest.PERIOD
    await mail_digest.send_digests(settings, now=much_later)
    assert (await Account.get(id=dora.id)).mail_digest_at == much_later
