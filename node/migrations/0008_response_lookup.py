from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('nabuur', '0007_sessions')]

    initial = False

    # Hand-written. Every request page and listing looks responses up by post. The index
    # that 0001 declared is gone on SQLite: the table rebuilds of later field changes
    # dropped it, and without it each page scanned the whole table. IF NOT EXISTS keeps
    # this harmless where the declared index survived (PostgreSQL).
    operations = [
        ops.RunSQL(
            [
                "CREATE INDEX IF NOT EXISTS responses_by_post"
                " ON responses (post_id, created_at)",
                "CREATE INDEX IF NOT EXISTS notifications_by_recipient"
                " ON notifications (recipient_id, read_at)",
            ],
            [
                "DROP INDEX IF EXISTS responses_by_post",
                "DROP INDEX IF EXISTS notifications_by_recipient",
            ],
        ),
    ]
