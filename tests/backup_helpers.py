"""Helpers of the backup, restore and check tests: a node with data, its backup, the rows
of a database, and reading or rewriting an archive."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from node import db
from node.backup import backup
from node.backup_tables import count_rows, existing_tables
from node.config import load_settings
from node.images import process_icon
from node.models import Account
from node.services import follows, neighbourhoods
from tests import factories


async def populate(url: str) -> str:
    """Residents, a neighbourhood with an icon, an organisation, posts, follows, an offer."""
    await db.open_database(url)
    try:
        els = await Account.get(username="els")
        hood = await factories.neighbourhood("jette-centre")
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, "PNG")
        await neighbourhoods.set_icon(hood, process_icon(buffer.getvalue()), els)
        org = await factories.organisation("tussen-buren")
        await factories.coordinator_of(org, "sophie")
        greet = await factories.account("greet", home_neighbourhood=hood)
        post = await factories.post(greet, hood, title="Sofa naar het containerpark")
        await factories.post(greet, hood, kind="offer", title="Ik laat honden uit")
        await factories.offer(post)
        await follows.follow(greet, hood)
        await follows.follow(els, greet)
        return str(post.id)
    finally:
        await db.close_database()


async def rows_in(url: str) -> dict[str, int]:
    await db.open_database(url)
    try:
        return await count_rows(sorted(await existing_tables()))
    finally:
        await db.close_database()


def archive_members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


Change = Callable[[dict[str, Any], dict[str, bytes]], None]


def rewrite_archive(archive: Path, into: Path, change: Change) -> Path:
    """A copy of `archive` with members changed and the manifest's checksums made to fit."""
    files = archive_members(archive)
    manifest = json.loads(files.pop("manifest.json"))
    change(manifest, files)
    for name, data in files.items():
        manifest["members"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    with tarfile.open(into, "w:gz") as tar:
        for name, data in [("manifest.json", json.dumps(manifest).encode()), *files.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return into


async def make_node(url: str, archive: Path | None = None) -> None:
    """A node as `init` leaves it (its row with keys, the admin els), in-process: fast."""
    await db.open_database(url)
    try:
        await factories.node_row()
        await factories.admin("els")
    finally:
        await db.close_database()
    if archive is not None:
        settings = load_settings({"NABUUR_DATABASE_URL": url})
        await backup(settings, archive, say=lambda _: None)
