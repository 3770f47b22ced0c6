from tortoise import migrations
from tortoise.migrations import operations as ops
from node.models.accounts import Role
from node.models.organisations import OrganisationKind, StaffRole
from node.models.posts import PostKind, Visibility
from node.models.responses import ResponseKind
from node.states import OfferStatus, PostStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Neighbourhood',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=40)),
                ('name', fields.CharField(max_length=100)),
                ('commune', fields.CharField(default='', max_length=100)),
                ('country', fields.CharField(default='BE', max_length=2)),
                ('description', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('centre_lat', fields.FloatField(null=True)),
                ('centre_lon', fields.FloatField(null=True)),
                ('radius_m', fields.IntField(null=True)),
                ('polygon', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'neighbourhoods', 'app': 'nabuur', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=30)),
                ('display_name', fields.CharField(max_length=80)),
                ('email', fields.CharField(null=True, unique=True, max_length=254)),
                ('password_hash', fields.CharField(null=True, max_length=200)),
                ('role', fields.CharEnumField(default=Role.RESIDENT, description='RESIDENT: resident\nMODERATOR: moderator\nADMIN: admin', enum_type=Role, max_length=16)),
                ('languages_csv', fields.CharField(default='nl', max_length=40)),
                ('home_neighbourhood', fields.ForeignKeyField('nabuur.Neighbourhood', source_field='home_neighbourhood_id', null=True, db_constraint=True, to_field='id', related_name='residents', on_delete=OnDelete.SET_NULL)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'accounts', 'app': 'nabuur', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Connector',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('neighbourhood', fields.ForeignKeyField('nabuur.Neighbourhood', source_field='neighbourhood_id', db_constraint=True, to_field='id', related_name='connectors', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('nabuur.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='connected_neighbourhoods', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'neighbourhood_connectors', 'app': 'nabuur', 'unique_together': (('neighbourhood', 'account'),), 'pk_attr': 'id', 'table_description': 'A resident who links people in a neighbourhood and may take posts down there.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NodeSettings',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('secret_key', fields.CharField(max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'node_settings', 'app': 'nabuur', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Organisation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=40)),
                ('name', fields.CharField(max_length=120)),
                ('kind', fields.CharEnumField(default=OrganisationKind.NGO, description='NGO: ngo\nCOMMUNE_SERVICE: commune_service\nOTHER: other', enum_type=OrganisationKind, max_length=20)),
                ('description', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('website', fields.CharField(null=True, max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'organisations', 'app': 'nabuur', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HelpPost',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='REQUEST: request\nOFFER: offer', enum_type=PostKind, max_length=10)),
                ('title', fields.CharField(max_length=120)),
                ('description', fields.TextField(default='', unique=False)),
                ('language', fields.CharField(max_length=8)),
                ('translations', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('category', fields.CharField(max_length=20)),
                ('neighbourhood', fields.ForeignKeyField('nabuur.Neighbourhood', source_field='neighbourhood_id', db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.RESTRICT)),
                ('area_hint', fields.CharField(null=True, max_length=80)),
                ('private_location', fields.CharField(null=True, max_length=200)),
                ('starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('helpers_needed', fields.SmallIntField(default=1)),
                ('status', fields.CharEnumField(default=PostStatus.OPEN, description='OPEN: open\nMATCHED: matched\nDONE: done\nWITHDRAWN: withdrawn\nEXPIRED: expired', enum_type=PostStatus, max_length=12)),
                ('status_changed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('visibility', fields.CharEnumField(default=Visibility.PUBLIC, description='PUBLIC: public\nFOLLOWERS: followers\nMEMBERS: members', enum_type=Visibility, max_length=10)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('author', fields.ForeignKeyField('nabuur.Account', source_field='author_id', db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.RESTRICT)),
                ('organisation', fields.ForeignKeyField('nabuur.Organisation', source_field='organisation_id', null=True, db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.RESTRICT)),
                ('on_behalf_label', fields.CharField(null=True, max_length=80)),
                ('client_consent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'help_posts', 'app': 'nabuur', 'indexes': [Index(fields=['status', 'expires_at']), Index(fields=['neighbourhood_id', 'status', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organisation', fields.ForeignKeyField('nabuur.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('nabuur.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(default=StaffRole.STAFF, description='STAFF: staff\nCOORDINATOR: coordinator', enum_type=StaffRole, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'memberships', 'app': 'nabuur', 'unique_together': (('organisation', 'account'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Response',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('nabuur.HelpPost', source_field='post_id', db_constraint=True, to_field='id', related_name='responses', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('nabuur.Account', source_field='author_id', db_constraint=True, to_field='id', related_name='responses', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='COMMENT: comment\nOFFER: offer', enum_type=ResponseKind, max_length=10)),
                ('body', fields.TextField(default='', unique=False)),
                ('offer_status', fields.CharEnumField(null=True, description='OFFERED: offered\nACCEPTED: accepted\nDECLINED: declined\nWITHDRAWN: withdrawn', enum_type=OfferStatus, max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'responses', 'app': 'nabuur', 'indexes': [Index(fields=['post_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
