from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('nabuur', '0003_federation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RemotePost',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('object_uri', fields.CharField(unique=True, max_length=500)),
                ('actor', fields.ForeignKeyField('nabuur.RemoteActor', source_field='actor_id', db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.CASCADE)),
                ('via', fields.ForeignKeyField('nabuur.RemoteActor', source_field='via_id', null=True, db_constraint=True, to_field='id', related_name='announced_posts', on_delete=OnDelete.SET_NULL)),
                ('kind', fields.CharField(max_length=10)),
                ('title', fields.CharField(default='', max_length=200)),
                ('language', fields.CharField(default='', max_length=8)),
                ('content_map', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('category', fields.CharField(default='other', max_length=20)),
                ('place_name', fields.CharField(default='', max_length=200)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('helpers_needed', fields.SmallIntField(null=True)),
                ('slots_left', fields.SmallIntField(null=True)),
                ('finished', fields.BooleanField(default=False)),
                ('url', fields.CharField(null=True, max_length=500)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('fetched_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'remote_posts', 'app': 'nabuur', 'indexes': [Index(fields=['finished', 'published_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
