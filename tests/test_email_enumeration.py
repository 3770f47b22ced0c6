"""Nobody learns from the pages whether an e-mail address has an account here.

Signing up with, or changing one's address to, an address another account has is
answered exactly like a free address; the account keeps what it had (at sign-up: no
address), and the owner of the address is told by e-mail (limited per hour). Real SMTP
(the aiosmtpd `smtp_server` fixture) and the real sender (`send_once`), on both
databases.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email.message import EmailMessage

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.config import Settings
from node.errors import Conflict
from node.mail_compose import compose
from node.mail_sender import send_once
from node.models import Account, EmailToken, MailMessage, TokenPurpose
from node.services import accounts, email_addresses, email_limits, password_reset
from node.timeutil import utcnow
from tests import factories
from tests.smtp_server import MAIL_FROM, SmtpTestServer
from tests.webclient import Browser, browser

BASE = "http://testserver"
PASSWORD = "a long enough password"
OWNER = "bram@example.be"
CONFIRM_LINK = re.compile(re.escape(BASE) + r"/email/confirm/[A-Za-z0-9_-]+")


def _settings(database: str, smtp_server: SmtpTestServer) -> Settings:
    return Settings(
        database_url=database, base_url=BASE, smtp_url=smtp_server.url, mail_from=MAIL_FROM
    )


@pytest.fixture
async def node(database: str, smtp_server: SmtpTestServer) -> AsyncIterator[Browser]:
    await factories.node_row("Buren Jette")
    async with browser(
        database,
        base_url=BASE,
        signups="open",
        smtp_url=smtp_server.url,
        mail_from=MAIL_FROM,
        page_cache_seconds=0,
        signups_per_address_per_hour=10_000,
        signups_per_hour=10_000,
    ) as web:
        yield web


async def _person(name: str, email: str, languages: tuple[str, ...] = ("en",)) -> Account:
    account = await factories.account(name, email=email, languages=languages)
    account.email_confirmed_at = utcnow()
    await account.save()
    return account


def _normal(response: httpx.Response, *words: str) -> tuple[int, str | None, str]:
    """Status, redirect and body, with what differs by design (the CSRF token, and the
    usernames and addresses in `words`) replaced."""
    body = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value="…"', response.text)
    for word in sorted(words, key=len, reverse=True):  # an address before its user's name
        body = re.sub(re.escape(word), "…", body, flags=re.IGNORECASE)
    return response.status_code, response.headers.get("location"), body


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()


async def _state() -> list[tuple]:
    return (
        await Account.all()
        .order_by("id")
        .values_list("id", "email", "email_confirmed_at", "password_hash")
    )


async def _sign_up(node: Browser, username: str, email: str, **extra: str) -> httpx.Response:
    node.log_out_locally()
    fields = {"display_name": "Neighbour", "username": username, "password": PASSWORD}
    return await node.submit(
        "/signup", {**fields, "language": "en", "email": email, **extra}, page="/signup"
    )


async def test_signing_up_with_a_taken_address_answers_as_a_free_one(
    node: Browser, database: str, smtp_server: SmtpTestServer
) -> None:
    settings = _settings(database, smtp_server)
    owner = await _person("bram", OWNER, languages=("nl", "fr"))
    before = await Account.get(id=owner.id)

    # A form error elsewhere: the same page for both, the address not mentioned.
    short = {"password": "short"}
    bad_taken = await _sign_up(node, "anna", "Bram@Example.be", **short)
    bad_free = await _sign_up(node, "bert", "bert@example.be", **short)
    assert bad_taken.status_code == 400
    assert _normal(bad_taken, "anna", "bram@example.be") == _normal(
        bad_free, "bert", "bert@example.be"
    )
    assert not await Account.filter(username__in=["anna", "bert"]).exists()

    taken = await _sign_up(node, "anna", "Bram@Example.be")
    taken_home = await node.get(taken.headers["location"])
    taken_settings = await node.get("/settings")
    free = await _sign_up(node, "bert", "bert@example.be")
    free_home = await node.get(free.headers["location"])
    free_settings = await node.get("/settings")
    assert taken.status_code == 303 and taken.headers["location"] == "/?welcome=1"
    taken_words, free_words = ("anna", "bram@example.be"), ("bert", "bert@example.be")
    assert _normal(taken, *taken_words) == _normal(free, *free_words)
    assert _normal(taken_home, *taken_words) == _normal(free_home, *free_words)
    # The settings page shows the address typed, not confirmed yet, in both cases.
    assert "bram@example.be is not confirmed yet" in taken_settings.text
    assert _normal(taken_settings, *taken_words) == _normal(free_settings, *free_words)

    anna = await Account.get(username="anna")
    assert anna.email is None and anna.email_confirmed_at is None
    assert (await Account.get(username="bert")).email == "bert@example.be"
    await owner.refresh_from_db()
    assert (owner.email, owner.email_confirmed_at, owner.password_hash) == (
        before.email,
        before.email_confirmed_at,
        before.password_hash,
    )

    await send_once(settings)
    messages = await smtp_server.wait_for(2)
    by_address = {message["To"]: message for message in messages}
    assert set(by_address) == {OWNER, "bert@example.be"}
    notice = by_address[OWNER]
    text = _text(notice)
    # In the owner's language (Dutch), not the newcomer's.
    assert "Iemand probeerde zich op Buren Jette in te schrijven met dit e-mailadres." in text
    assert "Meld je aan als bram" in text and f"{BASE}/password/reset" in text
    assert "anna" not in text and not CONFIRM_LINK.search(text)  # nothing of the newcomer's
    assert '<html lang="nl">' in notice.get_body(("html",)).get_content()  # the owner's language
    assert (await MailMessage.get(to_address=OWNER)).account_id == owner.id
    # Only the free address got a link; the stand-in's secret was never sent anywhere.
    assert CONFIRM_LINK.search(_text(by_address["bert@example.be"]))
    stand_in = await EmailToken.get(account_id=anna.id, purpose=TokenPurpose.CONFIRM)
    assert stand_in.email == OWNER

    # Anna adds an address of her own later: the usual confirmation.
    await node.log_in_as(anna)
    # Removing the address shown says what it says to everyone.
    removed = await node.submit("/settings/email", {"remove": "1"}, page="/settings")
    assert removed.headers["location"] == "/settings?changed=email_removed"
    assert "bram@example.be" not in (await node.get("/settings")).text
    added = await node.submit("/settings/email", {"email": "anna@example.be"}, page="/settings")
    assert added.status_code == 303
    await anna.refresh_from_db()
    assert anna.email == "anna@example.be"
    assert not await EmailToken.filter(account_id=anna.id, email=OWNER).exists()
    assert "anna@example.be is not confirmed yet" in (await node.get("/settings")).text


async def test_changing_to_a_taken_address_answers_as_a_free_one(
    node: Browser, database: str, smtp_server: SmtpTestServer
) -> None:
    settings = _settings(database, smtp_server)
    owner = await _person("bram", OWNER)
    carl = await _person("carl", "carl@example.be")
    dirk = await _person("dirk", "dirk@example.be")

    async def change(account: Account, email: str) -> tuple[httpx.Response, httpx.Response]:
        node.log_out_locally()
        await node.log_in_as(account)
        posted = await node.submit("/settings/email", {"email": email}, page="/settings")
        return posted, await node.get(posted.headers.get("location", "/settings"))

    taken, taken_page = await change(carl, "BRAM@example.be")
    free, free_page = await change(dirk, "dirk@new.example")
    carl_words = ("carl", "carl@example.be", "bram@example.be")
    dirk_words = ("dirk", "dirk@example.be", "dirk@new.example")
    assert taken.status_code == 303 and taken.headers["location"] == "/settings?changed=email"
    assert _normal(taken, *carl_words) == _normal(free, *dirk_words)
    assert "bram@example.be is not confirmed yet" in taken_page.text
    assert _normal(taken_page, *carl_words) == _normal(free_page, *dirk_words)

    # Nothing changed on Carl's account (nor Bram's); Dirk's address is the new one.
    await carl.refresh_from_db()
    assert carl.email == "carl@example.be" and carl.email_confirmed_at is not None
    await owner.refresh_from_db()
    assert owner.email == OWNER and owner.email_confirmed_at is not None
    assert (await Account.get(id=dirk.id)).email == "dirk@new.example"

    await send_once(settings)
    messages = await smtp_server.wait_for(2)
    notice = next(message for message in messages if message["To"] == OWNER)
    text = _text(notice)
    assert "Someone tried to add this e-mail address to another account on Buren Jette." in text
    assert "Log in as bram" in text and "carl" not in text and not CONFIRM_LINK.search(text)

    # "Send the link again" answers alike too; the owner is told again.
    node.log_out_locally()
    await node.log_in_as(carl)
    resent_taken = await node.submit("/settings/email/resend", {}, page="/settings")
    node.log_out_locally()
    await node.log_in_as(dirk)
    resent_free = await node.submit("/settings/email/resend", {}, page="/settings")
    assert resent_taken.status_code == resent_free.status_code == 303
    assert resent_taken.headers["location"] == resent_free.headers["location"]
    assert resent_taken.headers["location"] == "/settings?changed=resent"
    assert await MailMessage.filter(to_address=OWNER).count() == 2
    # Going back to one's own address answers alike as well.
    back_taken, back_taken_page = await change(carl, "carl@example.be")
    back_free, back_free_page = await change(dirk, "dirk@example.be")
    assert back_taken.headers["location"] == "/settings?changed=email"
    assert _normal(back_taken, *carl_words) == _normal(back_free, *dirk_words)
    assert _normal(back_taken_page, *carl_words) == _normal(back_free_page, *dirk_words)
    await carl.refresh_from_db()
    assert carl.email == "carl@example.be"
    assert not await EmailToken.filter(account_id=carl.id, email=OWNER, used_at=None).exists()


async def test_notices_to_an_address_are_limited_and_the_answers_do_not_show_it(
    database: str, smtp_server: SmtpTestServer
) -> None:
    settings = _settings(database, smtp_server)
    await factories.node_row("Buren Jette")
    await _person("bram", OWNER)
    tries = email_addresses.CONFIRMATIONS_PER_HOUR + 1
    taken_answers, free_answers = [], []
    for index in range(3):
        asker = await _person(f"asker{index}", f"asker{index}@example.be")
        control = await _person(f"control{index}", f"control{index}@example.be")
        for attempt in range(tries):
            taken_answers.append(await email_addresses.set_email(settings, asker, OWNER.upper()))
            fresh = f"control{index}.{attempt}@example.be"
            free_answers.append(await email_addresses.set_email(settings, control, fresh))
        await asker.refresh_from_db()
        assert asker.email == f"asker{index}@example.be"
    # The same answers: links counted per account alike ("not_sent" past the limit).
    assert taken_answers == free_answers
    assert free_answers[: tries - 1] == ["sent"] * (tries - 1) and free_answers[-1] == "not_sent"
    # The owner got a few notices, not one per attempt.
    assert await MailMessage.filter(to_address=OWNER).count() == email_addresses.IN_USE_PER_HOUR
    await send_once(settings)
    received = [m for m in await smtp_server.wait_for(1) if m["To"] == OWNER]
    assert 1 <= len(received) <= email_addresses.IN_USE_PER_HOUR
    # Counted by the address's hash, in any case.
    key = email_limits.mailbox_key("in_use", "BRAM@Example.BE")
    assert not await email_limits.admit([(key, email_addresses.IN_USE_PER_HOUR)])


async def test_an_address_is_the_same_in_any_case_everywhere(
    database: str, smtp_server: SmtpTestServer
) -> None:
    settings = _settings(database, smtp_server)
    await factories.node_row("Buren Jette")
    await _person("bram", OWNER)
    # Uniqueness: a new account (the command line, the node's setup) cannot take it.
    with pytest.raises(Conflict):
        await accounts.create_account("bram2", "Bram", email="Bram@Example.BE")
    # A row stored in mixed case (written before addresses were lowercased) is still
    # the owner's: changing to it in lowercase changes nothing and tells its owner.
    old = await factories.account("oude", email="Oude@Example.BE")
    old.email_confirmed_at = utcnow()
    await old.save()
    asker = await _person("ezra", "ezra@example.be")
    assert await email_addresses.set_email(settings, asker, "oude@example.be") == "sent"
    await asker.refresh_from_db()
    assert asker.email == "ezra@example.be"
    assert await MailMessage.filter(account_id=old.id).count() == 1
    # The password link finds the account in any case.
    await password_reset.request(settings, "BRAM@example.BE", None)
    assert await EmailToken.filter(purpose=TokenPurpose.RESET, email="bram@example.be").exists()


def test_a_notice_in_every_language_names_the_node_and_the_account() -> None:
    for language in ("nl", "fr", "en"):
        for attempt in ("signup", "settings"):
            message = compose(
                Settings(name="Buren & Co"),
                "address_in_use",
                language,
                username="bram",
                attempt=attempt,
                link="https://x.example/password/reset",
            )
            assert "\n" not in message.subject.strip()
            assert "Buren & Co" in message.text and "Buren &amp; Co" in message.html
            assert "bram" in message.text and "https://x.example/password/reset" in message.html
            assert f'lang="{language}"' in message.html


@st.composite
def _addresses(draw: st.DrawFn) -> str:
    """Taken addresses in any case, and free, odd or malformed ones."""
    taken = draw(st.sampled_from([OWNER, "carl@example.be"]))
    upper = draw(st.lists(st.booleans(), min_size=len(taken), max_size=len(taken)))
    return draw(
        st.one_of(
            st.just("".join(c.upper() if up else c for c, up in zip(taken, upper, strict=True))),
            st.emails(),
            st.text(max_size=40),
            st.sampled_from([f" {OWNER} ", f"{OWNER}\x00", "@", "a@b", OWNER + "x" * 300]),
        )
    )


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(typed=_addresses(), index=st.integers(min_value=0, max_value=10**9))
async def test_any_address_never_breaks_a_page_nor_changes_another_account(
    node: Browser, typed: str, index: int
) -> None:
    if not await Account.exists(username="bram"):
        await _person("bram", OWNER)
        await _person("carl", "carl@example.be")
    asker = await Account.get_or_none(username="dora") or await _person("dora", "dora@example.be")
    others = [row for row in await _state() if row[0] != asker.id]

    node.log_out_locally()
    await node.log_in_as(asker)
    changed = await node.submit("/settings/email", {"email": typed}, page="/settings")
    assert changed.status_code in (303, 400), changed.status_code
    signed = await _sign_up(node, f"n{index}", typed)
    assert signed.status_code in (303, 400), signed.status_code

    after = await _state()
    assert [row for row in after if row[0] in {o[0] for o in others}] == others
    new = await Account.get_or_none(username=f"n{index}")
    if new is not None and new.email is not None:
        # A new account has an address only when no one else had it.
        assert sum(1 for row in after if (row[1] or "").lower() == new.email) == 1
    await asker.refresh_from_db()
    assert asker.email not in (OWNER, "carl@example.be")
