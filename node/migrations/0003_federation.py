from tortoise import migrations
from tortoise.migrations import operations as ops
from node.models.follows import FollowTarget, LocalActorKind
from node.models.moderation import DomainPolicy
from node.models.queue import DeliveryStatus, InboxStatus
from node.models.reactions import ReactionKind
from node.states import FollowStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

from node.keys import generate_key_pair

ACTOR_TABLES = ("accounts", "organisations", "neighbourhoods", "node_settings")


async def generate_missing_keys(apps, schema_editor) -> None:
    """Actors created before federation get their key pairs now (hand-written step)."""
    client = schema_editor.client
    pg = client.capabilities.dialect == "postgres"
    mark = (lambda i: f"${i}") if pg else (lambda i: "?")
    for table in ACTOR_TABLES:
        rows = await client.execute_query_dict(
            f'SELECT id FROM "{table}" WHERE public_key_pem IS NULL'
        )
        for row in rows:
            private_pem, public_pem = await generate_key_pair()
            await client.execute_query(
                f'UPDATE "{table}" SET private_key_pem = {mark(1)}, public_key_pem = {mark(2)}'
                f" WHERE id = {mark(3)}",
                [private_pem, public_pem, row["id"]],
            )


class Migration(migrations.Migration):
    dependencies = [('nabuur', '0002_follows_notifications_events')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DomainRule',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('domain', fields.CharField(unique=True, max_length=255)),
                ('policy', fields.CharEnumField(description='BLOCK: block\nALLOW: allow', enum_type=DomainPolicy, max_length=8)),
                ('reason', fields.CharField(default='', max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'domain_rules', 'app': 'nabuur', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InboxItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity_id', fields.CharField(unique=True, max_length=500)),
                ('activity_type', fields.CharField(max_length=40)),
                ('actor_uri', fields.CharField(max_length=500)),
                ('payload', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('status', fields.CharEnumField(default=InboxStatus.PENDING, description='PENDING: pending\nPROCESSED: processed\nIGNORED: ignored\nREJECTED: rejected\nRETRY: retry', enum_type=InboxStatus, max_length=10)),
                ('attempts', fields.SmallIntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('outcome', fields.CharField(default='', max_length=300)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('processed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbox_items', 'app': 'nabuur', 'indexes': [Index(fields=['status', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxActivity',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('activity_uri', fields.CharField(unique=True, max_length=500)),
                ('activity_type', fields.CharField(max_length=40)),
                ('actor_kind', fields.CharField(max_length=14)),
                ('actor_key', fields.IntField(null=True)),
                ('payload', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'outbox_activities', 'app': 'nabuur', 'pk_attr': 'id', 'table_description': 'An activity built once, with its stable id, signed at each delivery.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Delivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('nabuur.OutboxActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('inbox', fields.CharField(max_length=500)),
                ('host', fields.CharField(db_index=True, max_length=255)),
                ('status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='PENDING: pending\nSENT: sent\nFAILED: failed\nCANCELLED: cancelled', enum_type=DeliveryStatus, max_length=10)),
                ('attempts', fields.SmallIntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status', fields.SmallIntField(null=True)),
                ('last_error', fields.CharField(default='', max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'deliveries', 'app': 'nabuur', 'unique_together': (('activity', 'inbox'),), 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RemoteActor',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uri', fields.CharField(unique=True, max_length=500)),
                ('domain', fields.CharField(db_index=True, max_length=255)),
                ('actor_type', fields.CharField(default='Person', max_length=20)),
                ('username', fields.CharField(default='', max_length=100)),
                ('display_name', fields.CharField(default='', max_length=200)),
                ('summary_html', fields.TextField(default='', unique=False)),
                ('url', fields.CharField(null=True, max_length=500)),
                ('icon_url', fields.CharField(null=True, max_length=500)),
                ('inbox', fields.CharField(max_length=500)),
                ('shared_inbox', fields.CharField(null=True, max_length=500)),
                ('followers_url', fields.CharField(null=True, max_length=500)),
                ('key_id', fields.CharField(unique=True, max_length=500)),
                ('public_key_pem', fields.TextField(unique=False)),
                ('manually_approves_followers', fields.BooleanField(default=False)),
                ('supports_group_announces', fields.BooleanField(default=False)),
                ('fetched_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'remote_actors', 'app': 'nabuur', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutgoingFollow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('local_kind', fields.CharEnumField(description='INSTANCE: instance\nACCOUNT: account\nORGANISATION: organisation\nNEIGHBOURHOOD: neighbourhood', enum_type=LocalActorKind, max_length=14)),
                ('local_key', fields.IntField(null=True)),
                ('target', fields.ForeignKeyField('nabuur.RemoteActor', source_field='target_id', db_constraint=True, to_field='id', related_name='followers', on_delete=OnDelete.CASCADE)),
                ('activity_uri', fields.CharField(unique=True, max_length=500)),
                ('status', fields.CharEnumField(default=FollowStatus.PENDING, description='PENDING: pending\nACCEPTED: accepted\nREJECTED: rejected', enum_type=FollowStatus, max_length=10)),
                ('is_relay', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'outgoing_follows', 'app': 'nabuur', 'unique_together': (('local_kind', 'local_key', 'target'),), 'pk_attr': 'id', 'table_description': 'A follow of a remote actor (a neighbouring node, a relay) by one of our actors.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Reaction',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('nabuur.HelpPost', source_field='post_id', db_constraint=True, to_field='id', related_name='reactions', on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('nabuur.RemoteActor', source_field='actor_id', db_constraint=True, to_field='id', related_name='reactions', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='LIKE: like\nANNOUNCE: announce', enum_type=ReactionKind, max_length=10)),
                ('activity_uri', fields.CharField(unique=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'reactions', 'app': 'nabuur', 'unique_together': (('post', 'actor', 'kind'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Report',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('reporter_remote', fields.ForeignKeyField('nabuur.RemoteActor', source_field='reporter_remote_id', null=True, db_constraint=True, to_field='id', related_name='reports_made', on_delete=OnDelete.SET_NULL)),
                ('reporter_account', fields.ForeignKeyField('nabuur.Account', source_field='reporter_account_id', null=True, db_constraint=True, to_field='id', related_name='reports_made', on_delete=OnDelete.SET_NULL)),
                ('activity_uri', fields.CharField(null=True, unique=True, max_length=500)),
                ('object_uris', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('comment', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reports', 'app': 'nabuur', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Account',
            name='private_key_pem',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Account',
            name='public_key_pem',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AlterModelOptions(
            name='Follow',
            options={'table': 'follows', 'app': 'nabuur', 'unique_together': (('follower', 'neighbourhood'), ('follower', 'organisation'), ('follower', 'account'), ('follower_remote', 'neighbourhood'), ('follower_remote', 'organisation'), ('follower_remote', 'account')), 'pk_attr': 'id', 'table_description': 'A follow of a local actor, by a local account or by a remote actor.'},
        ),
        ops.AlterField(
            model_name='Follow',
            name='target_kind',
            field=fields.CharEnumField(description='INSTANCE: instance\nNEIGHBOURHOOD: neighbourhood\nORGANISATION: organisation\nACCOUNT: account', enum_type=FollowTarget, max_length=14),
        ),
        ops.AlterField(
            model_name='Follow',
            name='follower',
            field=fields.ForeignKeyField('nabuur.Account', source_field='follower_id', null=True, db_constraint=True, to_field='id', related_name='following', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Follow',
            name='activity_uri',
            field=fields.CharField(null=True, unique=True, max_length=500),
        ),
        ops.AddField(
            model_name='Follow',
            name='follower_remote',
            field=fields.ForeignKeyField('nabuur.RemoteActor', source_field='follower_remote_id', null=True, db_constraint=True, to_field='id', related_name='following', on_delete=OnDelete.CASCADE),
        ),
        ops.AddConstraint(
            model_name='Follow',
            constraint=UniqueConstraint(fields=('follower_remote', 'neighbourhood'), name=None),
        ),
        ops.AddConstraint(
            model_name='Follow',
            constraint=UniqueConstraint(fields=('follower_remote', 'organisation'), name=None),
        ),
        ops.AddConstraint(
            model_name='Follow',
            constraint=UniqueConstraint(fields=('follower_remote', 'account'), name=None),
        ),
        ops.AddField(
            model_name='Neighbourhood',
            name='private_key_pem',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Neighbourhood',
            name='public_key_pem',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='NodeSettings',
            name='private_key_pem',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='NodeSettings',
            name='public_key_pem',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Organisation',
            name='private_key_pem',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Organisation',
            name='public_key_pem',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AlterField(
            model_name='Response',
            name='author',
            field=fields.ForeignKeyField('nabuur.Account', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='responses', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Response',
            name='body_html',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Response',
            name='object_uri',
            field=fields.CharField(null=True, unique=True, max_length=500),
        ),
        ops.AddField(
            model_name='Response',
            name='remote_author',
            field=fields.ForeignKeyField('nabuur.RemoteActor', source_field='remote_author_id', null=True, db_constraint=True, to_field='id', related_name='responses', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Account',
            name='manually_approves_followers',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='OutboxActivity',
            name='public',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='OutboxActivity',
            name='object_uri',
            field=fields.CharField(null=True, db_index=True, max_length=500),
        ),
        ops.AddIndex(
            model_name='OutboxActivity',
            index=Index(fields=['actor_kind', 'actor_key', 'public', 'created_at']),
        ),
        ops.AddField(
            model_name='Event',
            name='attempts',
            field=fields.SmallIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Event',
            name='locked_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        # Hand-written: workers look only for rows still to do; a partial index keeps
        # that look-up fast however many finished rows pile up.
        ops.RunSQL(
            [
                "CREATE INDEX inbox_items_todo ON inbox_items (id)"
                " WHERE status IN ('pending', 'retry')",
                "CREATE INDEX deliveries_todo ON deliveries (next_attempt_at)"
                " WHERE status = 'pending'",
                "CREATE INDEX events_todo ON events (id) WHERE handled_at IS NULL",
            ],
            ["DROP INDEX inbox_items_todo", "DROP INDEX deliveries_todo", "DROP INDEX events_todo"],
        ),
        ops.RunPython(generate_missing_keys, ops.RunPython.noop),
    ]
