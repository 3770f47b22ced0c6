"""Setting a node up from the command line: neighbourhoods, organisations, staff, roles and
connectors, with the pages' rules; and a node made only this way serving its pages."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.nodes import free_port
from tests.test_cli import ROOT, assert_one_line_error, init_node, nabuur


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `nabuur init` for the module (argon2 and key generation take seconds)."""
    workdir = tmp_path_factory.mktemp("cli-template")
    init_node(workdir, f"sqlite://{workdir / 'node.sqlite3'}")
    return workdir / "node.sqlite3"


@pytest.fixture
def node(initialised: Path, tmp_path: Path) -> tuple[Path, str]:
    """A copy of a node just made with `nabuur init` (admin els)."""
    shutil.copy(initialised, tmp_path / "node.sqlite3")
    return tmp_path, f"sqlite://{tmp_path / 'node.sqlite3'}"


def run(node: tuple[Path, str], *args: str) -> subprocess.CompletedProcess[str]:
    return nabuur(*args, cwd=node[0], database=node[1])


def counts(node: tuple[Path, str]) -> tuple[int, int, int, int]:
    with sqlite3.connect(node[1].removeprefix("sqlite://")) as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("neighbourhoods", "organisations", "memberships", "audit_entries")
        )


def test_each_command_does_what_it_says(node: tuple[Path, str]) -> None:
    added = run(
        node,
        "neighbourhood", "add", "jette-centre", "--name", "Jette Centre", "--commune", "Jette",
        "--centre", "50.878,4.325", "--radius", "800",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "/n/jette-centre" in added.stdout
    listed = run(node, "neighbourhood", "list")
    assert "jette-centre" in listed.stdout and "800 m" in listed.stdout
    org = run(node, "organisation", "add", "tussen-buren", "--name", "Tussen Buren", "--kind",
              "association")  # fmt: skip
    assert org.returncode == 0, org.stderr
    assert "tussen-buren" in run(node, "organisation", "list").stdout
    assert run(node, "staff", "add", "tussen-buren", "els", "--role", "coordinator").returncode == 0
    assert run(node, "connector", "add", "jette-centre", "els").returncode == 0
    assert "1 staff" in run(node, "organisation", "list").stdout
    assert counts(node) == (1, 1, 1, 4)  # every change is in the audit log


def test_a_polygon_from_a_geojson_file(node: tuple[Path, str]) -> None:
    ring = [[4.31, 50.83], [4.32, 50.83], [4.32, 50.84], [4.31, 50.84], [4.31, 50.83]]
    path = node[0] / "kuregem.geojson"
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}}
    path.write_text(json.dumps(feature))
    added = run(
        node, "neighbourhood", "add", "kuregem", "--name", "Kuregem", "--polygon", str(path)
    )
    assert added.returncode == 0, added.stderr
    assert "polygon" in run(node, "neighbourhood", "list").stdout
    path.write_text('{"type": "Polygon", "coordinates": [[[4.3, 50.8], [4.4, 50.8]]]}')
    bad = run(node, "neighbourhood", "add", "anderlecht", "--name", "X", "--polygon", str(path))
    assert_one_line_error(bad, "polygon")
    missing = run(node, "neighbourhood", "add", "x", "--name", "X", "--polygon", "/nope.json")
    assert_one_line_error(missing, "cannot read /nope.json")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(
            [
                "neighbourhood",
                "add",
                "x-hood",
                "--name",
                "X",
                "--centre",
                "91,4",
                "--radius",
                "800",
            ],
            ["centre", "latitude"],
            id="latitude-91",
        ),
        pytest.param(
            ["neighbourhood", "add", "els", "--name", "", "--centre", "50,4", "--radius", "80"],
            ["slug: els is already taken", "name: is required", "radius_m"],
            id="every-bad-field-at-once",
        ),
        pytest.param(
            ["neighbourhood", "add", "x-hood", "--name", "X hood"],
            ["--centre", "--polygon"],
            id="no-area",
        ),
        pytest.param(
            [
                "neighbourhood",
                "add",
                "x-hood",
                "--name",
                "X hood",
                "--centre",
                "50,4",
                "--radius",
                "900",
                "--country",
                "BEL",
            ],
            ["country"],
            id="country",
        ),
        pytest.param(["organisation", "add", "Bad Slug", "--name", "X Y"], ["slug"], id="slug"),
        pytest.param(["organisation", "add", "x-org", "--name", "X"], ["name"], id="short-name"),
        pytest.param(["staff", "add", "nobody", "els"], ["no organisation"], id="no-org"),
        pytest.param(["role", "nobody", "admin"], ["no account @nobody"], id="no-account"),
        pytest.param(["role", "els", "resident"], ["last admin"], id="last-admin"),
        pytest.param(["connector", "add", "nowhere", "els"], ["no neighbourhood"], id="no-hood"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    node: tuple[Path, str], args: list[str], words: list[str]
) -> None:
    before = counts(node)
    result = run(node, *args)
    assert_one_line_error(result, *words)
    assert counts(node) == before


def test_argparse_refuses_unknown_choices(node: tuple[Path, str]) -> None:
    for args in (
        ["organisation", "add", "x", "--name", "X", "--kind", "cult"],
        ["role", "els", "king"],
        ["staff", "add", "x", "els", "--role", "boss"],
    ):
        result = run(node, *args)
        assert result.returncode == 2 and "invalid choice" in result.stderr


def test_a_node_set_up_only_with_the_cli_serves_its_neighbourhood(
    node: tuple[Path, str],
) -> None:
    tmp_path, url = node
    for args in (
        ["neighbourhood", "add", "jette-centre", "--name", "Jette Centre", "--commune", "Jette",
         "--centre", "50.878,4.325", "--radius", "800"],
        ["organisation", "add", "tussen-buren", "--name", "Tussen Buren"],
        ["staff", "add", "tussen-buren", "els", "--role", "coordinator"],
    ):  # fmt: skip
        assert run(node, *args).returncode == 0
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NABUUR_")}
    environ.update(PYTHONPATH=str(ROOT), NABUUR_DATABASE_URL=url)
    server = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "run", "--port", str(port)],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page = ""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/n/jette-centre") as answer:
                    page = answer.read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert "Jette Centre" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/about") as answer:
            about = answer.read().decode()
        assert "Tussen Buren" in about and "Jette Centre" in about
    finally:
        server.terminate()
        server.wait(timeout=10)
