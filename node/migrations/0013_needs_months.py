from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('nabuur', '0012_needs_knowledge')]

    initial = False

    operations = [
        ops.CreateModel(
            name='NeedsMonth',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('month', fields.CharField(max_length=7)),
                ('neighbourhood_id', fields.IntField()),
                ('category', fields.CharField(max_length=20)),
                ('kind', fields.CharField(max_length=10)),
                ('organisation_id', fields.IntField(default=0)),
                ('posted', fields.IntField(default=0)),
                ('matched', fields.IntField(default=0)),
                ('done', fields.IntField(default=0)),
                ('expired', fields.IntField(default=0)),
                ('withdrawn', fields.IntField(default=0)),
                ('closed', fields.IntField(default=0)),
                ('unmatched', fields.IntField(default=0)),
                ('hidden', fields.IntField(default=0)),
                ('offer_waits', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('match_waits', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('refreshed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'needs_months', 'app': 'nabuur', 'unique_together': (('month', 'neighbourhood_id', 'category', 'kind', 'organisation_id'),), 'indexes': [Index(fields=['refreshed_at'])], 'pk_attr': 'id', 'table_description': 'The posts created in one month, in one neighbourhood and category, of one kind and'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='HelpPost',
            index=Index(fields=['updated_at']),
        ),
    ]
