"""The backup archive: one gzipped tar file, written whole or not at all, and read back
only after every byte has been checked.

Layout (plain tar, so `tar -tzf` lists it and `tar -xzf` takes a member out by hand):

- `manifest.json`, always first: what the archive holds, row counts, and the SHA-256 and
  size of every other member;
- the members it names (`database.sqlite3` or `database.pgdump`, `keys.json`, and
  `settings.toml` when the node had a settings file).

Writing: the archive is built in a temporary file beside PATH (mode 0600: the database
holds private keys) and renamed into place, so PATH is never half an archive, and an
existing PATH is replaced only when asked. Reading: members are copied into a directory
while hashed; anything unexpected (a damaged or truncated file, a checksum that differs,
a member that is missing, extra, not a plain file or with a path) stops with
`ArchiveError` before anything else happens.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tarfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

MANIFEST = "manifest.json"
FORMAT = "nabuur-backup"
FORMAT_VERSION = 1
# Names a member may have: nothing with a directory, so extraction stays in its folder.
ALLOWED_MEMBERS = frozenset({"database.sqlite3", "database.pgdump", "keys.json", "settings.toml"})
_CHUNK = 1 << 20


class ArchiveError(Exception):
    """The archive cannot be used; nothing was changed."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def describe(path: Path) -> dict[str, Any]:
    """A member's entry in the manifest."""
    return {"sha256": sha256_of(path), "bytes": path.stat().st_size}


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_archive(
    target: Path, manifest: dict[str, Any], members: dict[str, Path], *, force: bool
) -> int:
    """Write manifest + members to `target` atomically; return the archive's size.

    `manifest["members"]` is filled in here from the files themselves.
    """
    unknown = set(members) - ALLOWED_MEMBERS
    if unknown:
        raise ValueError(f"not an archive member name: {sorted(unknown)}")
    if target.exists() and not force:
        raise ArchiveError(f"{target} already exists: choose another path or add --force")
    manifest = {**manifest, "members": {name: describe(path) for name, path in members.items()}}
    body = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    directory = target.parent if str(target.parent) else Path(".")
    temporary = directory / f".{target.name}.partial-{os.getpid()}"
    # 0600 from the first byte: never readable by others, even while being written.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
                _add_bytes(tar, MANIFEST, body)
                for name, path in members.items():
                    with path.open("rb") as stream:
                        info = tarfile.TarInfo(name)
                        info.size = path.stat().st_size
                        info.mode = 0o600
                        info.mtime = int(time.time())
                        tar.addfile(info, stream)
            raw.flush()
            os.fsync(raw.fileno())
        if force:
            os.replace(temporary, target)
        else:
            # link() fails if the path appeared meanwhile: never overwrite unasked.
            try:
                os.link(temporary, target)
            except FileExistsError:
                raise ArchiveError(
                    f"{target} already exists: choose another path or add --force"
                ) from None
            temporary.unlink()
        _fsync_directory(directory)
    finally:
        temporary.unlink(missing_ok=True)
    return target.stat().st_size


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


@contextlib.contextmanager
def _damage_as_archive_error(path: Path) -> Iterator[None]:
    try:
        yield
    except ArchiveError:
        raise
    except FileNotFoundError:
        raise ArchiveError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise ArchiveError(f"{path} is a directory, not a backup archive") from None
    except PermissionError:
        raise ArchiveError(f"cannot read {path}: permission denied") from None
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as exc:
        # gzip reports a bad CRC or a cut stream as OSError / EOFError; tar as TarError.
        reason = str(exc) or type(exc).__name__
        raise ArchiveError(
            f"{path} is damaged or truncated ({reason}); nothing was changed"
        ) from None


def _copy_hashed(source: IO[bytes], destination: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while block := source.read(_CHUNK):
            digest.update(block)
            size += len(block)
            out.write(block)
    return digest.hexdigest(), size


def _read_manifest(tar: tarfile.TarFile, path: Path) -> dict[str, Any]:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile():
        raise ArchiveError(f"{path} is not a Nabuur backup (no {MANIFEST} first)")
    stream = tar.extractfile(first)
    assert stream is not None  # a regular file always has one
    try:
        manifest = json.loads(stream.read(1 << 24))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ArchiveError(f"{path}: {MANIFEST} is not valid JSON; nothing was changed") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"{path} is not a Nabuur backup")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(
            f"{path} is a backup of format {manifest.get('format_version')!r}; this Nabuur "
            f"reads format {FORMAT_VERSION}: restore it with the Nabuur version that made it "
            f"({manifest.get('nabuur_version', 'unknown')})"
        )
    members = manifest.get("members")
    if not isinstance(members, dict) or not set(members) <= ALLOWED_MEMBERS:
        raise ArchiveError(f"{path}: the manifest lists unexpected members")
    return manifest


def read_archive(path: Path, into: Path) -> dict[str, Any]:
    """Check the archive at `path` whole and copy its members into the folder `into`.

    Returns the manifest. Raises ArchiveError when anything differs from the manifest.
    """
    with _damage_as_archive_error(path):
        with path.open("rb") as stream:
            magic = stream.read(2)
        if magic != b"\x1f\x8b":  # every archive we write is gzipped
            raise ArchiveError(f"{path} is not a Nabuur backup archive; nothing was changed")
    with _damage_as_archive_error(path), tarfile.open(path, mode="r:gz") as tar:
        manifest = _read_manifest(tar, path)
        expected: dict[str, dict[str, Any]] = manifest["members"]
        seen: set[str] = set()
        while (member := tar.next()) is not None:
            if member.name not in expected or member.name in seen or not member.isfile():
                raise ArchiveError(f"{path} holds an unexpected member {member.name!r}")
            stream = tar.extractfile(member)
            assert stream is not None
            digest, size = _copy_hashed(stream, into / member.name)
            want = expected[member.name]
            if digest != want.get("sha256") or size != want.get("bytes"):
                raise ArchiveError(
                    f"{path}: {member.name} does not match its checksum in the manifest "
                    "(the archive is damaged); nothing was changed"
                )
            seen.add(member.name)
        # Read the compressed stream to its end: gzip checks its CRC and length only there.
        assert tar.fileobj is not None
        while tar.fileobj.read(_CHUNK):
            pass
        missing = set(expected) - seen
        if missing:
            raise ArchiveError(f"{path} is incomplete: {', '.join(sorted(missing))} missing")
    return manifest
