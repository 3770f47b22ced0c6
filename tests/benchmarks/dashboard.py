"""Speed of an organisation's dashboard on a real node with a year of casework.

The requirement: "the dashboard of an organisation with 5,000 requests and 20,000 responses
answers in under 50 ms at p50 on one process, on SQLite and PostgreSQL".

Run by hand from the repository root (it is not part of the test suite: pytest only collects
`test_*.py`, as for the other scripts here)::

    .venv/bin/python tests/benchmarks/dashboard.py                 # both backends, ~2-3 minutes
    .venv/bin/python tests/benchmarks/dashboard.py --quick --backends sqlite   # ~30 seconds

(longer when other processes keep the machine busy: before measuring it waits up to
`--wait-idle` seconds, 3 minutes by default, for them to quiet down).

For each backend it runs `nabuur init` on a fresh SQLite file (or a fresh PostgreSQL database,
dropped afterwards) and seeds it in a subprocess, with bulk inserts through the node's models:
20 neighbourhoods, one organisation ("buurtwerk") with 5 staff (one coordinator) and `--posts`
requests and offers spread over the last 12 months, the neighbourhoods and the categories, in
every status (mostly done or expired when old, mostly open when recent), most requests posted
for a client (`on_behalf_label`), some assigned to a staff member, some in two languages, with
`--responses` responses (comments, and offers in every offer state; about 4 per post, skewed),
case notes and an audit trail. The data stays valid: a matched post has as many accepted offers
as helpers needed, an open one fewer, a helper has at most one standing offer per post, expired
posts expired in the past. Noise the dashboard must filter out: `--noise` posts of three other
organisations and of residents, with as many responses per post, some naming the organisation
as a partner (which puts them on its board too). PostgreSQL gets ANALYZE, as autovacuum would
do within a minute; SQLite gets none (the node never runs it) unless `--sqlite-analyze`.

Then it starts `nabuur run --workers 1` (one process; NABUUR_RUN_WORKERS=0 so no queue worker
or periodic job runs beside it, NABUUR_PAGE_CACHE_SECONDS=0), logs the coordinator in by
adding a session row the way log-in does (no argon2 round trip), and sends authenticated GETs
over one keep-alive connection, one at a time, to four pages:

* dashboard: `/admin/o/buurtwerk`, the default board (offers waiting for an answer);
* filtered: the done group in one neighbourhood and category, with a search term;
* page 10: page 10 of the biggest group;
* case: `/admin/o/buurtwerk/r/{id}`, the busiest open request.

`--warmup` requests per page are not counted; then `--n` per page. Printed per page: p50, p90,
p99 and max latency, and the CPU time the node and PostgreSQL spent per request. The verdict
is the dashboard's p50 against 50 ms.

Unless `--no-sql`, it then stops the node and, in a subprocess, serves the same pages
in-process (the ASGI app through httpx, no network) while timing every SQL statement at the
driver: per page the time in-process, the time in SQL and the number of statements, and the
slowest statements with the service function that ran them and their query plan (EXPLAIN
QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL). The plans are printed when the target is
missed, or always with `--explain`.

Everything it made goes on exit, also on Ctrl+C or SIGTERM: the node is stopped, the
PostgreSQL database dropped and the work directory removed (kept with `--keep`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from yarl import URL

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script: make `tests.benchmarks` importable
    sys.path.insert(0, str(REPO))

from tests.benchmarks.inbox import (  # noqa: E402
    NodeProcess,
    cpu_seconds,
    free_port,
    machine_busy_seconds,
    node_env,
    percentile,
    pg_admin,
    run_backends,
    run_checked,
)
from tests.benchmarks.pages import (  # noqa: E402
    AREA_HINTS,
    DESCRIPTIONS,
    HOODS,
    LANGS,
    PEOPLE,
    TITLES,
    WHAT,
    pg_backends_cpu,
    wait_for_idle,
)

VENV_BIN = Path(sys.executable).parent
TARGET_P50_MS = 50.0
FULL = {"posts": 5_000, "responses": 20_000, "noise": 5_000, "n": 200, "warmup": 20}
QUICK = {"posts": 400, "responses": 1_600, "noise": 400, "n": 30, "warmup": 5}
ORG_SLUG = "buurtwerk"
STAFF = 5
RESIDENTS = 300  # helpers and the authors of the residents' posts
SEARCH = "help"  # the filtered page's search term: in English titles and some Dutch ones
PAGE = 10
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
REQUEST_TIMEOUT = 30.0
PLANS_PER_PAGE = 5  # the slowest statements of a page: printed, with their plans
OWN_CODE = ("node", "web", "admin", "federation")  # packages a statement is attributed to

# --- the data set ---------------------------------------------------------------------------

STATUSES = ("open", "matched", "done", "expired", "withdrawn")
# A post's status by its age: recent ones are mostly open, old ones done or expired (a few
# old ones are still open or matched: renewed, or waiting for a date far ahead).
STATUS_BY_AGE: tuple[tuple[float, tuple[int, ...]], ...] = (
    (30.0, (60, 14, 12, 7, 7)),
    (90.0, (10, 8, 45, 27, 10)),
    (float("inf"), (2, 2, 56, 30, 10)),
)
OFFER_STATES = ("offered", "declined", "withdrawn")
# Offers beyond the accepted ones, by the post's status. Nothing declines a waiting offer
# when a post closes, so some stay "offered" on closed posts too.
OTHER_OFFERS = {
    "open": (60, 20, 20),
    "matched": (15, 45, 40),
    "done": (5, 50, 45),
    "expired": (45, 25, 30),
    "withdrawn": (30, 30, 40),
}
OFFER_SHARE = 0.45  # of the responses beyond the accepted offers; the others are comments
HELPERS_NEEDED = ((1, 2, 3, 4, 5), (70, 20, 6, 3, 1))
VISIBILITY = (("public", "members", "followers"), (80, 15, 5))
CLIENT_LABELS = (
    "een oudere buurvrouw",
    "une personne âgée",
    "a neighbour in a wheelchair",
    "meneer met rollator",
    "une maman seule",
    "a client recovering from surgery",
)
OTHER_ORGS = (
    ("wijkpunt", "Wijkpunt Laken"),
    ("cpas-ixelles", "CPAS d'Ixelles"),
    ("repair-cafe", "Repair Café Jette"),
)
COMMENTS = (
    "Goed idee, ik deel het verder.",
    "Je connais quelqu'un qui pourrait aider.",
    "Is zaterdag ook goed?",
    "Thanks, we will call her tomorrow.",
)
NOTES = (
    "Gebeld met de cliënt: dinsdag past het best.",
    "Appelé la voisine, elle confirme pour jeudi.",
    "Helper came by, all went well.",
)


@dataclass(slots=True)
class Plan:
    """A post to insert, with what its responses must respect."""

    post: Any  # HelpPost: the models are imported in the seeding process only
    status: str
    accepted: int  # accepted offers it has: matched = helpers needed, open fewer
    hood: str
    in_scope: bool  # on the organisation's board: its own, or it names it as partner
    responses: int = 0
    offered: int = 0  # offers still waiting for an answer


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    if end <= start:
        return start
    return start + (end - start) * rng.random()


def _plan_post(
    rng: random.Random,
    now: datetime,
    *,
    hood: tuple[int, str],
    author_id: int,
    organisation_id: int | None,
    for_clients: float,
    assignees: Sequence[int],
) -> Plan:
    from node.models import HelpPost, PostKind, Visibility
    from node.states import PostStatus

    age = rng.uniform(0.01, 365.0)  # days
    created = now - timedelta(days=age)
    weights = next(w for limit, w in STATUS_BY_AGE if age < limit)
    status = rng.choices(STATUSES, weights=weights)[0]
    if status == "expired" and age < 1.5:
        status = "withdrawn"  # too young to have expired
    helpers = rng.choices(*HELPERS_NEEDED)[0]
    kind = "request" if rng.random() < (0.8 if organisation_id else 0.6) else "offer"
    category = rng.choice(list(WHAT))
    lang = rng.choices(LANGS, weights=(50, 30, 20))[0]
    what = WHAT[category][LANGS.index(lang)]
    dated = rng.random() < 0.3
    starts = ends = None
    if status in ("open", "matched"):
        expires = now + timedelta(days=rng.uniform(0.5, 30))
        if dated and rng.random() < 0.1:  # the date has passed, nobody closed it yet
            starts = now - timedelta(hours=rng.uniform(1, 72))
        elif dated:
            starts = now + timedelta(hours=rng.uniform(2, 40 * 24))
            expires = starts + timedelta(days=1, hours=3)
        changed = created if status == "open" else _between(rng, created, now)
    elif status == "expired":
        life = timedelta(days=min(age, 30.0))
        expires = _between(rng, created + timedelta(days=1), created + life - timedelta(hours=1))
        if dated and expires - created > timedelta(days=2):
            starts = expires - timedelta(days=1, hours=3)
        changed = expires  # the expiry job closes it when due
    else:  # done, withdrawn
        expires = created + timedelta(days=30)
        if dated:
            starts = _between(rng, created, min(now, created + timedelta(days=20)))
            expires = starts + timedelta(days=1, hours=3)
        changed = _between(rng, max(created, starts or created), now)
    if starts is not None:
        starts = starts.replace(minute=0, second=0, microsecond=0)
        ends = starts + timedelta(hours=rng.choice((1, 2, 3)))
    if status == "matched":
        accepted = helpers
    elif status == "done":
        accepted = helpers if rng.random() < 0.85 else rng.randint(0, helpers - 1)
    elif status == "open":
        accepted = rng.randint(0, helpers - 1) if rng.random() < 0.5 else 0
    else:
        accepted = rng.randint(0, helpers - 1) if rng.random() < 0.2 else 0
    client = organisation_id is not None and kind == "request" and rng.random() < for_clients
    label = f"{rng.choice(CLIENT_LABELS)} ({rng.randint(100, 999)})" if client else None
    # Some posts are written in a second language too: the board shows the reader's.
    translations = {}
    if rng.random() < 0.15:
        other = rng.choice([x for x in LANGS if x != lang])
        what_there = WHAT[category][LANGS.index(other)]
        translations[other] = {
            "title": rng.choice(TITLES[kind, other]).format(what_there),
            "description": DESCRIPTIONS[other].format(what_there),
        }
        if label:
            translations[other]["on_behalf_label"] = label
    post = HelpPost(
        id=uuid.uuid4(),
        kind=PostKind(kind),
        title=rng.choice(TITLES[kind, lang]).format(what),
        description=DESCRIPTIONS[lang].format(what),
        language=lang,
        translations=translations,
        category=category,
        neighbourhood_id=hood[0],
        area_hint=rng.choice(AREA_HINTS) if rng.random() < 0.6 else None,
        starts_at=starts,
        ends_at=ends,
        helpers_needed=helpers,
        status=PostStatus(status),
        status_changed_at=changed,
        visibility=Visibility(rng.choices(*VISIBILITY)[0]),
        expires_at=expires,
        author_id=author_id,
        organisation_id=organisation_id,
        on_behalf_label=label,
        client_consent_at=created if client else None,
        assignee_id=rng.choice(assignees) if assignees and rng.random() < 0.4 else None,
        created_at=created,
    )
    return Plan(post, status, accepted, hood[1], in_scope=False)


def _responses(
    rng: random.Random,
    plans: list[Plan],
    total: int,
    residents: list[int],
    staff_of: Callable[[Plan], Sequence[int]],
    now: datetime,
) -> list[Any]:
    """`total` responses over `plans`: their accepted offers, then the rest at random."""
    from node.models import Response, ResponseKind
    from node.states import OfferStatus

    required = sum(p.accepted for p in plans)
    if required > total:
        raise RuntimeError(f"{total} responses are fewer than the {required} accepted offers")
    # Skewed, as in life: most posts get a few answers, some get many.
    weights = [
        rng.expovariate(1.0) * (1.3 if p.status in ("done", "matched") else 1) for p in plans
    ]
    extra = Counter(rng.choices(range(len(plans)), weights=weights, k=total - required))
    rows = []
    for i, plan in enumerate(plans):
        post = plan.post
        count = plan.accepted + extra[i]
        offers = plan.accepted + sum(rng.random() < OFFER_SHARE for _ in range(extra[i]))
        # A helper has one standing offer per post: every offer has an author of its own.
        helpers = rng.sample(residents, k=min(len(residents), offers))
        states = ["accepted"] * plan.accepted + rng.choices(
            OFFER_STATES, weights=OTHER_OFFERS[plan.status], k=len(helpers) - plan.accepted
        )
        latest = min(now - timedelta(minutes=1), post.created_at + timedelta(days=14))
        for author, state in zip(helpers, states, strict=True):
            rows.append(
                Response(
                    id=uuid.uuid4(),
                    post_id=post.id,  # bulk_create leaves `post` marked unsaved
                    author_id=author,
                    kind=ResponseKind.OFFER,
                    body="Ik kan helpen." if rng.random() < 0.5 else "",
                    offer_status=OfferStatus(state),
                    created_at=_between(rng, post.created_at + timedelta(minutes=5), latest),
                )
            )
        staff = staff_of(plan)
        for _ in range(count - len(helpers)):
            by_staff = bool(staff) and rng.random() < 0.25
            rows.append(
                Response(
                    id=uuid.uuid4(),
                    post_id=post.id,
                    author_id=rng.choice(staff) if by_staff else rng.choice(residents),
                    kind=ResponseKind.COMMENT,
                    body=rng.choice(COMMENTS),
                    offer_status=None,
                    created_at=_between(rng, post.created_at + timedelta(minutes=5), latest),
                )
            )
        plan.responses = count
        plan.offered = states.count("offered")
    return rows


def _groups(plans: list[Plan]) -> dict[str, int]:
    """What the board should count per group (node.services.dashboards.GROUPS)."""
    counts: Counter[str] = Counter()
    for plan in plans:
        if plan.status != "open":
            counts[plan.status] += 1
        elif plan.offered:
            counts["offers_waiting"] += 1
        elif plan.accepted:
            counts["helpers_accepted"] += 1
        else:
            counts["needs_helpers"] += 1
    order = ("offers_waiting", "helpers_accepted", "needs_helpers", *STATUSES[1:])
    return {group: counts[group] for group in order}


async def _seed(
    url: str, n_posts: int, n_responses: int, n_noise: int, seed: int, analyze: bool
) -> dict[str, Any]:
    from tortoise import connections

    from node import db, keys
    from node.models import (
        Account,
        AuditEntry,
        CaseEntry,
        CaseEntryKind,
        HelpPost,
        Membership,
        Neighbourhood,
        Organisation,
        OrganisationArea,
        OrganisationKind,
        PostPartner,
        Response,
        Session,
        StaffRole,
    )
    from node.services import sessions
    from node.timeutil import utcnow

    rng = random.Random(seed)
    now = utcnow()
    started = time.perf_counter()
    await db.open_database(url)
    try:
        # One key pair for every actor: generating one each is slow, the pages do not use them.
        private_pem, public_pem = await keys.generate_key_pair()
        pems = {"private_key_pem": private_pem, "public_key_pem": public_pem}
        async with db.atomic():
            await Neighbourhood.bulk_create(
                [
                    Neighbourhood(
                        slug=slug,
                        name=name,
                        commune=commune,
                        description={"nl": f"Buren in {name} helpen elkaar."},
                        centre_lat=round(50.80 + 0.1 * rng.random(), 4),
                        centre_lon=round(4.30 + 0.1 * rng.random(), 4),
                        radius_m=1500,
                        **pems,
                    )
                    for slug, name, commune in HOODS
                ]
            )
            hoods = [
                (h.id, h.slug)
                for h in await Neighbourhood.filter(slug__in=[h[0] for h in HOODS]).order_by("id")
            ]
            org = await Organisation.create(
                slug=ORG_SLUG,
                name="Buurtwerk Brussel",
                kind=OrganisationKind.NGO,
                description={"nl": "Buurtwerk in heel Brussel.", "fr": "Travail de quartier."},
                **pems,
            )
            await Organisation.bulk_create(
                [
                    Organisation(slug=s, name=n, kind=OrganisationKind.NGO, **pems)
                    for s, n in OTHER_ORGS
                ]
            )
            others = await Organisation.filter(slug__in=[s for s, _ in OTHER_ORGS]).order_by("id")
            names = [*PEOPLE, *(f"Buur {i}" for i in range(RESIDENTS))]
            usernames = [f"staff{i}" for i in range(STAFF)]
            usernames += [f"{o.slug[:20]}-staff{i}" for o in others for i in range(2)]
            usernames += [f"buur{i}" for i in range(RESIDENTS)]
            await Account.bulk_create(
                [
                    Account(
                        username=username,
                        display_name=names[i % len(names)],
                        languages_csv=rng.choice(("nl", "fr", "en", "nl,fr")),
                        home_neighbourhood_id=hoods[i % len(hoods)][0],
                        **pems,
                    )
                    for i, username in enumerate(usernames)
                ]
            )
            ids = dict(await Account.filter(username__in=usernames).values_list("username", "id"))
            staff = [ids[f"staff{i}"] for i in range(STAFF)]
            other_staff = {o.id: [ids[f"{o.slug[:20]}-staff{i}"] for i in range(2)] for o in others}
            residents = [ids[f"buur{i}"] for i in range(RESIDENTS)]
            memberships = [
                Membership(
                    organisation_id=org.id,
                    account_id=account,
                    role=StaffRole.COORDINATOR if i == 0 else StaffRole.STAFF,
                )
                for i, account in enumerate(staff)
            ]
            memberships += [
                Membership(organisation_id=o, account_id=a, role=StaffRole.STAFF)
                for o, accounts in other_staff.items()
                for a in accounts
            ]
            await Membership.bulk_create(memberships)
            await OrganisationArea.bulk_create(
                [OrganisationArea(organisation_id=org.id, neighbourhood_id=h) for h, _ in hoods]
            )

            own = [
                _plan_post(
                    rng,
                    now,
                    hood=rng.choice(hoods),
                    author_id=rng.choice(staff),
                    organisation_id=org.id,
                    for_clients=0.7,
                    assignees=staff,
                )
                for _ in range(n_posts)
            ]
            for plan in own:
                plan.in_scope = True
            noise = []
            for _ in range(n_noise):
                other = rng.choice(others) if rng.random() < 0.4 else None
                noise.append(
                    _plan_post(
                        rng,
                        now,
                        hood=rng.choice(hoods),
                        author_id=rng.choice(other_staff[other.id] if other else residents),
                        organisation_id=other.id if other else None,
                        for_clients=0.5,
                        assignees=other_staff[other.id] if other else (),
                    )
                )
            plans = own + noise
            await HelpPost.bulk_create([p.post for p in plans], batch_size=1000)

            def staff_of(plan: Plan) -> Sequence[int]:
                org_id = plan.post.organisation_id
                return staff if org_id == org.id else other_staff.get(org_id, ())

            responses = _responses(rng, own, n_responses, residents, staff_of, now)
            noise_responses = round(n_noise * n_responses / max(1, n_posts))
            responses += _responses(rng, noise, noise_responses, residents, staff_of, now)
            await Response.bulk_create(responses, batch_size=1000)

            # Partners: other organisations' requests that name this one put it on its board
            # (through a subquery the board must run), and it names others on some of its own.
            partners = []
            for plan in noise:
                if plan.post.organisation_id and rng.random() < 0.03:
                    partners.append(PostPartner(post_id=plan.post.id, organisation_id=org.id))
                    plan.in_scope = True
            for plan in own:
                if rng.random() < 0.02:
                    partner = rng.choice(others).id
                    partners.append(PostPartner(post_id=plan.post.id, organisation_id=partner))
            await PostPartner.bulk_create(partners, batch_size=1000)

            scope = [p for p in plans if p.in_scope]
            candidates = [p for p in own if p.status == "open"] or own
            case = max(candidates, key=lambda p: (p.responses, p.post.assignee_id is not None))
            entries = []
            for plan in own:
                count = 3 if plan is case else rng.choice((0, 0, 0, 1, 2, 3))
                for _ in range(count):
                    entries.append(
                        CaseEntry(
                            post_id=plan.post.id,
                            organisation_id=org.id,
                            author_id=rng.choice(staff),
                            kind=rng.choice((CaseEntryKind.NOTE, CaseEntryKind.CONTACT)),
                            occurred_at=_between(rng, plan.post.created_at, now),
                            counterpart=rng.choice(("", "de dochter", "le médecin traitant")),
                            body=rng.choice(NOTES),
                        )
                    )
            await CaseEntry.bulk_create(entries, batch_size=1000)

            audit = []
            for plan in own:
                post = plan.post
                author = post.author_id
                trail = [("post.created", post.created_at, {})]
                trail += [("post.helper_accepted", post.created_at, {})] * plan.accepted
                if post.assignee_id:
                    trail.append(("post.assigned", post.created_at, {"assignee": "staff"}))
                if plan.status != "open":
                    trail.append(
                        ("post.status", post.status_changed_at, {"old": "open", "new": plan.status})
                    )
                audit += [
                    AuditEntry(
                        actor_id=author,
                        actor_name="Staff",
                        action=action,
                        subject=f"post:{post.id}",
                        post_id=post.id,
                        organisation_id=org.id,
                        detail=detail,
                        at=at,
                    )
                    for action, at, detail in trail
                ]
            await AuditEntry.bulk_create(audit, batch_size=1000)

        coordinator = await Account.get(id=staff[0])
        token = await sessions.start_session(coordinator)
        client = connections.get("default")
        if db.is_sqlite(url):
            if analyze:
                await client.execute_script("ANALYZE")
        else:  # what autovacuum does within a minute of a bulk load
            await client.execute_script("ANALYZE")

        groups = _groups(scope)
        done = [p for p in scope if p.status == "done"]
        by_pair = Counter(
            (p.hood, p.post.category)
            for p in done
            if SEARCH in p.post.title.lower() or SEARCH in (p.post.on_behalf_label or "").lower()
        )
        hood, category = (
            by_pair.most_common(1)[0][0] if by_pair else (hoods[0][1], own[0].post.category)
        )
        filtered = sum(
            1
            for p in done
            if p.hood == hood
            and p.post.category == category
            and (SEARCH in p.post.title.lower() or SEARCH in (p.post.on_behalf_label or "").lower())
        )
        big = max(groups, key=lambda g: groups[g])
        pages = max(1, -(-groups[big] // 25))
        counts = {
            "posts": await HelpPost.all().count(),
            "posts of the organisation": await HelpPost.filter(organisation_id=org.id).count(),
            "posts on its board": len(scope),
            "responses": await Response.all().count(),
            "responses to its posts": await Response.filter(post__organisation_id=org.id).count(),
            "offers on its posts": await Response.filter(
                post__organisation_id=org.id, offer_status__not_isnull=True
            ).count(),
            "posted for clients": await HelpPost.filter(
                organisation_id=org.id, on_behalf_label__not_isnull=True
            ).count(),
            "assigned": await HelpPost.filter(
                organisation_id=org.id, assignee_id__not_isnull=True
            ).count(),
            "case entries": await CaseEntry.all().count(),
            "audit entries": await AuditEntry.all().count(),
            "partners": await PostPartner.all().count(),
            "accounts": await Account.all().count(),
            "neighbourhoods": await Neighbourhood.all().count(),
            "organisations": await Organisation.all().count(),
            "sessions": await Session.all().count(),
        }
        return {
            "seconds": time.perf_counter() - started,
            "counts": counts,
            "statuses": dict(Counter(p.status for p in own)),
            "groups": groups,
            "token": token,
            "staff": "staff0",
            "filtered": {
                "query": {
                    "group": "done",
                    "neighbourhood": hood,
                    "category": category,
                    "q": SEARCH,
                },
                "expected": filtered,
            },
            "paged": {"query": {"group": big, "page": str(min(PAGE, pages))}, "of": pages},
            "case": str(case.post.id),
            "case_responses": case.responses,
        }
    finally:
        await db.close_database()


def seed_main() -> None:
    """Entry point of the seeding subprocess: URL POSTS RESPONSES NOISE SEED ANALYZE."""
    url, posts, responses, noise, seed, analyze = sys.argv[1:7]
    result = asyncio.run(
        _seed(url, int(posts), int(responses), int(noise), int(seed), analyze == "1")
    )
    print(json.dumps(result))


# --- SQL by itself (in a subprocess: the app in-process, every statement timed) -------------


@dataclass
class Statement:
    where: str  # the function of the node that ran it
    sql: str
    values: list[Any]
    ms: float


class SqlRecorder:
    """Times every statement at the driver, by patching the connection's class."""

    def __init__(self) -> None:
        self.recording = False
        self.statements: list[Statement] = []

    def install(self, client: Any) -> None:
        cls = type(client)
        for name in ("execute_query", "execute_query_dict"):
            setattr(cls, name, self._wrap(getattr(cls, name)))

    def _wrap(self, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(client: Any, query: str, values: list | None = None) -> Any:
            if not self.recording:
                return await method(client, query, values)
            where = _caller()
            t0 = time.perf_counter()
            try:
                return await method(client, query, values)
            finally:
                ms = (time.perf_counter() - t0) * 1000
                self.statements.append(Statement(where, query, list(values or []), ms))

        return timed


def _caller() -> str:
    """The innermost function of the node's own code on the stack (a service, a page)."""
    frame = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(REPO) and path.relative_to(REPO).parts[0] in OWN_CODE:
            module = path.relative_to(REPO).with_suffix("").as_posix().replace("/", ".")
            return f"{module}.{frame.f_code.co_name}"
        frame = frame.f_back
    return "?"


async def _explain(client: Any, sql: str, values: list[Any], sqlite: bool) -> list[str]:
    if sqlite:
        rows = await client.execute_query_dict("EXPLAIN QUERY PLAN " + sql, values)
        depth: dict[int, int] = {0: -1}
        lines = []
        for row in rows:
            depth[row["id"]] = depth.get(row["parent"], -1) + 1
            lines.append("  " * depth[row["id"]] + row["detail"])
        return lines
    rows = await client.execute_query_dict("EXPLAIN (ANALYZE, BUFFERS) " + sql, values)
    return [row["QUERY PLAN"] for row in rows]


async def _probe(url: str, spec: dict[str, Any], repeats: int) -> dict[str, Any]:
    import httpx
    from tortoise import connections

    from node import db
    from node.app import create_app
    from node.config import Settings
    from node.models import Organisation
    from node.services import attention, dashboards
    from web.shell.session import SESSION_COOKIE

    sqlite = db.is_sqlite(url)
    await db.open_database(url)
    try:
        client = connections.get("default")
        recorder = SqlRecorder()
        recorder.install(client)
        app = create_app(
            Settings(database_url=url, page_cache_seconds=0, run_workers=False),
            manage_database=False,
            workers=False,
        )
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4711))
        pages: dict[str, Any] = {}
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://127.0.0.1",
            headers={"accept": BROWSER_ACCEPT, "accept-language": "en"},
            cookies={SESSION_COOKIE: spec["token"]},
        ) as http:
            for name, path in spec["paths"].items():
                for _ in range(3):  # warm: templates compiled, statements prepared
                    answer = await http.get(path)
                    if answer.status_code != 200:
                        raise RuntimeError(f"in-process GET {path}: {answer.status_code}")
                totals, sql_totals, per_query = [], [], []
                by_key: dict[tuple[str, str], list[float]] = {}
                first: dict[tuple[str, str], Statement] = {}
                for _ in range(repeats):
                    recorder.statements = []
                    recorder.recording = True
                    t0 = time.perf_counter()
                    await http.get(path)
                    totals.append((time.perf_counter() - t0) * 1000)
                    recorder.recording = False
                    sql_totals.append(sum(s.ms for s in recorder.statements))
                    per_query.append(len(recorder.statements))
                    for s in recorder.statements:
                        key = (s.where, s.sql)
                        by_key.setdefault(key, []).append(s.ms)
                        first.setdefault(key, s)
                statements = sorted(
                    (
                        {
                            "where": where,
                            "sql": sql,
                            "per_request": len(times) / repeats,
                            "median_ms": statistics.median(times),
                            "ms_per_request": sum(times) / repeats,
                        }
                        for (where, sql), times in by_key.items()
                    ),
                    key=lambda s: -s["ms_per_request"],
                )
                for s in statements[:PLANS_PER_PAGE]:
                    found = first[s["where"], s["sql"]]
                    s["plan"] = await _explain(client, found.sql, found.values, sqlite)
                pages[name] = {
                    "inproc_ms": statistics.median(totals),
                    "sql_ms": statistics.median(sql_totals),
                    "statements": statistics.median(per_query),
                    "top": statements,
                }
        # Check the board reads what was seeded: its counts per group, default filters.
        from zoneinfo import ZoneInfo

        org = await Organisation.get(slug=ORG_SLUG)
        zone = ZoneInfo("Europe/Brussels")
        board = await dashboards.board(org, dashboards.BoardFilters(), zone)
        timings = {}
        for label, call in (
            ("board", lambda: dashboards.board(org, dashboards.BoardFilters(), zone)),
            ("attention", lambda: attention.attention(org)),
        ):
            samples = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                await call()
                samples.append((time.perf_counter() - t0) * 1000)
            timings[label] = statistics.median(samples)
        return {"pages": pages, "board_counts": board.counts, "services_ms": timings}
    finally:
        await db.close_database()


def probe_main() -> None:
    """Entry point of the SQL subprocess: URL SPEC_FILE REPEATS; prints one JSON line."""
    url, spec_file, repeats = sys.argv[1:4]
    spec = json.loads(Path(spec_file).read_text())
    print(json.dumps(asyncio.run(_probe(url, spec, int(repeats))), default=str))


# --- measuring over HTTP ----------------------------------------------------------------------


@dataclass
class PageResult:
    name: str
    path: str
    status: int
    size: int
    latencies: list[float] = field(default_factory=list)  # ms
    node_cpu_ms: float = float("nan")  # per request
    db_cpu_ms: float = float("nan")
    others: float = float("nan")  # share of the machine other processes used meanwhile

    def p(self, fraction: float) -> float:
        return percentile(sorted(self.latencies), fraction)


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, int, str, float]:
    t0 = time.perf_counter()
    async with session.get(url, allow_redirects=False) as answer:
        body = await answer.read()
    ms = (time.perf_counter() - t0) * 1000
    return answer.status, len(body), answer.headers.get("content-type", ""), ms


async def measure_page(
    session: aiohttp.ClientSession,
    node: NodeProcess,
    name: str,
    path: str,
    args: argparse.Namespace,
    pg_name: str | None,
) -> PageResult:
    url = node.url + path
    try:
        return await _measure(session, node, name, url, path, args, pg_name)
    except aiohttp.ClientError as exc:  # run_backends reports RuntimeError and goes on
        raise RuntimeError(f"GET {path}: {type(exc).__name__} {exc}\n{node.log_tail()}") from exc


async def _measure(
    session: aiohttp.ClientSession,
    node: NodeProcess,
    name: str,
    url: str,
    path: str,
    args: argparse.Namespace,
    pg_name: str | None,
) -> PageResult:
    status, size, kind, _ = await _get(session, url)
    if status != 200 or not kind.startswith("text/html"):
        hint = " (the session was not accepted?)" if status in (302, 303) else ""
        raise RuntimeError(f"GET {path}: {status} {kind}{hint}\n{node.log_tail()}")
    result = PageResult(name, path, status, size)
    for _ in range(args.warmup):
        await _get(session, url)
    node0, db0 = cpu_seconds(node.pid), pg_backends_cpu(pg_name)
    own0, machine0, t0 = time.process_time(), machine_busy_seconds(), time.perf_counter()
    for _ in range(args.n):
        status, _, _, ms = await _get(session, url)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status} while measuring\n{node.log_tail()}")
        result.latencies.append(ms)
    wall = time.perf_counter() - t0
    node_cpu = cpu_seconds(node.pid) - node0
    db_cpu = pg_backends_cpu(pg_name) - db0
    result.node_cpu_ms = node_cpu / args.n * 1000
    result.db_cpu_ms = db_cpu / args.n * 1000
    # Other processes on the machine (a test suite, a browser) take CPU from the node and
    # PostgreSQL: a latency measured while they run is too high.
    others = machine_busy_seconds() - machine0 - node_cpu - (db_cpu if pg_name else 0.0)
    others -= time.process_time() - own0
    result.others = max(0.0, others) / wall / (os.cpu_count() or 1)
    return result


# --- one backend ------------------------------------------------------------------------------


@dataclass
class Outcome:
    backend: str
    seeded: dict[str, Any]
    pages: list[PageResult]
    busy: float  # share of the machine other processes used before measuring
    sql: dict[str, Any] | None = None
    sql_error: str = ""

    @property
    def p50(self) -> float:
        return self.pages[0].p(0.50)

    @property
    def met(self) -> bool:
        return self.p50 < TARGET_P50_MS


async def run_child(argv: list[str], env: dict[str, str], what: str) -> dict[str, Any]:
    """A Python subprocess that prints one JSON line; killed if we are interrupted."""
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await proc.communicate()
    except BaseException:  # Ctrl+C, SIGTERM: it would hold the database we are about to drop
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0 or not out.strip():
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])


async def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> Outcome:
    pg_name: str | None = None
    node: NodeProcess | None = None
    try:
        if backend == "sqlite":
            url = f"sqlite://{workdir / 'dashboard.sqlite3'}"
        else:
            pg_name = f"nabuur_bench_dashboard_{os.getpid()}"
            await pg_admin(args.pg_admin, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await pg_admin(args.pg_admin, f'CREATE DATABASE "{pg_name}"')
            url = args.pg_admin.rsplit("/", 1)[0] + "/" + pg_name
        env = node_env(
            NABUUR_DATABASE_URL=url,
            NABUUR_ADMIN_PASSWORD=secrets.token_urlsafe(18),
            NABUUR_PAGE_CACHE_SECONDS="0",
            NABUUR_RUN_WORKERS="0",
            PYTHONPATH=str(REPO),
        )
        nabuur = str(VENV_BIN / "nabuur")
        print(f"-- {backend}: nabuur init, then seeding", flush=True)
        await asyncio.to_thread(
            run_checked, [nabuur, "init", "--admin-username", "admin"], env, "nabuur init"
        )
        seed_argv = [
            sys.executable,
            "-c",
            "from tests.benchmarks.dashboard import seed_main; seed_main()",
            url,
            str(args.posts),
            str(args.responses),
            str(args.noise),
            str(args.seed),
            "1" if args.sqlite_analyze else "0",
        ]
        seeded = await run_child(seed_argv, env, "seeding")
        print(f"   seeded in {seeded['seconds']:.1f} s", flush=True)
        print(_seeded_text(seeded), flush=True)

        base = f"/admin/o/{ORG_SLUG}"
        paged = seeded["paged"]["query"]
        paths = {
            "dashboard": base,
            "filtered": f"{base}?{urlencode(seeded['filtered']['query'])}",
            f"page {paged['page']}": f"{base}?{urlencode(paged)}",
            "case": f"{base}/r/{seeded['case']}",
        }
        port = free_port()
        argv = [nabuur, "run", "--port", str(port), "--workers", "1"]
        node = NodeProcess(argv, env, workdir / f"node-{backend}.log", port)
        node.start()
        jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for 127.0.0.1, as a browser does
        jar.update_cookies({"nabuur_session": seeded["token"]}, URL(node.url))
        connector = aiohttp.TCPConnector(limit=1)  # one keep-alive connection
        results = []
        async with aiohttp.ClientSession(
            connector=connector,
            cookie_jar=jar,
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            headers={"Accept": BROWSER_ACCEPT, "Accept-Language": "en"},
        ) as session:
            await node.wait_healthy(session)
            print(f"   nabuur run --workers 1 on {node.url}", flush=True)
            busy = await asyncio.to_thread(wait_for_idle, args.idle_below, args.wait_idle)
            print(f"   other processes kept the machine {busy:.0%} busy just before", flush=True)
            for name, path in paths.items():
                print(f"   {name}: GET {path}, {args.warmup} + {args.n} requests", flush=True)
                results.append(await measure_page(session, node, name, path, args, pg_name))
        node.stop()
        node = None
        outcome = Outcome(backend, seeded, results, busy)
        print(_pages_text(outcome), flush=True)
        if not args.no_sql:
            print(f"   SQL by itself: each page in-process, {args.sql_repeats} times", flush=True)
            spec = workdir / f"probe-{backend}.json"
            spec.write_text(json.dumps({"paths": paths, "token": seeded["token"]}))
            probe_argv = [
                sys.executable,
                "-c",
                "from tests.benchmarks.dashboard import probe_main; probe_main()",
                url,
                str(spec),
                str(args.sql_repeats),
            ]
            await asyncio.to_thread(wait_for_idle, args.idle_below, args.wait_idle)
            try:
                outcome.sql = await run_child(probe_argv, env, "timing the SQL")
            except RuntimeError as exc:  # the HTTP figures stand without it
                outcome.sql_error = str(exc)
            print(_sql_text(outcome, args.explain or not outcome.met), flush=True)
        return outcome
    finally:
        if node is not None:
            node.stop()
        if pg_name is not None:
            await pg_admin(args.pg_admin, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


# --- printing ---------------------------------------------------------------------------------


def _seeded_text(seeded: dict[str, Any]) -> str:
    counts = ", ".join(f"{k} {v:,}" for k, v in seeded["counts"].items())
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(seeded["statuses"].items()))
    groups = ", ".join(f"{k} {v:,}" for k, v in seeded["groups"].items())
    return (
        f"   rows: {counts}\n"
        f"   the organisation's posts by status: {statuses}\n"
        f"   its board by group (expected): {groups}\n"
        f"   filtered page: {seeded['filtered']['query']} -> {seeded['filtered']['expected']} "
        f"posts; paged: {seeded['paged']['query']} of {seeded['paged']['of']} pages; case page "
        f"post has {seeded['case_responses']} responses"
    )


def _pages_text(outcome: Outcome) -> str:
    head = (
        f"   {'page':10} {'kB':>5} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'node CPU':>9} {'PG CPU':>7} {'others':>6}"
    )
    lines = [f"== {outcome.backend}: {len(outcome.pages[0].latencies)} requests per page ==", head]
    for page in outcome.pages:
        db = "-" if page.db_cpu_ms != page.db_cpu_ms else f"{page.db_cpu_ms:.1f}"
        lines.append(
            f"   {page.name:10} {page.size / 1024:>5.0f} {page.p(0.5):>7.1f} {page.p(0.9):>7.1f} "
            f"{page.p(0.99):>7.1f} {max(page.latencies):>7.1f} {page.node_cpu_ms:>9.1f} {db:>7} "
            f"{page.others:>6.0%}"
        )
    lines.append(
        "   (node CPU, PG CPU: milliseconds of CPU time per request; others: share of the "
        "machine other processes used meanwhile)"
    )
    return "\n".join(lines)


def _sql_text(outcome: Outcome, plans: bool) -> str:
    if outcome.sql is None:
        return f"   !! SQL timing failed: {outcome.sql_error}" if outcome.sql_error else ""
    sql = outcome.sql
    lines = [f"   SQL, {outcome.backend} (in-process, medians):"]
    for name, page in sql["pages"].items():
        lines.append(
            f"   {name}: {page['inproc_ms']:.1f} ms per request in-process, of which SQL "
            f"{page['sql_ms']:.1f} ms in {page['statements']:.0f} statements; slowest:"
        )
        for s in page["top"][:PLANS_PER_PAGE]:
            count = "" if s["per_request"] == 1 else f" x{s['per_request']:.0f}"
            lines.append(
                f"     {s['ms_per_request']:6.2f} ms{count:4} {s['where']}: {_short(s['sql'])}"
            )
            if plans and "plan" in s:
                lines += [f"         | {line}" for line in s["plan"]]
    services = ", ".join(f"{k}() {v:.1f} ms" for k, v in sql["services_ms"].items())
    lines.append(f"   services alone: {services}")
    counts = sql["board_counts"]
    expected = outcome.seeded["groups"]
    if counts != expected:
        lines.append(f"   !! the board counts {counts}, the seed expected {expected}")
    else:
        lines.append("   the board's counts per group match the seeded data")
    return "\n".join(lines)


def _short(sql: str, width: int = 240) -> str:
    """One line; the column list left out (the WHERE clause tells statements apart)."""
    flat = " ".join(sql.split())
    flat = re.sub(r"^SELECT (?!COUNT\(\*\)).*? FROM ", "SELECT … FROM ", flat, count=1)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def verdict(outcome: Outcome) -> str:
    others = outcome.pages[0].others
    return (
        f"{outcome.backend}: dashboard p50 {outcome.p50:.1f} ms (target < {TARGET_P50_MS:.0f} "
        f"ms): {'met' if outcome.met else 'MISSED'}"
        + (f" (other processes used {others:.0%} of the machine meanwhile)" if others > 0.1 else "")
    )


# --- command line -----------------------------------------------------------------------------


def _backends(text: str) -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in items if x not in ("sqlite", "postgres")]
    if not items or unknown:
        raise argparse.ArgumentTypeError("comma-separated: sqlite,postgres")
    return list(dict.fromkeys(items))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Speed of an organisation's dashboard (/admin/o/{slug}) with a year of "
        f"casework, on one node process. Target: p50 under {TARGET_P50_MS:.0f} ms."
    )
    parser.add_argument(
        "--backends",
        type=_backends,
        default=["sqlite", "postgres"],
        help="comma-separated: sqlite,postgres (default both)",
    )
    parser.add_argument(
        "--posts", type=int, help=f"the organisation's posts (default {FULL['posts']:,})"
    )
    parser.add_argument(
        "--responses",
        type=int,
        help=f"responses to the organisation's posts (default {FULL['responses']:,})",
    )
    parser.add_argument(
        "--noise",
        type=int,
        help="posts of other organisations and residents, with as many responses per post "
        f"(default {FULL['noise']:,})",
    )
    parser.add_argument("--n", type=int, help=f"measured requests per page (default {FULL['n']})")
    parser.add_argument(
        "--warmup", type=int, help=f"requests per page before measuring (default {FULL['warmup']})"
    )
    parser.add_argument(
        "--sql-repeats", type=int, default=20, help="in-process requests per page (default 20)"
    )
    parser.add_argument("--no-sql", action="store_true", help="skip timing the SQL by itself")
    parser.add_argument(
        "--explain", action="store_true", help="print query plans even when the target is met"
    )
    parser.add_argument(
        "--sqlite-analyze",
        action="store_true",
        help="run ANALYZE on SQLite after seeding (the node never does)",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=180.0,
        metavar="SECONDS",
        help="before measuring, wait up to this long for other processes on the machine to "
        "use less than --idle-below of it (default 180; 0: do not wait)",
    )
    parser.add_argument(
        "--idle-below",
        type=float,
        default=0.2,
        metavar="SHARE",
        help="what counts as idle, a share of all cores (default 0.2)",
    )
    parser.add_argument("--seed", type=int, default=20261, help="random seed of the data")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run: {QUICK['posts']} posts, {QUICK['responses']} responses, "
        f"{QUICK['noise']} noise posts, {QUICK['n']} requests per page (unless given)",
    )
    parser.add_argument(
        "--pg-admin",
        default=os.environ.get(
            "NABUUR_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL URL to create and drop the benchmark database with",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.posts < 10 or args.responses < args.posts or args.noise < 0:
        parser.error("--posts at least 10, --responses at least --posts, --noise >= 0")
    if args.n < 1 or args.warmup < 0 or args.sql_repeats < 1:
        parser.error("--n and --sql-repeats must be positive, --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    outcomes, failed = run_backends(
        args.backends,
        "nabuur-dashboard-",
        args.keep,
        lambda backend, workdir: asyncio.run(run_backend(backend, args, workdir)),
    )
    if outcomes:
        print()
        print(
            f"posts={args.posts} responses={args.responses} noise={args.noise} n={args.n} "
            f"warm-up={args.warmup} cores={os.cpu_count()} at "
            f"{datetime.now().astimezone():%Y-%m-%d %H:%M}, {time.perf_counter() - started:.0f} s"
        )
        for outcome in outcomes:
            print(verdict(outcome))
    return 1 if failed or not all(o.met for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
