"""`node.raw_sql` reads what tortoise reads: the same lookups give the same rows and the
same instances, on both backends. The hot paths (listings, the visibility rule, one-table
reads of every fresh page) rely on it to keep their rules written once."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise import connections
from tortoise.transactions import in_transaction

from node import db
from node import raw_sql as sql
from node.models import Event, HelpPost, Visibility
from node.sqlite_backend import READ_ON_LOOP_SECONDS
from node.states import PostStatus
from tests import factories

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
LEVELS = [level.value for level in Visibility]
STATUSES = [PostStatus.OPEN, PostStatus.MATCHED, PostStatus.DONE]
INSTANTS = [T0 + timedelta(hours=h, microseconds=m) for h in (-1, 0, 3, 7, 30) for m in (0, 5)]


@pytest.fixture
async def world(database: str) -> dict[str, list]:
    """Posts over every level, a few statuses, with and without organisation and date."""
    hoods = [await factories.neighbourhood("kuregem"), await factories.neighbourhood("jette")]
    people = [await factories.account(name) for name in ("amina", "bert", "chloe")]
    org = await factories.organisation("buurtwerk")
    for i in range(24):
        post = await factories.post(people[i % 3], hoods[i % 2], title=f"Vraag {i}")
        await HelpPost.filter(id=post.id).update(
            visibility=LEVELS[i % len(LEVELS)],
            status=STATUSES[i % 3],
            kind="offer" if i % 5 == 0 else "request",
            organisation_id=org.id if i % 4 == 0 else None,
            starts_at=INSTANTS[i % len(INSTANTS)] if i % 3 else None,
            created_at=T0 + timedelta(hours=i),
        )
    return {
        "hoods": [h.id for h in hoods],
        "people": [p.id for p in people],
        "orgs": [org.id],
    }


def _lookups(world: dict[str, list]) -> st.SearchStrategy[dict[str, object]]:
    def subset(values: list) -> st.SearchStrategy[list]:
        return st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True)

    choices: dict[str, st.SearchStrategy[object]] = {
        "visibility": st.sampled_from(LEVELS),
        "status__in": subset(STATUSES),
        "kind": st.sampled_from(["request", "offer"]),
        "organisation_id": st.sampled_from([None, *world["orgs"]]),
        "author_id__in": subset(world["people"]),
        "neighbourhood_id": st.sampled_from(world["hoods"]),
        "starts_at": st.none(),
        "starts_at__gte": st.sampled_from(INSTANTS),
        "created_at__gt": st.sampled_from(INSTANTS),
        "created_at__lte": st.sampled_from(INSTANTS),
    }
    return st.fixed_dictionaries({}, optional=choices)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_select_finds_what_the_orm_finds(world: dict[str, list], data: st.DataObject) -> None:
    lookups = data.draw(_lookups(world))
    ordered = await HelpPost.filter(**lookups).order_by("-created_at")
    found = await sql.select(HelpPost, lookups, order_by=("-created_at",))
    assert [p.id for p in found] == [p.id for p in ordered], lookups
    for mine, theirs in zip(found, ordered, strict=True):
        for name in ("title", "translations", "starts_at", "created_at", "status", "kind"):
            assert getattr(mine, name) == getattr(theirs, name), name


async def test_where_conditions_join_with_and_and_name_their_tables() -> None:
    condition, params = sql.where(
        {"author__suspended_at": None, "id__in": [1, 2], "created_at__lt": T0, "kind": "offer"},
        {"": "p", "author": "a"},
    )
    assert (
        condition == "a.suspended_at IS NULL AND p.id IN (?, ?) AND p.created_at < ? AND p.kind = ?"
    )
    assert params == [1, 2, T0, "offer"]
    assert sql.where({}, {"": "p"}) == ("1 = 1", [])


# An events row as `events.emit` writes it (payload: JSON text, as the ORM encodes it).
EVENT = {
    "kind": "Deferred",
    "payload": "{}",
    "created_at": T0,
    "handled_at": T0,
    "locked_until": None,
    "attempts": 0,
}


async def test_deferred_inserts_wait_for_the_end_and_vanish_with_an_error(database: str) -> None:
    row = EVENT
    async with sql.deferred_inserts():
        for _ in range(3):
            await sql.insert_row(Event, row)
        assert await Event.filter(kind="Deferred").count() == 0  # not yet
    assert await Event.filter(kind="Deferred").count() == 3
    with pytest.raises(RuntimeError):
        async with sql.deferred_inserts():
            await sql.insert_row(Event, {**row, "kind": "Dropped"})
            raise RuntimeError("the unit of work failed")
    assert not await Event.filter(kind="Dropped").exists()
    await sql.insert_row(Event, {**row, "kind": "Direct"})  # outside: written at once
    assert await Event.filter(kind="Direct").count() == 1


async def test_the_listing_window_compares_instants_not_their_text(database: str) -> None:
    """A request at 23:30 UTC is at 00:30 the next day in Brussels: "today" there holds it."""
    from zoneinfo import ZoneInfo

    from node.services import listings

    hood = await factories.neighbourhood("kuregem")
    post = await factories.post(await factories.account("amina"), hood)
    late = datetime(2026, 12, 9, 23, 30, tzinfo=UTC)
    await HelpPost.filter(id=post.id).update(starts_at=late)
    brussels = ZoneInfo("Europe/Brussels")
    today = datetime(2026, 12, 10, tzinfo=brussels)
    for window, held in (
        ((today, today + timedelta(days=1)), True),
        ((today - timedelta(days=1), today), False),
    ):
        rows = await listings.open_card_rows(hood, None, starts_between=window)
        assert (post.id in {row["id"] for row in rows}) is held, window


async def test_a_read_sees_every_committed_write_and_a_transaction_its_own(database: str) -> None:
    """SQLite reads outside a transaction on a connection of their own (no aiosqlite
    hand-off): they must see what was just written, as the ORM's own reads do, and a
    transaction must keep reading through its connection, where its writes are."""
    hood = await factories.neighbourhood("kuregem")
    author = await factories.account("amina")
    titles = "SELECT title FROM help_posts WHERE neighbourhood_id = ? ORDER BY title"

    post = await factories.post(author, hood, title="Eerste")
    assert [row[0] for row in await sql.rows(titles, [hood.id])] == ["Eerste"]
    await HelpPost.filter(id=post.id).update(title="Gewijzigd")
    assert await sql.named_rows(titles, [hood.id]) == [{"title": "Gewijzigd"}]

    async with in_transaction():
        await HelpPost.filter(id=post.id).update(title="Binnen")
        assert [row[0] for row in await sql.rows(titles, [hood.id])] == ["Binnen"]
    assert [row[0] for row in await sql.rows(titles, [hood.id])] == ["Binnen"]

    with pytest.raises(RuntimeError):
        async with in_transaction():
            await HelpPost.filter(id=post.id).update(title="Teruggedraaid")
            raise RuntimeError("roll back")
    assert [row[0] for row in await sql.rows(titles, [hood.id])] == ["Binnen"]


async def test_writes_never_go_to_the_read_connection(database: str) -> None:
    """`named_rows` also runs INSERT … RETURNING: it must reach the writing connection."""
    hood = await factories.neighbourhood("kuregem")
    inserted = await sql.named_rows(
        "INSERT INTO neighbourhood_connectors (created_at, account_id, neighbourhood_id)"
        " SELECT ?, a.id, ? FROM accounts a WHERE a.id = ? RETURNING id",
        [T0, hood.id, (await factories.account("bert")).id],
    )
    assert len(inserted) == 1
    [(count,)] = await sql.rows("SELECT COUNT(*) FROM neighbourhood_connectors", [])
    assert count == 1


@contextlib.asynccontextmanager
async def longest_stall() -> AsyncIterator[list[float]]:
    """Over the body, the longest time the event loop did not run a 5 ms ticker (put in
    the yielded list at the end): how long a read held up everything else."""
    loop = asyncio.get_running_loop()
    ticks = [loop.time()]

    async def ticking() -> None:
        while True:
            await asyncio.sleep(0.005)
            ticks.append(loop.time())

    ticker = asyncio.create_task(ticking())
    stall: list[float] = []
    try:
        yield stall
    finally:
        ticker.cancel()
        ticks.append(loop.time())
        stall.append(max(b - a for a, b in itertools.pairwise(ticks)))


async def test_a_locked_file_is_read_through_the_writer_without_holding_up_the_loop(
    database: str,
) -> None:
    """When a read cannot run on the spot (the file is locked: a node set to SQLite's
    rollback journal while another process writes), it waits on aiosqlite's thread
    instead, up to the node's busy_timeout, and the event loop keeps serving meanwhile."""
    if not database.startswith("sqlite://"):
        pytest.skip("SQLite's file lock")
    await db.close_database()
    await db.open_database(f"{database}?journal_mode=DELETE")
    hood = await factories.neighbourhood("kuregem")
    holder = sqlite3.connect(db.sqlite_path(database), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE neighbourhoods SET name = 'Kuregem-Noord' WHERE id = ?", [hood.id])

    async def release_later() -> None:
        await asyncio.sleep(0.4)
        holder.execute("COMMIT")
        holder.close()

    loop = asyncio.get_running_loop()
    started = loop.time()
    releaser = asyncio.create_task(release_later())
    try:
        async with longest_stall() as stall:
            found = await sql.rows("SELECT name FROM neighbourhoods WHERE id = ?", [hood.id])
    finally:
        await releaser
    assert [row[0] for row in found] == ["Kuregem-Noord"]
    # The loop ran on while the read waited ~0.4 s for the lock: never stalled long.
    assert loop.time() - started >= 0.4
    assert stall[0] < 0.25


async def test_a_long_read_finishes_off_the_loop(database: str) -> None:
    """A read that would hold the event loop longer than READ_ON_LOOP_SECONDS is
    interrupted there and run again on aiosqlite's thread: same rows, no stall."""
    if not database.startswith("sqlite://"):
        pytest.skip("SQLite's read on the loop")
    counting = (
        "SELECT COUNT(*) FROM (WITH RECURSIVE n(x) AS"
        " (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?) SELECT x FROM n)"
    )
    await sql.rows("SELECT 1", [])  # the first statement of a client connects it
    loop = asyncio.get_running_loop()
    async with longest_stall() as stall:
        started = loop.time()
        [(count,)] = await sql.rows(counting, [2_000_000])
        took = loop.time() - started
    assert count == 2_000_000
    assert took > max(0.1, 5 * READ_ON_LOOP_SECONDS)  # long enough to stall the loop
    assert stall[0] < took / 2


async def test_a_closed_client_reads_nothing_on_its_own(database: str) -> None:
    """After the database is closed (a restore may replace the file next), a kept
    reference to the client must not open a reader of its own again."""
    if not database.startswith("sqlite://"):
        pytest.skip("SQLite's reader")
    client = connections.get("default")
    await sql.rows("SELECT 1", [])  # the first statement of a client connects it
    assert await client.read_at_once("SELECT 1", []) is not None
    await db.close_database()
    assert await client.read_at_once("SELECT 1", []) is None
    assert client._readers == []
    await db.open_database(database)
