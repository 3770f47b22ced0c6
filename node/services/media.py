"""Stored images (icons), by the SHA-256 of their content."""

from __future__ import annotations

from node import uris
from node.errors import NotFound
from node.images import ProcessedImage
from node.models import MediaFile


async def store(image: ProcessedImage) -> MediaFile:
    """The stored file for `image`; the same picture uploaded twice is kept once."""
    found = await MediaFile.get_or_none(sha256=image.sha256)
    if found is not None:
        return found
    return await MediaFile.create(
        sha256=image.sha256,
        media_type=image.media_type,
        data=image.data,
        width=image.width,
        height=image.height,
    )


async def by_name(name: str) -> MediaFile:
    """`{sha256}.{png|jpg}` as in its URL; NotFound for anything else."""
    digest, _, extension = name.partition(".")
    if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        raise NotFound("no such file")
    found = await MediaFile.get_or_none(sha256=digest)
    if found is None or found.extension != extension:
        raise NotFound("no such file")
    return found


async def path_of(media_id: int | None) -> str | None:
    """The URL path of a stored file, for pages and actor documents."""
    if media_id is None:
        return None
    row = await MediaFile.filter(id=media_id).first().values("sha256", "media_type")
    if row is None:
        return None
    extension = "png" if row["media_type"] == "image/png" else "jpg"
    return uris.media(f"{row['sha256']}.{extension}")
