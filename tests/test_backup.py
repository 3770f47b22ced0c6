"""`nabuur backup` and `nabuur restore`, through the real command on both backends.

The round trip backs up a node with data while it serves, restores it into an empty
database, serves that, and compares pages and actor documents byte for byte; the
restored keys must sign requests that verify against the public keys served before.
Refusing to overwrite an archive, and keeping the database password out of sight, are
here too; refusals of restores are in test_restore_refusals.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import stat
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from node import db
from node.backup import backup
from node.backup_tables import code_migrations
from node.config import load_settings
from node.restore import restore
from tests.backup_helpers import archive_members, make_node, populate, rows_in
from tests.nodes import AP, NodeProcess
from tests.test_cli import assert_one_line_error, init_node, nabuur

pytest_plugins = ["tests.backup_fixtures"]

PAGES = ("/", "/about", "/n/jette-centre", "/o/tussen-buren", "/@greet")
ACTORS = ("/n/jette-centre", "/o/tussen-buren", "/actor", "/@greet")


class Served(NodeProcess):
    """`nabuur run` on a free port over a given database, under a fixed public URL."""

    def __init__(self, workdir: Path, name: str, url: str, base: str) -> None:
        super().__init__(workdir, name, NABUUR_DATABASE_URL=url, NABUUR_BASE_URL=base)

    def command(self) -> list[str]:
        return ["run", "--port", str(self.port)]

    def get(self, path: str, accept: str = "text/html") -> bytes:
        request = urllib.request.Request(self.url(path), headers={"accept": accept})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, path
            return response.read()


# The one part of a page that differs on every visit: a fresh session's form token.
CSRF = re.compile(rb'(name="csrf_token" value=")[^"]+"')


def _snapshot(node: Served, post_path: str) -> dict[str, bytes]:
    pages = {path: CSRF.sub(rb'\1-"', node.get(path)) for path in (*PAGES, post_path)}
    for path in (*ACTORS, post_path):
        pages[f"AP {path}"] = node.get(path, AP["accept"])
    icon = json.loads(pages["AP /n/jette-centre"])["icon"]["url"]
    pages["icon"] = node.get(icon.removeprefix(node.env["NABUUR_BASE_URL"]), "image/*")
    return pages


def _serve(tmp_path: Path, name: str, url: str, base: str, post_path: str) -> dict[str, bytes]:
    node = Served(tmp_path, name, url, base).start()
    try:
        node.wait_ready()
        return _snapshot(node, post_path)
    finally:
        node.stop()


async def _sign_with_restored_keys(url: str, base: str, served: dict[str, bytes]) -> int:
    """Sign a POST as each restored actor and verify it with the key served before."""
    from federation.signatures.cavage import verify_cavage
    from federation.signing import local_key
    from node.keys import load_public_key
    from node.services import local_actors

    settings = load_settings({"NABUUR_DATABASE_URL": url, "NABUUR_BASE_URL": base})
    await db.open_database(url)
    try:
        verified = 0
        for path in ACTORS:
            document = json.loads(served[f"AP {path}"])
            actor = await local_actors.by_url(settings, document["id"])
            kind, key = local_actors.ref(actor)
            signer = (await local_key(settings, kind, key)).signer("cavage")
            body = b'{"type": "Follow"}'
            target = "https://peer.example/inbox"
            headers = signer("POST", target, {"content-type": "application/activity+json"}, body)
            assert dict(headers).get("signature", "").find(document["publicKey"]["id"]) > 0
            public = load_public_key(document["publicKey"]["publicKeyPem"])
            verify_cavage(
                method="POST", target="/inbox", headers=headers, body=body, public_key=public
            )
            verified += 1
        return verified
    finally:
        await db.close_database()


@pytest.mark.slow
def test_round_trip_serves_the_same_node(tmp_path: Path, new_database: Callable[..., str]) -> None:
    source, target = new_database(), new_database(migrated=False)
    init_node(tmp_path, source)
    post_path = f"/r/{asyncio.run(populate(source))}"
    base = "http://127.0.0.1:8999"  # the actors' ids: the same before and after

    node = Served(tmp_path, "before", source, base).start()
    try:
        node.wait_ready()
        before = _snapshot(node, post_path)
        # Online: the node keeps serving (and its workers running) during the backup.
        made = nabuur("backup", "node.tar.gz", cwd=tmp_path, database=source)
        assert made.returncode == 0, made.stderr
    finally:
        node.stop()
    archive = tmp_path / "node.tar.gz"
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert made.stdout.strip().splitlines()[-1].startswith(f"Backup written to {archive.name}")

    back = nabuur("restore", str(archive), cwd=tmp_path, database=target)
    assert back.returncode == 0, back.stderr
    assert "all as in the backup" in back.stdout
    assert asyncio.run(rows_in(target)) == asyncio.run(rows_in(source))

    after = _serve(tmp_path, "after", target, base, post_path)
    assert after.keys() == before.keys()
    for what in before:
        assert after[what] == before[what], _first_difference(what, before[what], after[what])
    assert b"Sofa naar het containerpark" in after["/n/jette-centre"] and after["icon"]
    group = json.loads(after["AP /n/jette-centre"])
    assert group["type"] == "Group" and "BEGIN PUBLIC KEY" in group["publicKey"]["publicKeyPem"]
    assert asyncio.run(_sign_with_restored_keys(target, base, before)) == len(ACTORS)


def _first_difference(what: str, before: bytes, after: bytes) -> str:
    at = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b), 0)
    return f"{what}: before {before[at - 80 : at + 80]!r}, after {after[at - 80 : at + 80]!r}"


def test_manifest_describes_the_archive(tmp_path: Path, node_with_backup: tuple[str, Path]) -> None:
    url, archive = node_with_backup
    files = archive_members(archive)
    manifest = json.loads(files["manifest.json"])
    assert manifest["backend"] == ("sqlite" if db.is_sqlite(url) else "postgresql")
    assert manifest["migration"] == code_migrations()[-1]
    counts = asyncio.run(rows_in(url))
    counts.pop("tortoise_migrations")
    assert manifest["row_counts"] == counts and counts["accounts"] == 1
    for name, entry in manifest["members"].items():
        assert hashlib.sha256(files[name]).hexdigest() == entry["sha256"]
        assert len(files[name]) == entry["bytes"]
    keys = json.loads(files["keys.json"])
    # After `init`: the node's key; the admin gets one when they first federate.
    assert [k["kind"] for k in keys] == ["instance"]
    assert keys[0]["key_id"] == "http://127.0.0.1:8000/actor#main-key"
    assert all("PRIVATE" not in k["public_key_pem"] for k in keys)
    assert b"PRIVATE KEY" not in files["keys.json"] + files["manifest.json"]
    assert manifest["settings_from_environment"] == ["NABUUR_DATABASE_URL"]
    assert url not in files["manifest.json"].decode()  # names, never values


def test_the_settings_file_goes_into_the_archive(
    tmp_path: Path, node_with_backup: tuple[str, Path]
) -> None:
    url, _ = node_with_backup
    config = tmp_path / "nabuur.toml"
    config.write_text('name = "Buren van Jette"\n', encoding="utf-8")
    made = nabuur("backup", "with.tar.gz", cwd=tmp_path, database=url, NABUUR_CONFIG=str(config))
    assert made.returncode == 0, made.stderr
    files = archive_members(tmp_path / "with.tar.gz")
    assert files["settings.toml"] == config.read_bytes()
    assert json.loads(files["manifest.json"])["settings_file"] == str(config)


def test_an_existing_archive_is_replaced_only_with_force(
    tmp_path: Path, node_with_backup: tuple[str, Path]
) -> None:
    url, archive = node_with_backup
    existing = tmp_path / "keep.tar.gz"
    existing.write_bytes(b"an older backup")
    refused = nabuur("backup", str(existing), cwd=tmp_path, database=url)
    assert_one_line_error(refused, "already exists", "--force")
    assert existing.read_bytes() == b"an older backup"
    forced = nabuur("backup", str(existing), "--force", cwd=tmp_path, database=url)
    assert forced.returncode == 0, forced.stderr
    assert archive_members(existing).keys() == archive_members(archive).keys()
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    # Nothing of the work is left beside it.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("new_database", ["sqlite"], indirect=True)
def test_a_folder_is_named_a_folder_with_or_without_force(
    tmp_path: Path, node_with_backup: tuple[str, Path]
) -> None:
    url, _ = node_with_backup
    folder = tmp_path / "backups"
    folder.mkdir()
    for extra in ((), ("--force",)):
        refused = nabuur("backup", str(folder), *extra, cwd=tmp_path, database=url)
        assert_one_line_error(refused, "is a folder", "file name")
        assert "already exists" not in refused.stderr
    assert list(folder.iterdir()) == []


def test_the_database_password_stays_off_command_lines_and_messages(tmp_path: Path) -> None:
    from node.backup_pg import libpq_environment

    url = "postgres://nabuur:s%40cret-pw@127.0.0.1:1/nabuur_db"
    environ = libpq_environment(url)
    assert environ["PGPASSWORD"] == "s@cret-pw" and environ["PGDATABASE"] == "nabuur_db"
    assert environ["PGHOST"] == "127.0.0.1" and environ["PGPORT"] == "1"
    result = nabuur("backup", "x.tar.gz", cwd=tmp_path, database=url)
    assert_one_line_error(result)
    assert "cret-pw" not in result.stderr + result.stdout
    assert not (tmp_path / "x.tar.gz").exists()


@pytest.mark.parametrize("new_database", ["postgres"], indirect=True)
def test_counts_and_dump_are_one_snapshot_while_rows_keep_coming(
    tmp_path: Path, new_database: Callable[..., str]
) -> None:
    source, target = new_database(), new_database(migrated=False)
    asyncio.run(make_node(source))
    manifest, written = asyncio.run(_backup_while_writing(source, tmp_path / "live.tar.gz"))
    assert 0 < manifest["row_counts"]["events"] < written + 1
    # restore() recounts every table against the manifest: one snapshot, or it fails.
    settings = load_settings({"NABUUR_DATABASE_URL": target})
    asyncio.run(restore(settings, tmp_path / "live.tar.gz", say=str))
    assert asyncio.run(rows_in(target))["events"] == manifest["row_counts"]["events"]


async def _backup_while_writing(url: str, archive: Path) -> tuple[dict[str, Any], int]:
    """Back up while another connection inserts events as fast as it can."""
    writer = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    stop = asyncio.Event()

    async def keep_writing() -> int:
        written = 0
        while not stop.is_set():
            await writer.execute(
                "INSERT INTO events (kind, payload, created_at, attempts)"
                " VALUES ('Test', '{}', now(), 0)"
            )
            written += 1
        return written

    task = asyncio.create_task(keep_writing())
    try:
        await asyncio.sleep(0.05)
        manifest = await backup(load_settings({"NABUUR_DATABASE_URL": url}), archive, say=str)
        await asyncio.sleep(0.05)
    finally:
        stop.set()
        written = await task
        await writer.close()
    return manifest, written
