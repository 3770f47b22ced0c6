"""`nabuur move-to-postgres`: a SQLite node copied into an empty PostgreSQL database.

- A node with rows in every table (datetimes with microseconds and other zones, nested
  JSON with accents, every byte value in a media file, both booleans, NULLs) arrives
  field by field; the SQLite file is byte-identical afterwards; every integer id
  continues after the copy; a second run is refused and changes nothing.
- Refusals (a URL that is not PostgreSQL, an unreachable server, a missing database, a
  source behind on migrations or not SQLite) are one line and write nothing; a move that
  fails half-way, or while the node still writes, leaves empty tables, and the next run
  succeeds; so does one whose connection to PostgreSQL is cut half-way.

The federation scenario (followers on a Fedify peer) is in test_fedify_move_to_postgres.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import io
import secrets
import shutil
import socket
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from node import db, move_to_postgres
from node.cli import main
from node.cli_move import TableProgress
from node.config import redact_url as shown
from node.db_inventory import tables
from node.models import (
    Account,
    CaseEntry,
    Delivery,
    DomainRule,
    Event,
    Follow,
    HelpPost,
    HostHealth,
    InboxItem,
    LoginFailure,
    MediaFile,
    Neighbourhood,
    OrganisationArea,
    OutboxActivity,
    OutgoingFollow,
    PostPartner,
    RateEvent,
    Reaction,
    RemoteActor,
    RemotePost,
    RemotePostPartner,
    Report,
    Response,
    UsedToken,
)
from node.move_sides import MoveError, check_target_url
from node.services import follows, neighbourhoods, responses, sessions, signups
from tests import factories
from tests.conftest import _pg_admin, _pg_url

BRUSSELS = ZoneInfo("Europe/Brussels")
ODD_JSON = {
    "nl": "Één café ☕ in Sint-Jans-Molenbeek",
    "nested": {"list": [1, 2.5, None, True, "é"], "empty": {}, "big": 2**53},
}
ALL_BYTES = bytes(range(256)) * 4
ODD_TEXT = "Zaterdag 10u?\r\nÇa va — \t“quotes” 🐕 \\ ' \" <b>not html</b>"


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def pg_target(postgres_database: str) -> Iterator[str]:
    """A new PostgreSQL database with nothing in it (no tables either)."""
    name = f"{postgres_database.rsplit('/', 1)[1]}_mv{secrets.token_hex(3)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_node(migrated_sqlite: Path, tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "node.sqlite3"
    shutil.copy(migrated_sqlite, path)
    return path, f"sqlite://{path}"


def move(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    source_url: str,
    target_url: str,
) -> tuple[int, str, str]:
    """`nabuur move-to-postgres TARGET` with NABUUR_DATABASE_URL=source, in this process."""
    monkeypatch.setenv("NABUUR_DATABASE_URL", source_url)
    capsys.readouterr()
    code = main(["move-to-postgres", target_url])
    out, err = capsys.readouterr()
    return code, out, err


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(err: str, *words: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


async def _pg_tables(url: str) -> dict[str, int]:
    """Rows per table in the public schema of `url` (no tables: {})."""
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        names = [
            row["tablename"]
            for row in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        ]
        return {name: await conn.fetchval(f'SELECT count(*) FROM "{name}"') for name in names}
    finally:
        await conn.close()


def pg_tables(url: str) -> dict[str, int]:
    return asyncio.run(_pg_tables(url))


def node_rows(url: str) -> dict[str, int]:
    """Rows per table of the node (tortoise's own record of migrations left out)."""
    return {t: n for t, n in pg_tables(url).items() if t != "tortoise_migrations"}


# --- a node with something in every table --------------------------------------------------


async def _fill(url: str) -> None:
    await db.open_database(url)
    try:
        await _rows_in_every_table()
    finally:
        await db.close_database()


async def _rows_in_every_table() -> None:
    await factories.node_row("Buren van Jette")
    icon = await MediaFile.create(
        sha256=hashlib.sha256(ALL_BYTES).hexdigest(),
        media_type="image/png",
        data=ALL_BYTES,
        width=64,
        height=32,
    )
    hood = await factories.neighbourhood("jette-centre")
    other = await factories.neighbourhood("laeken")
    await Neighbourhood.filter(id=hood.id).update(
        description=ODD_JSON,
        polygon=[[50.87, 4.31], [50.88, 4.32], [50.871234567891, 4.33]],
        icon_id=icon.id,
        manually_approves_followers=True,
    )
    admin = await factories.admin()
    els = await factories.account("els", email="els@example.be", home_neighbourhood=hood)
    org = await factories.organisation("tussen-buren", staff=[els])
    coordinator = await factories.coordinator_of(org, "karen")
    await neighbourhoods.add_connector(hood, els, by=admin)
    await OrganisationArea.create(organisation=org, neighbourhood=hood)
    post = await factories.post(
        els,
        hood,
        title="Wie helpt de haag snoeien?",
        starts_at=(datetime.now(BRUSSELS) + timedelta(days=30)).replace(microsecond=123456),
        translations={"fr": {"title": "Qui aide à tailler la haie ?", "description": "Échelle"}},
    )
    on_behalf = await factories.post(
        coordinator, other, organisation=org.slug, on_behalf_label="Mevrouw D.",
        client_consent=True, private_location="Rue Léopold I 12", visibility="neighbours",
    )  # fmt: skip
    offer = await factories.offer(post, coordinator)
    await responses.accept_helper(els, offer)
    await responses.add_comment(admin, post, "Ik breng een ladder mee 🪜")
    await follows.follow(admin, hood)
    await sessions.start_session(els)
    await signups.create_invitation(None, uses=20)
    await signups.create_invitation(coordinator, organisation=org)
    await CaseEntry.create(
        post=on_behalf, organisation=org, author=coordinator, kind="contact",
        occurred_at=datetime(2030, 10, 27, 2, 30, 0, 1, tzinfo=BRUSSELS),
        counterpart="dochter", body="Gebeld: woensdag past.",
    )  # fmt: skip
    await PostPartner.create(post=on_behalf, organisation=org, added_by=coordinator)

    peer = await RemoteActor.create(
        uri="https://mastodon.example/users/ana",
        domain="mastodon.example",
        username="ana",
        display_name="Ana 🌻",
        summary_html="<p>Buurvrouw</p>",
        inbox="https://mastodon.example/users/ana/inbox",
        shared_inbox="https://mastodon.example/inbox",
        key_id="https://mastodon.example/users/ana#main-key",
        public_key_pem="-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
        supports_group_announces=True,
        fetched_at=datetime(2026, 11, 3, 8, 0, 0, 999999, tzinfo=UTC),
        last_seen_at=None,
    )
    await Follow.create(
        follower_remote=peer, target_kind="neighbourhood", neighbourhood=hood,
        status="accepted", activity_uri="https://mastodon.example/follows/1",
    )  # fmt: skip
    await OutgoingFollow.create(
        local_kind="neighbourhood", local_key=hood.id, target=peer,
        activity_uri="http://127.0.0.1/follows/out-1", is_relay=True,
    )  # fmt: skip
    remote_post = await RemotePost.create(
        object_uri="https://mastodon.example/notes/9", actor=peer, via=peer, kind="offer",
        title="Ik leen mijn boormachine uit", language="nl", content_map=ODD_JSON,
        latitude=50.8791234, longitude=-0.000001, helpers_needed=3, slots_left=0,
        finished=True, public=False, partner_only=True,
        published_at=datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5))),
    )  # fmt: skip
    await RemotePostPartner.create(remote_post=remote_post, organisation=org)
    await Reaction.create(
        post=post, actor=peer, kind="like", activity_uri="https://mastodon.example/likes/1"
    )
    await Response.create(
        post=post, remote_author=peer, kind="comment", body="Ik kom ook!",
        body_html="<p>Ik kom ook!</p>", object_uri="https://mastodon.example/notes/10",
        via_agreement=True,
    )  # fmt: skip
    await Report.create(
        reporter_remote=peer, account=els, post=post, category="spam",
        object_uris=["https://mastodon.example/notes/9", None], comment="", forward=True,
        resolution="no_action", resolved_at=datetime(2026, 2, 3, 4, 5, 6, 7, tzinfo=UTC),
    )  # fmt: skip
    await InboxItem.create(
        activity_id="https://mastodon.example/activities/1", activity_type="Create",
        actor_uri=peer.uri, payload={"type": "Create", "object": ODD_JSON, "n": 1.5},
        status="processed", attempts=2, outcome="processed: response stored",
        processed_at=datetime(2026, 5, 6, 7, 8, 9, 10, tzinfo=UTC),
    )  # fmt: skip
    activity = await OutboxActivity.create(
        activity_uri="http://127.0.0.1/activities/1", activity_type="Announce",
        actor_kind="neighbourhood", actor_key=hood.id, payload={"type": "Announce"},
        object_uri="http://127.0.0.1/r/1", public=True,
    )  # fmt: skip
    await Delivery.create(
        activity=activity, inbox=peer.shared_inbox, host="mastodon.example", status="failed",
        attempts=3, next_attempt_at=datetime(2026, 12, 1, tzinfo=UTC), last_status=503,
        last_error="Service Unavailable",
    )  # fmt: skip
    await Event.create(kind="Odd", payload=ODD_JSON, attempts=1)
    await DomainRule.create(
        domain="spam.example", policy="suspend", reason="spam", public_comment="Spam",
        reject_media=True, obfuscate=True,
    )  # fmt: skip
    await HostHealth.create(host="down.example", failure_days=["2026-11-01", "2026-11-02"],
                            unavailable=True, last_error="timeout")  # fmt: skip
    await LoginFailure.create(key="els", at=datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC))
    await RateEvent.create(key="signup:127.0.0.1", at=datetime.now(UTC))
    await UsedToken.create(key="sig:" + "a" * 60, expires_at=datetime.now(UTC))
    await _knowledge_rows(hood, org, els, peer, post)
    await _reaching_rows(org, els, peer, post)
    assert await HelpPost.all().count() == 2


async def _reaching_rows(org, els, peer, post) -> None:
    """E-mail (queue and tokens) and the private conversation of a request."""
    from node.models import ConversationMessage, EmailToken, MailMessage, Notification

    await Account.filter(id=els.id).update(
        email_confirmed_at=datetime(2026, 4, 5, 6, 7, 8, 9, tzinfo=UTC), mail_frequency="daily",
        mail_new_requests=True, show_helped=True,
    )  # fmt: skip
    await MailMessage.create(
        account=els, to_address="els@example.be", kind="digest", language="nl",
        subject="Één bericht", text_body=ODD_TEXT, html_body="<p>é</p>",
        headers={"List-Unsubscribe": "<http://127.0.0.1/email/unsubscribe/x>"},
        message_id="<1@127.0.0.1>", status="failed", attempts=3,
        next_attempt_at=datetime(2026, 12, 1, 1, 2, 3, 4, tzinfo=UTC), last_error="550",
    )  # fmt: skip
    await EmailToken.create(
        account=els, purpose="reset", token_hash="b" * 64, email="els@example.be",
        expires_at=datetime(2026, 12, 2, tzinfo=UTC),
    )  # fmt: skip
    mine = await ConversationMessage.create(post=post, author=els, organisation=org, body=ODD_TEXT)
    await ConversationMessage.create(
        post=post, remote_author=peer, body_html="<p>Om 10u?</p>",
        object_uri="https://mastodon.example/notes/11",
    )  # fmt: skip
    await Notification.create(recipient=els, kind="message", post=post, message=mine)


async def _knowledge_rows(hood, org, els, peer, post) -> None:
    """The services directory, guides, surveys and the needs figures' monthly rows."""
    from node.models import (
        GuideText,
        NeedsMonth,
        RemoteService,
        Service,
        ServiceArea,
        Survey,
        SurveyVote,
    )
    from node.services import needs_rollup

    service = await Service.create(
        organisation=org, language="nl", name={"nl": "Grofvuil", "fr": "Encombrants"},
        description=ODD_JSON, categories=["transport"], everywhere=False, phone="+32 2 000",
        hours={"nl": "ma–vr"}, website="https://example.be/grofvuil", free=False,
    )  # fmt: skip
    await ServiceArea.create(service=service, neighbourhood=hood)
    await HelpPost.filter(id=post.id).update(solved_by_service_id=service.id)
    await RemoteService.create(
        object_uri="https://mastodon.example/services/1", actor=peer, name_map=ODD_JSON,
        categories=["meals"], places=["Laeken"], free=None,
        published_at=datetime(2026, 3, 1, 0, 0, 0, 1, tzinfo=UTC),
    )  # fmt: skip
    await GuideText.create(organisation=org, category="pets", language="nl", points=["Eén 🐕"])
    await GuideText.create(organisation=None, category="pets", language="fr", points=["Un"])
    survey = await Survey.create(
        neighbourhood=hood, organisation=org, author=els, language="nl",
        question={"nl": "Wat?"}, options=[{"nl": "A"}, {"nl": "B", "fr": "Bé"}], multiple=True,
        closes_at=datetime(2030, 1, 1, 12, 0, 0, 5, tzinfo=BRUSSELS),
    )  # fmt: skip
    await SurveyVote.create(survey=survey, option=1, account=els)
    await SurveyVote.create(
        survey=survey, option=0, remote_actor=peer, note_uri="https://mastodon.example/u#votes/1"
    )
    await needs_rollup.refresh()
    assert await NeedsMonth.all().count() > 0


def model_tables() -> set[str]:
    """The table of every model of the node (known without a database)."""
    from tortoise.models import Model

    import node.models

    found = vars(node.models).values()
    return {m._meta.db_table for m in found if isinstance(m, type) and issubclass(m, Model)}


async def _everything(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as the app reads them, in primary-key order."""
    await db.open_database(url)
    try:
        return {
            model._meta.db_table: await model.all().order_by(model._meta.pk_attr).values()
            for model in tables()
        }
    finally:
        await db.close_database()


async def _integer_id_tables(url: str) -> list[str]:
    await db.open_database(url)
    try:
        return [model._meta.db_table for model in tables() if model._meta.pk.generated]
    finally:
        await db.close_database()


async def _insert_again(url: str, names: list[str]) -> dict[str, tuple[int, int]]:
    """In every table with integer ids: delete the newest row and insert it again without
    its id, in a transaction rolled back at the end (foreign-key triggers off, as the
    superuser may); returns (old id, new id) per table."""
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    found = {}
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("SET LOCAL session_replication_role = replica")
        for name in names:
            table = f'"{name}"'
            row = await conn.fetchrow(f"SELECT * FROM {table} ORDER BY id DESC LIMIT 1")
            columns = [column for column in row.keys() if column != "id"]  # noqa: SIM118
            await conn.execute(f"DELETE FROM {table} WHERE id = $1", row["id"])
            marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
            quoted = ", ".join(f'"{column}"' for column in columns)
            new_id = await conn.fetchval(
                f"INSERT INTO {table} ({quoted}) VALUES ({marks}) RETURNING id",
                *[row[c] for c in columns],
            )
            found[name] = (row["id"], new_id)
        await transaction.rollback()
    finally:
        await conn.close()
    return found


async def _new_rows_after_the_move(url: str) -> tuple[int, int]:
    """A new account and a new post through the services, on the moved node."""
    await db.open_database(url)
    try:
        before = max(await Account.all().values_list("id", flat=True))
        account = await factories.account("after_move")
        hood = await neighbourhoods.get_neighbourhood("laeken")
        await factories.post(account, hood, title="Na de verhuis")
        return before, account.id
    finally:
        await db.close_database()


# --- the rich node -------------------------------------------------------------------------


@pytest.mark.slow
def test_a_node_with_every_kind_of_row_arrives_field_by_field(
    sqlite_node: tuple[Path, str],
    pg_target: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, url = sqlite_node
    asyncio.run(_fill(url))
    source_rows = asyncio.run(_everything(url))
    empty = [table for table, rows in source_rows.items() if not rows]
    assert empty == [], f"the test node should have rows in every table: {empty}"
    before = sha256(path)

    code, out, err = move(capsys, monkeypatch, url, pg_target)

    assert code == 0, err
    assert sha256(path) == before, "the SQLite file must not change"
    # Not a terminal: one line per table, in foreign-key order, with its rows.
    lines = err.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(source_rows)
    assert all(line.split()[1] == str(len(source_rows[line.split()[0]])) for line in lines)
    total = sum(len(rows) for rows in source_rows.values())
    assert f"Moved {total} rows in {len(source_rows)} tables" in out
    assert "NABUUR_DATABASE_URL=" + pg_target in out
    key_pairs = sum(1 for rows in source_rows.values() for r in rows if r.get("private_key_pem"))
    assert key_pairs >= 4  # the node, two neighbourhoods, an organisation, accounts
    assert f"every actor's keys are unchanged ({key_pairs} key pairs)" in " ".join(out.split())

    moved_rows = asyncio.run(_everything(pg_target))
    for table, rows in source_rows.items():
        assert moved_rows[table] == rows, table
    media = moved_rows["media_files"][0]
    assert media["data"] == ALL_BYTES
    [neighbourhood] = [h for h in moved_rows["neighbourhoods"] if h["slug"] == "jette-centre"]
    assert neighbourhood["description"] == ODD_JSON
    assert neighbourhood["manually_approves_followers"] is True

    # Every table with integer ids continues after its largest id.
    names = asyncio.run(_integer_id_tables(pg_target))
    again = asyncio.run(_insert_again(pg_target, names))
    assert len(again) == len(names) and "survey_votes" in names
    assert {t: new > old for t, (old, new) in again.items()} == dict.fromkeys(again, True)
    old_max, new_id = asyncio.run(_new_rows_after_the_move(pg_target))
    assert new_id > old_max  # (sequences are not rolled back: the test above used one)

    # A second run finds rows there and touches nothing.
    counts = pg_tables(pg_target)
    code, out, err = move(capsys, monkeypatch, url, pg_target)
    assert code == 1
    one_line(err, "not empty", "accounts: ", "drop and recreate")
    assert pg_tables(pg_target) == counts
    assert sha256(path) == before


# --- refusals and failures -----------------------------------------------------------------


@contextlib.contextmanager
def write_to(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection that commits and closes at the end (sqlite3's own `with` only commits:
    an open connection would change the file later, when it checkpoints on closing)."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        yield conn


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_refusals_are_one_line_and_write_nothing(
    sqlite_node: tuple[Path, str],
    pg_target: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, url = sqlite_node
    behind = tmp_path / "behind.sqlite3"
    shutil.copy(path, behind)
    with write_to(behind) as conn:  # as if the last migration were not applied yet
        conn.execute(
            "DELETE FROM tortoise_migrations WHERE id = (SELECT max(id) FROM tortoise_migrations)"
        )
    strange = tmp_path / "other.sqlite3"
    with write_to(strange) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    (tmp_path / "text.sqlite3").write_text("not a database, just words " * 100)
    hashes = {p: sha256(p) for p in (path, behind, strange)}
    port = closed_port()
    cases = [
        (url, "mysql://root@localhost/nabuur", ["not a PostgreSQL URL"]),
        (url, "/var/lib/nabuur.sqlite3", ["not a PostgreSQL URL"]),
        # Without a name, PostgreSQL would pick the database named after the user.
        (url, "postgres://127.0.0.1:5432/", ["names no database"]),
        (url, "postgres://u:pw@[::1/nabuur", ["not a usable PostgreSQL URL"]),
        (url, f"postgres://nabuur:s3cret@127.0.0.1:{port}/nabuur", ["cannot reach PostgreSQL"]),
        (url, pg_target + "_nothere", ["does not exist", "createdb"]),
        (pg_target, pg_target, ["not SQLite"]),
        (f"sqlite://{tmp_path / 'missing.sqlite3'}", pg_target, ["no SQLite database"]),
        (f"sqlite://{behind}", pg_target, ["needs 1 migration(s)", "run `nabuur migrate` first"]),
        (f"sqlite://{strange}", pg_target, ["holds no Nabuur node"]),
        (f"sqlite://{tmp_path / 'text.sqlite3'}", pg_target, ["cannot read", "SQLite"]),
    ]
    for source, target, words in cases:
        code, out, err = move(capsys, monkeypatch, source, target)
        assert (code, out) == (1, ""), (source, target, err)
        line = one_line(err, *words)
        assert "s3cret" not in line  # a password is never shown
    assert pg_tables(pg_target) == {}, "nothing may be created in the target"
    assert {p: sha256(p) for p in hashes} == hashes
    assert not (tmp_path / "missing.sqlite3").exists()


@pytest.mark.slow
def test_a_failed_move_leaves_empty_tables_and_the_next_run_succeeds(
    sqlite_node: tuple[Path, str],
    pg_target: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, url = sqlite_node
    with write_to(path) as conn:
        # login_failures is copied before rate_events; a NUL character is fine in SQLite
        # and refused by PostgreSQL, so the move fails after copying a first table.
        conn.execute("INSERT INTO login_failures (key, at) VALUES ('els', ?)", (STAMP,))
        conn.execute("INSERT INTO rate_events (key, at) VALUES (?, ?)", ("a\x00b", STAMP))

    code, _, err = move(capsys, monkeypatch, url, pg_target)

    assert code == 1
    *progress, error = err.strip().splitlines()
    assert "login_failures           1 rows" in progress and "Traceback" not in err
    assert error.startswith("nabuur: the move failed while copying rate_events"), error
    assert "nothing was copied" in error and "run this again" in error
    left = node_rows(pg_target)
    assert set(left) == model_tables() and set(left.values()) == {0}, left

    with write_to(path) as conn:  # the operator fixes the cause
        conn.execute("UPDATE rate_events SET key = 'ab'")

    # The node still runs and writes meanwhile: the copy is rolled back, not half-done.
    def node_writes(table: str, done: int, total: int) -> None:
        if table == "events" and done == 0:
            with write_to(path) as writer:
                writer.execute(
                    "INSERT INTO used_tokens (key, expires_at) VALUES ('t', ?)", (STAMP,)
                )

    with pytest.raises(MoveError, match=r"wrote to .* during the move"):
        asyncio.run(move_to_postgres.move(url, pg_target, progress=node_writes))
    assert set(node_rows(pg_target).values()) == {0}

    # The connection to PostgreSQL is cut half-way (a restart, a failover).
    name = pg_target.rsplit("/", 1)[1]
    cut = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )

    def connection_cut(table: str, done: int, total: int) -> None:
        if table == "media_files" and done == 0:  # (from inside the move's event loop)
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, _pg_admin(cut)).result()

    with pytest.raises(MoveError, match="the move failed while copying") as failed:
        asyncio.run(move_to_postgres.move(url, pg_target, progress=connection_cut))
    assert "connection" in str(failed.value) and "run this again" in str(failed.value)
    assert set(node_rows(pg_target).values()) == {0}

    code, _, err = move(capsys, monkeypatch, url, pg_target)
    assert code == 0, err
    moved = pg_tables(pg_target)
    assert (moved["login_failures"], moved["rate_events"], moved["used_tokens"]) == (1, 1, 1)


STAMP = "2026-11-30 10:00:00.123456+00:00"  # as tortoise stores datetimes in SQLite


@given(
    scheme=st.from_regex(r"[a-z][a-z0-9+.-]{0,12}", fullmatch=True).filter(
        lambda s: s not in ("postgres", "postgresql")
    ),
    rest=st.text(max_size=40),
)
def test_only_postgres_urls_are_targets(scheme: str, rest: str) -> None:
    with pytest.raises(MoveError, match="not a PostgreSQL URL"):
        check_target_url(f"{scheme}://{rest}")
    with pytest.raises(MoveError, match="not a PostgreSQL URL"):
        check_target_url(rest.replace("://", ""))
    try:  # the scheme is right: refused for another reason, if at all
        check_target_url(f"postgresql://{rest}")
    except MoveError as exc:
        assert "not a PostgreSQL URL" not in str(exc)


@given(
    user=st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True),
    password=st.text(min_size=1, max_size=30).filter(lambda p: not set(p) & set("/?@")),
    host=st.from_regex(r"[a-z0-9.-]{1,20}(:[0-9]{1,5})?", fullmatch=True),
)
def test_a_password_is_never_shown(user: str, password: str, host: str) -> None:
    url = f"postgres://{user}:{password}@{host}/nabuur?minsize=1"
    assert shown(url) == f"postgres://{user}:***@{host}/nabuur?minsize=1"
    with pytest.raises(MoveError) as refused:
        check_target_url(url.replace("postgres", "mysql"))
    assert f"'mysql://{user}:***@{host}/nabuur?minsize=1' is not" in str(refused.value)


def test_the_help_says_what_happens_on_failure(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["move-to-postgres", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "usage: nabuur move-to-postgres [-h] URL" in text
    assert "every table is copied in one transaction" in text
    assert "running the command again is safe" in text
    assert "drop and recreate it" in text


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_redrawn_on_a_terminal_and_one_line_per_table_in_a_log() -> None:
    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        progress = TableProgress(stream)
        for done in (0, 500, 1000, 1200):
            progress("inbox_items", done, 1200)
        progress("events", 0, 0)
        progress("accounts", 0, 7)
        progress.close()  # a failure in the middle of a table
    assert log.getvalue() == "inbox_items              1200 rows\nevents                   0 rows\n"
    drawn = terminal.getvalue()
    assert drawn.count("\r") == 6
    assert "\rinbox_items              [" + "#" * 12 + "." * 18 + "] 500/1200" in drawn
    assert "[" + "#" * 30 + "] 1200/1200\n" in drawn
    assert "[" + "#" * 30 + "] 0/0\n" in drawn
    assert drawn.endswith("] 0/7\n")  # closed by close(): the error gets its own line
