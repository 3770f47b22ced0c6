"""Account e-mail: the address at sign-up and in settings, its confirmation link, and
setting a new password with a mailed link.

Real SMTP (the aiosmtpd `smtp_server` fixture), the real sender (`send_once`), and the
pages over the app's own HTTP stack, on both databases.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node import validation
from node.app import periodic_jobs
from node.config import Settings
from node.errors import InvalidInput
from node.mail_compose import compose
from node.mail_sender import send_once
from node.models import Account, EmailToken, MailKind, MailMessage, RateEvent, Session, TokenPurpose
from node.passwords import hash_password, verify_password
from node.services import email_addresses, email_tokens, password_reset, sessions
from node.states import MailStatus
from node.timeutil import utcnow
from tests import factories
from tests.smtp_server import MAIL_FROM, SmtpTestServer
from tests.webclient import Browser, browser
from web.shell.session import SESSION_COOKIE

BASE = "http://testserver"  # the test browser follows the links as mailed
PASSWORD = "a long enough password"
NEW_PASSWORD = "another long password"
LINK = re.compile(re.escape(BASE) + r"(/(?:email/confirm|password/reset)/[A-Za-z0-9_-]+)")


def _settings(database: str, smtp_server: SmtpTestServer) -> Settings:
    return Settings(
        database_url=database,
        base_url=BASE,
        signups="open",
        smtp_url=smtp_server.url,
        mail_from=MAIL_FROM,
    )


@pytest.fixture
async def node(database: str, smtp_server: SmtpTestServer) -> AsyncIterator[Browser]:
    await factories.node_row("Buren Jette")
    settings = _settings(database, smtp_server)
    async with browser(
        database,
        base_url=BASE,
        signups="open",
        smtp_url=settings.smtp_url,
        mail_from=MAIL_FROM,
        page_cache_seconds=0,
    ) as web:
        yield web


def _node_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the node logged (not the test's HTTP client nor its SMTP server)."""
    return "\n".join(
        f"{record.getMessage()} {record.__dict__}"
        for record in caplog.records
        if not record.name.startswith(("httpx", "mail.log"))
    )


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()


def _html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return part.get_content()


def _link(message: EmailMessage) -> str:
    found = LINK.search(_text(message))
    assert found, _text(message)
    assert found.group(1) in _html(message)
    return found.group(1)


async def _deliver(settings: Settings, smtp_server: SmtpTestServer, n: int) -> EmailMessage:
    await send_once(settings)
    return (await smtp_server.wait_for(n))[n - 1]


async def _person(name: str, *, confirmed: bool = True, password: bool = True) -> Account:
    account = await factories.account(name, email=f"{name}@example.org", languages=("fr", "nl"))
    account.email_confirmed_at = utcnow() if confirmed else None
    if password:
        account.password_hash = await hash_password(PASSWORD)
    await account.save()
    return account


async def test_signup_with_an_address_sends_a_confirmation_that_its_link_confirms(
    node: Browser, database: str, smtp_server: SmtpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = _settings(database, smtp_server)
    form = await node.get("/signup")
    assert 'name="email"' in form.text and 'type="email"' in form.text
    response = await node.submit(
        "/signup",
        {
            "display_name": "Amélie",
            "username": "amelie",
            "password": PASSWORD,
            "language": "fr",
            "email": " Amelie@Example.ORG ",
        },
        page="/signup",
    )
    assert response.status_code == 303, response.text
    account = await Account.get(username="amelie")
    assert account.email == "amelie@example.org" and account.email_confirmed_at is None

    message = await _deliver(settings, smtp_server, 1)
    assert message["To"] == "amelie@example.org"
    row = await MailMessage.get(kind=MailKind.CONFIRM)
    assert row.language == "fr" and row.account_id == account.id
    assert '<html lang="fr">' in _html(message)
    assert "48" in _text(message) and "Buren Jette" in _text(message)
    link = _link(message)
    secret = link.rsplit("/", 1)[1]
    # Only the hash is stored.
    assert not await EmailToken.filter(token_hash=secret).exists()
    assert await EmailToken.filter(token_hash=email_tokens.digest(secret)).exists()

    # Opening the link (as a mail filter does) only shows a button.
    page = await node.get(link)
    assert page.status_code == 200 and "amelie@example.org" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    await account.refresh_from_db()
    assert account.email_confirmed_at is None
    done = await node.submit(link, {}, page=link)
    assert done.status_code == 200
    await account.refresh_from_db()
    assert account.email_confirmed_at is not None

    # A second use is refused, clearly, and changes nothing.
    again = await node.get(link)
    assert again.status_code == 410 and "déjà été utilisé" in again.text  # she reads French
    node.http.cookies.clear()
    token = await node.token("/login")
    replay = await node.http.post(
        link,
        content=f"csrf_token={token}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert replay.status_code == 410
    # The secret is in no log line of the node (the request log shows the path without it).
    assert secret not in _node_log(caplog)
    assert "/email/confirm/…" in _node_log(caplog)


WELCOME_SENT = "Welcome! We sent a link to {}: open it to confirm your address."


async def test_the_page_after_signup_says_where_the_link_went(
    node: Browser, database: str, smtp_server: SmtpTestServer
) -> None:
    fields = {"display_name": "Ben", "password": PASSWORD, "language": "en"}
    response = await node.submit(
        "/signup", {**fields, "username": "ben", "email": "Ben@Example.org"}, page="/signup"
    )
    assert response.status_code == 303 and response.headers["location"] == "/?welcome=1"
    home = await node.get(response.headers["location"])
    assert home.status_code == 200 and "no-cache" in home.headers["cache-control"]
    assert re.search(
        r'<p class="notice" role="status">\s*' + re.escape(WELCOME_SENT.format("ben@example.org")),
        home.text,
    )
    assert "Welcome!" not in (await node.get("/")).text  # only just after sign-up
    await Account.filter(username="ben").update(email_confirmed_at=utcnow())
    confirmed = await node.get("/?welcome=1")
    assert "Welcome!" in confirmed.text and "We sent a link" not in confirmed.text

    # Another account's address: the same words as for a free one (no one learns whose
    # address it is), and no address at all: a plain welcome.
    await _person("nina", password=False)
    node.log_out_locally()
    taken = await node.submit(
        "/signup", {**fields, "username": "mia", "email": "NINA@example.org"}, page="/signup"
    )
    assert taken.status_code == 303
    assert WELCOME_SENT.format("nina@example.org") in (await node.get("/?welcome=1")).text
    node.log_out_locally()
    plain = await node.submit("/signup", {**fields, "username": "otto"}, page="/signup")
    assert plain.status_code == 303
    page = await node.get("/?welcome=1")
    assert "Welcome!" in page.text and "We sent a link" not in page.text
    node.log_out_locally()  # an anonymous visitor is not welcomed
    assert "Welcome!" not in (await node.get("/?welcome=1")).text


async def test_an_expired_or_unknown_confirmation_link_is_refused(
    node: Browser, database: str, smtp_server: SmtpTestServer
) -> None:
    settings = _settings(database, smtp_server)
    account = await _person("bea", confirmed=False, password=False)
    assert await email_addresses.send_confirmation(settings, account)
    link = _link(await _deliver(settings, smtp_server, 1))
    await EmailToken.filter(account_id=account.id).update(
        expires_at=utcnow() - timedelta(seconds=1)
    )
    page = await node.get(link)
    assert page.status_code == 410 and "expired" in page.text
    assert (await node.submit(link, {}, page="/login")).status_code == 410
    for wrong in (
        link[:-1] + ("A" if link[-1] != "A" else "B"),
        "/email/confirm/x",
        "/email/confirm/%00",
    ):
        response = await node.get(wrong)
        assert response.status_code == 400, wrong
        assert "not valid" in response.text
    await account.refresh_from_db()
    assert account.email_confirmed_at is None


async def test_a_link_for_an_old_address_confirms_nothing(
    node: Browser, database: str, smtp_server: SmtpTestServer
) -> None:
    settings = _settings(database, smtp_server)
    account = await _person("carl", confirmed=False, password=False)
    await email_addresses.send_confirmation(settings, account)
    old_link = _link(await _deliver(settings, smtp_server, 1))
    assert await email_addresses.set_email(settings, account, "carl@new.example") == "sent"
    new = await _deliver(settings, smtp_server, 2)
    assert new["To"] == "carl@new.example"
    assert (await node.get(old_link)).status_code == 400
    assert (await node.submit(old_link, {}, page="/login")).status_code == 400
    await account.refresh_from_db()
    assert account.email_confirmed_at is None
    assert (await node.submit(_link(new), {}, page="/login")).status_code == 200
    await account.refresh_from_db()
    assert account.email_confirmed_at is not None


async def test_changing_the_address_unconfirms_it_and_cancels_queued_mail(
    node: Browser, database: str, smtp_server: SmtpTestServer
) -> None:
    account = await _person("dora", password=False)
    account.languages_csv = "en"  # the page's sentences are checked in English
    await account.save(update_fields=["languages_csv"])
    queued = await MailMessage.create(
        account=account,
        to_address=account.email,
        kind=MailKind.NOTIFY,
        language="fr",
        subject="s",
        text_body="t",
        html_body="h",
        message_id="<x@buren.example>",
        next_attempt_at=utcnow(),
    )
    await node.log_in_as(account)
    settings_page = await node.get("/settings")
    assert "dora@example.org is confirmed." in settings_page.text
    response = await node.submit("/settings/email", {"email": "dora@new.example"}, page="/settings")
    assert response.status_code == 303
    await account.refresh_from_db()
    assert account.email == "dora@new.example" and account.email_confirmed_at is None
    await queued.refresh_from_db()
    assert queued.status == MailStatus.CANCELLED
    page = await node.get("/settings?changed=email")
    assert "not confirmed yet" in page.text and "/settings/email/resend" in page.text

    # Malformed: 400, nothing changed.
    for bad in ("not an address", "a@b", "x" * 300 + "@example.org"):
        refused = await node.submit("/settings/email", {"email": bad}, page="/settings")
        assert refused.status_code == 400, bad
        await account.refresh_from_db()
        assert account.email == "dora@new.example"
    # Another account's (in any case): answered as a free one, but nothing changed
    # (tests/test_email_enumeration.py has the rest).
    await _person("erik", password=False)
    taken = await node.submit("/settings/email", {"email": "ERIK@example.org"}, page="/settings")
    assert taken.status_code == 303 and taken.headers["location"] == "/settings?changed=email"
    await account.refresh_from_db()
    assert account.email == "dora@new.example"

    removed = await node.submit("/settings/email", {"remove": "1"}, page="/settings")
    assert removed.status_code == 303
    await account.refresh_from_db()
    assert account.email is None


async def test_preferences_are_saved_and_bad_values_change_nothing(
    node: Browser, database: str, smtp_server: SmtpTestServer
) -> None:
    account = await _person("fien", password=False)
    await node.log_in_as(account)
    page = await node.get("/settings")
    for name in ('name="mail_frequency"', 'name="mail_new_requests"', 'name="show_helped"'):
        assert name in page.text
    ok = await node.submit(
        "/settings/preferences",
        {"mail_frequency": "daily", "mail_new_requests": "1", "show_helped": "1"},
        page="/settings",
    )
    assert ok.status_code == 303
    await account.refresh_from_db()
    assert (account.mail_frequency, account.mail_new_requests, account.show_helped) == (
        "daily",
        True,
        True,
    )
    bad = await node.submit(
        "/settings/preferences",
        {"mail_frequency": "hourly", "mail_new_requests": "", "show_helped": "maybe"},
        page="/settings",
    )
    assert bad.status_code == 400
    assert 'id="mail_frequency-error"' in bad.text and 'id="show_helped-error"' in bad.text
    await account.refresh_from_db()
    assert (account.mail_frequency, account.mail_new_requests, account.show_helped) == (
        "daily",
        True,
        True,
    )
    # Unticked boxes are off.
    off = await node.submit("/settings/preferences", {"mail_frequency": "none"}, page="/settings")
    assert off.status_code == 303
    await account.refresh_from_db()
    assert (account.mail_frequency, account.mail_new_requests, account.show_helped) == (
        "none",
        False,
        False,
    )


async def test_password_reset_answers_the_same_and_its_link_works_once(
    node: Browser, database: str, smtp_server: SmtpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = _settings(database, smtp_server)
    account = await _person("gerd")
    phone = await sessions.start_session(account)
    login = await node.get("/login")
    assert f'href="{"/password/reset"}"' in login.text and "Forgot your password?" in login.text

    known = await node.submit("/password/reset", {"email": "GERD@example.org"}, page="/login")
    unknown = await node.submit("/password/reset", {"email": "nobody@example.org"}, page="/login")
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert "If an account has this address, we sent a link to it." in known.text

    message = await _deliver(settings, smtp_server, 1)
    assert message["To"] == "gerd@example.org"
    assert "60" in _text(message)
    link = _link(message)
    secret = link.rsplit("/", 1)[1]
    assert len(smtp_server.messages) == 1  # nothing went to the unknown address

    page = await node.get(link)
    assert page.status_code == 200 and "@gerd" in page.text
    differ = await node.submit(
        link, {"new_password": NEW_PASSWORD, "repeat_password": "x" + NEW_PASSWORD}, page=link
    )
    short = await node.submit(
        link, {"new_password": "short", "repeat_password": "short"}, page=link
    )
    assert differ.status_code == short.status_code == 400
    done = await node.submit(
        link, {"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}, page=link
    )
    assert done.status_code == 303 and SESSION_COOKIE in done.cookies
    await account.refresh_from_db()
    assert await verify_password(account.password_hash, NEW_PASSWORD)
    # Every earlier session ended; only the new one (this browser) is left.
    assert await sessions.account_for(phone) is None
    assert await Session.filter(account_id=account.id).count() == 1
    again = await node.get(link)
    assert again.status_code == 410
    used = await node.submit(
        link, {"new_password": PASSWORD, "repeat_password": PASSWORD}, page="/login"
    )
    assert used.status_code == 410
    await account.refresh_from_db()
    assert await verify_password(account.password_hash, NEW_PASSWORD)
    assert secret not in _node_log(caplog) and "/password/reset/…" in _node_log(caplog)


async def test_a_reset_link_expires_after_an_hour_and_a_newer_one_replaces_it(
    node: Browser, database: str, smtp_server: SmtpTestServer
) -> None:
    settings = _settings(database, smtp_server)
    account = await _person("hans")
    await password_reset.request(settings, "hans@example.org", "198.51.100.9")
    first = _link(await _deliver(settings, smtp_server, 1))
    token = await EmailToken.get(account_id=account.id, purpose=TokenPurpose.RESET)
    lifetime = token.expires_at - token.created_at
    assert timedelta(minutes=59) < lifetime <= timedelta(hours=1)
    await EmailToken.filter(id=token.id).update(expires_at=utcnow() - timedelta(seconds=1))
    expired = await node.submit(
        first, {"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}, page="/login"
    )
    assert expired.status_code == 410 and "expired" in expired.text

    await password_reset.request(settings, "hans@example.org", "198.51.100.9")
    second = _link(await _deliver(settings, smtp_server, 2))
    await password_reset.request(settings, "hans@example.org", "198.51.100.9")
    third = _link(await _deliver(settings, smtp_server, 3))
    assert (await node.get(second)).status_code == 400  # replaced by the newer link
    assert (await node.get(third)).status_code == 200
    await account.refresh_from_db()
    assert await verify_password(account.password_hash, PASSWORD)


async def test_reset_links_go_only_to_a_confirmed_or_the_sign_up_address(
    node: Browser, database: str, smtp_server: SmtpTestServer
) -> None:
    settings = _settings(database, smtp_server)
    await _person("ines", confirmed=False)  # the address she signed up with
    changed = await _person("jan")
    await email_addresses.set_email(settings, changed, "jan@new.example")  # not confirmed
    await MailMessage.all().delete()
    await password_reset.request(settings, "ines@example.org", None)
    await password_reset.request(settings, "jan@new.example", None)
    await send_once(settings)
    [message] = await smtp_server.wait_for(1)
    assert message["To"] == "ines@example.org"
    assert not await EmailToken.filter(account_id=changed.id, purpose=TokenPurpose.RESET).exists()


async def test_reset_requests_are_limited_per_address_and_per_client(
    node: Browser, database: str, smtp_server: SmtpTestServer
) -> None:
    settings = _settings(database, smtp_server)
    await _person("karel")
    for _ in range(password_reset.PER_MAILBOX + 2):
        await password_reset.request(settings, "karel@example.org", None)
    assert await MailMessage.filter(kind=MailKind.RESET).count() == password_reset.PER_MAILBOX
    answers = set()
    for index in range(password_reset.PER_CLIENT + 1):
        response = await node.submit(
            "/password/reset", {"email": f"x{index}@example.org"}, page="/login"
        )
        answers.add(response.status_code)
    assert answers == {200, 429}
    # The 429 says when to come back, as sign-up's does.
    assert response.status_code == 429 and 0 < int(response.headers["retry-after"]) <= 3600


async def test_without_mail_there_is_no_address_field_and_no_reset(database: str) -> None:
    await factories.node_row("Buren Jette")
    async with browser(database, signups="open", page_cache_seconds=0) as web:
        signup = await web.get("/signup")
        assert signup.status_code == 200 and 'name="email"' not in signup.text
        login = await web.get("/login")
        assert "/password/reset" not in login.text
        reset = await web.get("/password/reset")
        assert reset.status_code == 404 and "sends no e-mail" in reset.text
        posted = await web.submit("/password/reset", {"email": "a@example.org"})
        assert posted.status_code == 404
        response = await web.submit(
            "/signup",
            {
                "display_name": "Lotte",
                "username": "lotte",
                "password": PASSWORD,
                "email": "lotte@example.org",
                "language": "en",
            },
            page="/signup",
        )
        assert response.status_code == 303
        assert (await Account.get(username="lotte")).email is None
        assert not await MailMessage.exists()
        welcome = await web.get(response.headers["location"])
        assert "Welcome!" in welcome.text and "We sent a link" not in welcome.text
        # Settings: no e-mail parts, but the profile choice; e-mail forms are not there.
        page = await web.get("/settings")
        assert 'name="show_helped"' in page.text
        assert 'name="mail_frequency"' not in page.text and 'name="email"' not in page.text
        saved = await web.submit(
            "/settings/preferences",
            {"show_helped": "1", "mail_frequency": "bogus"},
            page="/settings",
        )
        assert saved.status_code == 303
        lotte = await Account.get(username="lotte")
        assert lotte.show_helped and lotte.mail_frequency == "immediate"
        gone = await web.submit("/settings/email", {"email": "l@example.org"}, page="/settings")
        assert gone.status_code == 404


async def test_signup_may_require_an_address(database: str, smtp_server: SmtpTestServer) -> None:
    await factories.node_row("Buren Jette")
    async with browser(
        database,
        signups="open",
        smtp_url=smtp_server.url,
        mail_from=MAIL_FROM,
        signup_requires_email=True,
    ) as web:
        form = await web.get("/signup")
        assert re.search(r'name="email"[^>]* required', form.text)
        fields = {"display_name": "Mia", "username": "mia", "password": PASSWORD}
        response = await web.submit("/signup", {**fields, "email": ""}, page="/signup")
        assert response.status_code == 400
        assert not await Account.filter(username="mia").exists()
        await _person("nina", password=False)
        # Another account's address: the account is made without it, as if it were free
        # (tests/test_email_enumeration.py has the rest).
        taken = await web.submit("/signup", {**fields, "email": "NINA@example.org"}, page="/signup")
        assert taken.status_code == 303
        assert (await Account.get(username="mia")).email is None


async def test_the_reset_link_greets_by_the_display_name(
    database: str, smtp_server: SmtpTestServer
) -> None:
    # As the notification e-mails do: people know their name, not always their username.
    settings = _settings(database, smtp_server)
    account = await factories.account("gerd", email="gerd@example.org", languages=("en",))
    account.display_name = "Gerd <de> Smet"
    account.email_confirmed_at = utcnow()
    await account.save()
    await password_reset.request(settings, "gerd@example.org", "127.0.0.9")
    message = await _deliver(settings, smtp_server, 1)
    assert "Hello Gerd <de> Smet," in _text(message) and "Hello gerd," not in _text(message)
    assert "Hello Gerd &lt;de&gt; Smet," in _html(message)


@pytest.mark.parametrize("template", ["confirm_email", "address_in_use", "password_reset"])
def test_link_messages_greet_by_the_display_name_when_given(template: str) -> None:
    context = {
        "email": "ann@example.org",
        "link": "https://x.example/l/abc",
        "hours": 48,
        "minutes": 60,
        "attempt": "signup",
    }
    named = compose(
        Settings(), template, "en", username="ann", recipient_name="Ann Peeters", **context
    )
    assert "Hello Ann Peeters," in named.text and "Hello Ann Peeters," in named.html
    # Without one (an empty name, or a caller that passes none), the username.
    for extra in ({"recipient_name": ""}, {}):
        plain = compose(Settings(), template, "en", username="ann", **context, **extra)
        assert "Hello ann," in plain.text


def test_the_messages_say_how_long_the_link_works_in_every_language() -> None:
    for language in ("nl", "fr", "en"):
        message = compose(
            Settings(name="Buren & Co"),
            "password_reset",
            language,
            username="ann",
            link="https://x.example/password/reset/abc",
            minutes=60,
        )
        assert "\n" not in message.subject
        assert "Buren & Co" in message.text and "Buren &amp; Co" in message.html
        assert "60" in message.text and f'lang="{language}"' in message.html


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=st.one_of(
        st.text(max_size=80),
        st.sampled_from(["", "/", "a/b", "a@b.c", "@", "x" * 43, "%00", "../../etc", "A" * 500]),
    )
)
async def test_arbitrary_addresses_and_tokens_never_crash_nor_change_anything(
    node: Browser, text: str
) -> None:
    await Account.get_or_none(username="olga") or await _person("olga", password=False)
    before = (
        await EmailToken.all().values_list("id", "used_at"),
        await Account.all().values_list("id", "email", "email_confirmed_at", "password_hash"),
    )
    segment = quote(text, safe="") or "x"
    for path in (f"/email/confirm/{segment}", f"/password/reset/{segment}"):
        shown = await node.get(path)
        # (307: a path that ends in "/" is sent to the one without: the request form)
        assert shown.status_code in (307, 400, 404, 410), (path, shown.status_code)
        posted = await node.submit(
            path, {"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}, page="/login"
        )
        assert posted.status_code in (307, 400, 404, 405, 410), (path, posted.status_code)
    asked = await node.submit("/password/reset", {"email": text}, page="/login")
    assert asked.status_code in (200, 400, 429)
    # In the settings: what is no e-mail address is refused, and nothing changes.
    try:
        validation.email(text)
    except InvalidInput:
        await node.log_in_as(await Account.get(username="olga"))
        refused = await node.submit("/settings/email", {"email": text}, page="/settings")
        assert refused.status_code == 400
        node.log_out_locally()
    after = (
        await EmailToken.all().values_list("id", "used_at"),
        await Account.all().values_list("id", "email", "email_confirmed_at", "password_hash"),
    )
    assert after == before


async def test_a_link_is_used_once_even_by_two_requests_at_the_same_moment(
    database: str,
) -> None:
    account = await _person("quinn", confirmed=False, password=False)
    secret = await email_tokens.issue(account, TokenPurpose.CONFIRM, "quinn@example.org")
    outcomes = await asyncio.gather(
        *(email_tokens.consume(secret, TokenPurpose.CONFIRM) for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(isinstance(o, EmailToken) for o in outcomes) == 1
    refused = [o for o in outcomes if not isinstance(o, EmailToken)]
    assert all(isinstance(o, email_tokens.TokenRefused) for o in refused)
    assert {o.state for o in refused} == {email_tokens.TokenState.USED}  # type: ignore[union-attr]
    # The wrong purpose is no token at all.
    with pytest.raises(email_tokens.TokenRefused):
        await email_tokens.consume(secret, TokenPurpose.RESET)


async def test_old_links_and_counts_are_forgotten(database: str) -> None:
    account = await _person("rita", password=False)
    kept = await email_tokens.issue(account, TokenPurpose.CONFIRM, "rita@example.org")
    old = await email_tokens.issue(account, TokenPurpose.CONFIRM, "rita@example.org")
    long_ago = utcnow() - email_tokens.KEEP - timedelta(minutes=1)
    await EmailToken.filter(token_hash=email_tokens.digest(old)).update(expires_at=long_ago)
    await RateEvent.create(key="email:reset:client:x", at=utcnow() - timedelta(hours=2))
    await RateEvent.create(key="email:reset:client:x", at=utcnow())
    await RateEvent.create(key="signup:node", at=utcnow() - timedelta(hours=2))  # not ours
    jobs = {job.name: job for job in periodic_jobs(Settings())}
    assert await jobs["forget-email-links"].run() == 2
    assert await EmailToken.filter(token_hash=email_tokens.digest(kept)).exists()
    assert await RateEvent.filter(key="signup:node").exists()
