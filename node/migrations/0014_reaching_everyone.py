from tortoise import migrations
from tortoise.migrations import operations as ops
from node.models.accounts import MailFrequency
from node.models.mail import MailKind, TokenPurpose
from node.models.notifications import NotificationKind
from node.models.responses import ResponseKind
from node.states import MailStatus, OfferStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

from node.migration_ops import AddColumn, AlterChoices

class Migration(migrations.Migration):
    dependencies = [('nabuur', '0013_needs_months')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ConversationMessage',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('nabuur.HelpPost', source_field='post_id', db_constraint=True, to_field='id', related_name='conversation', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('nabuur.Account', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='conversation_messages', on_delete=OnDelete.CASCADE)),
                ('remote_author', fields.ForeignKeyField('nabuur.RemoteActor', source_field='remote_author_id', null=True, db_constraint=True, to_field='id', related_name='conversation_messages', on_delete=OnDelete.CASCADE)),
                ('organisation', fields.ForeignKeyField('nabuur.Organisation', source_field='organisation_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('body', fields.TextField(default='', unique=False)),
                ('body_html', fields.TextField(null=True, unique=False)),
                ('object_uri', fields.CharField(null=True, unique=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'conversation_messages', 'app': 'nabuur', 'indexes': [Index(fields=['post_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EmailToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('nabuur.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='email_tokens', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='CONFIRM: confirm\nRESET: reset', enum_type=TokenPurpose, max_length=10)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('email', fields.CharField(max_length=254)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'email_tokens', 'app': 'nabuur', 'pk_attr': 'id', 'table_description': "A link's secret, stored hashed: used once, before it expires."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MailMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('nabuur.Account', source_field='account_id', null=True, db_constraint=True, to_field='id', related_name='mail_messages', on_delete=OnDelete.SET_NULL)),
                ('to_address', fields.CharField(max_length=254)),
                ('kind', fields.CharEnumField(description='CONFIRM: confirm\nRESET: reset\nNOTIFY: notify\nDIGEST: digest', enum_type=MailKind, max_length=10)),
                ('language', fields.CharField(max_length=5)),
                ('subject', fields.CharField(max_length=300)),
                ('text_body', fields.TextField(unique=False)),
                ('html_body', fields.TextField(unique=False)),
                ('headers', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('message_id', fields.CharField(unique=True, max_length=200)),
                ('status', fields.CharEnumField(default=MailStatus.PENDING, description='PENDING: pending\nSENT: sent\nFAILED: failed\nCANCELLED: cancelled', enum_type=MailStatus, max_length=10)),
                ('attempts', fields.SmallIntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(default='', max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mail_messages', 'app': 'nabuur', 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        AddColumn(
            model_name='Account',
            name='email_confirmed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddColumn(
            model_name='Account',
            name='mail_digest_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddColumn(
            model_name='Account',
            name='mail_frequency',
            field=fields.CharEnumField(default=MailFrequency.IMMEDIATE, description='IMMEDIATE: immediate\nDAILY: daily\nNONE: none', db_default='immediate', enum_type=MailFrequency, max_length=10),
        ),
        AddColumn(
            model_name='Account',
            name='mail_new_requests',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        AddColumn(
            model_name='Account',
            name='show_helped',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        AddColumn(
            model_name='Neighbourhood',
            name='help_hours',
            field=fields.CharField(default='', db_default='', max_length=100),
        ),
        AddColumn(
            model_name='Neighbourhood',
            name='help_office',
            field=fields.CharField(default='', db_default='', max_length=200),
        ),
        AddColumn(
            model_name='Neighbourhood',
            name='help_phone',
            field=fields.CharField(default='', db_default='', max_length=40),
        ),
        AlterChoices(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='RESPONSE: response\nACCEPTED: accepted\nDECLINED: declined\nHELPER_WITHDREW: helper_withdrew\nSTATUS: status\nFOLLOW: follow\nFOLLOW_REQUEST: follow_request\nASKS_TO_FOLLOW: asks_to_follow\nMODERATION: moderation\nREPORT: report\nNOT_NEEDED: not_needed\nMESSAGE: message\nTHANKED: thanked', enum_type=NotificationKind, max_length=16),
        ),
        AddColumn(
            model_name='Notification',
            name='emailed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddColumn(
            model_name='Notification',
            name='message',
            field=fields.ForeignKeyField('nabuur.ConversationMessage', source_field='message_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE),
        ),
        AlterChoices(
            model_name='Response',
            name='kind',
            field=fields.CharEnumField(description='COMMENT: comment\nOFFER: offer\nSERVICE: service\nTHANKS: thanks', enum_type=ResponseKind, max_length=10),
        ),
        AlterChoices(
            model_name='Response',
            name='offer_status',
            field=fields.CharEnumField(null=True, description='OFFERED: offered\nACCEPTED: accepted\nDECLINED: declined\nWITHDRAWN: withdrawn\nNOT_NEEDED: not_needed', enum_type=OfferStatus, max_length=10),
        ),
        # Notifications from before e-mail existed are not mailed to someone who
        # confirms an address later.
        ops.RunSQL(["UPDATE notifications SET emailed_at = created_at"], ["SELECT 1"]),
    ]
