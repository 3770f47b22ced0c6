"""The database fixture gives each test an empty, migrated database on both backends."""

from node import db
from node.models import Account, NodeSettings
from tests import factories


async def test_empty_and_writable(database: str) -> None:
    assert await NodeSettings.all().count() == 0
    await factories.account("greet")
    assert await Account.filter(username="greet").exists()
    assert await db.pending_migrations(database) == []
