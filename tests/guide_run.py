"""Runs the production guide's boxes (deploy/README.md) as a volunteer would, on this
machine: for tests/test_production_guide.py, whose docstring lists what differs from a
real server. The differences are all here, in `GuideRun.paths` and `GuideRun.box_text`.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import re
import secrets
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from tests.conftest import PG_ADMIN_URL
from tests.deploy_helpers import (
    DEPLOY,
    NABUUR,
    PRODUCTION_NABUUR,
    ROOT,
    LocalResolver,
    Nginx,
    free_port,
    substitute,
)
from web.shell import csrf

GUIDE = DEPLOY / "README.md"
DOMAIN = "buren.guide.test"
PASSWORD = "a long passphrase for the guide"  # the first admin's (NABUUR_ADMIN_PASSWORD)
# Commands built by other parts of the project while the guide was written: a box that
# uses one `nabuur --help` does not list is skipped, and says so.
COMMANDS_OF_OTHERS = ("backup", "restore", "check", "move-to-postgres")


def guide_boxes() -> dict[str, str]:
    """The guide's ```sh boxes by name, in order."""
    text = GUIDE.read_text()
    boxes: dict[str, str] = {}
    for match in re.finditer(r"(?:<!-- step: ([\w-]+) -->\n)?```sh\n(.*?)```", text, re.S):
        name, body = match.groups()
        assert name, f"a ```sh box has no `<!-- step: NAME -->` above it:\n{body}"
        assert name not in boxes, f"two boxes are called {name}"
        boxes[name] = body
    return boxes


def section(heading: str) -> str:
    """The guide's text from `heading` to the next heading of its level or above."""
    text = GUIDE.read_text()
    level = heading.split()[0]
    start = text.index(f"\n{heading}\n")
    end = re.search(rf"\n#{{1,{len(level)}}} ", text[start + 1 :])
    return text[start : start + 1 + end.start()] if end else text[start:]


def guide_quote(name: str) -> str:
    match = re.search(rf"<!-- quote: {name} -->\n```text\n(.*?)\n```", GUIDE.read_text(), re.S)
    assert match, f"no quote {name!r} in the guide"
    return match.group(1)


def nabuur_help() -> set[str]:
    """The commands `nabuur --help` lists."""
    result = subprocess.run([str(NABUUR), "--help"], capture_output=True, text=True, check=True)
    return set(re.findall(r"(?m)^    ([a-z][\w-]*)\s", result.stdout))


@dataclass
class GuideRun:
    """The guide's boxes run one after the other in bash, variables carried over."""

    tmp: Path
    plan: dict[str, str]
    role: str = field(default_factory=lambda: f"nabuur_guide_{secrets.token_hex(4)}")
    ports: tuple[int, int] = field(default_factory=lambda: (free_port(), free_port()))
    skipped: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = self.tmp / "root"
        self.bin = self.root / "usr/local/bin"
        self.systemd_state = self.tmp / "systemd-state"
        for directory in (
            "etc/systemd/system",
            "etc/nginx/sites-available",
            "etc/nginx/sites-enabled",
            "var/lib/nabuur",
            "var/backups/nabuur",
            "usr/local/bin",
        ):
            (self.root / directory).mkdir(parents=True)
        (self.root / "var/lib/nabuur").chmod(0o750)
        (self.root / "var/backups/nabuur").chmod(0o750)
        # Debian's default site, which the guide removes.
        (self.root / "etc/nginx/sites-enabled/default").write_text("# Debian's default site\n")
        admin = urlsplit(PG_ADMIN_URL)
        self.pg = {
            "PGHOST": admin.hostname or "127.0.0.1",
            "PGPORT": str(admin.port or 5432),
            "PGUSER": admin.username or "postgres",
            "PGDATABASE": admin.path.lstrip("/") or "postgres",
        }
        self.state = self.tmp / "variables.sh"
        self.state.write_text("")
        self.user = getpass.getuser()
        self.available = nabuur_help()
        # The paths of a real server, where this test keeps them (longest first).
        self.paths = {
            "/opt/nabuur/src/deploy/nabuur.example.toml": str(self._example()),
            "/opt/nabuur/src/deploy/nabuur ": f"{self._wrapper()} ",
            "/opt/nabuur/src": str(ROOT),
            PRODUCTION_NABUUR: str(NABUUR),
            "/opt/nabuur/.venv": str(NABUUR.parent.parent),
            "/etc/nabuur": str(self.root / "etc/nabuur"),
            "/var/lib/nabuur": str(self.root / "var/lib/nabuur"),
            "/var/backups/nabuur": str(self.root / "var/backups/nabuur"),
            "/etc/nginx": str(self.root / "etc/nginx"),
            "/etc/systemd/system": str(self.root / "etc/systemd/system"),
            "/usr/local/bin": str(self.bin),
        }
        self._fake_systemctl()

    @property
    def host(self) -> str:
        return self.pg["PGHOST"]

    @property
    def port(self) -> str:
        return self.pg["PGPORT"]

    def _example(self) -> Path:
        """The example settings with the test's database server and names."""
        copy = self.tmp / "nabuur.example.toml"
        copy.write_text(
            substitute(
                (DEPLOY / "nabuur.example.toml").read_text(),
                {
                    "nabuur:CHANGE-ME@127.0.0.1:5432/nabuur": (
                        f"{self.role}:CHANGE-ME@{self.host}:{self.port}/{self.role}"
                    )
                },
            )
        )
        return copy

    def _wrapper(self) -> Path:
        """deploy/nabuur for the current user and the test's paths."""
        copy = self.tmp / "nabuur-wrapper"
        copy.write_text(
            substitute(
                (DEPLOY / "nabuur").read_text(),
                {
                    PRODUCTION_NABUUR: str(NABUUR),
                    "/etc/nabuur/nabuur.toml": str(self.root / "etc/nabuur/nabuur.toml"),
                    '"$(id -un)" = nabuur ]': f'"$(id -un)" = {self.user} ]',
                    "runuser -u nabuur --": f"runuser -u {self.user} --",
                },
            )
        )
        copy.chmod(0o755)
        return copy

    def _fake_systemctl(self) -> None:
        script = self.bin / "systemctl"
        script.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
            "from tests.guide_systemctl import main\nsys.exit(main(sys.argv[1:]))\n"
        )
        script.chmod(0o755)

    def unit_substitutions(self) -> dict[str, str]:
        """Production paths in the installed units, for tests/guide_systemctl.py."""
        return {
            PRODUCTION_NABUUR: str(NABUUR),
            "/etc/nabuur/nabuur.toml": self.paths["/etc/nabuur"] + "/nabuur.toml",
            "/var/lib/nabuur": self.paths["/var/lib/nabuur"],
            "/var/backups/nabuur": self.paths["/var/backups/nabuur"],
        }

    def environ(self) -> dict[str, str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("NABUUR_", "PG"))}
        environ.update(self.pg)
        environ["PATH"] = f"{self.bin}:{environ['PATH']}"
        environ["NABUUR_ADMIN_PASSWORD"] = PASSWORD  # instead of typing it twice
        environ["GUIDE_UNIT_DIR"] = self.paths["/etc/systemd/system"]
        environ["GUIDE_STATE_DIR"] = str(self.systemd_state)
        environ["GUIDE_SUBSTITUTIONS"] = json.dumps(self.unit_substitutions())
        return environ

    def box_text(self, name: str) -> str:
        text = guide_boxes()[name]
        names = {
            # The database and its role (both `nabuur` in the guide).
            "CREATE ROLE nabuur ": f"CREATE ROLE {self.role} ",
            "DATABASE nabuur OWNER nabuur ": f"DATABASE {self.role} OWNER {self.role} ",
            "createdb --owner nabuur nabuur_drill": f"createdb --owner {self.role} {self.role}_d",
            "dropdb nabuur_drill": f"dropdb {self.role}_d",
            '/*}/nabuur_drill"': f'/*}}/{self.role}_d"',
            "postgres://nabuur@127.0.0.1:5432/nabuur": (
                f"postgres://{self.role}@{self.host}:{self.port}/{self.role}"
            ),
            "postgres://nabuur:$NABUUR_DB_PASSWORD@127.0.0.1:5432/nabuur": (
                f"postgres://{self.role}:$NABUUR_DB_PASSWORD@{self.host}:{self.port}/{self.role}"
            ),
            # Root and the postgres user, where the test is neither.
            "runuser -u postgres -- ": "",
            "-o root -g nabuur ": "",
            "DOMAIN=buren.example.be": f"DOMAIN={DOMAIN}",
        }
        for old, new in {**names, **self.paths}.items():
            text = text.replace(old, new)
        for production, port in zip((8000, 8001), self.ports, strict=True):
            text = re.sub(rf"\b{production}\b", str(port), text)
        return text

    def run(self, name: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.plan[name] == "run", f"{name}: {self.plan[name]}"
        text = self.box_text(name)
        missing = [
            c for c in COMMANDS_OF_OTHERS if f"nabuur {c} " in text and c not in self.available
        ]
        if missing:
            self.skipped.append(f"{name} (nabuur {', '.join(missing)} not built yet)")
            return subprocess.CompletedProcess([name], 0, "", "")
        keep = " ".join(sorted(set(re.findall(r"(?m)^\s*([A-Z_]+)=", self._all_boxes()))))
        script = (
            f"set -euo pipefail\nsource {self.state}\n{text}\n"
            f'for v in {keep}; do if [ -n "${{!v+x}}" ]; then declare -p "$v"; fi; done'
            f" > {self.state}\n"
        )
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=self.tmp,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.ran.append(name)
        if check:
            assert result.returncode == 0, (
                f"box {name!r} failed ({result.returncode}), run as:\n{text}\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
            )
        return result

    def _all_boxes(self) -> str:
        return "\n".join(guide_boxes().values())

    def variable(self, name: str) -> str:
        result = subprocess.run(
            ["bash", "-c", f'source {self.state}; printf %s "${name}"'],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    def systemctl(self, *args: str) -> None:
        subprocess.run(
            [str(self.bin / "systemctl"), *args], env=self.environ(), check=True, timeout=120
        )

    def settings_file(self) -> Path:
        return self.root / "etc/nabuur/nabuur.toml"

    def unit_log(self, unit: str) -> str:
        path = self.systemd_state / f"{unit}.log"
        return path.read_text() if path.exists() else ""

    def memory(self) -> str:
        """Resident memory of each process the units started (for the guide's figures)."""
        figures = []
        for path in sorted(self.systemd_state.glob("*.pid")):
            status = Path(f"/proc/{path.read_text()}/status")
            if status.exists():
                rss = re.search(r"VmRSS:\s+(\d+) kB", status.read_text())
                if rss:
                    figures.append(f"{path.stem} {int(rss.group(1)) // 1024} MB")
        return ", ".join(figures)

    def stop_everything(self) -> None:
        """Stops what the test started, by pid, whatever state a failure left."""
        if (self.bin / "systemctl").exists() and self.systemd_state.exists():
            subprocess.run(
                [str(self.bin / "systemctl"), "stop", "nabuur.target"],
                env=self.environ(),
                timeout=120,
                check=False,
            )


def get(url: str, nginx: Nginx | None = None, headers: dict | None = None) -> tuple[int, str]:
    """One GET; through nginx, over https to the guide's domain on 127.0.0.1."""

    async def fetch() -> tuple[int, str]:
        connector = None
        if nginx is not None:
            context = ssl.create_default_context(cafile=str(nginx.certificate))
            connector = aiohttp.TCPConnector(ssl=context, resolver=LocalResolver(DOMAIN))
        timeout = aiohttp.ClientTimeout(total=30)
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout) as client,
            client.get(url, headers=headers or {}, allow_redirects=False) as response,
        ):
            return response.status, await response.text()

    return asyncio.run(fetch())


def wait_healthy(guide: GuideRun, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    for port in guide.ports:
        while True:
            try:
                if get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                logs = "\n".join(guide.unit_log(f"nabuur-web@{p}.service") for p in guide.ports)
                raise AssertionError(f"port {port} did not become healthy:\n{logs[-3000:]}")
            time.sleep(0.3)


def without_csrf(page: str) -> str:
    """A page without its CSRF token, which is new for every visitor."""
    return re.sub(rf'name="{csrf.FIELD}" value="[^"]*"', "", page)


def previous_migration() -> str:
    names = sorted(p.stem for p in (ROOT / "node" / "migrations").glob("0*.py"))
    return names[-2]
