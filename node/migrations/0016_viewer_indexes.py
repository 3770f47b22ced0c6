"""Indexes for the reads of every logged-in page, and the follows' lost unique indexes.

On SQLite, 0003's change of `follows.follower_id` to nullable rebuilt the table and
dropped the unique indexes of (follower, neighbourhood / organisation / account) that
0002 had made; PostgreSQL kept them. A SQLite node could then store the same follow twice
(two clicks at once), and every logged-in page read the whole table. Duplicates are
removed first (the accepted row is kept, else the oldest), then the indexes are made
again under PostgreSQL's names; on PostgreSQL, where they exist, both steps change
nothing.
"""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_TARGETS = {
    "neighbourhood_id": "uid_follows_followe_4bb315",
    "organisation_id": "uid_follows_followe_12a6f6",
    "account_id": "uid_follows_followe_51fb89",
}


def _dedupe(column: str) -> str:
    return (
        "DELETE FROM follows WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER ("
        f" PARTITION BY follower_id, {column}"
        " ORDER BY CASE WHEN status = 'accepted' THEN 0 ELSE 1 END, id) AS n"
        f" FROM follows WHERE follower_id IS NOT NULL AND {column} IS NOT NULL) AS ranked"
        " WHERE n > 1)"
    )


class Migration(migrations.Migration):
    dependencies = [("nabuur", "0015_listing_order")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="PostPartner",
            index=Index(fields=["organisation_id"]),
        ),
        ops.AddIndex(
            model_name="Response",
            index=Index(fields=["author_id", "offer_status"]),
        ),
        ops.RunSQL(
            [
                statement
                for column, name in _TARGETS.items()
                for statement in (
                    _dedupe(column),
                    f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON follows (follower_id, {column})",
                )
            ],
            ops.RunSQL.noop,  # 0002 made them: going back does not undo them
        ),
    ]
