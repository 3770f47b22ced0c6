"""Migrations: a database made by the first migration upgrades to the latest without loss."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError

from node import db
from node.config import Settings
from node.models import Account, AuditEntry, Follow, HelpPost, Neighbourhood, Organisation
from node.services import audit, casework, follows, node_profile
from node.states import PostStatus

FIRST = "0001_initial"


async def _insert_hood_and_resident(conn: Any, p: Callable[[int], str], now: datetime) -> None:
    """Neighbourhood 1 (jette-centre) and account 1 (greet), in plain SQL."""
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


async def _seed_first_schema(url: str) -> uuid.UUID:
    """Rows written with plain SQL, as the schema of the first migration had them."""
    await db.open_database(url)
    conn = connections.get("default")
    pg = not db.is_sqlite(url)
    now = datetime.now(UTC)
    p = (lambda i: f"${i}") if pg else (lambda i: "?")
    post_id = uuid.uuid4()
    await _insert_hood_and_resident(conn, p, now)
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


async def _seed_before_admin(url: str) -> uuid.UUID:
    """A node as it was before migration 0009: an organisation, a staff post for a client,
    a notification and an invitation, written with plain SQL."""
    post_id = await _seed_first_schema(url)
    await db.open_database(url)
    conn = connections.get("default")
    pg = not db.is_sqlite(url)
    p = (lambda i: f"${i}") if pg else (lambda i: "?")
    now = datetime.now(UTC)
    await conn.execute_query(
        "INSERT INTO organisations (slug, name, kind, description, created_at)"
        f" VALUES ({p(1)}, {p(2)}, {p(3)}, {p(4)}, {p(5)})",
        ["buurthuis", "Buurthuis", "ngo", '{"nl": "Het buurthuis"}', now],
    )
    await conn.execute_query(
        "UPDATE help_posts SET organisation_id = 1, on_behalf_label = 'een buurvrouw',"
        f" client_consent_at = {p(1)}",
        [now],
    )
    await conn.execute_query(
        "INSERT INTO node_settings (id, name, secret_key, created_at)"
        f" VALUES (1, {p(1)}, {p(2)}, {p(3)})",
        ["Buren", "s" * 48, now],
    )
    await db.close_database()
    return post_id


async def test_upgrade_to_administration_keeps_posts_organisations_and_settings(
    empty_database_url: str,
) -> None:
    """Migration 0009 adds what administration needs to a node that has data."""
    url = empty_database_url
    await db.migrate(url, target="0008_response_lookup")
    post_id = await _seed_before_admin(url)
    await db.migrate(url)
    await db.open_database(url)
    try:
        post = await HelpPost.get(id=post_id).prefetch_related("organisation")
        assert (post.organisation.name, post.on_behalf_label, post.assignee_id) == (
            "Buurthuis",
            "een buurvrouw",
            None,
        )
        org = await Organisation.get(slug="buurthuis")
        assert (org.contact, org.show_staff_names, org.icon_id) == ("", False, None)
        hood = await Neighbourhood.get(slug="jette-centre")
        assert hood.archived_at is None
        profile = await node_profile.load(Settings(database_url=url))
        assert (profile.name, profile.signups, dict(profile.rules)) == ("Buren", "invitation", {})
        # The new tables work with the old rows.
        admin = await Account.create(username="root", display_name="Root", role="admin")
        await audit.record(admin, "post.edited", post=post)
        assert await AuditEntry.filter(post_id=post.id, organisation_id=org.id).count() == 1
        await casework.assign(post, None, by=admin)
    finally:
        await db.close_database()
    # And it rolls back and forward again.
    await db.migrate(url, target="0008_response_lookup")
    await db.migrate(url)


async def test_follows_get_their_unique_indexes_back_on_sqlite(empty_database_url: str) -> None:
    """0003 lost them on SQLite (a table rebuilt); 0016 keeps one row of each duplicate,
    the accepted one, and makes the indexes again. On PostgreSQL they were never lost."""
    url = empty_database_url
    await db.migrate(url, target="0015_listing_order")
    await db.open_database(url)
    conn = connections.get("default")
    p = (lambda i: f"${i}") if not db.is_sqlite(url) else (lambda i: "?")
    now = datetime.now(UTC)
    try:
        await _insert_hood_and_resident(conn, p, now)
        follow = (
            "INSERT INTO follows (follower_id, target_kind, neighbourhood_id, status, created_at)"
            f" VALUES (1, 'neighbourhood', 1, {p(1)}, {p(2)})"
        )
        await conn.execute_query(follow, ["pending", now])
        if db.is_sqlite(url):  # what a double click could store before
            await conn.execute_query(follow, ["accepted", now])
            await conn.execute_query(follow, ["pending", now])
    finally:
        await db.close_database()
    await db.migrate(url)
    await db.open_database(url)
    try:
        rows = await Follow.filter(follower_id=1, neighbourhood_id=1).values_list(
            "status", flat=True
        )
        assert rows == (["accepted"] if db.is_sqlite(url) else ["pending"])
        with pytest.raises(IntegrityError):
            await Follow.create(
                follower_id=1, target_kind="neighbourhood", neighbourhood_id=1, status="pending"
            )
    finally:
        await db.close_database()
