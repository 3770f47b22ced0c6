"""An idle node does not load what only federation traffic or a log-in needs.

`nabuur run` must stay small (under 60 MB resident when idle): `cryptography` alone is about
6 MB, nh3 1.5 MB. They are imported on first use, so a fresh process that serves the home and
log-in pages must not have them in `sys.modules`. A module-level import of any of them in the
start-up path makes this test fail.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Loaded with the first signature, remote document, remote HTML or password, never at start-up.
LAZY_MODULES = (
    "cryptography",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "http_message_signatures",
    "http_sf",
    "aiohttp",
    "nh3",
    "argon2",
    "PIL",
    # Window cards, posters and request sheets: loaded with the first PDF drawn.
    "reportlab",
    "segno",
)

# What `nabuur run` does, minus the socket: the CLI module, the app, its lifespan, two pages.
IDLE_NODE = """
import json, sys
import node.cli
from node.app import create_app
from node.config import load_settings
from starlette.testclient import TestClient

with TestClient(create_app(load_settings())) as client:
    statuses = [client.get(path).status_code for path in ("/", "/login")]
print(json.dumps({"statuses": statuses, "loaded": [m for m in LAZY if m in sys.modules]}))
"""


def _environ(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NABUUR_")}
    environ.update(
        PYTHONPATH=str(ROOT),
        NABUUR_DATABASE_URL=f"sqlite://{tmp_path}/node.sqlite3",
        NABUUR_ADMIN_PASSWORD="a long password 123",
    )
    return environ


def test_the_lazy_modules_exist() -> None:
    # A renamed or removed package would otherwise make the test below pass for nothing.
    missing = [m for m in LAZY_MODULES if importlib.util.find_spec(m) is None]
    assert not missing


def test_an_idle_node_loads_no_cryptography_nor_other_first_use_modules(tmp_path: Path) -> None:
    environ = _environ(tmp_path)
    init = subprocess.run(
        [sys.executable, "-m", "node.cli", "init", "--admin-username", "els"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert init.returncode == 0, init.stderr
    serve = subprocess.run(
        [sys.executable, "-c", f"LAZY = {LAZY_MODULES!r}\n{IDLE_NODE}"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert serve.returncode == 0, serve.stderr
    result = json.loads(serve.stdout.strip().splitlines()[-1])
    assert result["statuses"] == [200, 200]
    assert result["loaded"] == [], f"imported at start-up: {result['loaded']}"
