"""The production guide, deploy/README.md, followed by a script on a fresh PostgreSQL
database: its boxes run as bash scripts, one after the other, as a volunteer would run them.

Every ```sh box of the guide carries a name (`<!-- step: NAME -->` above it) and is, in
`PLAN`, either run or left out with the reason; `test_every_box_is_run_or_explained`
fails on a box in neither, so a new command in the guide gets run or explained.

What differs from a real server (all of it in tests/guide_run.py, `GuideRun`):
- paths: /etc/nabuur, /var/lib/nabuur, /var/backups/nabuur, /etc/nginx,
  /etc/systemd/system and /usr/local/bin are directories under the test's tmp_path;
  /opt/nabuur/src is this checkout and /opt/nabuur/.venv the virtual environment running
  the tests (the install from a git tag is left out);
- the node runs as the current user: the `nabuur` wrapper (deploy/nabuur) is installed
  with that user instead of `nabuur`, `install -o root -g nabuur` loses its owner and
  group (the test checks the modes), `runuser -u postgres --` is dropped and psql,
  createdb and dropdb reach the test's PostgreSQL (tests/conftest.py) through PGHOST,
  PGPORT and PGUSER;
- the database and its role get a unique name instead of `nabuur`, the domain is
  buren.guide.test, ports 8000 and 8001 are free ports;
- `systemctl` is tests/guide_systemctl.py, which starts the units' ExecStart as systemd
  would; certbot is replaced by a self-signed certificate, and nginx runs on free ports
  (tests/deploy_helpers.Nginx) with the site the guide installed.

Steps for commands another part of the project had not built yet are skipped (and say so)
until `nabuur --help` lists the command; today every one of them runs.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.config import load_settings
from tests.conftest import _pg_admin
from tests.deploy_helpers import (
    DEPLOY,
    NABUUR,
    PRODUCTION_NABUUR,
    STATIC,
    Nginx,
    exec_argv,
    free_port,
    substitute,
    unit_entries,
)
from tests.guide_run import (
    DOMAIN,
    PASSWORD,
    GuideRun,
    get,
    guide_boxes,
    guide_quote,
    nabuur_help,
    previous_migration,
    section,
    wait_healthy,
    without_csrf,
)

# Every box: "run" (as written, with the substitutions), or why not.
PLAN: dict[str, str] = {
    "variables": "run",
    "packages": "not run: installs Debian packages; the test machine has them",
    "user": "not run: creates a system user; the test makes the directories under tmp_path",
    "code": "not run: clones a release tag; the test uses this checkout and its .venv",
    "wrapper": "run",
    "postgres": "run",
    "settings": "run",
    "init": "run",
    "systemd": "run",
    "answers": "run",
    "scale": "not run: edits the nginx site by hand (nano)",
    "rolling-restart": "run",
    "certbot": "not run: needs a public domain; the test makes a self-signed certificate",
    "nginx-site": "run",
    "nginx-reload": "not run: the test runs `nginx -t` and starts nginx on free ports",
    "backup": "run",
    "restore-drill": "run",
    "restore-stop": "run",
    "restore": "run",
    "restore-start": "run",
    "upgrade-stop": "run",
    "upgrade-backup": "run",
    "upgrade-install": "not run: fetches a release tag; this checkout is installed already",
    "upgrade-migrate": "run",
    "upgrade-start": "run",
    "metrics-token": "run",
    "metrics": "run",
    "move-stop": "run",
    "move-backup": "run",
    "move": "run",
    "move-start": "run",
}
COMMANDS_OF_OTHERS = ("backup", "restore", "check", "move-to-postgres")


def test_every_box_is_run_or_explained() -> None:
    boxes = guide_boxes()
    assert list(boxes) == list(PLAN), "the guide's boxes and PLAN differ (names or order)"
    # The commands the guide names exist, with the options it uses.
    help_text = nabuur_help()
    for name, box in boxes.items():
        for command in re.findall(r'(?m)(?:^|"\s)nabuur ([a-z][\w-]*)', box):
            assert command in help_text, f"box {name}: `nabuur {command}` does not exist"


@pytest.fixture
def guide(tmp_path: Path, postgres_database: str) -> Iterator[GuideRun]:
    run = GuideRun(tmp_path, PLAN)
    yield run
    run.stop_everything()
    for database in (f"{run.role}_d", run.role):
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    asyncio.run(_pg_admin(f'DROP ROLE IF EXISTS "{run.role}"'))
    print(f"\nguide boxes run: {', '.join(run.ran)}")
    if run.skipped:
        print(f"guide boxes skipped: {'; '.join(run.skipped)}")


@pytest.mark.slow
def test_the_guide_on_a_fresh_postgresql_database(guide: GuideRun) -> None:
    # 0-5: variables, the wrapper, PostgreSQL, the settings, the node.
    guide.run("variables")
    guide.run("wrapper")
    guide.run("postgres")
    guide.run("settings")
    settings_file = guide.settings_file()
    assert settings_file.stat().st_mode & 0o777 == 0o640
    assert settings_file.parent.stat().st_mode & 0o777 == 0o750
    settings = load_settings(environ={}, config_file=settings_file)
    assert settings.public_url == f"https://{DOMAIN}"
    password = guide.variable("NABUUR_DB_PASSWORD")
    assert len(password) == 48 and f":{password}@" in settings.database_url
    assert settings.trusted_proxies == ("127.0.0.1/32", "::1/128")
    init = guide.run("init")
    assert "initialised; admin @gemeente created" in init.stdout, init.stdout
    assert "No problem found." in init.stdout

    # 6: the units, two web processes and a worker.
    guide.run("systemd")
    wait_healthy(guide)
    answers = guide.run("answers")
    assert '"status":"ok"' in answers.stdout.replace(" ", ""), answers.stdout
    guide.run("rolling-restart")
    wait_healthy(guide)
    print(f"\nresident memory after start: {guide.memory()}")

    # 7: nginx with the site as the guide installed it, on free ports.
    guide.run("nginx-site")
    sites = guide.root / "etc/nginx"
    assert not (sites / "sites-enabled/default").exists()
    installed = (sites / "sites-enabled/nabuur.conf").read_text()
    assert "buren.example.be" not in installed and f"server_name {DOMAIN};" in installed
    nginx = Nginx(
        guide.tmp / "nginx", guide.ports, site=sites / "sites-enabled/nabuur.conf", domain=DOMAIN
    )
    check = nginx.check()
    assert check.returncode == 0, check.stderr
    nginx.start()
    try:
        https = f"https://{DOMAIN}:{nginx.https_port}"
        status, home = get(f"{https}/", nginx)
        assert status == 200 and "<html" in home
        assert get(f"{https}/healthz", nginx)[0] == 200
        status, css = get(f"{https}/static/style.css", nginx)
        assert status == 200 and css == (STATIC / "style.css").read_text()

        # Backups: one by hand, a drill into a scratch database, a restore of the node.
        guide.run("backup")
        assert (guide.root / "var/backups/nabuur/by-hand.tar.gz").is_file()
        drill = guide.run("restore-drill")
        assert "No problem found." in drill.stdout, drill.stdout
        guide.run("restore-stop")
        restore = guide.run("restore")
        assert restore.returncode == 0
        guide.run("restore-start")
        wait_healthy(guide)
        status, again = get(f"{https}/", nginx)
        assert status == 200 and without_csrf(again) == without_csrf(home)

        # Upgrades: stop, back up, (install,) migrate, start.
        guide.run("upgrade-stop")
        guide.run("upgrade-backup")
        migrated = guide.run("upgrade-migrate")
        assert "The database is up to date." in migrated.stdout
        start = guide.run("upgrade-start")
        assert "No problem found." in start.stdout
        wait_healthy(guide)

        # What a process says on a database that is behind: as the guide quotes it.
        _behind_schema_is_refused_as_quoted(guide)
        wait_healthy(guide)

        # Monitoring: the token, the scrape, and every figure the guide names.
        guide.run("metrics-token")
        wait_healthy(guide)
        scraped = guide.run("metrics")
        assert scraped.stdout.startswith("nabuur_inbox_lag_seconds")
        token = guide.variable("METRICS_TOKEN")
        bearer = {"Authorization": f"Bearer {token}"}
        status, figures = get(f"http://127.0.0.1:{guide.ports[1]}/metrics", headers=bearer)
        assert status == 200
        named = section("### How many processes") + section("## Monitoring")
        for name in set(re.findall(r"`(nabuur_\w+)`", named)):
            assert re.search(rf"(?m)^{name}\b", figures), f"{name} is not in /metrics"
        assert get(f"{https}/metrics", nginx, bearer)[0] == 200  # from this machine
    finally:
        nginx.stop()
    guide.systemctl("stop", "nabuur.target")
    killed = list(guide.systemd_state.glob("*.killed"))
    assert not killed, f"not stopped within TimeoutStopSec: {killed}"


def _behind_schema_is_refused_as_quoted(guide: GuideRun) -> None:
    guide.systemctl("stop", "nabuur.target")
    config = str(guide.settings_file())
    subprocess.run(
        [str(NABUUR), "--config", config, "migrate", "--target", previous_migration()],
        check=True,
        capture_output=True,
        timeout=300,
    )
    web = guide.root / "etc/systemd/system/nabuur-web@.service"
    service = unit_entries(web)["Service"]
    # Any port: the process refuses before it listens (a free one, should it not refuse).
    port = str(free_port())
    argv = exec_argv(dict(service)["ExecStart"].replace(PRODUCTION_NABUUR, str(NABUUR)), port)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NABUUR_")}
    environ["NABUUR_CONFIG"] = config
    result = subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    quoted = re.escape(guide_quote("behind")).replace("1", r"\d+")
    assert re.fullmatch(quoted, result.stderr.strip()), result.stderr
    guide.run("upgrade-migrate")
    guide.run("upgrade-start")


@pytest.mark.slow
def test_moving_from_sqlite_as_the_guide_says(guide: GuideRun, migrated_sqlite: Path) -> None:
    """A node on SQLite (settings as in step 4, with a SQLite database) moves to a new
    PostgreSQL database with the guide's boxes, and serves from it."""
    guide.run("variables")
    guide.run("wrapper")
    database = guide.root / "var/lib/nabuur/nabuur.sqlite3"
    shutil.copy(migrated_sqlite, database)
    settings_file = guide.settings_file()
    settings_file.parent.mkdir(mode=0o750)
    settings_file.write_text(
        substitute(
            (DEPLOY / "nabuur.example.toml").read_text(),
            {
                'database_url = "postgres://nabuur:CHANGE-ME@127.0.0.1:5432/nabuur"': (
                    f'database_url = "sqlite://{database}"'
                ),
                "buren.example.be": DOMAIN,
            },
        )
    )
    subprocess.run(
        [str(NABUUR), "--config", str(settings_file), "init", "--admin-username", "gemeente"],
        env={**os.environ, "NABUUR_ADMIN_PASSWORD": PASSWORD},
        check=True,
        capture_output=True,
        timeout=300,
    )
    guide.run("systemd")  # the units, enabled and started on SQLite
    wait_healthy(guide)
    _, home_before = get(f"http://127.0.0.1:{guide.ports[0]}/")

    guide.run("move-stop")
    guide.run("move-backup")
    guide.run("postgres")
    sqlite_before = database.read_bytes()
    moved = guide.run("move")
    # The file is as it was; reading a WAL database may leave an empty journal beside it.
    assert database.read_bytes() == sqlite_before, "the move changed the SQLite database"
    wal = database.with_name(database.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert "accounts" in moved.stdout + moved.stderr
    settings = load_settings(environ={}, config_file=settings_file)
    assert settings.database_url.startswith("postgres://") and guide.role in settings.database_url
    start = guide.run("move-start")
    assert "database: reachable (PostgreSQL)" in start.stdout, start.stdout
    wait_healthy(guide)
    status, home_after = get(f"http://127.0.0.1:{guide.ports[0]}/")
    assert status == 200 and without_csrf(home_after) == without_csrf(home_before)
    guide.systemctl("stop", "nabuur.target")
