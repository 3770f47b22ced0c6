"""The client's address: X-Forwarded-For is read from trusted proxies and nobody else,
the setting that names them, and uvicorn leaving the address alone (issue 11)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from ipaddress import ip_address, ip_network
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.client_address import from_scope, parse_address, resolve
from node.config import Settings, SettingsError, load_settings
from tests.nodes import free_port
from tests.test_cli import ROOT, init_node

PROXIES = ("127.0.0.1/32", "::1/128", "10.0.0.0/8", "fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # Not a trusted proxy: the header is ignored, whatever it says.
        ("192.0.2.66", ["198.51.100.5"], "192.0.2.66"),
        ("192.0.2.66", ["127.0.0.1"], "192.0.2.66"),
        # nginx on this machine: the rightmost entry is who connected to it.
        ("127.0.0.1", ["198.51.100.5"], "198.51.100.5"),
        ("::1", ["2001:db8::7"], "2001:db8::7"),
        # What the client wrote itself sits left of what the proxies wrote.
        ("127.0.0.1", ["6.6.6.6, 198.51.100.5"], "198.51.100.5"),
        ("127.0.0.1", ["6.6.6.6", "198.51.100.5"], "198.51.100.5"),  # two header lines
        # Trusted hops are skipped from the right.
        ("127.0.0.1", ["198.51.100.5, 10.1.2.3"], "198.51.100.5"),
        ("127.0.0.1", ["6.6.6.6, 198.51.100.5, 10.1.2.3, 10.9.9.9"], "198.51.100.5"),
        # Every hop trusted: the leftmost.
        ("127.0.0.1", ["10.1.2.3, 10.4.5.6"], "10.1.2.3"),
        # Not an address: the walk stops at the last hop that is believed.
        ("127.0.0.1", ["198.51.100.5, unknown"], "127.0.0.1"),
        ("127.0.0.1", ["198.51.100.5, garbage, 10.1.2.3"], "10.1.2.3"),
        ("127.0.0.1", [""], "127.0.0.1"),
        ("127.0.0.1", [], "127.0.0.1"),
        # Ports, brackets, IPv4-mapped IPv6 and case are normalised.
        ("127.0.0.1", ["198.51.100.5:4711"], "198.51.100.5"),
        ("127.0.0.1", ["[2001:DB8::7]:4711"], "2001:db8::7"),
        ("::ffff:127.0.0.1", ["::ffff:198.51.100.5"], "198.51.100.5"),
        ("127.0.0.1", ["fe80::1%eth0"], "127.0.0.1"),
        # A peer that is no IP address (a Unix socket) is returned as it is.
        ("unix-socket", ["198.51.100.5"], "unix-socket"),
        (None, ["198.51.100.5"], None),
    ],
)
def test_forwarded_for_is_read_from_trusted_proxies_only(
    peer: str | None, forwarded: list[str], client: str | None
) -> None:
    assert resolve(peer, forwarded, PROXIES) == client


def test_nothing_is_trusted_by_default() -> None:
    assert Settings().trusted_proxies == ()
    assert resolve("127.0.0.1", ["198.51.100.5"], ()) == "127.0.0.1"
    scope = {"client": ("127.0.0.1", 4711), "headers": [(b"x-forwarded-for", b"198.51.100.5")]}
    assert from_scope(scope, ()) == "127.0.0.1"
    assert from_scope(scope, ("127.0.0.1/32",)) == "198.51.100.5"
    assert from_scope({"headers": []}, ("127.0.0.1/32",)) is None


addresses = st.one_of(
    st.ip_addresses().map(str),
    st.sampled_from(["127.0.0.1", "::1", "10.0.0.1", "fd00::1", "::ffff:10.0.0.1"]),
)
entries = st.one_of(
    addresses,
    addresses.map(lambda a: f"[{a}]:80" if ":" in a else f"{a}:80"),
    st.text(max_size=30),
    st.sampled_from(["", " ", "unknown", "[", "[::1", "[::1]x", "1.2.3.4:", "1.2.3.4:x"]),
)
header_lines = st.lists(st.lists(entries, max_size=6).map(", ".join), max_size=3)


@given(peer=st.one_of(st.none(), addresses, st.text(max_size=20)), lines=header_lines)
def test_any_header_gives_a_valid_address_or_the_peer(peer: str | None, lines: list[str]) -> None:
    client = resolve(peer, lines, PROXIES)
    if peer is None:
        assert client is None
        return
    peer_address = parse_address(peer)
    if peer_address is None:
        assert client == peer
        return
    assert client is not None
    assert client == str(ip_address(client))  # a valid address, in ipaddress's spelling
    hops = {str(parse_address(entry)) for line in lines for entry in line.split(",")}
    assert client == str(peer_address) or client in hops
    # From a peer that is not a proxy, the headers change nothing.
    if not any(peer_address in ip_network(network) for network in PROXIES):
        assert client == str(peer_address)


@given(peer=addresses, lines=header_lines)
def test_untrusted_peers_cannot_choose_their_address(peer: str, lines: list[str]) -> None:
    assert resolve(peer, lines, ()) == str(parse_address(peer))


# The setting.


def test_trusted_proxies_are_parsed_and_normalised(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"NABUUR_TRUSTED_PROXIES": " 127.0.0.1, ::1 ,10.0.0.1/8,, 2001:DB8::/32,127.0.0.1"}
    )
    assert settings.trusted_proxies == ("127.0.0.1/32", "::1/128", "10.0.0.0/8", "2001:db8::/32")
    assert load_settings(environ={"NABUUR_TRUSTED_PROXIES": ""}).trusted_proxies == ()
    toml = tmp_path / "nabuur.toml"
    toml.write_text('trusted_proxies = ["172.18.0.0/16", "fd00::1"]\n', encoding="utf-8")
    from_file = load_settings(environ={}, config_file=toml)
    assert from_file.trusted_proxies == ("172.18.0.0/16", "fd00::1/128")
    # Worker processes read the same value back from the environment.
    exported = settings.to_environ()["NABUUR_TRUSTED_PROXIES"]
    assert load_settings(environ={"NABUUR_TRUSTED_PROXIES": exported}) == settings


@pytest.mark.parametrize(
    "value",
    ["localhost", "10.0.0.0/33", "300.1.2.3", "[::1]", "fe80::1%eth0", "127.0.0.1;10.0.0.1",
     "nginx.internal", "10.0.0.0/8 192.168.0.0/16"],
)  # fmt: skip
def test_a_bad_proxy_is_a_clear_settings_error(value: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(environ={"NABUUR_TRUSTED_PROXIES": f"127.0.0.1,{value}"})
    message = str(error.value)
    assert message.startswith("setting NABUUR_TRUSTED_PROXIES:")
    assert repr(value.strip()) in message


@given(st.text(max_size=40))
def test_any_setting_text_is_parsed_or_refused_clearly(text: str) -> None:
    try:
        settings = load_settings(environ={"NABUUR_TRUSTED_PROXIES": text})
    except SettingsError as error:
        assert error.name == "NABUUR_TRUSTED_PROXIES"
    else:
        for network in settings.trusted_proxies:
            assert str(ip_network(network)) == network


# A served node: uvicorn does not rewrite the client from X-Forwarded-For itself.


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("proxy-node")
    init_node(workdir, f"sqlite://{workdir / 'node.sqlite3'}")
    return workdir / "node.sqlite3"


def _serve(
    initialised: Path, tmp_path: Path, *args: str, **env: str
) -> tuple[subprocess.Popen, str]:
    shutil.copy(initialised, tmp_path / "node.sqlite3")
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NABUUR_")}
    environ.pop("FORWARDED_ALLOW_IPS", None)  # uvicorn's own default: 127.0.0.1 and ::1
    environ.update(
        PYTHONPATH=str(ROOT),
        NABUUR_DATABASE_URL=f"sqlite://{tmp_path / 'node.sqlite3'}",
        NABUUR_RUN_WORKERS="0",
        **env,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "run", "--port", str(port), *args],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, f"http://127.0.0.1:{port}"


def _statuses(base: str, forwarded: list[str]) -> list[int]:
    """Wrong passwords for one name, each claiming another address in X-Forwarded-For."""
    with httpx.Client(base_url=base, timeout=30) as http:
        for _ in range(150):
            try:
                page = http.get("/login")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        return [
            http.post(
                "/login",
                data={"username": "nobody", "password": "wrong password!", "csrf_token": token},
                headers={"x-forwarded-for": claimed},
            ).status_code
            for claimed in forwarded
        ]


CLAIMS = [f"198.51.100.{n}" for n in range(1, 7)]


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_served_node_ignores_forwarded_for_unless_told(
    initialised: Path, tmp_path: Path, workers: str
) -> None:
    # From 127.0.0.1, which uvicorn trusts by default: had it rewritten the client, each
    # attempt would count for another address and none would wait.
    server, base = _serve(initialised, tmp_path, "--workers", workers)
    try:
        statuses = _statuses(base, CLAIMS)
        # The 4th waits a second after the 3rd failure; by the 6th, 4 seconds at least.
        assert statuses[:3] == [400, 400, 400] and statuses[-1] == 429, statuses
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.slow
def test_a_served_node_reads_forwarded_for_from_its_trusted_proxy(
    initialised: Path, tmp_path: Path
) -> None:
    server, base = _serve(initialised, tmp_path, NABUUR_TRUSTED_PROXIES="127.0.0.1")
    try:
        assert _statuses(base, CLAIMS) == [400] * len(CLAIMS)
    finally:
        server.terminate()
        server.wait(timeout=20)
