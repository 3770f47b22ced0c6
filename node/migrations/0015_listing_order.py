from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('nabuur', '0014_reaching_everyone')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='HelpPost',
            index=Index(fields=['neighbourhood_id', 'kind', 'created_at']),
        ),
    ]
