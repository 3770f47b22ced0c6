"""`nabuur demo` as a real process: it seeds, serves, answers health and pages by language."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def title_link(lang: str, title: str) -> str:
    """A card's title: a link to the post page, marked with the text's language."""
    return f'<h3 lang="{lang}"><a href="/r/[^"]+">{re.escape(title)}</a></h3>'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, language: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Accept-Language": language or ""})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read().decode()


@pytest.fixture(scope="module")
def demo_node(tmp_path_factory: pytest.TempPathFactory):
    """`nabuur demo` exactly as `make demo` runs it, in a fresh working directory."""
    workdir = tmp_path_factory.mktemp("demo")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NABUUR_")}
    env["PYTHONPATH"] = str(ROOT)
    with (workdir / "demo.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "demo", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(process, base, workdir)
        yield base, workdir
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(process: subprocess.Popen, base: str, workdir: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nabuur demo exited: {(workdir / 'demo.log').read_text()}")
        try:
            if fetch(base + "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail("nabuur demo did not answer /healthz within 60 s")


@pytest.mark.slow
def test_demo_serves_seeded_neighbourhoods(demo_node: tuple[str, Path]) -> None:
    base, workdir = demo_node
    assert (workdir / "data" / "demo.sqlite3").exists()
    status, home = fetch(base + "/", "nl")
    assert status == 200
    assert 'href="/n/jette-centre"' in home and 'href="/n/dieleghem"' in home


@pytest.mark.slow
@pytest.mark.parametrize(
    ("language", "requests_heading", "offers_heading"),
    [
        ("nl", "Hulpvragen", "Hulpaanbod"),
        ("fr", "Demandes d’aide", "Offres d’aide"),
        ("en", "Requests for help", "Offers of help"),
    ],
)
def test_demo_pages_follow_accept_language(
    demo_node: tuple[str, Path], language: str, requests_heading: str, offers_heading: str
) -> None:
    base, _ = demo_node
    for slug in ("jette-centre", "dieleghem"):
        status, page = fetch(f"{base}/n/{slug}", language)
        assert status == 200
        assert f'<html lang="{language}">' in page
        assert requests_heading in page and offers_heading in page
        assert page.count('<article class="post') >= 5  # the seeded posts are listed
    # The sofa request was written in Dutch and French: French readers get the French.
    _, centre = fetch(f"{base}/n/jette-centre", language)
    if language == "fr":
        assert re.search(
            title_link("fr", "Amener un vieux canapé au parc à conteneurs"),
            centre,
        )
    else:
        assert re.search(
            title_link("nl", "Oude zetel naar het recyclagepark brengen"),
            centre,
        )


@pytest.mark.slow
def test_demo_logs_one_line_per_request_without_query(demo_node: tuple[str, Path]) -> None:
    base, workdir = demo_node
    status, _ = fetch(base + "/n/dieleghem?token=secret-looking")
    assert status == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = (workdir / "demo.log").read_text().splitlines()
        hits = [line for line in lines if "nabuur.http GET /n/dieleghem 200" in line]
        if hits:
            break
        time.sleep(0.1)
    assert hits, "no access-log line for the request"
    assert all("secret-looking" not in line for line in lines)
    assert any("job expire-posts" in line for line in lines)
    assert "nabuur-demo-2026" in "\n".join(lines[:5])  # the demo tells its throwaway password
