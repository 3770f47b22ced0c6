"""What each audit-log action code means, in words a volunteer moderator reads.

The log stores stable codes (`moderation.post_hidden`, searchable and exported as they
are); the pages show these labels, and the code itself for any action not named here.
"""

from node.i18n import N_, gettext

LABELS = {
    "account.role": N_("Role changed"),
    "audit.exported": N_("Audit log exported"),
    "delivery.cancelled": N_("Delivery cancelled"),
    "delivery.retried": N_("Delivery retried"),
    "domain.suspend": N_("Server suspended (domain block)"),
    "domain.limit": N_("Server limited (domain block)"),
    "domain.allow": N_("Server added to the allowlist"),
    "domain.removed": N_("Domain rule removed"),
    "domain.imported": N_("Domain blocks imported"),
    "domain.exported": N_("Domain blocks exported"),
    "export.posts": N_("Posts exported"),
    "export.summary": N_("Summary exported"),
    "federation.follow_requested": N_("Partner followed"),
    "federation.unfollow_requested": N_("Partner unfollowed"),
    "federation.follower_accepted": N_("Follower from another server approved"),
    "federation.follower_rejected": N_("Follower from another server refused"),
    "federation.mode": N_("Federation mode changed"),
    "follower.approved": N_("Follower approved"),
    "follower.refused": N_("Follower refused"),
    "follower.removed": N_("Follower removed"),
    "follower.approval_on": N_("Followers need approval"),
    "follower.approval_off": N_("Followers no longer need approval"),
    "host.cancelled": N_("Deliveries to a server cancelled"),
    "host.retried": N_("Deliveries to a server retried"),
    "invitation.created": N_("Sign-up link made"),
    "invitation.revoked": N_("Sign-up link revoked"),
    "moderation.post_hidden": N_("Post hidden"),
    "moderation.response_hidden": N_("Response hidden"),
    "moderation.warned": N_("Account warned"),
    "moderation.silenced": N_("Account limited (silenced)"),
    "moderation.unsilenced": N_("Limit lifted"),
    "moderation.suspended": N_("Account suspended"),
    "moderation.unsuspended": N_("Suspension lifted"),
    "moderation.suspension_federated": N_("Suspension told to other servers"),
    "moderation.remote_standing": N_("Account on another server limited or suspended"),
    "neighbourhood.created": N_("Neighbourhood created"),
    "neighbourhood.edited": N_("Neighbourhood edited"),
    "neighbourhood.icon": N_("Neighbourhood icon changed"),
    "neighbourhood.archived": N_("Neighbourhood archived"),
    "neighbourhood.restored": N_("Neighbourhood restored"),
    "organisation.created": N_("Organisation created"),
    "organisation.edited": N_("Organisation edited"),
    "organisation.icon": N_("Organisation icon changed"),
    "post.created": N_("Post created"),
    "post.edited": N_("Post edited"),
    "post.status": N_("Post status changed"),
    "post.assigned": N_("Post assigned"),
    "post.renewed": N_("Post renewed"),
    "post.address_seen": N_("Private address seen"),
    "post.helper_accepted": N_("Helper accepted"),
    "post.helper_declined": N_("Helper declined"),
    "post.partner_added": N_("Partner organisation added"),
    "post.partner_removed": N_("Partner organisation removed"),
    "relay.subscribed": N_("Relay subscribed"),
    "relay.unsubscribed": N_("Relay unsubscribed"),
    "report.taken": N_("Report taken on"),
    "report.handed_over": N_("Report handed over"),
    "report.resolved": N_("Report resolved"),
    "report.reopened": N_("Report reopened"),
    "settings.changed": N_("Node settings changed"),
    "staff.added": N_("Staff member added"),
    "staff.removed": N_("Staff member removed"),
    "staff.role": N_("Staff role changed"),
}


def action_label(locale: str, code: str) -> str:
    """The label of `code` in `locale`, or the code itself when it has none."""
    label = LABELS.get(code)
    return gettext(locale, label) if label else code
