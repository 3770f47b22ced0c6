"""A stand-in for `systemctl`, for tests/test_production_guide.py: the guide's boxes run as
written, and their systemctl commands start and stop the node's processes the way systemd
would with the units of deploy/ (no systemd runs on the test machine).

It reads the units the guide installed (GUIDE_UNIT_DIR, with the production paths in
them replaced by GUIDE_SUBSTITUTIONS, a JSON object) and runs their ExecStart with their
Environment and WorkingDirectory, detached, one log file and pid file each under
GUIDE_STATE_DIR. What it knows of systemd, for these units only:

- `enable [--now]`, `disable [--now]`: remember the instances nabuur.target wants;
- `start`: nabuur.target starts every enabled instance; an instance first runs
  nabuur-migrate.service (oneshot, once until nabuur.target stops: Wants= and After=);
  a timer is only remembered;
- `stop`: SIGTERM, then waiting up to TimeoutStopSec (then SIGKILL, and a `killed` file
  tells the test); nabuur.target stops every instance and nabuur-migrate.service (PartOf=);
- `restart`, `daemon-reload` (nothing to do), `status`.
Anything else (`reload nginx`, say) fails: a box that needs it cannot run here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.deploy_helpers import exec_argv, unit_entries

TARGET = "nabuur.target"
MIGRATE = "nabuur-migrate.service"


class Systemd:
    def __init__(self, environ: dict[str, str]) -> None:
        self.units = Path(environ["GUIDE_UNIT_DIR"])
        self.state = Path(environ["GUIDE_STATE_DIR"])
        self.state.mkdir(parents=True, exist_ok=True)
        self.substitutions: dict[str, str] = json.loads(environ["GUIDE_SUBSTITUTIONS"])
        self.enabled_file = self.state / "enabled"

    # units -------------------------------------------------------------------------------

    def _template(self, unit: str) -> tuple[Path, str]:
        name, _, instance = unit.partition("@")
        if instance:
            instance, _, suffix = instance.rpartition(".")
            path = self.units / f"{name}@.{suffix}"
        else:
            path = self.units / unit
        if not path.is_file():
            raise SystemExit(f"Unit {unit} not found.")
        return path, instance

    def _service(self, unit: str) -> tuple[list[str], dict[str, str], Path, dict[str, str]]:
        path, instance = self._template(unit)
        text = path.read_text()
        for old, new in self.substitutions.items():
            text = text.replace(old, new)
        resolved = self.state / f"{unit}.resolved"
        resolved.write_text(text)
        service = dict(unit_entries(resolved)["Service"])
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("NABUUR_", "GUIDE_"))}
        for key, value in unit_entries(resolved)["Service"]:
            if key == "Environment":
                name, _, setting = value.partition("=")
                environ[name] = setting
        return (
            exec_argv(service["ExecStart"], instance),
            environ,
            Path(service["WorkingDirectory"]),
            service,
        )

    def _enabled(self) -> list[str]:
        return self.enabled_file.read_text().split() if self.enabled_file.exists() else []

    def _pid(self, unit: str) -> int | None:
        path = self.state / f"{unit}.pid"
        if not path.exists():
            return None
        pid = int(path.read_text())
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            path.unlink()
            return None
        # A zombie (exited, not yet reaped by anyone) is not running.
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return None if status == "Z" else pid

    # actions -----------------------------------------------------------------------------

    def start(self, unit: str) -> None:
        if unit == TARGET:
            for wanted in self._enabled():
                if wanted.endswith(".service"):
                    self.start(wanted)
            return
        if unit.endswith(".timer"):
            (self.state / f"{unit}.active").touch()
            return
        if unit == MIGRATE:
            self._migrate()
            return
        if self._pid(unit) is not None:
            return
        self._migrate()
        argv, environ, cwd, _ = self._service(unit)
        with (self.state / f"{unit}.log").open("ab") as log:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives this command, as under systemd
            )
        (self.state / f"{unit}.pid").write_text(str(process.pid))

    def _migrate(self) -> None:
        active = self.state / f"{MIGRATE}.active"
        if active.exists():
            return
        argv, environ, cwd, _ = self._service(MIGRATE)
        with (self.state / f"{MIGRATE}.log").open("ab") as log:
            result = subprocess.run(argv, cwd=cwd, env=environ, stdout=log, stderr=log, check=False)
        if result.returncode != 0:
            raise SystemExit(f"Job for {MIGRATE} failed (see {self.state / MIGRATE}.log).")
        active.touch()

    def stop(self, unit: str) -> None:
        if unit == TARGET:
            for path in sorted(self.state.glob("*.pid")):
                self.stop(path.name.removesuffix(".pid"))
            (self.state / f"{MIGRATE}.active").unlink(missing_ok=True)
            return
        if unit.endswith(".timer"):
            (self.state / f"{unit}.active").unlink(missing_ok=True)
            return
        pid = self._pid(unit)
        if pid is None:
            return
        _, _, _, service = self._service(unit)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + float(service.get("TimeoutStopSec", "90"))
        while self._pid(unit) is not None:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                (self.state / f"{unit}.killed").touch()
                break
            time.sleep(0.1)
        (self.state / f"{unit}.pid").unlink(missing_ok=True)

    def enable(self, units: list[str], now: bool) -> None:
        enabled = self._enabled()
        for unit in units:
            self._template(unit)  # exists
            if unit not in enabled:
                enabled.append(unit)
        self.enabled_file.write_text("\n".join(enabled) + "\n")
        if now:
            for unit in units:
                self.start(unit)

    def disable(self, units: list[str], now: bool) -> None:
        self.enabled_file.write_text("\n".join(u for u in self._enabled() if u not in units) + "\n")
        if now:
            for unit in units:
                self.stop(unit)


def _unit_name(name: str) -> str:
    return name if "." in name else f"{name}.service"


def main(argv: list[str]) -> int:
    systemd = Systemd(dict(os.environ))
    if not argv:
        raise SystemExit("usage: systemctl COMMAND [UNIT...]")
    command, args = argv[0], argv[1:]
    now = "--now" in args
    units = [_unit_name(a) for a in args if not a.startswith("-")]
    if command == "daemon-reload":
        return 0
    if command in ("enable", "disable"):
        (systemd.enable if command == "enable" else systemd.disable)(units, now)
        return 0
    if command in ("start", "stop", "restart"):
        for unit in units:
            if command in ("stop", "restart"):
                systemd.stop(unit)
            if command in ("start", "restart"):
                systemd.start(unit)
        return 0
    if command == "status":
        for path in sorted(systemd.state.glob("*.pid")):
            print(path.name.removesuffix(".pid"), "running, pid", path.read_text())
        return 0
    raise SystemExit(f"systemctl {' '.join(argv)}: not emulated by tests/guide_systemctl.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
