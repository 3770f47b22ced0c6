"""Every local URL, built in one place so that public ids stay stable.

Paths are what pages link to; `absolute` turns one into the public URL that names an
object outside the node (feeds, ActivityPub ids).
"""

from __future__ import annotations

from uuid import UUID

from node.config import Settings

HOME = "/"
HEALTH = "/healthz"
STATIC_PREFIX = "/static"


def neighbourhood(slug: str) -> str:
    return f"/n/{slug}"


def post(post_id: UUID | str) -> str:
    return f"/r/{post_id}"


def account(username: str) -> str:
    return f"/@{username}"


def organisation(slug: str) -> str:
    return f"/o/{slug}"


def static(name: str) -> str:
    return f"{STATIC_PREFIX}/{name}"


def absolute(settings: Settings, path: str) -> str:
    return settings.public_url + path
