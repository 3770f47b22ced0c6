"""Sign-ups cannot burn the server: cheap checks before any hash, limits per address and
per hour (shared through the database), a cap on concurrent hashes, keys made lazily."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.signing import local_key
from node import passwords
from node.app import create_app
from node.config import Settings, SettingsError, load_settings
from node.errors import Conflict, InvalidInput, PermissionDenied
from node.keys import load_public_key
from node.models import Account, Invitation, RateEvent
from node.services import actor_keys, signup_limits, signups
from node.services.signup_limits import Limits, SignupsLimited, address_key
from node.timeutil import utcnow
from tests import factories
from tests.federation_fixtures import Node
from tests.webclient import Browser

PASSWORD = "a long enough password"
AP = {"accept": "application/activity+json"}


@asynccontextmanager
async def clients(database: str, *addresses: str, **options: object) -> AsyncIterator[list]:
    """One test browser per client address, all on the same app (one node process)."""
    app = create_app(
        Settings(database_url=database, signups="open", **options),  # type: ignore[arg-type]
        manage_database=False,
    )
    https = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(address, 4711)),  # type: ignore[arg-type]
            base_url="http://testserver",
            headers={"accept-language": "en"},
        )
        for address in addresses
    ]
    try:
        yield [Browser(http) for http in https]
    finally:
        for http in https:
            await http.aclose()


async def sign_up(web: Browser, username: str, **extra: str) -> httpx.Response:
    page = f"/signup?invite={extra['invitation']}" if "invitation" in extra else "/signup"
    fields = {"display_name": username.title(), "username": username, "password": PASSWORD}
    response = await web.submit("/signup", fields | extra, page=page)
    web.log_out_locally()  # the next sign-up comes from a visitor again
    return response


# --- settings -----------------------------------------------------------------------------


def test_limit_settings_default_parse_and_travel_to_workers() -> None:
    assert (Settings().signups_per_address_per_hour, Settings().signups_per_hour) == (5, 50)
    loaded = load_settings(
        {"NABUUR_SIGNUPS_PER_ADDRESS_PER_HOUR": " 3 ", "NABUUR_SIGNUPS_PER_HOUR": "0"}
    )
    assert (loaded.signups_per_address_per_hour, loaded.signups_per_hour) == (3, 0)
    assert Limits.from_settings(loaded) == Limits(per_address=3, per_hour=0)
    assert load_settings(loaded.to_environ()) == loaded


def test_limit_settings_from_toml(tmp_path) -> None:
    path = tmp_path / "nabuur.toml"
    path.write_text("[nabuur]\nsignups_per_address_per_hour = 2\nsignups_per_hour = 20\n")
    loaded = load_settings({}, config_file=path)
    assert (loaded.signups_per_address_per_hour, loaded.signups_per_hour) == (2, 20)


def _whole_number(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["NABUUR_SIGNUPS_PER_ADDRESS_PER_HOUR", "NABUUR_SIGNUPS_PER_HOUR"]),
    raw=st.one_of(
        st.integers(max_value=-1).map(str),
        st.integers(min_value=1_000_001).map(str),
        st.text().filter(lambda t: not _whole_number(t)),
        st.floats().filter(lambda f: not f.is_integer()).map(str),
    ),
)
def test_bad_limit_settings_name_the_setting(name: str, raw: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({name: raw})
    assert caught.value.name == name


# --- cheap checks before any hash ---------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "fields", "error"),
    [
        ("open", {"username": "GRIET"}, Conflict),  # taken, in another case
        ("open", {"username": "x!"}, InvalidInput),
        ("open", {"display_name": ""}, InvalidInput),
        ("open", {"display_name": "Buurthuis"}, InvalidInput),  # imitates the organisation
        ("open", {"languages": ["xx-not-a-language-tag!"]}, InvalidInput),
        ("open", {"home_neighbourhood": "nowhere"}, InvalidInput),
        ("open", {"password": "short"}, InvalidInput),
        ("open", {"password": "x" * 1025}, InvalidInput),
        ("invitation", {"invitation": "unknown"}, InvalidInput),
        ("closed", {}, PermissionDenied),
    ],
)
async def test_refused_sign_ups_hash_nothing_and_count_nothing(
    database: str, policy: str, fields: dict, error: type[Exception]
) -> None:
    await factories.account("griet")
    await factories.organisation("tussen-buren")
    before = (passwords.stats.started, actor_keys.generated, await Account.all().count())
    values = {"username": "jan", "display_name": "Jan", "password": PASSWORD, "languages": ["nl"]}
    with pytest.raises(error):
        await signups.sign_up(
            policy, **(values | fields), address="203.0.113.9", limits=Limits(5, 50)
        )
    after = (passwords.stats.started, actor_keys.generated, await Account.all().count())
    assert after == before
    assert await RateEvent.all().count() == 0


async def test_a_sign_up_hashes_once_and_makes_no_key(database: str) -> None:
    before = (passwords.stats.started, actor_keys.generated)
    account = await signups.sign_up(
        "open", username="jan", display_name="Jan", password=PASSWORD, languages=["nl"]
    )
    assert (passwords.stats.started, actor_keys.generated) == (before[0] + 1, before[1])
    stored = await Account.get(id=account.id)
    assert stored.private_key_pem is None and stored.public_key_pem is None


# --- limits over the app ------------------------------------------------------------------


async def test_per_address_limit(database: str) -> None:
    async with clients(database, "203.0.113.7", "198.51.100.4", signups_per_address_per_hour=2) as (
        here,
        elsewhere,
    ):
        assert (await sign_up(here, "ann")).status_code == 303
        # A taken name is not an attempt that costs: it does not use up the limit.
        assert (await sign_up(here, "ann")).status_code == 400
        assert (await sign_up(here, "bob")).status_code == 303
        hashed = passwords.stats.started
        refused = await sign_up(here, "cas")
        assert passwords.stats.started == hashed
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
        assert "Too many accounts were made from this connection" in refused.text
        assert "Try again in 60 minutes." in refused.text
        assert 'name="username"' in refused.text  # the form is still there
        assert (await sign_up(elsewhere, "cas")).status_code == 303
    assert sorted(await Account.all().values_list("username", flat=True)) == ["ann", "bob", "cas"]


async def test_per_hour_limit_and_staff_invitations(database: str) -> None:
    org = await factories.organisation("tussen-buren")
    staff = await signups.create_invitation(None, organisation=org, uses=5)
    node_link = await signups.create_invitation(None, uses=5)
    addresses = [f"192.0.2.{i}" for i in range(1, 6)]
    async with clients(
        database, *addresses, signups_per_address_per_hour=1, signups_per_hour=2
    ) as webs:
        assert (await sign_up(webs[0], "ann")).status_code == 303
        assert (await sign_up(webs[1], "bob")).status_code == 303
        refused = await sign_up(webs[2], "cas")
        assert refused.status_code == 429 and "retry-after" in refused.headers
        assert "takes no more for now" in refused.text
        # A node sign-up link is no way round it; a coordinator's staff invitation is.
        assert (await sign_up(webs[2], "cas", invitation=node_link.code)).status_code == 429
        assert (await sign_up(webs[3], "dirk", invitation=staff.code)).status_code == 303
        # ... but not round the per-address limit.
        limited = await sign_up(webs[0], "eva", invitation=staff.code)
        assert limited.status_code == 429
        assert "from this connection" in limited.text
    assert await Account.filter(username__in=["cas", "eva"]).count() == 0
    assert (await Invitation.get(id=staff.id)).uses_left == 4
    assert (await Invitation.get(id=node_link.id)).uses_left == 5
    assert await org.memberships.all().count() == 1  # dirk


async def test_zero_turns_a_limit_off(database: str) -> None:
    none = Limits(per_address=0, per_hour=0)
    for _ in range(20):
        await signup_limits.admit("203.0.113.7", none)
    assert await RateEvent.all().count() == 0
    for _ in range(8):
        await signup_limits.admit("203.0.113.7", Limits(per_address=0, per_hour=8))
    with pytest.raises(SignupsLimited) as caught:
        await signup_limits.admit("203.0.113.8", Limits(per_address=0, per_hour=8))
    assert caught.value.scope == "node"


def test_ipv6_addresses_count_per_64_network() -> None:
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1")
    assert address_key("192.0.2.1") != address_key("192.0.2.2")
    assert address_key(None) is None
    assert address_key("testclient") == "signup:address:testclient"


async def test_the_window_passes_and_old_rows_are_purged(database: str) -> None:
    limits = Limits(per_address=2, per_hour=0)
    long_ago = utcnow() - signup_limits.WINDOW - timedelta(seconds=1)
    for _ in range(2):
        await signup_limits.admit("2001:db8::1", limits, now=long_ago)
    await signup_limits.admit("2001:db8::2", limits)  # the old ones are out of the window
    await RateEvent.create(key="other-limit:x", at=long_ago)  # another limit's row
    await signup_limits.admit("2001:db8::3", limits)  # the same /64: its second
    with pytest.raises(SignupsLimited) as caught:
        await signup_limits.admit("2001:db8::4", limits)
    assert 3500 <= caught.value.retry_after <= 3600
    assert await signup_limits.purge_old() == 2
    assert await RateEvent.filter(key="other-limit:x").exists()
    assert await RateEvent.filter(key__startswith="signup:").count() == 2


async def test_simultaneous_attempts_never_pass_the_limit(database: str) -> None:
    limits = Limits(per_address=3, per_hour=0)

    async def attempt() -> bool:
        try:
            await signup_limits.admit("198.51.100.7", limits)
        except SignupsLimited:
            return False
        return True

    admitted = sum(await asyncio.gather(*(attempt() for _ in range(12))))
    assert admitted == 3
    assert await RateEvent.all().count() == 3  # the refused left nothing behind


# --- the cap on concurrent hashes ---------------------------------------------------------


async def test_concurrent_hashes_wait_for_a_place_and_all_succeed() -> None:
    cap = passwords.HASH_CONCURRENCY
    passwords.stats.peak = passwords.stats.running
    stored = await passwords.hash_password(PASSWORD)
    calls = [passwords.hash_password(f"{PASSWORD}{i}") for i in range(cap + 1)]
    calls += [passwords.verify_password(stored, PASSWORD) for _ in range(cap)]
    results = await asyncio.gather(*calls)
    assert all(r.startswith("$argon2id$") for r in results[: cap + 1])
    assert all(r is True for r in results[cap + 1 :])
    assert passwords.stats.peak == cap
    assert passwords.stats.running == 0


async def test_a_caller_that_gives_up_keeps_its_place_until_the_hash_ends() -> None:
    cap = passwords.HASH_CONCURRENCY
    passwords.stats.peak = passwords.stats.running
    abandoned = [asyncio.create_task(passwords.hash_password(PASSWORD)) for _ in range(cap)]
    while passwords.stats.running < cap:  # noqa: ASYNC110 - counted in the threads
        await asyncio.sleep(0.005)
    for task in abandoned:
        task.cancel()
    await asyncio.gather(*abandoned, return_exceptions=True)
    # Their threads still run: a new hash waits for one of them to end.
    assert (await passwords.hash_password(PASSWORD)).startswith("$argon2id$")
    assert passwords.stats.peak == cap
    while passwords.stats.running:  # noqa: ASYNC110 - let the abandoned threads end here
        await asyncio.sleep(0.01)


# --- key pairs made when first needed -----------------------------------------------------


async def test_a_fresh_accounts_actor_has_a_key(node: Node) -> None:
    account = await signups.sign_up(
        "open", username="jan", display_name="Jan", password=PASSWORD, languages=["nl"]
    )
    assert (await Account.get(id=account.id)).public_key_pem is None
    doc = (await node.client.get("/@jan", headers=AP)).json()
    pem = doc["publicKey"]["publicKeyPem"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert (await Account.get(id=account.id)).public_key_pem == pem
    assert doc == (await node.client.get("/@jan", headers=AP)).json()  # the same key again


async def test_signing_first_makes_the_key_the_actor_then_publishes(node: Node) -> None:
    account = await factories.account("jan")
    signing = await local_key(node.settings, "account", account.id)
    doc = (await node.client.get("/@jan", headers=AP)).json()
    published = load_public_key(doc["publicKey"]["publicKeyPem"])
    assert signing.private_key.public_key().public_numbers() == published.public_numbers()


async def test_two_first_uses_at_once_give_one_key(node: Node) -> None:
    account = await factories.account("jan")
    one, two = await Account.get(id=account.id), await Account.get(id=account.id)
    generated = actor_keys.generated
    first, second, signing = await asyncio.gather(
        actor_keys.ensure(one),
        actor_keys.ensure(two),
        local_key(node.settings, "account", account.id),
    )
    assert actor_keys.generated - generated >= 2  # both made a pair; one pair was kept
    stored = await Account.get(id=account.id)
    assert first.public_key_pem == second.public_key_pem == stored.public_key_pem
    assert first.private_key_pem == second.private_key_pem == stored.private_key_pem
    published = load_public_key(stored.public_key_pem)
    assert signing.private_key.public_key().public_numbers() == published.public_numbers()
