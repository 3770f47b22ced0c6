from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('nabuur', '0004_remote_posts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='HostHealth',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('host', fields.CharField(unique=True, max_length=255)),
                ('failure_days', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('unavailable', fields.BooleanField(default=False)),
                ('changed_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'host_health', 'app': 'nabuur', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
