"""`nabuur restore` refuses what it cannot do safely, and then changes nothing.

A database with rows (without --force), a damaged or truncated archive (every cut point,
any flipped byte), the other backend, a backup from a newer Nabuur, a dump that fails to
load half-way (PostgreSQL rolls it all back), a node still running on the SQLite file.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node import db
from node.backup_archive import ArchiveError, read_archive
from node.backup_tables import code_migrations
from node.scheduler import QueueLock
from tests.backup_helpers import archive_members, make_node, populate, rewrite_archive, rows_in
from tests.test_cli import assert_one_line_error, nabuur

pytest_plugins = ["tests.backup_fixtures"]


def test_a_non_empty_database_is_replaced_only_with_force(
    tmp_path: Path, node_with_backup: tuple[str, Path]
) -> None:
    url, archive = node_with_backup
    asyncio.run(populate(url))
    grown = asyncio.run(rows_in(url))
    refused = nabuur("restore", str(archive), cwd=tmp_path, database=url)
    assert_one_line_error(refused, "not empty", "accounts (", "--force")
    assert asyncio.run(rows_in(url)) == grown

    forced = nabuur("restore", str(archive), "--force", cwd=tmp_path, database=url)
    assert forced.returncode == 0, forced.stderr
    restored = asyncio.run(rows_in(url))
    assert restored["accounts"] == 1 and restored["help_posts"] == 0 < grown["help_posts"]


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1 :]


def test_a_damaged_archive_changes_nothing(
    tmp_path: Path, node_with_backup: tuple[str, Path]
) -> None:
    url, archive = node_with_backup
    asyncio.run(populate(url))
    grown = asyncio.run(rows_in(url))
    data = archive.read_bytes()
    damaged = tmp_path / "damaged.tar.gz"
    for broken in (flip(data, len(data) // 2), data[: len(data) * 2 // 3]):
        damaged.write_bytes(broken)
        result = nabuur("restore", str(damaged), "--force", cwd=tmp_path, database=url)
        assert_one_line_error(result, "damaged", "nothing was changed")
        assert asyncio.run(rows_in(url)) == grown


@given(cut=st.floats(0, 1, exclude_max=True), at=st.integers(0, 1 << 30))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_every_truncation_is_refused_and_no_flip_goes_unseen(
    tmp_path_factory: pytest.TempPathFactory, small_archive: Path, cut: float, at: int
) -> None:
    data = small_archive.read_bytes()
    original = archive_members(small_archive)
    folder = tmp_path_factory.mktemp("read")
    cut_file = folder / "cut.tar.gz"
    cut_file.write_bytes(data[: int(len(data) * cut)])
    (folder / "cut").mkdir()
    with pytest.raises(ArchiveError, match=r"damaged|truncated|not a Nabuur backup|incomplete"):
        read_archive(cut_file, folder / "cut")
    flipped = folder / "flipped.tar.gz"
    flipped.write_bytes(flip(data, at % len(data)))
    (folder / "out").mkdir()
    try:
        read_archive(flipped, folder / "out")
    except ArchiveError:
        return
    # A flip gzip cannot see (its header's time stamp, say) must not change a byte.
    for name, content in original.items():
        if name != "manifest.json":
            assert (folder / "out" / name).read_bytes() == content


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path) -> Path:
    folder = tmp_path_factory.mktemp("small")
    shutil.copy(migrated_sqlite, folder / "node.sqlite3")
    asyncio.run(make_node(f"sqlite://{folder / 'node.sqlite3'}", folder / "small.tar.gz"))
    return folder / "small.tar.gz"


def test_the_other_backend_is_refused_with_the_way_to_go(
    tmp_path: Path, node_with_backup: tuple[str, Path]
) -> None:
    url, archive = node_with_backup
    if db.is_sqlite(url):
        other = "postgres://postgres@127.0.0.1:5432/nabuur_never_made"
        words = ("SQLite node", "move-to-postgres")
    else:
        other = f"sqlite://{tmp_path / 'never.sqlite3'}"
        words = ("postgresql node", "postgres://")
    assert_one_line_error(nabuur("restore", str(archive), cwd=tmp_path, database=other), *words)
    assert not (tmp_path / "never.sqlite3").exists()


def test_a_backup_from_a_newer_nabuur_is_refused_and_an_older_one_needs_migrate(
    tmp_path: Path, node_with_backup: tuple[str, Path], new_database: Callable[..., str]
) -> None:
    _, archive = node_with_backup

    def newer(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        manifest["migration"] = "9999_from_the_future"

    def older(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        manifest["migration"] = code_migrations()[-2]

    target = new_database(migrated=False)
    future = rewrite_archive(archive, tmp_path / "future.tar.gz", newer)
    result = nabuur("restore", str(future), cwd=tmp_path, database=target)
    assert_one_line_error(result, "9999_from_the_future", "newer Nabuur")
    assert asyncio.run(rows_in(target)) == {}

    past = rewrite_archive(archive, tmp_path / "past.tar.gz", older)
    result = nabuur("restore", str(past), cwd=tmp_path, database=target)
    assert result.returncode == 0, result.stderr
    assert "1 migration(s) behind" in result.stdout and "nabuur migrate" in result.stdout


@pytest.mark.parametrize("new_database", ["postgres"], indirect=True)
def test_a_dump_that_fails_to_load_leaves_postgresql_as_it_was(
    tmp_path: Path, node_with_backup: tuple[str, Path]
) -> None:
    url, archive = node_with_backup
    asyncio.run(populate(url))
    grown = asyncio.run(rows_in(url))

    def cut_dump(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        # Consistent checksums, but pg_restore stops two thirds into the data.
        dump = files["database.pgdump"]
        files["database.pgdump"] = dump[: len(dump) * 2 // 3]

    broken = rewrite_archive(archive, tmp_path / "broken.tar.gz", cut_dump)
    result = nabuur("restore", str(broken), "--force", cwd=tmp_path, database=url)
    assert_one_line_error(result, "pg_restore failed", "left as it was")
    assert asyncio.run(rows_in(url)) == grown


@pytest.mark.parametrize("new_database", ["sqlite"], indirect=True)
def test_a_running_sqlite_node_is_not_restored_under_its_feet(
    tmp_path: Path, node_with_backup: tuple[str, Path]
) -> None:
    url, archive = node_with_backup
    running = QueueLock(url)  # what `nabuur run` holds while its workers run
    assert running.acquire()
    try:
        result = nabuur("restore", str(archive), "--force", cwd=tmp_path, database=url)
    finally:
        running.release()
    assert_one_line_error(result, "a node is running", "stop it")


@pytest.mark.parametrize("new_database", ["postgres"], indirect=True)
def test_a_postgresql_database_in_use_is_not_restored_even_with_force(
    tmp_path: Path, node_with_backup: tuple[str, Path]
) -> None:
    url, archive = node_with_backup
    asyncio.run(populate(url))
    grown = asyncio.run(rows_in(url))

    async def restore_while_connected() -> subprocess.CompletedProcess[str]:
        # A session held open, as a running `nabuur run` holds its pool's.
        held = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            return await asyncio.to_thread(
                nabuur, "restore", str(archive), "--force", cwd=tmp_path, database=url
            )
        finally:
            await held.close()

    result = asyncio.run(restore_while_connected())
    assert_one_line_error(result, "1 other session(s)", "stop the node's processes")
    assert asyncio.run(rows_in(url)) == grown
    again = nabuur("restore", str(archive), "--force", cwd=tmp_path, database=url)
    assert again.returncode == 0, again.stderr  # nobody connected any more
