"""Logging in and out, signing up, passwords, sessions, CSRF and the language switch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from node.i18n import gettext
from node.models import Account, Invitation, LoginFailure, Session
from node.passwords import hash_password
from node.services import login_limits, sessions, signups
from node.timeutil import utcnow
from tests import factories
from tests.webclient import Browser, browser
from web.shell.session import CSRF_COOKIE, SESSION_COOKIE

PASSWORD = "a long enough password"


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database, signups="open") as b:
        yield b


@pytest.fixture
async def anna() -> Account:
    account = await factories.account("anna", languages=["fr", "nl"])
    account.password_hash = await hash_password(PASSWORD)
    await account.save()
    return account


async def test_login_sets_a_new_session_and_logout_ends_it(web: Browser, anna: Account) -> None:
    response = await web.submit("/login", {"username": "Anna ", "password": PASSWORD, "next": "/"})
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.cookies[SESSION_COOKIE]
    assert await Session.filter(account_id=anna.id).count() == 1
    # The cookie is HttpOnly and SameSite=Lax; the stored row holds a hash, not the token.
    header = next(h for h in response.headers.get_list("set-cookie") if SESSION_COOKIE in h)
    assert "httponly" in header.lower() and "samesite=lax" in header.lower()
    assert not await Session.filter(token_hash=cookie).exists()

    home = await web.get("/")
    assert "Anna" in home.text and "/logout" in home.text

    out = await web.submit("/logout", {}, page="/")
    assert out.status_code == 303
    assert await Session.filter(account_id=anna.id).count() == 0
    # Replaying the old cookie after log-out opens nothing.
    web.http.cookies.set(SESSION_COOKIE, cookie)
    assert (await web.get("/settings")).status_code == 303


async def test_session_fixation_a_planted_token_is_replaced(web: Browser, anna: Account) -> None:
    web.http.cookies.set(SESSION_COOKIE, "planted-by-an-attacker")
    response = await web.submit("/login", {"username": "anna", "password": PASSWORD})
    assert response.status_code == 303
    assert response.cookies[SESSION_COOKIE] != "planted-by-an-attacker"
    # The CSRF seed is renewed at log-in too, so a token read before is worthless.
    assert CSRF_COOKIE in response.cookies


async def test_login_redirects_only_to_local_paths(web: Browser, anna: Account) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = await web.submit(
            "/login", {"username": "anna", "password": PASSWORD, "next": target}
        )
        assert response.headers["location"] == "/"
        web.log_out_locally()


async def test_wrong_password_is_refused_in_the_visitors_language(
    web: Browser, anna: Account
) -> None:
    web.http.headers["accept-language"] = "fr"
    response = await web.submit("/login", {"username": "anna", "password": "wrong password!"})
    assert response.status_code == 400
    assert "Le nom d’utilisateur ou le mot de passe n’est pas correct." in response.text
    assert SESSION_COOKIE not in response.cookies
    assert await LoginFailure.filter(key="account:" + login_limits.name_key("anna")).count() == 1


async def test_login_is_rate_limited_per_account(web: Browser, anna: Account) -> None:
    for _ in range(login_limits.PER_ACCOUNT):
        await login_limits.record_failure("anna", "198.51.100.1")
    # Even the right password is refused while the limit holds, with a clear message.
    response = await web.submit("/login", {"username": "anna", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed attempts. Try again in 15 minutes." in response.text
    assert SESSION_COOKIE not in response.cookies


async def test_login_is_rate_limited_per_address(web: Browser, anna: Account) -> None:
    for index in range(login_limits.PER_ADDRESS):
        await login_limits.record_failure(f"someone{index}", "203.0.113.7")
    response = await web.submit("/login", {"username": "anna", "password": PASSWORD})
    assert response.status_code == 429


async def test_rate_limit_window_passes(database: str, anna: Account) -> None:
    long_ago = utcnow() - login_limits.KEEP - timedelta(seconds=1)
    for _ in range(login_limits.PER_ACCOUNT):
        await login_limits.record_failure("anna", None, now=long_ago)
    await login_limits.check("anna", None)  # old failures no longer count
    # Each failure counted for its pair (name and address) and for the account.
    assert await login_limits.purge_old() == 2 * login_limits.PER_ACCOUNT


async def test_forms_without_a_valid_csrf_token_are_refused(web: Browser, anna: Account) -> None:
    await web.get("/login")  # the seed cookie alone is not enough
    for token in ("", "forged", None):
        data = {"username": "anna", "password": PASSWORD}
        if token is not None:
            data["csrf_token"] = token
        response = await web.http.post("/login", data=data)
        assert response.status_code == 403
        assert "This form has expired" in response.text
    assert not await Session.exists()
    # A token from another browser (another seed) does not fit this one's cookie.
    async with browser(web.http._transport.app.state.settings.database_url) as other:  # type: ignore[attr-defined]
        foreign = await other.token("/login")
    response = await web.http.post(
        "/login", data={"username": "anna", "password": PASSWORD, "csrf_token": foreign}
    )
    assert response.status_code == 403


async def test_bad_form_bodies_get_a_clear_4xx(web: Browser) -> None:
    token = await web.token("/login")
    too_big = await web.http.post(
        "/login",
        content=b"username=" + b"x" * 70_000 + b"&csrf_token=" + token.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert too_big.status_code == 413
    as_json = await web.http.post("/login", json={"username": "anna"})
    assert as_json.status_code == 415
    not_utf8 = await web.http.post(
        "/login",
        content=b"username=\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert not_utf8.status_code == 400


async def test_signup_open_creates_an_account_and_logs_in(web: Browser) -> None:
    hood = await factories.neighbourhood("jette-centre")
    response = await web.submit(
        "/signup",
        {
            "display_name": "Fatima",
            "username": "fatima",
            "password": PASSWORD,
            "language": "fr",
            "home_neighbourhood": hood.slug,
        },
        page="/signup",
    )
    assert response.status_code == 303
    account = await Account.get(username="fatima")
    assert account.languages[0] == "fr"
    assert account.home_neighbourhood_id == hood.id
    page = await web.get("/")
    assert 'lang="fr"' in page.text  # the account's language wins over the browser's


async def test_signup_errors_are_shown_next_to_the_field_and_nothing_is_saved(
    web: Browser,
) -> None:
    web.http.headers["accept-language"] = "nl"
    response = await web.submit(
        "/signup",
        {"display_name": "", "username": "X!", "password": "short", "language": "nl"},
        page="/signup",
    )
    assert response.status_code == 400
    assert 'id="username-error"' in response.text or 'id="display_name-error"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert await Account.filter().count() == 0


async def test_signup_by_invitation_spends_the_code(database: str) -> None:
    invitation = await signups.create_invitation(None, uses=1)
    async with browser(database, signups="invitation") as web:
        refused = await web.submit(
            "/signup",
            {"display_name": "Jan", "username": "jan", "password": PASSWORD, "invitation": "nope"},
            page="/signup",
        )
        assert refused.status_code == 400
        assert "invitation is unknown" in refused.text
        ok = await web.submit(
            "/signup",
            {
                "display_name": "Jan",
                "username": "jan",
                "password": PASSWORD,
                "invitation": invitation.code,
            },
            page="/signup",
        )
        assert ok.status_code == 303
    assert (await Invitation.get(id=invitation.id)).uses_left == 0
    assert await Account.filter(username="jan").exists()


async def test_signup_closed(database: str) -> None:
    async with browser(database, signups="closed") as web:
        page = await web.get("/signup")
        assert "does not take new accounts" in page.text
        response = await web.http.post(
            "/signup",
            data={
                "username": "jan",
                "display_name": "Jan",
                "password": PASSWORD,
                "csrf_token": await web.token("/login"),
            },
        )
        assert response.status_code == 403
    assert not await Account.filter(username="jan").exists()


async def test_password_change_ends_other_sessions(web: Browser, anna: Account) -> None:
    await web.log_in_as(anna)
    other_device = await sessions.start_session(anna)
    wrong = await web.submit(
        "/settings",
        {
            "current_password": "not it at all",
            "new_password": "x" * 12,
            "repeat_password": "x" * 12,
        },
        page="/settings",
    )
    assert wrong.status_code == 400
    assert 'id="current_password-error"' in wrong.text
    assert "Ce n’est pas votre mot de passe actuel" in wrong.text  # anna reads French
    ok = await web.submit(
        "/settings",
        {
            "current_password": PASSWORD,
            "new_password": "new password 2026",
            "repeat_password": "new password 2026",
        },
        page="/settings",
    )
    assert ok.status_code == 303
    assert await Session.filter(account_id=anna.id).count() == 1
    assert await sessions.account_for(other_device) is None
    assert (await web.get("/settings")).status_code == 200  # this device stays logged in


async def test_language_switch_for_visitors_and_accounts(web: Browser, anna: Account) -> None:
    web.http.headers["accept-language"] = "nl"
    assert 'lang="nl"' in (await web.get("/")).text
    switched = await web.submit("/language", {"language": "fr", "next": "/login"}, page="/")
    assert switched.status_code == 303
    assert switched.headers["location"] == "/login"
    assert 'lang="fr"' in (await web.get("/")).text
    # An account's preference is changed by the switch too.
    await web.log_in_as(anna)
    await web.submit("/language", {"language": "en", "next": "/"}, page="/")
    assert (await Account.get(id=anna.id)).languages[0] == "en"
    assert 'lang="en"' in (await web.get("/")).text
    # Unknown languages are ignored, and the redirect stays on this node.
    odd = await web.submit(
        "/language", {"language": "xx", "next": "https://evil.example"}, page="/"
    )
    assert odd.headers["location"] == "/"


async def test_hostile_display_name_is_escaped_everywhere(web: Browser) -> None:
    hood = await factories.neighbourhood("jette-centre")
    response = await web.submit(
        "/signup",
        {
            "display_name": "<script>alert(1)</script>Jo",
            "username": "jo",
            "password": PASSWORD,
            "language": "en",
            "home_neighbourhood": hood.slug,
        },
        page="/signup",
    )
    assert response.status_code == 303
    for page in ("/", "/@jo", "/settings"):
        html = (await web.get(page)).text
        assert "<script>alert(1)" not in html, page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;Jo" in html, page


async def test_server_errors_get_a_page_in_the_visitors_language(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from node.services import neighbourhoods

    async def broken() -> list:
        raise RuntimeError("the database fell over")

    monkeypatch.setattr(neighbourhoods, "list_neighbourhoods", broken)
    async with browser(database) as web:
        web.http._transport.raise_app_exceptions = False  # type: ignore[attr-defined]
        response = await web.get("/", headers={"accept-language": "nl"})
    assert response.status_code == 500
    assert '<html lang="nl">' in response.text
    assert gettext("nl", "Something went wrong") in response.text
    assert gettext("nl", "Something went wrong") != "Something went wrong"
    assert "the database fell over" not in response.text  # no internals for visitors
