"""Seeds a fresh node with the demo data in `demo_data.json`, through the services."""

from __future__ import annotations

import json
import logging
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from node.config import Settings
from node.demo_knowledge import seed_knowledge
from node.models import Account, Follow, HelpPost, Neighbourhood, Organisation, Response
from node.passwords import hash_password
from node.services import (
    follows,
    neighbourhoods,
    offline_contact,
    organisations,
    posts,
    reports,
    responses,
)
from node.services.accounts import create_account
from node.states import FollowStatus, PostStatus
from node.timeutil import utcnow

log = logging.getLogger("nabuur.demo")

DEMO_DATA = Path(__file__).with_name("demo_data.json")

DEMO_PASSWORD = "nabuur-demo-2026"  # noqa: S105 - printed by `nabuur demo`; demo nodes are throwaway


def _starts_at(entry: dict, zone: ZoneInfo, today: datetime) -> tuple[datetime | None, ...]:
    if entry["starts_in_days"] is None:
        return None, None
    day = (today + timedelta(days=entry["starts_in_days"])).date()
    if "weekday" in entry:  # the text names a weekday: start on the next one
        day = (today + timedelta(days=(entry["weekday"] - today.weekday() - 1) % 7 + 1)).date()
    start = datetime.combine(day, time(entry["start_hour"]), tzinfo=zone)
    end = start + timedelta(hours=entry["duration_hours"] or 1)
    return start, end


async def _people(
    data: dict, hoods: dict[str, Neighbourhood], orgs: dict[str, Organisation]
) -> dict[str, Account]:
    # One hash for all demo accounts: argon2 costs ~0.2 s each and they share a password.
    people: dict[str, Account] = {}
    for entry in [*data["staff"], *data["residents"]]:
        account = await create_account(
            entry["username"],
            entry["display_name"],
            languages=entry["languages"],
            home_neighbourhood=hoods[entry["home"]],
        )
        people[account.username] = account
        if "organisation" in entry:
            await organisations.add_staff(orgs[entry["organisation"]], account, entry["role"])
        await follows.follow(account, hoods[entry["home"]])
        for org in orgs.values():
            await follows.follow(account, org)
    shared_hash = await hash_password(DEMO_PASSWORD)
    await Account.filter(username__in=list(people)).update(password_hash=shared_hash)
    # Organisations approve their followers: the demo's were approved long ago, but for
    # the last resident's, which wait on the organisations' dashboards.
    waiting = list(people.values())[-1]
    await (
        Follow.filter(status=FollowStatus.PENDING, organisation_id__not_isnull=True)
        .exclude(follower=waiting)
        .update(status=FollowStatus.ACCEPTED)
    )
    return people


async def _responses(post, entry: dict, people: dict[str, Account]) -> None:
    author = people[entry["author"]]
    for reply in entry["responses"]:
        helper = people[reply["author"]]
        # Followers-only: the people who answer are the author's followers.
        private = entry["visibility"] == "followers" and not entry["organisation"]
        if private and not await Follow.filter(follower=helper, account=author).exists():
            await follows.follow(helper, author)
        if reply["kind"] == "comment":
            await responses.add_comment(helper, post, reply["body"])
            continue
        offer = await responses.offer_help(helper, post, reply["body"])
        if reply["accepted"]:
            await responses.accept_helper(author, offer)
    if entry["status"] == "done":
        await post.refresh_from_db()
        await posts.change_status(author, post, PostStatus.DONE)


async def _reports(data: dict, people: dict[str, Account], settings: Settings) -> None:
    """A resident's report about an organisation's post, for the moderation queue."""
    for entry in data.get("reports", []):
        reporter = people[entry["reporter"]]
        post = await HelpPost.get(title=entry["post_title"])
        target = await reports.find_target(settings, "post", str(post.id), reporter)
        await reports.file_report(settings, reporter, target, entry["category"], entry["comment"])


async def seed(
    timezone: str = "Europe/Brussels", settings: Settings | None = None
) -> dict[str, int]:
    """Create the demo neighbourhoods, organisation, people and posts; returns counts."""
    data = json.loads(DEMO_DATA.read_text(encoding="utf-8"))
    zone = ZoneInfo(timezone)
    today = utcnow().astimezone(zone)
    hoods = {}
    for entry in data["neighbourhoods"]:
        hoods[entry["slug"]] = await neighbourhoods.create_neighbourhood(
            entry["slug"],
            entry["name"],
            commune=entry["commune"],
            country=entry["country"],
            description=entry["description"],
            centre=(entry["centre_lat"], entry["centre_lon"]),
            radius_m=entry["radius_m"],
        )
        # How to ask for help without internet: printed on the window cards.
        contact = offline_contact.ContactForm(
            entry.get("help_phone", ""), entry.get("help_office", ""), entry.get("help_hours", "")
        )
        await offline_contact.set_contact(hoods[entry["slug"]], contact, by=None)
    orgs = {}
    for entry in data["organisations"]:
        orgs[entry["slug"]] = await organisations.create_organisation(
            entry["slug"],
            entry["name"],
            kind=entry["kind"],
            description=entry["description"],
            website=entry.get("website"),
            neighbourhoods=entry.get("neighbourhoods", ()),
        )
    people = await _people(data, hoods, orgs)
    for entry in data["posts"]:
        starts, ends = _starts_at(entry, zone, today)
        draft = posts.PostDraft(
            kind=entry["kind"],
            title=entry["title"],
            description=entry["description"],
            category=entry["category"],
            neighbourhood=entry["neighbourhood"],
            language=entry["language"],
            translations=entry["translations"],
            helpers_needed=entry["helpers_needed"],
            starts_at=starts,
            ends_at=ends,
            visibility=entry["visibility"],
            area_hint=entry["area_hint"],
            organisation=entry["organisation"],
            on_behalf_label=entry["on_behalf"],
            client_consent=entry["on_behalf"] is not None,
        )
        post = await posts.create_post(people[entry["author"]], draft)
        await _responses(post, entry, people)
    await _reports(data, people, settings or Settings())
    knowledge = await seed_knowledge(data, hoods, orgs, people)
    return {
        **knowledge,
        "neighbourhoods": len(hoods),
        "organisations": len(orgs),
        "accounts": len(people),
        "posts": len(data["posts"]),
        "responses": await Response.all().count(),
    }
