"""The database fixture gives each test an empty, migrated database on both backends."""

from node import db
from node.models import Account, NodeSettings
from tests import factories


async def test_empty_and_writable(database: str) -> None:
    assert await NodeSettings.all().count() == 0
    await factories.account("greet")
    assert await Account.filter(username="greet").exists()
    assert await db.pending_migrations(database) == []


def test_absolute_sqlite_urls_keep_their_path() -> None:
    """`sqlite:////abs/path` (four slashes, as many guides write it) once became a
    relative path after our pragmas were added, and `nabuur init` hung on it."""
    from node.db import _tuned_url

    for url in ("sqlite:////srv/nabuur/node.sqlite3", "sqlite:///srv/nabuur/node.sqlite3"):
        tuned = _tuned_url(url)
        assert tuned.startswith(url + "?") and "synchronous=NORMAL" in tuned
    assert _tuned_url("sqlite://data/x.db?synchronous=FULL").startswith(
        "sqlite://data/x.db?synchronous=FULL&"
    )
