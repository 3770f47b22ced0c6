"""Tortoise models of the node, one module per family; imported here for tortoise."""

from node.models.accounts import Account, Role
from node.models.events import Event
from node.models.follows import Follow, FollowTarget, LocalActorKind, OutgoingFollow
from node.models.hosts import HostHealth
from node.models.moderation import DomainPolicy, DomainRule, Report
from node.models.neighbourhoods import Connector, Neighbourhood
from node.models.node_settings import NodeSettings
from node.models.notifications import Notification, NotificationKind
from node.models.organisations import Membership, Organisation, OrganisationKind, StaffRole
from node.models.posts import HelpPost, PostKind, Visibility
from node.models.queue import (
    Delivery,
    DeliveryStatus,
    InboxItem,
    InboxStatus,
    OutboxActivity,
)
from node.models.reactions import Reaction, ReactionKind
from node.models.remote import RemoteActor
from node.models.remote_posts import RemotePost
from node.models.responses import Response, ResponseKind
from node.models.sessions import Invitation, LoginFailure, Session

__all__ = [
    "Account",
    "Connector",
    "Delivery",
    "DeliveryStatus",
    "DomainPolicy",
    "DomainRule",
    "Event",
    "Follow",
    "FollowTarget",
    "HelpPost",
    "HostHealth",
    "InboxItem",
    "InboxStatus",
    "Invitation",
    "LocalActorKind",
    "LoginFailure",
    "Membership",
    "Neighbourhood",
    "NodeSettings",
    "Notification",
    "NotificationKind",
    "Organisation",
    "OrganisationKind",
    "OutboxActivity",
    "OutgoingFollow",
    "PostKind",
    "Reaction",
    "ReactionKind",
    "RemoteActor",
    "RemotePost",
    "Report",
    "Response",
    "ResponseKind",
    "Role",
    "Session",
    "StaffRole",
    "Visibility",
]
