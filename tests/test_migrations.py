"""Migrations: a database made by the first migration upgrades to the latest without loss."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tortoise import connections

from node import db
from node.models import Account, Follow, HelpPost, Neighbourhood
from node.services import follows
from node.states import PostStatus

FIRST = "0001_initial"


async def _seed_first_schema(url: str) -> uuid.UUID:
    """Rows written with plain SQL, as the schema of the first migration had them."""
    await db.open_database(url)
    conn = connections.get("default")
    pg = not db.is_sqlite(url)
    now = datetime.now(UTC)
    p = (lambda i: f"${i}") if pg else (lambda i: "?")
    post_id = uuid.uuid4()
    await conn.execute_query(
        "INSERT INTO neighbourhoods (slug, name, commune, country, description, created_at)"
        f" VALUES ({p(1)}, {p(2)}, {p(3)}, {p(4)}, {p(5)}, {p(6)})",
        ["jette-centre", "Jette Centre", "Jette", "BE", '{"nl": "Het centrum"}', now],
    )
    await conn.execute_query(
        "INSERT INTO accounts (username, display_name, role, languages_csv, is_active,"
        f" created_at) VALUES ({p(1)}, {p(2)}, {p(3)}, {p(4)}, {p(5)}, {p(6)})",
        ["greet", "Greet M.", "resident", "nl", True, now],
    )
    await conn.execute_query(
        "INSERT INTO help_posts (id, kind, title, description, language, translations,"
        " category, neighbourhood_id, helpers_needed, status, status_changed_at, visibility,"
        " expires_at, author_id, created_at, updated_at) VALUES"
        f" ({', '.join(p(i) for i in range(1, 17))})",
        [
            str(post_id) if not pg else post_id,
            "request",
            "Zetel wegbrengen",
            "",
            "nl",
            "{}",
            "transport",
            1,
            2,
            "open",
            now,
            "public",
            now + timedelta(days=3),
            1,
            now,
            now,
        ],
    )
    await db.close_database()
    return post_id


async def test_upgrade_from_first_migration_keeps_data(empty_database_url: str) -> None:
    url = empty_database_url
    await db.migrate(url, target=FIRST)
    post_id = await _seed_first_schema(url)

    applied: list[str] = []
    await db.migrate(url, progress=applied.append)
    assert applied and applied[0] != FIRST  # only the newer migrations ran

    await db.open_database(url)
    try:
        assert await db.pending_migrations(url) == []
        post = await HelpPost.get(id=post_id).prefetch_related("author", "neighbourhood")
        assert post.title == "Zetel wegbrengen"
        assert post.status == PostStatus.OPEN
        assert post.author.username == "greet"
        assert post.neighbourhood.description == {"nl": "Het centrum"}
        # Tables of later migrations work with the old rows.
        await follows.follow(post.author, post.neighbourhood)
        assert await Follow.filter(neighbourhood__slug="jette-centre").count() == 1
    finally:
        await db.close_database()


async def test_downgrade_to_first_and_up_again(empty_database_url: str) -> None:
    url = empty_database_url
    await db.migrate(url)
    await db.migrate(url, target=FIRST)
    await db.open_database(url)
    try:
        assert await db.pending_migrations(url) != []
    finally:
        await db.close_database()
    await db.migrate(url)
    await db.open_database(url)
    try:
        assert await db.pending_migrations(url) == []
        hood = await Neighbourhood.create(slug="x", name="X")
        account = await Account.create(username="a", display_name="A")
        await follows.follow(account, hood)
    finally:
        await db.close_database()


async def test_upgrade_gives_existing_actors_key_pairs(empty_database_url: str) -> None:
    """Migration 0003 generates keys for accounts and neighbourhoods made before it."""
    url = empty_database_url
    await db.migrate(url, target=FIRST)
    await _seed_first_schema(url)
    await db.migrate(url)
    await db.open_database(url)
    try:
        account = await Account.get(username="greet")
        hood = await Neighbourhood.get(slug="jette-centre")
        for actor in (account, hood):
            assert actor.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")
            assert actor.private_key_pem.startswith("-----BEGIN PRIVATE KEY-----")
        assert account.public_key_pem != hood.public_key_pem
    finally:
        await db.close_database()
