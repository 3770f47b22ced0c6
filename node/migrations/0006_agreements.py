from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('nabuur', '0005_host_health')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Response',
            name='via_agreement',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
