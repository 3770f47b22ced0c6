"""The node the no-500 fuzz test visits: a little of everything a form can act on.

Data is made through the services as real callers do, except for federation rows
(remote actors, follows, deliveries, inbox items) that only the network would make.
`World.real` names the real values for a route's path parameters.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from node.config import Settings
from node.models import (
    Account,
    Delivery,
    DeliveryStatus,
    DomainPolicy,
    Follow,
    HostHealth,
    InboxItem,
    InboxStatus,
    LocalActorKind,
    OutboxActivity,
    OutgoingFollow,
    RemoteActor,
    StaffRole,
)
from node.services import (
    casework,
    domain_policy,
    posts,
    report_decisions,
    reports,
    responses,
    signups,
)
from node.states import FollowStatus, PostStatus
from node.timeutil import utcnow
from tests import factories
from tests.fuzz_routes import RouteInfo
from tests.webclient import Browser

PASSWORD = "fuzzing-password-1"
HOOD, OTHER_HOOD, ORG = "kuregem", "oud-jette", "buurthuis"


@dataclass(slots=True)
class World:
    browsers: dict[str, Browser]
    accounts: dict[str, Account]  # the logged-in viewers, as they were seeded
    values: dict[str, list[str]] = field(default_factory=dict)
    pages: list[str] = field(default_factory=list)  # pages no link leads to, to crawl too

    def real(self, route: RouteInfo, name: str) -> list[str]:
        """Real values for the path parameter `name` of `route`."""
        if name == "slug":
            organisation = route.template.startswith(("/o/", "/admin/o/"))
            return self.values["org" if organisation else "hood"]
        return self.values.get(name) or ["x"]

    @staticmethod
    def params_of(route: RouteInfo, params: dict[str, set[str]]) -> set[str]:
        """The query parameter names that links and GET forms use for `route`."""
        return {name for path, names in params.items() if route.matches(path) for name in names}


async def _remote_actor(name: str) -> RemoteActor:
    uri = f"https://partner.example/users/{name}"
    return await RemoteActor.create(
        uri=uri,
        domain="partner.example",
        actor_type="Group",
        username=name,
        display_name=name.title(),
        inbox=f"{uri}/inbox",
        key_id=f"{uri}#main-key",
        public_key_pem="-",
        fetched_at=utcnow(),
    )


async def _federation(hood_id: int) -> None:
    """A partner followed and following, a failed delivery, a received activity."""
    partner = await _remote_actor("centrum")
    follower = await _remote_actor("wijk")
    await OutgoingFollow.create(
        local_kind=LocalActorKind.INSTANCE,
        target=partner,
        activity_uri=f"https://nabuur.test/follows/{uuid.uuid4()}",
        status=FollowStatus.ACCEPTED,
    )
    await Follow.create(
        follower_remote=follower,
        activity_uri="https://partner.example/follows/1",
        target_kind=LocalActorKind.NEIGHBOURHOOD,
        neighbourhood_id=hood_id,
        status=FollowStatus.PENDING,
    )
    key = uuid.uuid4()
    activity = await OutboxActivity.create(
        id=key,
        activity_uri=f"https://nabuur.test/activities/{key}",
        activity_type="Create",
        actor_kind="instance",
        payload={"id": f"https://nabuur.test/activities/{key}"},
    )
    await HostHealth.create(host="partner.example", last_failure_at=utcnow(), last_error="503")
    for status in (DeliveryStatus.FAILED, DeliveryStatus.PENDING):
        await Delivery.create(
            activity=activity,
            inbox=f"https://partner.example/{status}/inbox",
            host="partner.example",
            status=status,
            next_attempt_at=utcnow() + timedelta(hours=1),
            attempts=3,
            last_error="connection refused",
        )
    await InboxItem.create(
        activity_id="https://partner.example/activities/1",
        activity_type="Create",
        actor_uri=partner.uri,
        payload={},
        status=InboxStatus.RETRY,
        outcome="fetch of the author timed out",
    )


async def build_world(browsers: dict[str, Browser]) -> World:
    await factories.node_row()
    hood = await factories.neighbourhood(HOOD)
    await factories.neighbourhood(OTHER_HOOD)
    staff = await factories.account("staff", languages=["en"])
    org = await factories.organisation(ORG, staff=[staff])
    coordinator = await factories.coordinator_of(org, "coordinator")
    admin = await factories.admin("admin", password=PASSWORD, languages=["en"])
    await factories.admin("admin2")  # a role change never leaves the node without an admin
    moderator = await factories.moderator("moderator")
    resident = await factories.account("anna", password=PASSWORD, languages=["en"])
    helper = await factories.account("bert")
    soon = utcnow() + timedelta(days=2)
    request = await factories.post(resident, hood)
    offer = await factories.post(resident, hood, kind="offer", title="Ik laat honden uit")
    for_client = await factories.post(
        staff,
        hood,
        organisation=ORG,
        on_behalf_label="oudere dame",
        client_consent=True,
        starts_at=soon,
        private_location="Kerkstraat 1",
    )
    withdrawn = await factories.post(resident, hood, title="Niet meer nodig")
    await posts.change_status(resident, withdrawn, PostStatus.WITHDRAWN)
    done = await factories.post(staff, hood, organisation=ORG, title="Al geholpen")
    await posts.change_status(staff, done, PostStatus.DONE)
    expiring = await factories.post(
        staff, hood, organisation=ORG, title="Bijna verlopen", expires_at=soon + timedelta(days=1)
    )
    neighbours = await factories.post(helper, hood, title="Wie leent me een ladder?")
    offered = await factories.offer(request, helper)
    accepted = await factories.offer(for_client, helper)
    await responses.accept_helper(staff, accepted)
    await responses.add_comment(helper, request, "Welk uur past?")
    target = await reports.find_target(Settings(), "post", str(for_client.id), resident)
    report = (await reports.file_report(Settings(), resident, target, "spam", "")).report
    target = await reports.find_target(Settings(), "post", str(neighbours.id), resident)
    handled = (await reports.file_report(Settings(), resident, target, "other", "")).report
    await report_decisions.resolve_without_action(handled, moderator, "Geen probleem")
    await domain_policy.set_domain_policy("spam.example", DomainPolicy.SUSPEND, "spam", by=admin)
    await domain_policy.set_domain_policy("friend.example", DomainPolicy.ALLOW, "", by=admin)
    await signups.create_invitation(admin, uses=3)
    staff_invitation = await signups.create_invitation(
        coordinator, organisation=org, role=StaffRole.STAFF
    )
    await casework.add_entry(for_client, org.id, casework.CaseNote(body="Gebeld"), by=staff)
    await _federation(hood.id)
    return World(
        browsers=browsers,
        accounts={"admin": admin, "resident": resident},
        pages=[
            f"/signup?invite={staff_invitation.code}",
            "/authorize_interaction?uri=http%3A%2F%2Ftestserver%2Fn%2Fkuregem",
        ],
        values={
            "hood": [HOOD, OTHER_HOOD],
            "org": [ORG],
            "username": ["anna", "staff", "coordinator", "moderator", "bert", "admin"],
            "post_id": [
                str(p.id)
                for p in (request, for_client, offer, withdrawn, done, expiring, neighbours)
            ],
            "response_id": [str(offered.id), str(accepted.id)],
            "action": ["accept", "decline", "withdraw"],
            "report_id": [str(report.id), str(handled.id)],
            "version": ["2.0", "2.1"],
            "name": ["icon.png"],
            "path": ["style.css"],
        },
    )
