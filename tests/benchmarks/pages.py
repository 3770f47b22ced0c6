"""Page speed of a real node: the neighbourhood page and the request page under load.

Run by hand from the repository root (it is not part of the test suite)::

    .venv/bin/python tests/benchmarks/pages.py            # the whole matrix, ~8-15 minutes
    .venv/bin/python tests/benchmarks/pages.py --quick    # a smoke run, ~4 minutes

For each backend it runs `nabuur init` on a fresh SQLite file (or a fresh PostgreSQL database,
dropped afterwards) and seeds it, in a subprocess through the node's models with bulk inserts:
20 neighbourhoods, a dozen accounts, one organisation, `--posts` requests and offers (mostly
public and open; some members-only or followers-only, matched, done, withdrawn or expired;
written in nl, fr or en, some translated, a quarter with a date), responses to about a third of
them, and a few remote posts shown as "nearby". Accounts and neighbourhoods share one RSA key
pair: generating one each is slow and the pages do not use them.

Then, for each `--workers` count, it starts `nabuur run --workers N` on a free loopback port
and, for each page, GETs one path to check the answer (status, content type), and loads it from
a separate process:

* one connection, for up to 5 s: the latency of one page alone, and the CPU time one page
  costs the node (and PostgreSQL's backends), which other load on the machine changes little;
* saturated: `--connections` keep-alive connections, each sending its next request when the
  last is answered, for `--duration` seconds after `--warmup` seconds that are not counted.
  With `wrk` (Debian's package; installed with apt-get when missing and running as root) and
  tests/benchmarks/pages.lua, else an aiohttp load generator in a subprocess (`--loader`);
* steady: an open-loop aiohttp generator in its own process that starts a request every
  1/`--rate` seconds, whatever the answers, and measures each latency from the time the
  request was due, so a stalled server cannot hide its queue (wrk cannot send at a fixed rate).
  A request without an answer within 10 s counts as infinitely slow. When the node saturated
  below that rate, the steady run is skipped (its queue would only grow) unless
  `--always-steady`.

Pages, each a list of paths picked at random, anonymous, with a browser's Accept and
Accept-Language `--lang`: `/n/{slug}` over the 20 neighbourhoods, and `/r/{uuid}` over
`--paths` random public open posts. Printed: requests/s and p50/p99 latency saturated,
p50/p99 at the steady rate, non-200 answers and client errors (a run with any is not a
result), and the CPU used by the node, by the load generator, by PostgreSQL and by other
processes.
Targets, from the issue: >= 1,000 requests/s with 2 workers, p99 < 50 ms at a steady 200
requests/s.

Other processes on the machine (a test suite, a browser) slow the node and the load generator
down: before each page the script waits up to `--wait-idle` seconds for the machine to be
mostly idle, and prints how busy other processes kept it ("busy"). Between runs it waits
until the node answers /healthz quickly again, so that requests a load generator gave up on
do not slow the next run.
`--logged-in` loads the pages as a resident with a live session (made by the node's own
session service), a few unread notifications and a followed neighbourhood: the load
generators send the `nabuur_session` and `nabuur_csrf` cookies, the check GET verifies the
page is the logged-in one (log-out form, badge), and the page cache never applies.
`--py-spy DIR` also samples the node during one extra saturated run per page (so the figures
are not slowed by it) and prints where its CPU time goes; install it with
`.venv/bin/pip install py-spy`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp

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
    start_py_spy,
    stop_py_spy,
    summarise_profile,
)

VENV_BIN = Path(sys.executable).parent
LUA_SCRIPT = Path(__file__).with_suffix(".lua")
TARGET_RPS = 1000.0  # requests/s with 2 workers, from the issue
TARGET_RPS_WORKERS = 2
TARGET_P99_MS = 50.0  # at a steady TARGET_RATE requests/s
TARGET_RATE = 200.0
PAGES = ("neighbourhood", "request")
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
REQUEST_TIMEOUT = 10.0  # seconds; a slower answer counts as a timeout
SERIAL_SECONDS = 5  # at most, for the run with one connection
OPEN_LOOP_MAX_CONNECTIONS = 256
OPEN_LOOP_GRACE = 15.0  # seconds to wait for answers once the last request was due
TIMEOUTS = "timeouts"  # no answer within REQUEST_TIMEOUT: a latency of "forever" (inf)
INF = float("inf")
FULL = {"posts": 10_000, "duration": 10, "warmup": 3}
QUICK = {"posts": 2_000, "duration": 3, "warmup": 1}


# --- seeding (in a subprocess, through the node's models) ---------------------------------

LANGS = ("nl", "fr", "en")
HOODS = (
    ("dansaert", "Dansaert", "Brussel"),
    ("marollen", "Marollen", "Brussel"),
    ("zavel", "Zavel", "Brussel"),
    ("matonge", "Matonge", "Elsene"),
    ("flagey", "Flagey", "Elsene"),
    ("chatelain", "Châtelain", "Elsene"),
    ("dailly", "Dailly", "Schaerbeek"),
    ("meiser", "Meiser", "Schaerbeek"),
    ("josaphat", "Josaphat", "Schaerbeek"),
    ("jourdan", "Jourdan", "Etterbeek"),
    ("ambiorix", "Ambiorix", "Brussel"),
    ("molenbeek-centrum", "Molenbeek-Centrum", "Molenbeek"),
    ("kuregem", "Kuregem", "Anderlecht"),
    ("laken", "Laken", "Brussel"),
    ("jette-centrum", "Jette-Centrum", "Jette"),
    ("vorst-centrum", "Vorst-Centrum", "Vorst"),
    ("globe", "Globe", "Ukkel"),
    ("la-chasse", "La Chasse", "Etterbeek"),
    ("boondaal", "Boondaal", "Elsene"),
    ("voorplein", "Voorplein", "Sint-Gillis"),
)
PEOPLE = (
    "Els Peeters",
    "Sophie Dubois",
    "Karim El Amrani",
    "Marie Janssens",
    "Luc Claes",
    "Ana Ferreira",
    "Youssef Benali",
    "Ingrid Maes",
    "Pierre Lambert",
    "Fatma Yilmaz",
    "Jan Wouters",
    "Lotte De Smet",
)
WHAT = {
    "shopping": ("boodschappen doen", "faire les courses", "doing the shopping"),
    "transport": ("een rit naar het ziekenhuis", "un trajet vers l'hôpital", "a lift to hospital"),
    "pets": ("de hond uitlaten", "promener le chien", "walking the dog"),
    "diy": ("een kast ophangen", "fixer une étagère", "putting up a shelf"),
    "garden": ("de haag snoeien", "tailler la haie", "trimming the hedge"),
    "cleaning": ("de ramen wassen", "laver les vitres", "cleaning the windows"),
    "meals": ("een warme maaltijd", "un repas chaud", "a warm meal"),
    "company": ("een wandeling en een babbel", "une promenade et un café", "a walk and a chat"),
    "paperwork": ("de belastingaangifte", "la déclaration d'impôts", "the tax return"),
    "lending": ("een ladder lenen", "prêter une échelle", "borrowing a ladder"),
    "language": ("een brief vertalen", "traduire une lettre", "translating a letter"),
    "digital": ("een smartphone instellen", "configurer un smartphone", "setting up a phone"),
    "childcare": ("oppassen op woensdag", "garder les enfants mercredi", "babysitting Wednesday"),
    "other": ("iets kleins", "un petit service", "a small favour"),
}
TITLES = {
    ("request", "nl"): ("Wie helpt met {}?", "Hulp gezocht: {}", "Iemand voor {} deze week?"),
    ("request", "fr"): ("Qui peut aider : {} ?", "Besoin d'aide : {}", "Quelqu'un pour {} ?"),
    ("request", "en"): ("Who can help with {}?", "Help wanted: {}", "Anyone free for {}?"),
    ("offer", "nl"): ("Ik help graag met {}", "Aangeboden: {}", "Tijd over voor {}"),
    ("offer", "fr"): ("Je peux aider : {}", "Proposé : {}", "Du temps libre pour {}"),
    ("offer", "en"): ("Happy to help with {}", "Offered: {}", "Spare time for {}"),
}
DESCRIPTIONS = {
    "nl": (
        "Het gaat om {}. Ik woon hier al lang, maar mijn knie laat me wat in de steek. "
        "Een uurtje zou al veel helpen; koffie staat klaar. Laat gerust een berichtje na."
    ),
    "fr": (
        "Il s'agit de {}. J'habite le quartier depuis longtemps, mais mon genou me lâche un "
        "peu. Une heure aiderait déjà beaucoup ; le café est prêt. N'hésitez pas à répondre."
    ),
    "en": (
        "It is about {}. I have lived here for years, but my knee is letting me down a bit. "
        "An hour would already help a lot; the kettle is on. Feel free to reply here."
    ),
}
AREA_HINTS = (
    "bij het station",
    "rond het plein",
    "près de l'église",
    "derrière le parc",
    "near the market",
    "at the end of the tram line",
)
CLIENT_LABELS = ("een oudere buurvrouw", "une personne âgée", "a neighbour in a wheelchair")
STATUS_WEIGHTS = {"open": 80, "matched": 8, "done": 6, "withdrawn": 3, "expired": 3}
VISIBILITY_WEIGHTS = {"public": 85, "members": 10, "followers": 5}


def _text(rng: random.Random, kind: str, category: str, lang: str) -> tuple[str, str]:
    what = WHAT[category][LANGS.index(lang)]
    title = rng.choice(TITLES[kind, lang]).format(what)
    description = DESCRIPTIONS[lang].format(what) * rng.choice((1, 1, 2, 3))
    return title, description


async def _seed(url: str, n_posts: int, n_paths: int, seed: int, logged_in: bool = False) -> dict:
    from tortoise import connections

    from node import db, keys
    from node.models import (
        Account,
        HelpPost,
        Neighbourhood,
        Organisation,
        OrganisationKind,
        PostKind,
        RemoteActor,
        RemotePost,
        Response,
        ResponseKind,
        Visibility,
    )
    from node.states import OfferStatus, PostStatus
    from node.taxonomy import CATEGORIES
    from node.timeutil import utcnow

    rng = random.Random(seed)
    now = utcnow()
    started = time.perf_counter()
    await db.open_database(url)
    try:
        private_pem, public_pem = await keys.generate_key_pair()
        pems = {"private_key_pem": private_pem, "public_key_pem": public_pem}
        async with db.atomic():
            await Neighbourhood.bulk_create(
                [
                    Neighbourhood(
                        slug=slug,
                        name=name,
                        commune=commune,
                        description={
                            "nl": f"Buren in {name} helpen elkaar.",
                            "fr": f"Les voisins de {name} s'entraident.",
                            "en": f"Neighbours in {name} help each other.",
                        },
                        centre_lat=round(50.80 + 0.1 * rng.random(), 4),
                        centre_lon=round(4.30 + 0.1 * rng.random(), 4),
                        radius_m=1500,
                        **pems,
                    )
                    for slug, name, commune in HOODS
                ]
            )
            hoods = await Neighbourhood.filter(slug__in=[h[0] for h in HOODS]).order_by("id")
            await Account.bulk_create(
                [
                    Account(
                        username=f"bench{i}",
                        display_name=name,
                        languages_csv=",".join(rng.sample(LANGS, rng.choice((1, 2)))),
                        home_neighbourhood=hoods[i % len(hoods)],
                        **pems,
                    )
                    for i, name in enumerate(PEOPLE)
                ]
            )
            people = await Account.filter(username__startswith="bench").order_by("id")
            org = await Organisation.create(
                slug="buurtwerk",
                name="Buurtwerk Brussel",
                kind=OrganisationKind.NGO,
                description={"nl": "Buurtwerk in heel Brussel.", "fr": "Travail de quartier."},
                **pems,
            )
            posts, by = [], Counter()
            statuses, status_weights = zip(*STATUS_WEIGHTS.items(), strict=True)
            visibilities, visibility_weights = zip(*VISIBILITY_WEIGHTS.items(), strict=True)
            for i in range(n_posts):
                kind = "request" if rng.random() < 0.6 else "offer"
                category = rng.choice(CATEGORIES).slug
                lang = rng.choices(LANGS, weights=(50, 30, 20))[0]
                status = rng.choices(statuses, weights=status_weights)[0]
                visibility = rng.choices(visibilities, weights=visibility_weights)[0]
                title, description = _text(rng, kind, category, lang)
                translations = {}
                if rng.random() < 0.15:
                    other = rng.choice([x for x in LANGS if x != lang])
                    t_title, t_description = _text(rng, kind, category, other)
                    translations[other] = {"title": t_title, "description": t_description}
                created = now - timedelta(seconds=rng.uniform(60, 45 * 86400))
                starts = ends = None
                if status == "expired":
                    expires = now - timedelta(days=rng.uniform(0.1, 10))
                elif rng.random() < 0.25:
                    starts = (now + timedelta(days=rng.uniform(1, 60))).replace(
                        minute=0, second=0, microsecond=0
                    )
                    ends = starts + timedelta(hours=rng.choice((1, 2, 3)))
                    expires = ends + timedelta(days=1)
                else:
                    expires = now + timedelta(days=rng.uniform(1, 30))
                by_org = rng.random() < 0.1
                posts.append(
                    HelpPost(
                        id=uuid.uuid4(),
                        kind=PostKind(kind),
                        title=title,
                        description=description,
                        language=lang,
                        translations=translations,
                        category=category,
                        neighbourhood=hoods[i % len(hoods)],
                        area_hint=rng.choice(AREA_HINTS) if rng.random() < 0.6 else None,
                        starts_at=starts,
                        ends_at=ends,
                        helpers_needed=rng.choices((1, 2, 3, 4, 5), weights=(70, 20, 5, 3, 2))[0],
                        status=PostStatus(status),
                        status_changed_at=created,
                        visibility=Visibility(visibility),
                        expires_at=expires,
                        author=rng.choice(people),
                        organisation=org if by_org else None,
                        on_behalf_label=rng.choice(CLIENT_LABELS)
                        if by_org and rng.random() < 0.5
                        else None,
                        created_at=created,
                    )
                )
                by[f"{status}/{visibility}"] += 1
                by[kind] += 1
                by[lang] += 1
                by["dated" if starts else "flexible"] += 1
            await HelpPost.bulk_create(posts, batch_size=1000)
            responses = []
            for post in rng.sample(posts, k=n_posts // 3):
                for _ in range(rng.choice((1, 1, 2, 3))):
                    offer = rng.random() < 0.5
                    responses.append(
                        Response(
                            id=uuid.uuid4(),
                            post_id=post.id,  # bulk_create leaves `post` marked unsaved
                            author=rng.choice(people),
                            kind=ResponseKind.OFFER if offer else ResponseKind.COMMENT,
                            body="Ik kan zaterdag helpen." if offer else "Goed idee!",
                            offer_status=rng.choices(
                                (OfferStatus.OFFERED, OfferStatus.ACCEPTED, OfferStatus.DECLINED),
                                weights=(60, 30, 10),
                            )[0]
                            if offer
                            else None,
                            created_at=post.created_at + timedelta(hours=rng.uniform(1, 48)),
                        )
                    )
            await Response.bulk_create(responses, batch_size=1000)
            await RemoteActor.bulk_create(
                [
                    RemoteActor(
                        uri=f"https://{domain}/users/{name}",
                        domain=domain,
                        username=name,
                        display_name=name.title(),
                        inbox=f"https://{domain}/users/{name}/inbox",
                        shared_inbox=f"https://{domain}/inbox",
                        key_id=f"https://{domain}/users/{name}#main-key",
                        public_key_pem=public_pem,
                        fetched_at=now,
                    )
                    for domain, name in (
                        ("buren.example", "anderlecht"),
                        ("voisins.example", "ixelles"),
                        ("mastodon.example", "marc"),
                    )
                ]
            )
            actors = await RemoteActor.filter(domain__endswith=".example").order_by("id")
            await RemotePost.bulk_create(
                [
                    RemotePost(
                        object_uri=f"{actor.uri}/posts/{i}",
                        actor=actor,
                        kind="request" if i % 3 else "offer",
                        title=_text(rng, "request", "garden", "nl")[0],
                        language="nl",
                        content_map={"nl": "<p>Wie helpt?</p>"},
                        category="garden",
                        place_name="Brussel",
                        latitude=round(50.80 + 0.1 * rng.random(), 4),
                        longitude=round(4.30 + 0.1 * rng.random(), 4),
                        url=f"{actor.uri}/posts/{i}",
                        published_at=now - timedelta(hours=i),
                        finished=i % 5 == 0,
                    )
                    for actor in actors
                    for i in range(20)
                ]
            )
            resident = await _seed_resident(hoods, posts, people, pems) if logged_in else None
        if not db.is_sqlite(url):
            # What autovacuum does within a minute of a bulk load (its planner otherwise
            # takes the fresh tables for empty ones); SQLite's node never runs ANALYZE.
            await connections.get("default").execute_script("ANALYZE")
        public_open = [str(p.id) for p in posts if p.visibility == "public" and p.status == "open"]
        return {
            "resident": resident,
            "seconds": time.perf_counter() - started,
            "posts": len(posts),
            "responses": len(responses),
            "accounts": len(people),
            "remote_posts": 20 * len(actors),
            "hoods": [h.slug for h in hoods],
            "public_open": len(public_open),
            "sample": rng.sample(public_open, k=min(n_paths, len(public_open))),
            "by": dict(sorted(by.items())),
        }
    finally:
        await db.close_database()


async def _seed_resident(hoods: list, posts: list, people: list, pems: dict) -> dict:
    """A resident who is logged in (`--logged-in`): a live session made by the node's own
    service, a home neighbourhood, a followed one and a few unread notifications (the
    badge); returns the cookies a browser would send."""
    from node.models import Account, Follow, LocalActorKind, Notification, NotificationKind
    from node.services import sessions
    from node.states import FollowStatus

    resident = await Account.create(
        username="resident",
        display_name="Rita Resident",
        languages_csv="nl,fr",
        home_neighbourhood=hoods[0],
        **pems,
    )
    await Follow.create(
        follower=resident,
        target_kind=LocalActorKind.NEIGHBOURHOOD,
        neighbourhood=hoods[1],
        status=FollowStatus.ACCEPTED,
    )
    own = [p for p in posts if p.visibility == "public"][:5]
    await Notification.bulk_create(
        [
            Notification(
                recipient_id=resident.id,
                kind=NotificationKind.RESPONSE,
                actor_id=people[i % len(people)].id,
                post_id=post.id,
            )
            for i, post in enumerate(own)
        ]
    )
    return {
        "session": await sessions.start_session(resident),
        "csrf": secrets.token_urlsafe(24),
        "unread": len(own),
    }


def seed_main() -> None:
    """Entry point of the seeding subprocess: URL POSTS PATHS SEED [LOGGED_IN]; prints one
    JSON line."""
    url, posts, paths, seed = sys.argv[1], *(int(a) for a in sys.argv[2:5])
    logged_in = len(sys.argv) > 5 and sys.argv[5] == "1"
    print(json.dumps(asyncio.run(_seed(url, posts, paths, seed, logged_in))))


# --- the load generators (in a subprocess of their own) -----------------------------------


def _summary(
    latencies: list[float], statuses: Counter[str], errors: Counter[str], seconds: float
) -> dict:
    lat = sorted(latencies)
    return {
        "requests": sum(statuses.values()),
        "seconds": seconds,
        "p50_ms": percentile(lat, 0.50) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "max_ms": (lat[-1] if lat else float("nan")) * 1000,
        "statuses": dict(statuses),
        "errors": dict(errors),
    }


def _session(base: str, lang: str, limit: int, cookie: str = "") -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base,
        connector=aiohttp.TCPConnector(limit=limit, limit_per_host=limit),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        headers={
            "Accept": BROWSER_ACCEPT,
            "Accept-Language": lang,
            "User-Agent": "nabuur-bench-pages (aiohttp)",
        }
        | ({"Cookie": cookie} if cookie else {}),
    )


async def closed_loop(
    base: str, paths: list[str], connections: int, seconds: float, lang: str, cookie: str = ""
):
    """`connections` keep-alive connections, each sending again as soon as it has its answer."""
    rng = random.Random()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    async with _session(base, lang, connections, cookie) as session:
        started = time.perf_counter()
        deadline = started + seconds

        async def connection() -> None:
            while (t0 := time.perf_counter()) < deadline:
                try:
                    async with session.get(rng.choice(paths)) as r:
                        await r.read()
                        status = str(r.status)
                except TimeoutError:  # slower than REQUEST_TIMEOUT: counts as forever
                    errors[TIMEOUTS] += 1
                    latencies.append(INF)
                    continue
                except aiohttp.ClientError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[status] += 1

        await asyncio.gather(*(connection() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return _summary(latencies, statuses, errors, elapsed)


async def open_loop(
    base: str, paths: list[str], rate: float, seconds: float, lang: str, cookie: str = ""
):
    """A request due every 1/rate s, sent whatever the answers; latency from when it was due."""
    rng = random.Random()
    latencies: list[float] = []
    lags: list[float] = []  # how late this process sent (its own scheduling delay)
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    count = max(1, round(rate * seconds))
    last_answer = 0.0
    async with _session(base, lang, OPEN_LOOP_MAX_CONNECTIONS, cookie) as session:

        async def one(due: float, path: str) -> None:
            nonlocal last_answer
            lags.append(loop.time() - due)
            try:
                async with session.get(path) as r:
                    await r.read()
                    status = str(r.status)
            except TimeoutError:  # slower than REQUEST_TIMEOUT: counts as forever
                errors[TIMEOUTS] += 1
                latencies.append(INF)
                return
            except aiohttp.ClientError as exc:
                errors[type(exc).__name__] += 1
                return
            last_answer = loop.time()
            latencies.append(last_answer - due)
            statuses[status] += 1

        start = loop.time() + 0.1
        tasks = []
        for i in range(count):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due, rng.choice(paths))))
        _, pending = await asyncio.wait(tasks, timeout=OPEN_LOOP_GRACE)
        for task in pending:
            task.cancel()
            errors[TIMEOUTS] += 1
            latencies.append(INF)
        await asyncio.gather(*pending, return_exceptions=True)
    summary = _summary(latencies, statuses, errors, max(last_answer - start, count / rate))
    lag = sorted(lags)
    summary["lag_p99_ms"] = percentile(lag, 0.99) * 1000
    summary["due_seconds"] = count / rate
    return summary


def loader_main() -> None:
    """Entry point of the load generator subprocess; prints one JSON line."""
    mode, base, paths_file, level, seconds, lang = sys.argv[1:7]
    cookie = sys.argv[7] if len(sys.argv) > 7 else ""
    paths = [p for p in Path(paths_file).read_text().splitlines() if p]
    if mode == "closed":
        work = closed_loop(base, paths, int(level), float(seconds), lang, cookie)
    else:
        work = open_loop(base, paths, float(level), float(seconds), lang, cookie)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(work)
    else:
        result = uvloop.run(work)
    print(json.dumps(result))


# --- running a load generator from here ---------------------------------------------------


@dataclass
class Load:
    """One measured run of a load generator against one page."""

    tool: str
    requests: int  # answers received, whatever their status
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    errors: dict[str, int]  # client-side: connect/read/write errors, TIMEOUTS
    lag_p99_ms: float = float("nan")  # open loop: how late the generator itself sent
    due_seconds: float = float("nan")  # open loop: how long the schedule was
    # CPU seconds over the wall time of the load generator's process (start-up included)
    wall: float = float("nan")
    node_cpu: float = float("nan")
    loader_cpu: float = float("nan")
    machine_cpu: float = float("nan")
    db_cpu: float = float("nan")  # PostgreSQL's processes serving the benchmark database

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def failures(self) -> dict[str, int]:
        """Answers other than 200 and client errors (timeouts are slow answers, not these)."""
        out = {k: v for k, v in sorted(self.statuses.items()) if k != "200" and v}
        return out | {k: v for k, v in sorted(self.errors.items()) if v and k != TIMEOUTS}

    @property
    def timeouts(self) -> int:
        return self.errors.get(TIMEOUTS, 0)

    @property
    def bad(self) -> int:
        """How many failures; a run without a single answer counts as one."""
        return sum(self.failures.values()) or (0 if self.requests else 1)

    def cpu(self) -> str:
        w = self.wall
        db = 0.0 if self.db_cpu != self.db_cpu else self.db_cpu
        other = self.machine_cpu - self.node_cpu - self.loader_cpu - db
        return (
            f"node {self.node_cpu / w:.0%}, load generator {self.loader_cpu / w:.0%}, "
            + (f"PostgreSQL {db / w:.0%}, " if db else "")
            + f"other processes {other / w:.0%} (of {os.cpu_count() or 1}00%)"
        )

    @property
    def others(self) -> float:
        """Share of the machine other processes used during the run (0.0 to 1.0)."""
        db = 0.0 if self.db_cpu != self.db_cpu else self.db_cpu
        other = self.machine_cpu - self.node_cpu - self.loader_cpu - db
        return max(0.0, other) / self.wall / (os.cpu_count() or 1)

    @property
    def node_ms(self) -> float:
        """The node's CPU milliseconds per answer."""
        return self.node_cpu / self.requests * 1000 if self.requests else float("nan")

    @property
    def db_ms(self) -> float:
        return self.db_cpu / self.requests * 1000 if self.requests else float("nan")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(
    wrk: str,
    url: str,
    paths_file: Path,
    connections: int,
    threads: int,
    seconds: int,
    lang: str,
    cookie: str = "",
) -> Load:
    argv = [
        wrk,
        "-t",
        str(max(1, min(threads, connections))),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        f"{REQUEST_TIMEOUT:.0f}s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        url,
        "--",
        str(paths_file),
        lang,
        *([cookie] if cookie else []),
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 60, check=False, cwd=REPO
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    errors = {
        name: data[key]
        for name, key in (
            ("connect errors", "connect_errors"),
            ("read errors", "read_errors"),
            ("write errors", "write_errors"),
            (TIMEOUTS, "timeouts"),
        )
        if data[key]
    }
    # wrk leaves requests that timed out out of its latencies: they are the slowest ones
    timed_out = data["timeouts"] / max(1, data["requests"] + data["timeouts"])
    return Load(
        tool="wrk",
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=INF if timed_out > 0.50 else data["p50_us"] / 1000,
        p99_ms=INF if timed_out > 0.01 else data["p99_us"] / 1000,
        max_ms=INF if timed_out else data["max_us"] / 1000,
        statuses={str(k): v for k, v in data["statuses"].items()},
        errors=errors,
    )


def run_python_loader(
    mode: str, url: str, paths_file: Path, level: float, seconds: float, lang: str, cookie: str = ""
) -> Load:
    argv = [
        sys.executable,
        "-c",
        "from tests.benchmarks.pages import loader_main; loader_main()",
        mode,
        url,
        str(paths_file),
        str(level),
        str(seconds),
        lang,
        cookie,
    ]
    env = os.environ | {"PYTHONPATH": str(REPO)}
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=seconds + OPEN_LOOP_GRACE + 60,
        check=False,
        cwd=REPO,
        env=env,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"the {mode}-loop load generator failed:\n{done.stderr[-2000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Load(tool=f"python {mode} loop", **data)


def find_wrk(choice: str) -> str | None:
    """wrk's path; installs Debian's package when it is missing and we may."""
    if choice == "python":
        return None
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("   wrk is missing: installing it with `apt-get install -y wrk`", flush=True)
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        quiet = {"capture_output": True, "check": False, "env": env}
        if subprocess.run(install, **quiet).returncode != 0:
            print("   (apt-get update first)", flush=True)
            subprocess.run(["apt-get", "update", "-q"], **quiet)
            subprocess.run(install, **quiet)
        found = shutil.which("wrk")
    if found is None:
        if choice == "wrk":
            raise RuntimeError("--loader wrk: wrk is not installed and could not be")
        print("   no wrk: saturating with the Python load generator (aiohttp, a subprocess)")
    return found


# --- one node, one page -------------------------------------------------------------------


@dataclass
class Check:
    """What one GET of the page answered before the load."""

    path: str
    status: int
    content_type: str
    size: int
    error: str = ""
    # --logged-in: whether the page is the resident's (log-out form, badge); None: anonymous
    logged_in: bool | None = None

    @property
    def ok(self) -> bool:
        return (
            self.status == 200
            and self.content_type.startswith("text/html")
            and self.logged_in is not False
        )

    def __str__(self) -> str:
        if self.error:
            return f"no answer: {self.error}"
        kind = self.content_type.split(";")[0] or "no content type"
        who = {None: "", True: ", logged in", False: ", NOT the logged-in page"}[self.logged_in]
        return f"{self.status} {kind} {self.size / 1024:.0f} kB{who}"

    @property
    def short(self) -> str:
        if self.error:
            return "no answer"
        kind = self.content_type.split(";")[0].rpartition("/")[2] or "-"
        return f"{self.status} {kind}"[:12]


@dataclass
class Row:
    backend: str
    workers: int
    page: str
    check: Check
    connections: int
    rate: float
    background: float  # share of the machine busy with other processes just before
    serial: Load | None = None  # one connection: the time and CPU one page costs
    saturated: Load | None = None
    steady: Load | None = None
    steady_skipped: str = ""  # why there is no steady run
    profile: str = ""
    failure: str = ""

    @property
    def bad(self) -> int:
        loads = (self.serial, self.saturated, self.steady)
        return sum(load.bad for load in loads if load is not None)

    @property
    def valid(self) -> bool:
        return (
            not self.failure
            and self.check.ok
            and self.saturated is not None
            and (self.steady is not None or bool(self.steady_skipped))
            and not self.bad
        )


# What only a logged-in resident's page holds: the log-out form and the unread badge.
LOGGED_IN_MARKS = (b'action="/logout"', b'class="badge"')


async def check_page(
    session: aiohttp.ClientSession, url: str, path: str, lang: str, cookie: str = ""
) -> Check:
    headers = {"Accept": BROWSER_ACCEPT, "Accept-Language": lang}
    if cookie:
        headers["Cookie"] = cookie
    try:
        async with session.get(url + path, headers=headers, allow_redirects=False) as r:
            body = await r.read()
            logged_in = all(m in body for m in LOGGED_IN_MARKS) if cookie else None
            return Check(
                path, r.status, r.headers.get("content-type", ""), len(body), "", logged_in
            )
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Check(path, 0, "", 0, error=f"{type(exc).__name__} {exc}".strip())


def check_alive(node: NodeProcess) -> None:
    assert node.proc is not None
    if node.proc.poll() is not None:
        raise RuntimeError(f"the node exited ({node.proc.returncode}):\n{node.log_tail(30)}")


def pg_backends_cpu(database: str | None) -> float:
    """CPU seconds of the PostgreSQL backends connected to `database` (nan without one)."""
    if database is None:
        return float("nan")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres: ") or f" {database} " not in title:
                continue
            fields_ = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields_[11]) + int(fields_[12])
    return total / os.sysconf("SC_CLK_TCK")


async def measured(node: NodeProcess, run: Callable[[], Load], database: str | None) -> Load:
    """Run a load generator (a blocking call) and add the CPU each side used meanwhile."""
    node0, loader0, machine0 = cpu_seconds(node.pid), children_cpu(), machine_busy_seconds()
    db0 = pg_backends_cpu(database)
    started = time.perf_counter()
    load = await asyncio.to_thread(run)
    check_alive(node)
    load.wall = time.perf_counter() - started
    load.node_cpu = cpu_seconds(node.pid) - node0
    load.loader_cpu = children_cpu() - loader0
    load.machine_cpu = machine_busy_seconds() - machine0
    load.db_cpu = pg_backends_cpu(database) - db0
    return load


async def wait_quiet(session: aiohttp.ClientSession, node: NodeProcess, within: float = 90.0):
    """Until /healthz answers fast twice in a row: the node has worked off any backlog.

    A load generator that gave up on requests (timeouts) leaves them queued in the node, and
    they would slow the next run down.
    """
    deadline, fast = time.monotonic() + within, 0
    while time.monotonic() < deadline and fast < 2:
        t0 = time.perf_counter()
        try:
            async with session.get(f"{node.url}/healthz") as r:
                await r.read()
                ok = r.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        fast = fast + 1 if ok and time.perf_counter() - t0 < 0.05 else 0
        await asyncio.sleep(0.2)
    if fast < 2:
        print(f"   (the node was still busy after {within:.0f} s; going on)", flush=True)


def background_load(seconds: float = 2.0) -> float:
    """Share of the machine's cores busy while nothing of ours runs (0.0 to 1.0)."""
    busy0, t0 = machine_busy_seconds(), time.perf_counter()
    time.sleep(seconds)
    return (machine_busy_seconds() - busy0) / (time.perf_counter() - t0) / (os.cpu_count() or 1)


def wait_for_idle(threshold: float, within: float) -> float:
    """The background load, after waiting up to `within` s for it to fall below `threshold`.

    Other processes on the machine (a test suite, a browser) take CPU from the node and
    the load generator alike: figures taken while the machine is busy are too low.
    """
    deadline = time.monotonic() + within
    busy = background_load()
    if busy > threshold and within > 0:
        print(f"   the machine is {busy:.0%} busy: waiting up to {within:.0f} s", flush=True)
        while busy > threshold and time.monotonic() < deadline:
            busy = background_load()
    return busy


async def measure_page(
    page: str,
    paths_file: Path,
    node: NodeProcess,
    backend: str,
    workers: int,
    args: argparse.Namespace,
    wrk: str | None,
    session: aiohttp.ClientSession,
    database: str | None,
) -> Row:
    first = (await asyncio.to_thread(paths_file.read_text)).split("\n", 1)[0]
    check = await check_page(session, node.url, first, args.lang, args.cookie)
    background = await asyncio.to_thread(wait_for_idle, args.idle_below, args.wait_idle)
    row = Row(backend, workers, page, check, args.connections, args.rate, background)
    print(
        f"   {page}: GET {first} -> {check}; the machine was {background:.0%} busy "
        "before the run (other processes)",
        flush=True,
    )
    if not check.ok:
        print(
            f"   !! {page} page: expected 200 text/html, got {check}"
            + (
                " (is the HTML request page there yet?)"
                if page == "request" and check.status in (404, 406)
                else ""
            )
            + "; measured anyway, and not counted as a result",
            flush=True,
        )

    def saturate(seconds: int, connections: int = args.connections) -> Callable[[], Load]:
        if wrk is not None:
            return lambda: run_wrk(
                wrk,
                node.url,
                paths_file,
                connections,
                args.threads,
                seconds,
                args.lang,
                args.cookie,
            )
        return lambda: run_python_loader(
            "closed", node.url, paths_file, connections, seconds, args.lang, args.cookie
        )

    if args.warmup > 0:
        await asyncio.to_thread(saturate(args.warmup))
        await wait_quiet(session, node)
    tool = "wrk" if wrk else "python"
    serial_seconds = min(args.duration, SERIAL_SECONDS)
    print(f"   {page}: one connection, {serial_seconds} s ({tool})", flush=True)
    row.serial = await measured(node, saturate(serial_seconds, 1), database)
    await wait_quiet(session, node)
    print(f"   {page}: saturated, {args.connections} connections, {args.duration} s ({tool})")
    row.saturated = await measured(node, saturate(args.duration), database)
    await wait_quiet(session, node)
    if row.saturated.rps < args.rate and not args.always_steady:
        # Its queue would only grow: every latency past the first second is waiting, and
        # the node would still be working it off long after the run.
        row.steady_skipped = (
            f"not run: the node saturates at {row.saturated.rps:,.0f} req/s, below "
            f"{args.rate:.0f}/s, so its latency at that rate grows without bound "
            "(--always-steady runs it anyway)"
        )
        print(f"   {page}: steady {args.rate:.0f}/s {row.steady_skipped}", flush=True)
    else:
        print(f"   {page}: steady {args.rate:.0f}/s open loop, {args.duration} s", flush=True)
        row.steady = await measured(
            node,
            lambda: run_python_loader(
                "open", node.url, paths_file, args.rate, args.duration, args.lang, args.cookie
            ),
            database,
        )
        await wait_quiet(session, node)
    if args.py_spy:
        out = args.py_spy / f"pages-{backend}-w{workers}-{page}.txt"
        spy = start_py_spy(node.pid, out)
        if spy is not None:
            print(f"   {page}: one more saturated run under py-spy -> {out}", flush=True)
            await asyncio.sleep(1.0)  # let py-spy attach
            try:
                await asyncio.to_thread(saturate(args.duration))
            finally:
                stop_py_spy(spy)
            row.profile = summarise_profile(out, top=25)
            await wait_quiet(session, node)
    loads = [load for load in (row.serial, row.saturated, row.steady) if load is not None]
    if any(status.startswith("5") for load in loads for status in load.statuses):
        row.failure = "the node answered 5xx:\n" + node.log_tail(30)
    return row


# --- one backend --------------------------------------------------------------------------


async def prepare(
    backend: str, args: argparse.Namespace, workdir: Path
) -> tuple[str, dict[str, str], str | None, dict]:
    """A fresh initialised and seeded database: (url, node env, PG database name, seeding)."""
    pg_name: str | None = None
    if backend == "sqlite":
        url = f"sqlite://{workdir / 'pages.sqlite3'}"
    else:
        pg_name = f"nabuur_bench_pages_{os.getpid()}"
        await pg_admin(args.pg_admin, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        await pg_admin(args.pg_admin, f'CREATE DATABASE "{pg_name}"')
        url = args.pg_admin.rsplit("/", 1)[0] + "/" + pg_name
    env = node_env(
        NABUUR_DATABASE_URL=url,
        NABUUR_ADMIN_PASSWORD=secrets.token_urlsafe(18),
        NABUUR_PAGE_CACHE_SECONDS=str(args.page_cache),
        PYTHONPATH=str(REPO),
    )
    nabuur = str(VENV_BIN / "nabuur")
    await asyncio.to_thread(
        run_checked, [nabuur, "init", "--admin-username", "admin"], env, "nabuur init"
    )
    argv = [
        sys.executable,
        "-c",
        "from tests.benchmarks.pages import seed_main; seed_main()",
        url,
        str(args.posts),
        str(args.paths),
        str(args.seed),
        "1" if args.logged_in else "0",
    ]
    done = await asyncio.to_thread(
        subprocess.run, argv, env=env, cwd=REPO, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{done.stderr[-3000:]}")
    seeded = json.loads(done.stdout.strip().splitlines()[-1])
    return url, env, pg_name, seeded


async def run_backend(
    backend: str, args: argparse.Namespace, workdir: Path, wrk: str | None, rows: list[Row]
) -> bool:
    """Measure every workers count and page on one backend into `rows`; False on a failure."""
    print(f"-- {backend}: nabuur init and seeding {args.posts} posts", flush=True)
    pg_name: str | None = None
    ok = True
    try:
        _, env, pg_name, seeded = await prepare(backend, args, workdir)
        resident = seeded["resident"]
        args.cookie = (
            f"nabuur_session={resident['session']}; nabuur_csrf={resident['csrf']}"
            if resident
            else ""
        )
        by = ", ".join(f"{k} {v}" for k, v in seeded["by"].items())
        print(
            f"   seeded in {seeded['seconds']:.1f} s: {seeded['posts']} posts over "
            f"{len(seeded['hoods'])} neighbourhoods ({seeded['public_open']} public and open), "
            f"{seeded['responses']} responses, {seeded['accounts']} accounts, "
            f"{seeded['remote_posts']} remote posts\n   posts by {by}",
            flush=True,
        )
        paths = {
            "neighbourhood": [f"/n/{slug}" for slug in seeded["hoods"]],
            "request": [f"/r/{post_id}" for post_id in seeded["sample"]],
        }
        files = {}
        for page in args.pages:
            files[page] = workdir / f"paths-{backend}-{page}.txt"
            files[page].write_text("\n".join(paths[page]) + "\n")
        nabuur = str(VENV_BIN / "nabuur")
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for workers in args.workers:
                port = free_port()
                log = workdir / f"node-{backend}-w{workers}.log"
                argv = [nabuur, "run", "--port", str(port), "--workers", str(workers)]
                node = NodeProcess(argv, env, log, port)
                print(f"   nabuur run --workers {workers} on {node.url}", flush=True)
                node.start()
                try:
                    await node.wait_healthy(session)
                    for page in args.pages:
                        row = await measure_page(
                            page, files[page], node, backend, workers, args, wrk, session, pg_name
                        )
                        rows.append(row)
                        print(row_detail(row), flush=True)
                except RuntimeError as exc:  # this node failed; the next one may not
                    print(f"!! {backend}, {workers} worker(s): {exc}", file=sys.stderr)
                    ok = False
                finally:
                    node.stop()
        return ok
    finally:
        if pg_name is not None:
            await pg_admin(args.pg_admin, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


# --- printing -----------------------------------------------------------------------------


def _ms(value: float) -> str:
    """Milliseconds; "forever" is more than the request timeout."""
    return f">{REQUEST_TIMEOUT * 1000:.0f}" if value == INF else f"{value:.1f}"


def _failures(load: Load | None) -> str:
    if load is None:
        return "-"
    text = ", ".join(f"{k}: {v}" for k, v in load.failures.items()) or "none"
    if load.timeouts:
        text += f"; {load.timeouts} without an answer within {REQUEST_TIMEOUT:.0f} s (slow)"
    return text


def row_detail(row: Row) -> str:
    lines = [
        f"== {row.backend}, {row.workers} worker(s), {row.page} page ({row.check}; machine "
        f"{row.background:.0%} busy with other processes before) =="
    ]
    if row.serial is not None:
        one = row.serial
        cores = os.cpu_count() or 1
        db = "" if one.db_ms != one.db_ms else f", PostgreSQL {one.db_ms:.1f} ms"
        lines += [
            f"  one connection ({one.tool}): {one.rps:,.0f} req/s, p50 {_ms(one.p50_ms)} ms, p99 "
            f"{_ms(one.p99_ms)} ms; CPU per page: node {one.node_ms:.1f} ms{db} (so at most "
            f"{cores * 1000 / one.node_ms:,.0f} req/s if the node had all {cores} cores "
            f"to itself); non-200/errors {_failures(one)}",
        ]
    if row.saturated is not None:
        s = row.saturated
        lines += [
            f"  saturated ({s.tool}, {row.connections} connections): {s.rps:,.0f} req/s "
            f"({s.requests} answers in {s.seconds:.1f} s), p50 {_ms(s.p50_ms)} ms, p99 "
            f"{_ms(s.p99_ms)} ms, max {_ms(s.max_ms)} ms; non-200/errors {_failures(s)}",
            f"    CPU: {s.cpu()}",
        ]
    if row.steady is not None:
        t = row.steady
        lines += [
            f"  steady (open loop, {row.rate:.0f}/s due over {t.due_seconds:.0f} s): "
            f"{t.rps:,.0f} answers/s, p50 {_ms(t.p50_ms)} ms, p99 {_ms(t.p99_ms)} ms, max "
            f"{_ms(t.max_ms)} ms (the generator's own send lag: p99 {_ms(t.lag_p99_ms)} ms); "
            f"non-200/errors {_failures(t)}",
            f"    CPU: {t.cpu()}",
        ]
    if row.steady_skipped:
        lines.append(f"  steady {row.rate:.0f}/s: {row.steady_skipped}")
    if row.failure:
        lines.append(f"  !! {row.failure}")
    if row.profile:
        lines += ["  py-spy profile of the node, one more saturated run:", row.profile]
    return "\n".join(lines)


def _cell(value: float, width: int) -> str:
    return f"{'-':>{width}}" if value != value else f"{value:>{width}.1f}"


def table(rows: list[Row]) -> str:
    head = (
        f"{'backend':8} {'workers':>7} {'page':13} {'check':12} {'busy':>4} | "
        f"{'p50 ms':>7} {'node ms':>7} {'db ms':>5} | "
        f"{'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'non-200':>7} | "
        f"{'rate/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'non-200':>7}"
    )
    over = (
        f"{'':48} | {'one connection':21} | "
        f"{'saturated (' + str(rows[0].connections) + ' connections)':30} | "
        f"steady {rows[0].rate:.0f}/s, open loop"
    )
    lines = [over, head, "-" * len(head)]
    dash = f"{'-':>6} {'-':>7} {'-':>7} {'-':>7}"
    skipped = f"{'-':>6} {'-':>7} {_ms(INF):>7} {'-':>7} (cannot sustain)"
    for row in rows:
        one, s, t = row.serial, row.saturated, row.steady
        lines.append(
            f"{row.backend:8} {row.workers:>7} {row.page:13} {row.check.short:12} "
            f"{s.others if s else row.background:>4.0%} | "
            + (
                f"{_ms(one.p50_ms):>7} {_cell(one.node_ms, 7)} {_cell(one.db_ms, 5)}"
                if one
                else f"{'-':>7} {'-':>7} {'-':>5}"
            )
            + " | "
            + (f"{s.rps:>6,.0f} {_ms(s.p50_ms):>7} {_ms(s.p99_ms):>7} {s.bad:>7}" if s else dash)
            + " | "
            + (
                f"{t.rps:>6,.0f} {_ms(t.p50_ms):>7} {_ms(t.p99_ms):>7} {t.bad:>7}"
                if t
                else skipped
                if row.steady_skipped
                else dash
            )
        )
    lines += [
        "busy: share of the machine's CPU other processes used during the saturated run; "
        "node ms, db ms: CPU time per page of the node and of PostgreSQL, one connection;",
        f"non-200: answers other than 200 and client errors; >{REQUEST_TIMEOUT * 1000:.0f}: "
        f"requests without an answer within {REQUEST_TIMEOUT:.0f} s reach that percentile",
    ]
    return "\n".join(lines)


def verdict(row: Row) -> str:
    where = f"{row.backend:8} {row.workers} worker(s) {row.page:13}"
    if not row.valid:
        why = []
        if not row.check.ok:
            why.append(f"the page answered {row.check}")
        if row.bad:
            failures = {}
            for load in (row.serial, row.saturated, row.steady):
                for k, v in (load.failures if load else {}).items():
                    failures[k] = failures.get(k, 0) + v
            if failures:
                why.append("non-200/errors " + ", ".join(f"{k}: {v}" for k, v in failures.items()))
            runs = (("one-connection", row.serial), ("saturated", row.saturated))
            for name, load in (*runs, ("steady", row.steady)):
                if load is not None and not load.requests:
                    why.append(f"no answer at all in the {name} run")
        if row.failure:
            why.append(row.failure.split("\n", 1)[0])
        return f"NOT A RESULT {where}: " + "; ".join(why or ["not measured"])
    assert row.saturated is not None
    judged_rps = row.workers == TARGET_RPS_WORKERS
    ok_rps = row.saturated.rps >= TARGET_RPS
    p99 = row.steady.p99_ms if row.steady is not None else INF
    ok_p99 = p99 < TARGET_P99_MS
    mark = "PASS" if ok_p99 and (ok_rps or not judged_rps) else "MISS"
    rps_note = (
        f"({'ok' if ok_rps else 'below'} {TARGET_RPS:,.0f})"
        if judged_rps
        else f"(target judged with {TARGET_RPS_WORKERS} workers)"
    )
    return (
        f"{mark} {where}: {row.saturated.rps:,.0f} req/s saturated {rps_note}, p99 "
        f"{_ms(p99)} ms at {row.rate:.0f}/s "
        f"({'ok' if ok_p99 else 'over'} {TARGET_P99_MS:.0f} ms"
        + (", cannot sustain the rate)" if row.steady_skipped else ")")
    )


# --- command line -------------------------------------------------------------------------


def _csv(allowed: tuple[str, ...] | None = None, kind: type = str):
    def parse(text: str) -> list:
        items = [kind(x.strip()) for x in text.split(",") if x.strip()]
        if not items:
            raise argparse.ArgumentTypeError("give at least one value")
        if allowed is not None:
            unknown = [x for x in items if x not in allowed]
            if unknown:
                raise argparse.ArgumentTypeError(
                    f"unknown {unknown[0]!r}; choose from {', '.join(allowed)}"
                )
        return list(dict.fromkeys(items))

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Page speed of a real Nabuur node (the neighbourhood page and the request "
        "page) on a seeded database, with 1 and 2 server processes, on SQLite and PostgreSQL. "
        f"Targets: {TARGET_RPS:,.0f} requests/s with {TARGET_RPS_WORKERS} workers, p99 under "
        f"{TARGET_P99_MS:.0f} ms at a steady {TARGET_RATE:.0f} requests/s."
    )
    parser.add_argument(
        "--backends",
        type=_csv(("sqlite", "postgres")),
        default=["sqlite", "postgres"],
        help="comma-separated: sqlite,postgres (default both)",
    )
    parser.add_argument(
        "--workers",
        type=_csv(kind=int),
        default=[1, 2],
        help="comma-separated server process counts for `nabuur run --workers` (default 1,2)",
    )
    parser.add_argument(
        "--pages",
        type=_csv(PAGES),
        default=list(PAGES),
        help="comma-separated: neighbourhood,request (default both)",
    )
    parser.add_argument(
        "--posts", type=int, help=f"requests and offers to seed (default {FULL['posts']:,})"
    )
    parser.add_argument(
        "--duration", type=int, help=f"seconds per measured run (default {FULL['duration']})"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        help=f"seconds of saturated load before measuring, not counted (default {FULL['warmup']})",
    )
    parser.add_argument(
        "--connections", type=int, default=64, help="connections when saturating (default 64)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=TARGET_RATE,
        help=f"requests/s of the steady open-loop run (default {TARGET_RATE:.0f})",
    )
    parser.add_argument(
        "--always-steady",
        action="store_true",
        help="run the steady load even when the node saturated below that rate",
    )
    parser.add_argument(
        "--loader",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="saturating load generator: wrk when there (default), or the Python one",
    )
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 2, help="wrk threads (default: cores)"
    )
    parser.add_argument(
        "--paths", type=int, default=1000, help="distinct request pages to load (default 1000)"
    )
    parser.add_argument("--lang", default="nl", help="Accept-Language (default nl)")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="before each page, wait up to this long for other processes on the machine to "
        "use less than --idle-below of it (default 60; 0: do not wait)",
    )
    parser.add_argument(
        "--idle-below",
        type=float,
        default=0.2,
        metavar="SHARE",
        help="what counts as idle, a share of all cores (default 0.2)",
    )
    parser.add_argument(
        "--page-cache",
        type=int,
        default=10,
        help="NABUUR_PAGE_CACHE_SECONDS of the node (default 10, as shipped; 0 renders every page)",
    )
    parser.add_argument(
        "--logged-in",
        action="store_true",
        help="load the pages as a logged-in resident (a live session, unread notifications, "
        "a followed neighbourhood): the page cache never applies, every page is fresh",
    )
    parser.add_argument("--seed", type=int, default=20260, help="random seed of the data")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run: {QUICK['posts']:,} posts, {QUICK['duration']} s runs, "
        f"{QUICK['warmup']} s warm-up (unless given)",
    )
    parser.add_argument(
        "--pg-admin",
        default=os.environ.get(
            "NABUUR_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL URL to create and drop the benchmark database with",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="sample the node with py-spy in one extra saturated run per page; stacks go to DIR",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    args.cookie = ""  # set per backend once seeded, with --logged-in
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.posts < 100 or args.duration < 1 or args.warmup < 0:
        parser.error("--posts must be at least 100, --duration at least 1, --warmup >= 0")
    if args.connections < 1 or args.rate <= 0 or args.paths < 1 or args.threads < 1:
        parser.error("--connections, --rate, --paths and --threads must be positive")
    if any(not 1 <= w <= 32 for w in args.workers):
        parser.error("--workers: each between 1 and 32")
    if args.py_spy:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows: list[Row] = []
    wrk = find_wrk(args.loader)
    outcomes, failed = run_backends(
        args.backends,
        "nabuur-pages-",
        args.keep,
        lambda backend, workdir: asyncio.run(run_backend(backend, args, workdir, wrk, rows)),
    )
    failed = failed or not all(outcomes)
    if rows:
        print()
        print(
            f"posts={args.posts} duration={args.duration}s warm-up={args.warmup}s "
            f"connections={args.connections} steady={args.rate:.0f}/s lang={args.lang} "
            f"{'logged-in ' if args.logged_in else ''}"
            f"cores={os.cpu_count()} host={socket.gethostname()} "
            f"at {datetime.now().astimezone():%Y-%m-%d %H:%M}"
        )
        print(table(rows))
        print()
        print(
            f"Targets: >= {TARGET_RPS:,.0f} req/s saturated with {TARGET_RPS_WORKERS} workers; "
            f"p99 < {TARGET_P99_MS:.0f} ms at a steady {TARGET_RATE:.0f} req/s."
        )
        for row in rows:
            print(verdict(row))
    return 1 if failed or any(not r.valid for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
