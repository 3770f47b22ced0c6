"""`nabuur check`: what is wrong with this node, one plain line each, with what to do.

The checks, in order; a database check is skipped when an earlier one makes it moot:
- settings that are risky in production (a proxy list that trusts everyone, a public
  URL in plain http, private addresses allowed off loopback);
- the database: reachable; migrations behind (or ahead of) this code; initialised;
- keys: the node, each neighbourhood and organisation has a key pair that matches;
  residents get theirs lazily (`node.services.actor_keys`), so only half a pair counts;
- queues: received activities, deliveries and events due for more than `STUCK` while
  none was processed meanwhile (no worker runs, or it is wedged); leases long expired;
- the clock of this machine against the database server's (PostgreSQL only).

A *problem* makes the command exit 1; a *note* is worth knowing and does not.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from tortoise import connections
from tortoise.expressions import Q
from tortoise.models import Model

from node import db, key_inventory, mail_settings
from node.backup_tables import MIGRATIONS_TABLE, applied_migrations, code_migrations
from node.backup_tables import existing_tables as _tables
from node.config import Settings
from node.models import (
    Delivery,
    DeliveryStatus,
    Event,
    InboxItem,
    InboxStatus,
    MailMessage,
    NodeSettings,
)
from node.states import MailStatus
from node.timeutil import as_utc, utcnow

STUCK = timedelta(minutes=10)
MAX_CLOCK_SKEW = timedelta(seconds=30)
WORKER_HINT = "is a worker running (`nabuur run`, or `nabuur worker` when NABUUR_RUN_WORKERS=0)?"


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fine: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [f"problem: {text}" for text in self.problems]
        lines += [f"note: {text}" for text in self.notes]
        lines += [f"ok: {text}" for text in self.fine]
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s) found.")
        else:
            lines.append("No problem found.")
        return lines


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_settings(settings: Settings, report: Report) -> None:
    everyone = [net for net in settings.trusted_proxies if net in ("0.0.0.0/0", "::/0")]
    if everyone:
        report.problems.append(
            f"{settings.source_of('trusted_proxies') or 'trusted_proxies'} trusts "
            f"{', '.join(everyone)}: any client can choose the address its log-in and "
            "sign-up limits count against; list only your proxy's addresses"
        )
    url = urlsplit(settings.public_url)
    local = _is_loopback(url.hostname)
    if settings.base_url is None and not _is_loopback(settings.host):
        report.problems.append(
            f"NABUUR_BASE_URL is not set while the node listens on {settings.host}: other "
            f"servers would see its actors at {settings.public_url}; set it to the node's "
            "public https address"
        )
    if url.scheme == "http" and not local:
        report.problems.append(
            f"the public URL {settings.public_url} is plain http: other servers and "
            "browsers need https; put a TLS proxy in front and set NABUUR_BASE_URL=https://..."
        )
    if settings.allow_private_addresses and not local:
        report.problems.append(
            "NABUUR_ALLOW_PRIVATE_ADDRESSES is on while the node is public: other servers "
            "could make it fetch addresses of your private network; turn it off"
        )
    _check_mail_settings(settings, report)
    if not report.problems:
        report.fine.append(f"settings: public URL {settings.public_url}")


def _check_mail_settings(settings: Settings, report: Report) -> None:
    if (settings.smtp_url is None) != (settings.mail_from is None):
        missing = "NABUUR_MAIL_FROM" if settings.mail_from is None else "NABUUR_SMTP_URL"
        report.problems.append(
            f"{missing} is not set while the other e-mail setting is: the node sends no "
            "e-mail (no confirmations, password resets or notifications); set both"
        )
    if settings.signup_requires_email and not settings.mail_enabled:
        report.problems.append(
            "NABUUR_SIGNUP_REQUIRES_EMAIL is on but the node sends no e-mail: addresses "
            "could never be confirmed; set NABUUR_SMTP_URL and NABUUR_MAIL_FROM"
        )
    if settings.smtp_url is None:
        return
    server = mail_settings.parse(settings.smtp_url)
    if server.tls == "none" and not _is_loopback(server.host):
        report.problems.append(
            f"NABUUR_SMTP_URL talks to {server.host} without TLS: passwords and messages "
            "cross the network readable; use smtp+starttls:// or smtps://"
        )


async def _open(settings: Settings, report: Report) -> bool:
    path = db.sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        report.problems.append(f"there is no database at {path}: run `nabuur init`")
        return False
    try:
        await db.open_database(settings.database_url)
        await db.ping()
    except Exception as exc:  # whatever the driver raises, the answer is "unreachable"
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        report.problems.append(
            f"cannot reach the database ({reason}): is the database server running, and "
            "is NABUUR_DATABASE_URL right?"
        )
        return False
    report.fine.append(f"database: reachable ({'SQLite' if path else 'PostgreSQL'})")
    return True


async def check_schema(report: Report) -> bool:
    """Whether the database is at this code's migrations and initialised."""
    if MIGRATIONS_TABLE not in await _tables():
        report.problems.append("the database has no Nabuur tables: run `nabuur init`")
        return False
    known, applied = code_migrations(), await applied_migrations()
    unknown = sorted(set(applied) - set(known))
    if unknown:
        report.problems.append(
            f"the database has {len(unknown)} migration(s) this Nabuur does not know "
            f"({unknown[-1]}): it was upgraded by a newer Nabuur; install that version"
        )
        return False
    behind = [name for name in known if name not in applied]
    if behind:
        report.problems.append(
            f"the database is {len(behind)} migration(s) behind: run `nabuur migrate` "
            "(further checks wait for it)"
        )
        return False
    report.fine.append(f"migrations: all {len(known)} applied ({known[-1]})")
    if not await NodeSettings.exists(id=key_inventory.NODE_ROW_ID):
        report.problems.append("this node is not initialised: run `nabuur init`")
        return False
    return True


async def check_keys(report: Report, make_keys: bool) -> None:
    if make_keys:
        for who in await key_inventory.make_missing():
            report.notes.append(f"made a new key pair for {who}")
    problems = await key_inventory.problems()
    for problem in problems:
        if "not its private key" in problem:
            report.problems.append(f"{problem}: restore its keys from a backup")
        else:
            report.problems.append(
                f"{problem}: restore it from a backup if it had keys before, else run "
                "`nabuur check --make-keys`"
            )
    if not problems:
        report.fine.append("keys: the node, neighbourhoods and organisations have their pairs")


def _since(moment: datetime, now: datetime) -> str:
    minutes = int((now - as_utc(moment)).total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


async def _queue(
    report: Report,
    label: str,
    model: type[Model],
    due: Q,
    oldest_field: str,
    recent: Q,
    now: datetime,
) -> None:
    cutoff = now - STUCK
    lease_over = Q(locked_until=None) | Q(locked_until__lt=cutoff)
    waiting = model.filter(due, lease_over)
    count = await waiting.count()
    if not count:
        report.fine.append(f"{label}: nothing waiting longer than {_since(cutoff, now)}")
        return
    firsts = await waiting.order_by(oldest_field).limit(1).values_list(oldest_field, flat=True)
    abandoned = await waiting.filter(locked_until__lt=cutoff).count()
    claimed = f", {abandoned} of them claimed by a worker that stopped" if abandoned else ""
    age = _since(firsts[0], now) if firsts and firsts[0] else "long"
    if await model.filter(recent).exists():
        report.notes.append(
            f"{label}: {count} waiting for more than {_since(cutoff, now)} (the oldest "
            f"{age}){claimed}; the workers are behind: add a `nabuur worker` (PostgreSQL)"
        )
    else:
        report.problems.append(
            f"{label}: {count} waiting for up to {age}{claimed}, and none processed in the "
            f"last {_since(cutoff, now)}: stuck; {WORKER_HINT} Its log says why"
        )


async def check_queues(report: Report) -> None:
    now = utcnow()
    cutoff = now - STUCK
    await _queue(
        report,
        "received activities",
        InboxItem,
        Q(status=InboxStatus.PENDING, received_at__lt=cutoff)
        | Q(status=InboxStatus.RETRY, next_attempt_at__lt=cutoff),
        "received_at",
        Q(processed_at__gte=cutoff),
        now,
    )
    await _queue(
        report,
        "deliveries",
        Delivery,
        Q(status=DeliveryStatus.PENDING, next_attempt_at__lt=cutoff),
        "next_attempt_at",
        Q(sent_at__gte=cutoff),
        now,
    )
    await _queue(
        report,
        "e-mails",
        MailMessage,
        Q(status=MailStatus.PENDING, next_attempt_at__lt=cutoff),
        "next_attempt_at",
        Q(sent_at__gte=cutoff),
        now,
    )
    await _queue(
        report,
        "events to federate",
        Event,
        Q(handled_at=None, created_at__lt=cutoff),
        "created_at",
        Q(handled_at__gte=cutoff),
        now,
    )


async def check_clock(settings: Settings, report: Report) -> None:
    if db.is_sqlite(settings.database_url):
        report.fine.append("clock: no database server to compare with on SQLite (not applicable)")
        return
    before = utcnow()
    rows = await connections.get("default").execute_query_dict("SELECT now() AS now")
    after = utcnow()
    skew = as_utc(rows[0]["now"]) - (before + (after - before) / 2)
    seconds = skew.total_seconds()
    if abs(skew) > MAX_CLOCK_SKEW:
        side = "behind" if seconds > 0 else "ahead of"
        report.problems.append(
            f"this machine's clock is {abs(seconds):.0f} s {side} the database server's: "
            "leases and signature dates depend on it; keep both synchronised (chrony or "
            "systemd-timesyncd)"
        )
    else:
        report.fine.append(f"clock: within {abs(seconds):.1f} s of the database server's")


async def check(settings: Settings, *, make_keys: bool = False) -> Report:
    report = Report()
    check_settings(settings, report)
    if not await _open(settings, report):
        return report
    try:
        if await check_schema(report):
            await check_keys(report, make_keys)
            await check_queues(report)
        await check_clock(settings, report)
    except Exception as exc:  # a failing query is itself a finding, not a traceback
        report.problems.append(f"the database failed during the checks ({type(exc).__name__})")
    finally:
        await db.close_database()
    return report
