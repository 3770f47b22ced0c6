from tortoise import migrations
from tortoise.migrations import operations as ops
from node.models.follows import FollowTarget
from node.models.notifications import NotificationKind
from node.states import FollowStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('nabuur', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Event',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=40)),
                ('payload', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('handled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'events', 'app': 'nabuur', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Follow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('follower', fields.ForeignKeyField('nabuur.Account', source_field='follower_id', db_constraint=True, to_field='id', related_name='following', on_delete=OnDelete.CASCADE)),
                ('target_kind', fields.CharEnumField(description='NEIGHBOURHOOD: neighbourhood\nORGANISATION: organisation\nACCOUNT: account', enum_type=FollowTarget, max_length=14)),
                ('neighbourhood', fields.ForeignKeyField('nabuur.Neighbourhood', source_field='neighbourhood_id', null=True, db_constraint=True, to_field='id', related_name='followers', on_delete=OnDelete.CASCADE)),
                ('organisation', fields.ForeignKeyField('nabuur.Organisation', source_field='organisation_id', null=True, db_constraint=True, to_field='id', related_name='followers', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('nabuur.Account', source_field='account_id', null=True, db_constraint=True, to_field='id', related_name='followers', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=FollowStatus.PENDING, description='PENDING: pending\nACCEPTED: accepted\nREJECTED: rejected', enum_type=FollowStatus, max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'follows', 'app': 'nabuur', 'unique_together': (('follower', 'neighbourhood'), ('follower', 'organisation'), ('follower', 'account')), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('recipient', fields.ForeignKeyField('nabuur.Account', source_field='recipient_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='RESPONSE: response\nACCEPTED: accepted\nDECLINED: declined\nHELPER_WITHDREW: helper_withdrew\nSTATUS: status\nFOLLOW: follow', enum_type=NotificationKind, max_length=16)),
                ('actor', fields.ForeignKeyField('nabuur.Account', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='caused_notifications', on_delete=OnDelete.SET_NULL)),
                ('post', fields.ForeignKeyField('nabuur.HelpPost', source_field='post_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('response', fields.ForeignKeyField('nabuur.Response', source_field='response_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notifications', 'app': 'nabuur', 'indexes': [Index(fields=['recipient_id', 'read_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
