"""Stored images (icons) at /media/{sha256}.{png|jpg}: named by content, so they never
change and may be cached for a year."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from node.services import media


async def media_file(request: Request) -> Response:
    stored = await media.by_name(request.path_params["name"])
    return Response(
        stored.data,
        media_type=stored.media_type,
        headers={
            "cache-control": "public, max-age=31536000, immutable",
            "content-security-policy": "default-src 'none'",
        },
    )
