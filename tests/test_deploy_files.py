"""The files in deploy/ work as they are, so the production guide cannot drift from the code.

- the example settings load, and trust the proxy of the nginx site;
- the systemd units pass `systemd-analyze verify` (with ExecStart pointing at this
  checkout's `nabuur`: verify refuses a binary that does not exist, which the test shows
  too), are hardened (`systemd-analyze security --offline`), wait longer than the node
  drains, and migrate once; the commands of the migration and backup units run for real.

The nginx site is tested in tests/test_deploy_nginx.py, the guide in
tests/test_production_guide.py. systemd-analyze is skipped when missing on a laptop and
must run under CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from federation.runtime import DRAIN_SECONDS
from node.cli import GRACEFUL_SHUTDOWN_SECONDS
from node.config import load_settings
from tests.deploy_helpers import (
    DEPLOY,
    NABUUR,
    PRODUCTION_NABUUR,
    exec_argv,
    require_tool,
    substitute,
    unit_entries,
    unit_environment,
    unit_values,
)

EXAMPLE = DEPLOY / "nabuur.example.toml"
SERVICES = ("nabuur-web@.service", "nabuur-worker@.service", "nabuur-migrate.service")
ALL_UNITS = (*SERVICES, "nabuur.target", "nabuur-backup.service", "nabuur-backup.timer")
# What systemd-analyze checks: template units as one instance each.
VERIFIED = (
    "nabuur-web@8000.service",
    "nabuur-worker@1.service",
    "nabuur-migrate.service",
    "nabuur.target",
    "nabuur-backup.service",
    "nabuur-backup.timer",
)
MIB = 1024 * 1024


def test_example_toml_is_valid() -> None:
    settings = load_settings(environ={}, config_file=EXAMPLE)
    assert settings.public_url == "https://buren.example.be"
    assert settings.domain == "buren.example.be"
    assert settings.languages == ("nl", "fr", "en")
    assert settings.database_url.startswith("postgres://")
    # nginx on the same machine: its address is the only one whose X-Forwarded-For counts.
    assert settings.trusted_proxies == ("127.0.0.1/32", "::1/128")


# systemd ---------------------------------------------------------------------------------


def _units_in(tmp_path: Path, nabuur: str = str(NABUUR)) -> Path:
    """The units with ExecStart pointing at `nabuur` (verify needs the binary to exist)."""
    directory = tmp_path / "units"
    directory.mkdir()
    for name in ALL_UNITS:
        text = (DEPLOY / name).read_text()
        if PRODUCTION_NABUUR in text:
            text = substitute(text, {PRODUCTION_NABUUR: nabuur})
        (directory / name).write_text(text)
    return directory


def _verify(directory: Path) -> tuple[int, list[str]]:
    analyze = require_tool("systemd-analyze", "apt-get install systemd")
    result = subprocess.run(
        [analyze, "verify", "--man=no", *(str(directory / name) for name in VERIFIED)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Only what concerns our units: a machine's other units may have warnings of their own.
    said = [line for line in result.stderr.splitlines() if "nabuur" in line]
    return result.returncode, said


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    returncode, said = _verify(_units_in(tmp_path))
    assert returncode == 0 and not said, "\n".join(said)


def test_verify_would_see_a_broken_unit(tmp_path: Path) -> None:
    """The check above is not empty: a missing binary or a bad value is reported."""
    directory = _units_in(tmp_path, nabuur="/nonexistent/nabuur")
    worker = directory / "nabuur-worker@.service"
    worker.write_text(
        substitute(worker.read_text(), {"ProtectSystem=strict": "ProtectSystem=yes!"})
    )
    _, said = _verify(directory)
    assert any("/nonexistent/nabuur" in line and "nabuur-web@8000" in line for line in said)
    assert any("ProtectSystem" in line or "protect system" in line for line in said), said


@pytest.mark.parametrize("name", [*SERVICES, "nabuur-backup.service"])
def test_services_are_hardened(name: str, tmp_path: Path) -> None:
    path = DEPLOY / name
    service = dict(unit_entries(path)["Service"])
    assert service["User"] == service["Group"] == "nabuur"
    for key, value in {
        "NoNewPrivileges": "true",
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "PrivateTmp": "true",
        "PrivateDevices": "true",
        "CapabilityBoundingSet": "",
    }.items():
        assert service.get(key) == value, f"{name}: {key}={service.get(key)}"
    writable = set(service["ReadWritePaths"].split())
    assert writable <= {"/var/lib/nabuur", "/var/backups/nabuur"}, writable
    assert unit_environment(path)["NABUUR_CONFIG"] == "/etc/nabuur/nabuur.toml"
    # systemd's own score of what the unit leaves open (0 = locked down, 10 = nothing).
    analyze = require_tool("systemd-analyze", "apt-get install systemd")
    directory = _units_in(tmp_path)
    unit = name.replace("@.", "@1.")
    result = subprocess.run(
        [analyze, "security", "--offline=yes", "--threshold=25", str(directory / unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    score = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert score is not None and float(score.group(1)) <= 2.5, result.stdout[-300:]


def test_processes_restart_and_drain_before_systemd_kills() -> None:
    web_unit, worker_unit = DEPLOY / "nabuur-web@.service", DEPLOY / "nabuur-worker@.service"
    for path in (web_unit, worker_unit):
        assert unit_values(path, "Service", "Restart") == ["on-failure"]
        assert unit_values(path, "Service", "KillSignal") == ["SIGTERM"]
    # A web process gives requests in flight their time, then its federation runtime drains.
    web_stop = int(unit_values(web_unit, "Service", "TimeoutStopSec")[0])
    assert web_stop > GRACEFUL_SHUTDOWN_SECONDS + DRAIN_SECONDS
    assert int(unit_values(worker_unit, "Service", "TimeoutStopSec")[0]) > DRAIN_SECONDS
    # Web processes leave the queues to the workers.
    assert unit_environment(web_unit)["NABUUR_RUN_WORKERS"] == "0"
    assert exec_argv(unit_values(web_unit, "Service", "ExecStart")[0], "8001")[1:] == [
        "run",
        "--port",
        "8001",
    ]
    assert exec_argv(unit_values(worker_unit, "Service", "ExecStart")[0], "2")[1:] == ["worker"]


def test_migrations_run_once_before_every_process() -> None:
    migrate = DEPLOY / "nabuur-migrate.service"
    assert unit_values(migrate, "Service", "Type") == ["oneshot"]
    assert unit_values(migrate, "Service", "RemainAfterExit") == ["true"]
    assert exec_argv(unit_values(migrate, "Service", "ExecStart")[0])[1:] == ["migrate"]
    for name in ("nabuur-web@.service", "nabuur-worker@.service"):
        path = DEPLOY / name
        # Not in each instance: several instances would apply the same migrations at once.
        assert not unit_values(path, "Service", "ExecStartPre"), name
        for key in ("Wants", "After"):
            assert "nabuur-migrate.service" in " ".join(unit_values(path, "Unit", key)), key
        assert unit_values(path, "Unit", "PartOf") == ["nabuur.target"]
        assert unit_values(path, "Install", "WantedBy") == ["nabuur.target"]
    assert unit_values(migrate, "Unit", "PartOf") == ["nabuur.target"]
    assert not (DEPLOY / "nabuur.service").exists(), "replaced by the units above"


def _run_unit_command(argv: list[str], environ: dict[str, str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NABUUR_")}
    env.update(environ)
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{argv}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_migrate_and_backup_units_run_their_commands(tmp_path: Path, migrated_sqlite: Path) -> None:
    """What systemd would run, with the production paths replaced by temporary ones (on a
    migrated copy: the test of the guide migrates a new PostgreSQL database)."""
    state, backups, etc = tmp_path / "lib", tmp_path / "backups", tmp_path / "etc"
    for directory in (state, backups, etc):
        directory.mkdir()
    shutil.copy(migrated_sqlite, state / "nabuur.sqlite3")
    config = etc / "nabuur.toml"
    config.write_text(f'database_url = "sqlite://{state}/nabuur.sqlite3"\nname = "Deploy test"\n')
    paths = {
        PRODUCTION_NABUUR: str(NABUUR),
        "/var/backups/nabuur": str(backups),
        "/etc/nabuur/nabuur.toml": str(config),
    }

    def service(name: str) -> tuple[dict[str, str], list[str]]:
        text = (DEPLOY / name).read_text()
        text = substitute(text, {old: new for old, new in paths.items() if old in text})
        assert PRODUCTION_NABUUR not in text
        (tmp_path / name).write_text(text)
        path = tmp_path / name
        return unit_environment(path), [
            value
            for key, value in unit_entries(path)["Service"]
            if key in ("ExecStart", "ExecStartPost")
        ]

    environ, commands = service("nabuur-migrate.service")
    said = _run_unit_command(exec_argv(commands[0]), environ, state)
    assert said.strip() == "The database is up to date."
    _run_unit_command(
        [str(NABUUR), "init", "--admin-username", "gemeente"],
        {**environ, "NABUUR_ADMIN_PASSWORD": "a long passphrase for the test"},
        state,
    )
    old = backups / "nabuur-2020-01-01T033000Z.tar.gz"  # a backup from long ago
    old.write_bytes(b"old")
    os.utime(old, (0, 0))
    keep = backups / "notes.txt"  # not a backup: never deleted
    keep.write_text("mine")
    os.utime(keep, (0, 0))
    environ, commands = service("nabuur-backup.service")
    assert len(commands) == 2  # the backup, then the pruning
    for command in commands:
        _run_unit_command(exec_argv(command), environ, state)
    archives = sorted(p.name for p in backups.glob("nabuur-*.tar.gz"))
    assert len(archives) == 1 and re.fullmatch(
        r"nabuur-\d{4}-\d\d-\d\dT\d{6}Z\.tar\.gz", archives[0]
    ), archives
    assert keep.exists()
    # The archive holds the private keys: readable by the nabuur user only.
    assert (backups / archives[0]).stat().st_mode & 0o077 == 0
