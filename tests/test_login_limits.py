"""Log-in limits protect accounts without locking their owners out (issue 11).

Over the app with several client addresses: known devices get in whatever others try,
guessing is delayed progressively with Retry-After, credential stuffing from one address
is held back; and the counting rules themselves, on both databases.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.app import create_app
from node.config import Settings
from node.errors import RateLimited
from node.models import Account, LoginFailure
from node.passwords import hash_password, verify_password
from node.services import login_limits
from node.timeutil import utcnow
from tests import factories
from tests.webclient import Browser
from web.shell.known_devices import DEVICE_COOKIE
from web.shell.session import SESSION_COOKIE

PASSWORD = "a long enough password"
HOUSE = "203.0.113.7"  # a neighbourhood house: many people behind one router
HOME = "198.51.100.20"
ATTACKER = "192.0.2.66"
At = Callable[[str], Browser]


@asynccontextmanager
async def node_at(database: str, **options: object) -> AsyncIterator[At]:
    """One node; `at(address)` is a new browser connecting from that address."""
    app = create_app(Settings(database_url=database, **options), manage_database=False)  # type: ignore[arg-type]
    clients: list[httpx.AsyncClient] = []

    def at(address: str) -> Browser:
        transport = httpx.ASGITransport(app=app, client=(address, 4711))
        http = httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers={"accept-language": "en"}
        )
        clients.append(http)
        return Browser(http)

    try:
        yield at
    finally:
        for http in clients:
            await http.aclose()


@pytest.fixture
async def at(database: str) -> AsyncIterator[At]:
    async with node_at(database) as browsers:
        yield browsers


ANNA = login_limits.name_key("anna")  # failures are counted under the name's hash


async def resident(username: str) -> Account:
    account = await factories.account(username, languages=["en"])
    account.password_hash = await hash_password(PASSWORD)
    await account.save()
    return account


async def log_in(browser: Browser, username: str, password: str = PASSWORD) -> httpx.Response:
    return await browser.submit("/login", {"username": username, "password": password})


async def known_device_of(at: At, address: str, username: str) -> Browser:
    """A browser that logged in to `username` once and logged out again."""
    browser = at(address)
    assert (await log_in(browser, username)).status_code == 303
    assert DEVICE_COOKIE in browser.http.cookies
    await browser.submit("/logout", {}, page="/")
    assert SESSION_COOKIE not in browser.http.cookies
    return browser


async def stuff(address: str, names: int) -> None:
    """Someone at `address` tries random account names (credential stuffing)."""
    for _ in range(names):
        await login_limits.record_failure("user" + secrets.token_hex(4), address)


async def test_stuffing_from_the_house_leaves_known_devices_there_alone(at: At) -> None:
    await resident("anna")
    await resident("bert")
    await resident("carla")
    anna = await known_device_of(at, HOUSE, "anna")
    await stuff(HOUSE, login_limits.PER_ADDRESS + 5)

    # Anna's browser has logged in here before: the stuffing does not touch her.
    assert (await log_in(anna, "anna")).status_code == 303
    # Bert, logging in for the first time from elsewhere, is not touched either.
    assert (await log_in(at(HOME), "bert")).status_code == 303
    # A new name from a new browser in the house waits: that is the stuffing limit.
    held = await log_in(at(HOUSE), "carla")
    assert held.status_code == 429
    assert 0 < int(held.headers["retry-after"]) <= 15 * 60
    assert "Too many failed attempts. Try again in 15 minutes." in held.text
    assert SESSION_COOKIE not in held.cookies


async def test_twenty_random_names_lock_no_one_in_the_house_out(at: At) -> None:
    await resident("anna")
    await stuff(HOUSE, 20)
    # Old rule: 20 failures from an address refused everyone behind it.
    assert (await log_in(at(HOUSE), "anna")).status_code == 303


async def test_failures_elsewhere_do_not_lock_the_owner_out_of_a_known_device(at: At) -> None:
    await resident("anna")
    home = await known_device_of(at, HOME, "anna")
    for _ in range(login_limits.PER_ACCOUNT + 2):
        await login_limits.record_failure("anna", ATTACKER)

    assert (await log_in(home, "anna")).status_code == 303
    # Any other browser waits while the account limit holds (the wrong guesses count).
    elsewhere = await log_in(at("198.51.100.77"), "anna")
    assert elsewhere.status_code == 429 and int(elsewhere.headers["retry-after"]) > 0
    attacker = await log_in(at(ATTACKER), "anna")
    assert attacker.status_code == 429


async def test_five_failures_from_elsewhere_lock_no_one_out(at: At) -> None:
    await resident("anna")
    for _ in range(5):
        await login_limits.record_failure("anna", ATTACKER)
    # Old rule: five failures from anywhere locked the owner out for 15 minutes.
    assert (await log_in(at(HOME), "anna")).status_code == 303


async def test_a_guesser_is_delayed_progressively(at: At) -> None:
    await resident("anna")
    guesser = at(ATTACKER)
    for _ in range(login_limits.PAIR_FREE):
        assert (await log_in(guesser, "anna", "wrong password!")).status_code == 400
    # Two more guesses (without the slow hashing): 4 s to wait after the fifth failure.
    for _ in range(2):
        await login_limits.record_failure("anna", ATTACKER)
    refused = await log_in(guesser, "anna", PASSWORD)  # even the right one must wait
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert 3 <= wait <= 4
    assert f"Too many failed attempts. Try again in {wait} seconds." in refused.text
    # A refused attempt is not a failure: the password was not even checked.
    assert await LoginFailure.filter(key=f"pair:{ATTACKER}|{ANNA}").count() == 5

    waits = []
    for _ in range(4):
        await login_limits.record_failure("anna", ATTACKER)
        waits.append(int((await log_in(guesser, "anna")).headers["retry-after"]))
    for wait, wanted in zip(waits, (8, 16, 32, 64), strict=True):
        assert wanted - 1 <= wait <= wanted  # a second may pass between two requests
    # The owner at home is not delayed by any of it.
    assert (await log_in(at(HOME), "anna")).status_code == 303


async def test_a_known_device_is_delayed_by_its_own_failures_only(at: At) -> None:
    await resident("anna")
    home = await known_device_of(at, HOUSE, "anna")
    for _ in range(login_limits.PAIR_FREE):
        assert (await log_in(home, "anna", "wrong password!")).status_code == 400
    failures = await LoginFailure.all().values_list("key", flat=True)
    assert len(failures) == 3 and set(failures) == {failures[0]}
    assert failures[0].startswith("device:")  # not the pair's, nor the account's count
    await LoginFailure.bulk_create([LoginFailure(key=failures[0], at=utcnow())] * 2)
    assert (await log_in(home, "anna")).status_code == 429
    # Someone else in the house, on the same account, is not delayed by it.
    assert (await log_in(at(HOUSE), "anna")).status_code == 303


async def test_a_device_cookie_counts_only_for_its_account(at: At) -> None:
    await resident("anna")
    await resident("bert")
    anna = await known_device_of(at, HOUSE, "anna")
    for _ in range(login_limits.PER_ACCOUNT):
        await login_limits.record_failure("bert", ATTACKER)
    # Anna's browser is no known device of Bert's account.
    assert (await log_in(anna, "bert")).status_code == 429
    # A forged cookie for Bert is worth nothing either.
    anna.http.cookies.clear()
    anna.http.cookies.set(DEVICE_COOKIE, f"bert.{int(utcnow().timestamp())}.{'A' * 32}")
    assert (await log_in(anna, "bert")).status_code == 429


async def test_the_device_cookie_is_httponly_lax_a_year_and_secure_over_https(
    database: str,
) -> None:
    await resident("anna")
    async with node_at(database, base_url="https://buren.example.be") as at:
        browser = at(HOME)
        browser.http.base_url = httpx.URL("https://testserver")  # secure cookies go back
        response = await log_in(browser, "anna")
    header = next(h for h in response.headers.get_list("set-cookie") if DEVICE_COOKIE in h)
    lowered = header.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "secure" in lowered
    assert f"max-age={365 * 24 * 3600}" in lowered
    assert response.cookies[DEVICE_COOKIE].startswith(login_limits.name_key("anna") + ".")


async def test_forwarded_addresses_count_only_from_a_trusted_proxy(database: str) -> None:
    async with node_at(database, trusted_proxies=("127.0.0.1/32",)) as at:
        spoofed = {"x-forwarded-for": "198.51.100.5"}
        outsider = at(ATTACKER)
        outsider.http.headers.update(spoofed)
        await log_in(outsider, "nobody", "wrong password!")
        proxy = at("127.0.0.1")
        proxy.http.headers.update({"x-forwarded-for": "192.0.2.200, 198.51.100.9"})
        await log_in(proxy, "nobody", "wrong password!")
    keys = set(await LoginFailure.filter(key__startswith="pair:").values_list("key", flat=True))
    nobody = login_limits.name_key("nobody")
    assert keys == {f"pair:{ATTACKER}|{nobody}", f"pair:198.51.100.9|{nobody}"}


# The rules themselves, without HTTP.


def test_the_delay_table() -> None:
    table = [login_limits.delay(n) for n in range(16)]
    assert table == [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    assert login_limits.delay(10**6) == login_limits.PAIR_CAP


@pytest.mark.parametrize("device", [None, "d" * 22])
async def test_each_wait_ends_when_it_says(database: str, device: str | None) -> None:
    start = utcnow()
    # From an address the account limit joins in at PER_ACCOUNT; a device counts alone.
    for count in range(1, 16 if device else login_limits.PER_ACCOUNT):
        await login_limits.record_failure("anna", ATTACKER, device=device, now=start)
        wait = login_limits.delay(count)
        if wait:
            with pytest.raises(RateLimited) as refused:
                await login_limits.check("anna", ATTACKER, device=device, now=start)
            assert refused.value.retry_after == wait
        later = start + timedelta(seconds=wait)
        await login_limits.check("anna", ATTACKER, device=device, now=later)


async def test_the_account_limit_slides_with_its_window(database: str) -> None:
    start = utcnow() - timedelta(minutes=10)
    for minute in range(login_limits.PER_ACCOUNT):
        await login_limits.record_failure("anna", f"192.0.2.{minute}", now=start)
    with pytest.raises(RateLimited) as refused:
        await login_limits.check("anna", HOME)
    assert 4 * 60 < refused.value.retry_after <= 5 * 60
    await login_limits.check("anna", HOME, now=start + login_limits.ACCOUNT_WINDOW)


async def test_names_already_tried_stay_open_past_the_address_limit(database: str) -> None:
    names = [f"neighbour{i}" for i in range(login_limits.PER_ADDRESS)]
    for name in names:
        await login_limits.record_failure(name, HOUSE)
    await login_limits.check(names[0], HOUSE)  # her own account, after one typo
    with pytest.raises(RateLimited):
        await login_limits.check("someone_new", HOUSE)
    await login_limits.check("someone_new", HOME)


async def test_an_ipv6_client_is_counted_by_its_64(database: str) -> None:
    for host in range(login_limits.PAIR_FREE):
        await login_limits.record_failure("anna", f"2001:db8:1:2::{host + 1}")
    with pytest.raises(RateLimited):
        await login_limits.check("anna", "2001:db8:1:2:ffff::9")
    await login_limits.check("anna", "2001:db8:1:3::1")


async def test_a_success_clears_its_own_count_only(database: str) -> None:
    for _ in range(login_limits.PAIR_FREE):
        await login_limits.record_failure("anna", HOME)
    for _ in range(login_limits.PER_ACCOUNT):
        await login_limits.record_failure("anna", ATTACKER)
    await login_limits.record_success("anna", HOME)
    # The attacker's pair and the account count are still there: no fresh budget.
    assert await LoginFailure.filter(key=f"pair:{HOME}|{ANNA}").count() == 0
    assert await LoginFailure.filter(key=f"pair:{ATTACKER}|{ANNA}").count() == 10
    with pytest.raises(RateLimited):
        await login_limits.check("anna", "198.51.100.77")


async def test_purge_old_drops_rows_past_the_longest_window(database: str) -> None:
    now = utcnow()
    await login_limits.record_failure("anna", HOME, now=now - login_limits.KEEP)
    await login_limits.record_failure("anna", HOME, now=now - timedelta(minutes=59))
    device = "d" * 22
    await login_limits.record_failure("anna", HOME, device=device, now=now - timedelta(hours=2))
    assert await login_limits.purge_old(now=now) == 3  # a pair, an account and a device row
    assert await LoginFailure.all().count() == 2


# The known-device cookie.

KEY = login_limits.device_key("a secret key of at least thirty-two characters")


def test_a_device_cookie_names_its_account_and_expires() -> None:
    issued = utcnow()
    cookie = login_limits.remember_device(None, "anna", KEY, now=issued)
    device = login_limits.known_device(cookie, "Anna ", KEY, now=issued)
    assert device is not None
    assert login_limits.known_device(cookie, "bert", KEY, now=issued) is None
    assert login_limits.known_device(cookie + "\n", "anna", KEY, now=issued) is None
    other_key = login_limits.device_key("another secret key of thirty-two characters")
    assert login_limits.known_device(cookie, "anna", other_key, now=issued) is None
    later = issued + login_limits.DEVICE_LIFETIME + timedelta(days=1)
    assert login_limits.known_device(cookie, "anna", KEY, now=later) is None


def test_a_family_computer_remembers_a_few_accounts() -> None:
    now = utcnow()
    cookie = None
    names = [f"member{i}" for i in range(login_limits.DEVICE_ENTRIES + 2)]
    for name in names:
        cookie = login_limits.remember_device(cookie, name, KEY, now=now)
    remembered = [n for n in names if login_limits.known_device(cookie, n, KEY, now=now)]
    assert remembered == names[-login_limits.DEVICE_ENTRIES :]
    # Logging in again to one of them puts it first, once.
    again = login_limits.remember_device(cookie, names[-3], KEY, now=now)
    third = login_limits.name_key(names[-3])  # the cookie names accounts by their hash
    assert again.split("~")[0].startswith(third + ".") and again.count(third) == 1


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    cookie=st.one_of(
        st.text(max_size=300),
        st.lists(st.from_regex(r"[a-z0-9_.~A-Z-]{0,60}", fullmatch=True), max_size=8).map("~".join),
    ),
    name=st.text(max_size=40),
)
def test_made_up_cookies_are_never_known_devices(cookie: str, name: str) -> None:
    now = utcnow()
    assert login_limits.known_device(cookie, name, KEY, now=now) is None
    # Remembering over junk never fails and keeps none of it.
    fresh = login_limits.remember_device(cookie, "anna", KEY, now=now)
    assert fresh.count("~") == 0 and login_limits.known_device(fresh, "anna", KEY, now=now)


async def test_guessing_the_current_password_in_settings_is_limited(at: At) -> None:
    """A session left open on a shared computer: the password form counts failures as
    log-ins do (found by the user trial: any number of guesses went through)."""
    anna = await resident("anna")
    browser = at(ATTACKER)
    await browser.log_in_as(anna)
    answers = []
    for _ in range(login_limits.PAIR_FREE + 2):
        answer = await browser.submit(
            "/settings",
            {
                "current_password": "guess " + secrets.token_hex(3),
                "new_password": "a new password 123",
                "repeat_password": "a new password 123",
            },
            page="/settings",
        )
        answers.append(answer.status_code)
    assert answers[: login_limits.PAIR_FREE] == [400] * login_limits.PAIR_FREE
    assert 429 in answers[login_limits.PAIR_FREE :]
    assert await verify_password((await Account.get(id=anna.id)).password_hash, PASSWORD)
