"""The nginx site of deploy/ (deploy/nginx/nabuur.conf) with Debian's nginx: `nginx -t`
accepts it (and would refuse a broken one), and a real nginx serving it in front of two
echo servers standing in for the web processes redirects to https, passes the headers
the node reads, limits bodies as the node does, serves static files with cache headers,
keeps /metrics private, and uses the other process while one restarts.

Skipped without nginx on a laptop, failed under CI=true (`make test` installs it as root).
"""

from __future__ import annotations

import asyncio
import io
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from node.client_address import resolve
from node.config import load_settings
from tests.deploy_helpers import (
    DEPLOY,
    DOMAIN,
    STATIC,
    LocalResolver,
    Nginx,
    free_port,
    substitute,
)

EXAMPLE = DEPLOY / "nabuur.example.toml"
MIB = 1024 * 1024


def test_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    nginx = Nginx(tmp_path, (free_port(), free_port()))
    result = nginx.check()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "warn" not in result.stderr, result.stderr


def test_nginx_t_would_see_a_broken_site(tmp_path: Path) -> None:
    nginx = Nginx(tmp_path, (free_port(), free_port()))
    # A typing mistake in the upstream's name, as a volunteer might make.
    broken = substitute(nginx.site_text, {"proxy_pass http://nabuur;": "proxy_pass http://nabur;"})
    nginx.site.write_text(broken)
    result = nginx.check()
    assert result.returncode != 0 and '"nabur"' in result.stderr, result.stderr


async def _echo_server(port: int, seen: list[dict]) -> web.AppRunner:
    """A stand-in for a web process: answers with what reached it, and sends the two
    headers the node sends (nginx must not double them)."""

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append({"port": port, "target": request.raw_path, "body": len(body)})
        return web.json_response(
            {
                "port": port,
                "target": request.raw_path,
                "host": request.headers.getall("Host", []),
                "forwarded_for": request.headers.getall("X-Forwarded-For", []),
                "forwarded_proto": request.headers.getall("X-Forwarded-Proto", []),
                "peer": request.remote,
                "body": len(body),
            },
            headers={"Strict-Transport-Security": "max-age=1", "X-Content-Type-Options": "nosniff"},
        )

    app = web.Application(client_max_size=16 * MIB)
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@pytest.fixture
async def served_site(tmp_path: Path) -> AsyncIterator[tuple[Nginx, list, list]]:
    ports = (free_port(), free_port())
    seen: list[dict] = []
    runners = [await _echo_server(port, seen) for port in ports]
    nginx = Nginx(tmp_path, ports)
    await asyncio.to_thread(nginx.start)
    try:
        yield nginx, runners, seen
    finally:
        await asyncio.to_thread(nginx.stop)
        for runner in runners:
            await runner.cleanup()


def _client(nginx: Nginx, local_address: str | None = None) -> aiohttp.ClientSession:
    context = ssl.create_default_context(cafile=str(nginx.certificate))
    connector = aiohttp.TCPConnector(
        ssl=context,
        resolver=LocalResolver(),
        local_addr=(local_address, 0) if local_address else None,
        force_close=True,
    )
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=20))


@pytest.mark.slow
async def test_nginx_in_front_of_two_web_processes(served_site: tuple[Nginx, list, list]) -> None:
    nginx, runners, seen = served_site
    https = f"https://{DOMAIN}:{nginx.https_port}"
    http = f"http://{DOMAIN}:{nginx.http_port}"
    (nginx.webroot / ".well-known" / "acme-challenge").mkdir(parents=True)
    (nginx.webroot / ".well-known" / "acme-challenge" / "t0k3n").write_text("proof")
    settings = load_settings(environ={}, config_file=EXAMPLE)

    async with _client(nginx) as client, _client(nginx, "127.0.0.2") as outsider:
        # Plain http: certbot's challenge is answered, everything else goes to https.
        async with client.get(f"{http}/.well-known/acme-challenge/t0k3n") as response:
            assert response.status == 200 and await response.text() == "proof"
        async with client.post(f"{http}/n/jette?x=1", allow_redirects=False) as response:
            assert response.status == 301
            assert response.headers["Location"] == f"https://{DOMAIN}/n/jette?x=1"

        # Proxied: the raw request line (signatures cover it), Host, the forwarding headers,
        # and one HSTS and one nosniff although the node sends them too.
        raw = URL(f"{https}/users/a%2Fb/inbox?page=%7E1", encoded=True)  # sent as it is
        async with client.get(raw) as response:
            answer = await response.json()
            assert response.status == 200
            assert response.headers.getall("Strict-Transport-Security") == ["max-age=31536000"]
            assert response.headers.getall("X-Content-Type-Options") == ["nosniff"]
        assert answer["target"] == "/users/a%2Fb/inbox?page=%7E1"
        assert answer["host"] == [DOMAIN]
        assert answer["forwarded_proto"] == ["https"]
        assert answer["forwarded_for"] == ["127.0.0.1"]

        # The node, trusting the proxy as the example settings say, finds the visitor's
        # address and not what the visitor wrote in X-Forwarded-For.
        forged = {"X-Forwarded-For": "203.0.113.9"}
        async with outsider.get(f"{https}/about", headers=forged) as response:
            answer = await response.json()
        assert answer["forwarded_for"] == ["203.0.113.9, 127.0.0.2"]
        client_address = resolve(answer["peer"], answer["forwarded_for"], settings.trusted_proxies)
        assert client_address == "127.0.0.2"

        # Both web processes take requests.
        for _ in range(6):
            async with client.get(f"{https}/") as response:
                assert response.status == 200
        assert {item["port"] for item in seen} == {runner.addresses[0][1] for runner in runners}

        # Bodies: the inbox's 1 MiB passes, one byte more is refused before the node;
        # the admin pages take an icon of 5 MiB with its form.
        sizes = {("/inbox", MIB): 200, ("/inbox", MIB + 1): 413, ("/n/x/inbox", MIB + 1): 413}
        sizes |= {("/admin/n/x/icon", 5 * MIB + 64 * 1024): 200, ("/admin/x", 6 * MIB + 1): 413}
        for (path, size), status in sizes.items():
            before = len(seen)
            async with client.post(f"{https}{path}", data=io.BytesIO(b"x" * size)) as response:
                assert response.status == status, (path, size)
                if status == 200:
                    assert (await response.json())["body"] == size
            assert len(seen) == before + (status == 200)

        # Static files come from nginx, with cache headers and the same security headers.
        before = len(seen)
        async with client.get(f"{https}/static/style.css") as response:
            assert response.status == 200
            assert await response.read() == (STATIC / "style.css").read_bytes()
            assert response.headers["Cache-Control"] == "max-age=604800"
            assert response.headers.getall("Strict-Transport-Security") == ["max-age=31536000"]
            assert response.headers.getall("X-Content-Type-Options") == ["nosniff"]
        assert len(seen) == before

        # /metrics: from this machine to the node, from elsewhere not even that far.
        async with client.get(f"{https}/metrics") as response:
            assert response.status == 200 and seen[-1]["target"] == "/metrics"
        async with outsider.get(f"{https}/metrics") as response:
            assert response.status == 403

        # A web process restarting: its port refuses, nginx uses the other one, also for a
        # POST (it was never sent to the stopped one).
        stopped = runners[0].addresses[0][1]
        await runners[0].cleanup()
        for method in ("GET", "POST", "GET", "POST"):
            async with client.request(method, f"{https}/inbox", data=b"{}") as response:
                assert response.status == 200
                assert (await response.json())["port"] != stopped


@pytest.mark.slow
def test_nginx_leaves_nothing_running(tmp_path: Path) -> None:
    nginx = Nginx(tmp_path, (free_port(), free_port()))
    nginx.start()
    master = nginx.process
    assert master is not None
    workers = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert workers, "nginx has a worker process"
    nginx.stop()
    assert master.poll() is not None
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists(), f"nginx worker {pid} still runs"
