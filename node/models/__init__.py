"""Tortoise models of the node, one module per family; imported here for tortoise."""

from node.models.accounts import Account, MailFrequency, Role
from node.models.audit import AuditEntry
from node.models.casework import CaseEntry, CaseEntryKind, PostPartner, RemotePostPartner
from node.models.conversations import ConversationMessage
from node.models.events import Event
from node.models.follows import Follow, FollowTarget, LocalActorKind, OutgoingFollow
from node.models.guides import GuideText
from node.models.hosts import HostHealth
from node.models.mail import EmailToken, MailKind, MailMessage, TokenPurpose
from node.models.media import MediaFile
from node.models.moderation import (
    DomainPolicy,
    DomainRule,
    Report,
    ReportCategory,
    Resolution,
)
from node.models.needs import NeedsMonth
from node.models.neighbourhoods import Connector, Neighbourhood
from node.models.node_settings import NodeSettings
from node.models.notifications import Notification, NotificationKind
from node.models.organisations import (
    Membership,
    Organisation,
    OrganisationArea,
    OrganisationKind,
    StaffRole,
)
from node.models.posts import HelpPost, PostKind, Visibility
from node.models.queue import (
    Delivery,
    DeliveryStatus,
    InboxItem,
    InboxStatus,
    OutboxActivity,
)
from node.models.reactions import Reaction, ReactionKind
from node.models.remote import RemoteActor, RemoteStanding
from node.models.remote_posts import RemotePost
from node.models.responses import Response, ResponseKind
from node.models.services_directory import RemoteService, Service, ServiceArea
from node.models.sessions import Invitation, LoginFailure, RateEvent, Session, UsedToken
from node.models.surveys import Survey, SurveyVote

__all__ = [
    "Account",
    "AuditEntry",
    "CaseEntry",
    "CaseEntryKind",
    "Connector",
    "ConversationMessage",
    "Delivery",
    "DeliveryStatus",
    "DomainPolicy",
    "DomainRule",
    "EmailToken",
    "Event",
    "Follow",
    "FollowTarget",
    "GuideText",
    "HelpPost",
    "HostHealth",
    "InboxItem",
    "InboxStatus",
    "Invitation",
    "LocalActorKind",
    "LoginFailure",
    "MailFrequency",
    "MailKind",
    "MailMessage",
    "MediaFile",
    "Membership",
    "NeedsMonth",
    "Neighbourhood",
    "NodeSettings",
    "Notification",
    "NotificationKind",
    "Organisation",
    "OrganisationArea",
    "OrganisationKind",
    "OutboxActivity",
    "OutgoingFollow",
    "PostKind",
    "PostPartner",
    "RateEvent",
    "Reaction",
    "ReactionKind",
    "RemoteActor",
    "RemotePost",
    "RemotePostPartner",
    "RemoteService",
    "RemoteStanding",
    "Report",
    "ReportCategory",
    "Resolution",
    "Response",
    "ResponseKind",
    "Role",
    "Service",
    "ServiceArea",
    "Session",
    "StaffRole",
    "Survey",
    "SurveyVote",
    "TokenPurpose",
    "UsedToken",
    "Visibility",
]
