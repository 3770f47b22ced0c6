from tortoise import migrations
from tortoise.migrations import operations as ops
from node.models.responses import ResponseKind
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

from node.migration_ops import AddColumn, AlterChoices

class Migration(migrations.Migration):
    dependencies = [('nabuur', '0011_hardening')]

    initial = False

    operations = [
        ops.CreateModel(
            name='GuideText',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organisation', fields.ForeignKeyField('nabuur.Organisation', source_field='organisation_id', null=True, db_constraint=True, to_field='id', related_name='guides', on_delete=OnDelete.CASCADE)),
                ('category', fields.CharField(max_length=20)),
                ('language', fields.CharField(max_length=8)),
                ('points', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('updated_by', fields.ForeignKeyField('nabuur.Account', source_field='updated_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'guide_texts', 'app': 'nabuur', 'unique_together': (('organisation', 'category', 'language'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RemoteService',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('object_uri', fields.CharField(unique=True, max_length=500)),
                ('actor', fields.ForeignKeyField('nabuur.RemoteActor', source_field='actor_id', db_constraint=True, to_field='id', related_name='services', on_delete=OnDelete.CASCADE)),
                ('language', fields.CharField(default='', max_length=8)),
                ('name_map', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('content_map', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('categories', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('places', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('phone', fields.CharField(default='', max_length=40)),
                ('email', fields.CharField(default='', max_length=254)),
                ('hours_map', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('address', fields.CharField(default='', max_length=200)),
                ('website', fields.CharField(null=True, max_length=300)),
                ('free', fields.BooleanField(null=True)),
                ('url', fields.CharField(null=True, max_length=500)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('fetched_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'remote_services', 'app': 'nabuur', 'pk_attr': 'id', 'table_description': 'A service published by an actor we follow on another node: "services nearby".'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Service',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('organisation', fields.ForeignKeyField('nabuur.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='services', on_delete=OnDelete.CASCADE)),
                ('language', fields.CharField(max_length=8)),
                ('name', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('description', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('categories', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('everywhere', fields.BooleanField(default=True, db_default=True)),
                ('phone', fields.CharField(default='', db_default='', max_length=40)),
                ('email', fields.CharField(default='', db_default='', max_length=254)),
                ('hours', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('address', fields.CharField(default='', db_default='', max_length=200)),
                ('website', fields.CharField(null=True, max_length=300)),
                ('free', fields.BooleanField(default=True, db_default=True)),
                ('created_by', fields.ForeignKeyField('nabuur.Account', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'services', 'app': 'nabuur', 'indexes': [Index(fields=['organisation_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A service of one of our organisations (its URL is its federated id).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ServiceArea',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('service', fields.ForeignKeyField('nabuur.Service', source_field='service_id', db_constraint=True, to_field='id', related_name='areas', on_delete=OnDelete.CASCADE)),
                ('neighbourhood', fields.ForeignKeyField('nabuur.Neighbourhood', source_field='neighbourhood_id', db_constraint=True, to_field='id', related_name='service_areas', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'service_areas', 'app': 'nabuur', 'unique_together': (('service', 'neighbourhood'),), 'pk_attr': 'id', 'table_description': 'A neighbourhood a service serves (when it does not serve them all).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Survey',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('series', fields.UUIDField(default=uuid4)),
                ('neighbourhood', fields.ForeignKeyField('nabuur.Neighbourhood', source_field='neighbourhood_id', db_constraint=True, to_field='id', related_name='surveys', on_delete=OnDelete.RESTRICT)),
                ('organisation', fields.ForeignKeyField('nabuur.Organisation', source_field='organisation_id', null=True, db_constraint=True, to_field='id', related_name='surveys', on_delete=OnDelete.SET_NULL)),
                ('author', fields.ForeignKeyField('nabuur.Account', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='surveys', on_delete=OnDelete.SET_NULL)),
                ('language', fields.CharField(max_length=8)),
                ('question', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('options', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('multiple', fields.BooleanField(default=False)),
                ('changeable', fields.BooleanField(default=True, db_default=True)),
                ('closes_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('counts_sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('withdrawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'surveys', 'app': 'nabuur', 'indexes': [Index(fields=['neighbourhood_id', 'closes_at']), Index(fields=['series'])], 'pk_attr': 'id', 'table_description': 'The poll of one neighbourhood. A survey published for several neighbourhoods is one row'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SurveyVote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('survey', fields.ForeignKeyField('nabuur.Survey', source_field='survey_id', db_constraint=True, to_field='id', related_name='votes', on_delete=OnDelete.CASCADE)),
                ('option', fields.SmallIntField()),
                ('account', fields.ForeignKeyField('nabuur.Account', source_field='account_id', null=True, db_constraint=True, to_field='id', related_name='survey_votes', on_delete=OnDelete.CASCADE)),
                ('remote_actor', fields.ForeignKeyField('nabuur.RemoteActor', source_field='remote_actor_id', null=True, db_constraint=True, to_field='id', related_name='survey_votes', on_delete=OnDelete.CASCADE)),
                ('note_uri', fields.CharField(null=True, unique=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'survey_votes', 'app': 'nabuur', 'unique_together': (('survey', 'account', 'option'), ('survey', 'remote_actor', 'option')), 'pk_attr': 'id', 'table_description': 'One chosen option of one voter (a multiple-choice vote is several rows).'},
            bases=['Model'],
        ),
        AddColumn(
            model_name='HelpPost',
            name='first_offer_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddColumn(
            model_name='HelpPost',
            name='matched_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddColumn(
            model_name='HelpPost',
            name='solved_by_service',
            field=fields.ForeignKeyField('nabuur.Service', source_field='solved_by_service_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
        ops.AddIndex(
            model_name='HelpPost',
            index=Index(fields=['created_at']),
        ),
        AlterChoices(
            model_name='Response',
            name='kind',
            field=fields.CharEnumField(description='COMMENT: comment\nOFFER: offer\nSERVICE: service', enum_type=ResponseKind, max_length=10),
        ),
        AddColumn(
            model_name='Response',
            name='service',
            field=fields.ForeignKeyField('nabuur.Service', source_field='service_id', null=True, db_constraint=True, to_field='id', related_name='pointers', on_delete=OnDelete.SET_NULL),
        ),
        # Hand-written: the needs figures read these two columns; posts from before
        # them get the first offer's time and, for the match, the earliest accepted
        # offer's last change (the closest record there is).
        ops.RunSQL(
            [
                "UPDATE help_posts SET first_offer_at = (SELECT MIN(r.created_at)"
                " FROM responses r WHERE r.post_id = help_posts.id AND r.kind = 'offer')",
                "UPDATE help_posts SET matched_at = (SELECT MIN(r.updated_at)"
                " FROM responses r WHERE r.post_id = help_posts.id AND r.kind = 'offer'"
                " AND r.offer_status = 'accepted')",
            ],
            ["SELECT 1"],
        ),
    ]
