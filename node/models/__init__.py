"""Tortoise models of the node, one module per family; imported here for tortoise."""

from node.models.accounts import Account, Role
from node.models.events import Event
from node.models.follows import Follow, FollowTarget
from node.models.neighbourhoods import Connector, Neighbourhood
from node.models.node_settings import NodeSettings
from node.models.notifications import Notification, NotificationKind
from node.models.organisations import Membership, Organisation, OrganisationKind, StaffRole
from node.models.posts import HelpPost, PostKind, Visibility
from node.models.responses import Response, ResponseKind

__all__ = [
    "Account",
    "Connector",
    "Event",
    "Follow",
    "FollowTarget",
    "HelpPost",
    "Membership",
    "Neighbourhood",
    "NodeSettings",
    "Notification",
    "NotificationKind",
    "Organisation",
    "OrganisationKind",
    "PostKind",
    "Response",
    "ResponseKind",
    "Role",
    "StaffRole",
    "Visibility",
]
