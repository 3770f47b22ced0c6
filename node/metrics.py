"""/metrics: the node's figures in the Prometheus text format, for its operator only.

Off unless `metrics_token` is set, and then only a GET with `Authorization: Bearer
<token>` reads it (`node.ops` answers it, compared in constant time). Any other request
goes on to the pages, which have no /metrics: it gets the 404 of any unknown page, so
the public cannot even tell whether metrics are on (a 401 would confirm the endpoint
and invite guessing the token).

Two kinds of figures:
- *counted by the processes* (inbox outcomes, HTTP latency per route family, database
  pool use), kept by prometheus-client. `nabuur run --workers N` has N processes: the
  parent gives them one directory for prometheus-client's multiprocess mode
  (`prepare_process_directory`), so any process that answers a scrape reports the sum
  over all of them (a counter of a process that ended stays in the sum until the node
  restarts, as a counter must). `nabuur worker` processes count nothing of their own.
- *read from the database at scrape time* (queue depths, lags, deliveries by status,
  unavailable hosts, stuck queues; `node.queue_stats`): the same for every process and
  every machine, whoever works the queues.

prometheus-client is imported only when metrics are on (`enable`): an idle node without
a token does not pay for it. Label values come from small fixed sets (route families,
status classes, refusal reasons), never from paths or senders: every label value is a
series kept in memory for the life of the process.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.types import Scope

from node.config import Settings, SettingsError, env_name

if TYPE_CHECKING:
    from node.queue_stats import QueueFigures

log = logging.getLogger("nabuur.metrics")

PATH = "/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the Prometheus text format
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

FAMILIES = ("inbox", "activitypub", "pages", "admin", "static", "feeds", "other")
# Why an inbox POST was not stored. "duplicate" is not here: the store drops a repeated
# activity id in its INSERT and does not tell, so a repeat counts as accepted.
REFUSALS = (
    "invalid",  # 400: not JSON, not an activity, or an id off the actor's host
    "bad_signature",  # 401: no or a wrong signature, an unusable key, signer ≠ actor
    "too_large",  # 413
    "unsupported_type",  # 415: not application/activity+json
    "domain_blocked",  # 202 and dropped: the sender's domain is blocked here
    "key_unavailable",  # 503: the sender's key could not be fetched now
    "store_failed",  # 503: the database did not answer (to store it, or a look-up before)
)
_REFUSAL_BY_STATUS = {
    400: "invalid",
    401: "bad_signature",
    413: "too_large",
    415: "unsupported_type",
}
_OTHER_PATHS = frozenset({"/healthz", "/readyz", PATH, "/robots.txt"})
_ACTOR_PREFIXES = ("/@", "/n/", "/o/", "/actor/")
_COLLECTIONS = ("/outbox", "/followers", "/following")
_FEEDS = ("/feed.rss", "/feed.atom", "/calendar.ics")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
POOL_SAMPLE_SECONDS = 1.0


class _Instruments:
    """The process's counters, created once per process when metrics are on."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

        # `*_created` series exist only in one-process mode: leave them out everywhere.
        disable_created_metrics()

        kw: dict[str, Any] = {"registry": None}  # collected per scrape, not globally
        self.received = Counter(
            "nabuur_inbox_received", "Inbox POSTs received (accepted + refused + errors)", **kw
        )
        self.accepted = Counter(
            "nabuur_inbox_accepted", "Inbox POSTs stored and answered 202", **kw
        )
        self.refused = Counter(
            "nabuur_inbox_refused", "Inbox POSTs refused or dropped, by reason", ["reason"], **kw
        )
        self.latency = Histogram(
            "nabuur_http_request_duration_seconds",
            "Time to answer HTTP requests, by route family",
            ["family"],
            buckets=LATENCY_BUCKETS,
            **kw,
        )
        self.responses = Counter(
            "nabuur_http_responses",
            "HTTP responses by route family and status class",
            ["family", "status_class"],
            **kw,
        )
        # Summed over the live web processes (each has its own pool).
        pool: dict[str, Any] = {"multiprocess_mode": "livesum", **kw}
        self.pool_open = Gauge("nabuur_db_pool_open", "Database connections open", **pool)
        self.pool_idle = Gauge("nabuur_db_pool_idle", "Open database connections idle", **pool)
        self.pool_max = Gauge("nabuur_db_pool_max", "Most database connections allowed", **pool)
        for reason in REFUSALS:  # every series exists from the start, at 0
            self.refused.labels(reason)
        self.all = (self.received, self.accepted, self.refused, self.latency, self.responses)
        self.all += (self.pool_open, self.pool_idle, self.pool_max)
        self.pool_sampled_at = 0.0


_instruments: _Instruments | None = None


def enable() -> None:
    """Turn counting on in this process (idempotent); imports prometheus-client."""
    global _instruments
    if _instruments is None:
        _instruments = _Instruments()


_prepared_by: int | None = None  # the process that made this node's directory


def process_directory(port: int) -> Path:
    """Where the processes of the node serving `port` share their counters."""
    return Path(tempfile.gettempdir()) / f"nabuur-metrics-{os.getuid()}-{port}"


def prepare_process_directory(settings: Settings) -> Path | None:
    """Give the server processes about to start one fresh directory for their counters.

    Called by `nabuur run` before it starts serving (and before prometheus-client is
    imported anywhere): the variable is inherited by the worker processes. Counts of an
    earlier run are removed, so every start begins at zero as counters should.
    """
    if not settings.metrics_token:
        return None
    path = process_directory(settings.port)
    try:
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            # In a shared /tmp someone else could have made it first: refuse theirs.
            if path.is_symlink() or not path.is_dir() or path.lstat().st_uid != os.getuid():
                raise SettingsError(
                    env_name("metrics_token"), f"{path} exists and is not this user's directory"
                ) from None
            path.chmod(0o700)
        for leftover in path.glob("*.db"):
            leftover.unlink()
    except OSError as exc:
        raise SettingsError(
            env_name("metrics_token"), f"cannot keep the counters in {path}: {exc.strerror}"
        ) from None
    os.environ[MULTIPROCESS_ENV] = str(path)
    global _prepared_by
    _prepared_by = os.getpid()
    # Removed when the node stops: by the serving process itself (`process_stopped`), or
    # by the parent of several at its exit. (A parent ended by SIGTERM dies of it without
    # running atexit: the next start on this port cleans up.)
    atexit.register(_remove_directory, path)
    return path


def _remove_directory(path: Path) -> None:
    if os.getpid() == _prepared_by:  # never a process that only shares it
        shutil.rmtree(path, ignore_errors=True)


def process_stopped() -> None:
    """Drop this process's pool figures from the sums (its counters stay counted)."""
    directory = os.environ.get(MULTIPROCESS_ENV)
    if _instruments is not None and directory:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid(), directory)
        _remove_directory(Path(directory))  # when this one process is the whole node


# --- what the rest of the node calls: each a no-op while metrics are off ---------------


def inbox_received() -> None:
    if _instruments is not None:
        _instruments.received.inc()


def inbox_accepted() -> None:
    if _instruments is not None:
        _instruments.accepted.inc()


def inbox_refused(reason: str | int) -> None:
    """Count a refusal: a name from REFUSALS, or the HTTP status answered."""
    if _instruments is not None:
        name = _REFUSAL_BY_STATUS.get(reason, "invalid") if isinstance(reason, int) else reason
        _instruments.refused.labels(name).inc()


def family_of(scope: Scope) -> str:
    """Which of FAMILIES a request belongs to, from its path (and Accept header)."""
    path: str = scope.get("path", "")
    if path.endswith("/inbox"):
        return "inbox"
    if path == "/admin" or path.startswith("/admin/"):
        return "admin"
    if path.startswith(("/static/", "/media/")) or path == "/favicon.ico":
        return "static"
    if path.endswith(_FEEDS):
        return "feeds"
    if path in _OTHER_PATHS:
        return "other"
    if path.startswith(("/.well-known/", "/nodeinfo/", "/activities/")) or path == "/actor":
        return "activitypub"
    if path.startswith(_ACTOR_PREFIXES) and path.endswith(_COLLECTIONS):
        return "activitypub"
    if path.startswith(("/@", "/n/", "/o/", "/r/")) and _asks_for_activitypub(scope):
        return "activitypub"  # an actor or post document at its page's address
    return "pages"


def _asks_for_activitypub(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"accept":
            return b"activity+json" in value or b"ld+json" in value
    return False


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """Count one answered request (called by the request log middleware)."""
    if _instruments is None:
        return
    family = family_of(scope)
    _instruments.latency.labels(family).observe(seconds)
    _instruments.responses.labels(family, f"{min(max(status // 100, 1), 5)}xx").inc()
    now = time.monotonic()
    if now - _instruments.pool_sampled_at >= POOL_SAMPLE_SECONDS:
        _instruments.pool_sampled_at = now
        _sample_pool(_instruments)


def _sample_pool(instruments: _Instruments) -> None:
    from tortoise import connections

    with contextlib.suppress(Exception):  # not open yet, or being closed: keep the last
        client = connections.get("default")
        pool = getattr(client, "_pool", None)
        if pool is not None:  # asyncpg
            instruments.pool_open.set(pool.get_size())
            instruments.pool_idle.set(pool.get_idle_size())
            instruments.pool_max.set(pool.get_max_size())
        elif hasattr(client, "_lock"):  # SQLite: one connection, busy inside a transaction
            instruments.pool_open.set(1)
            instruments.pool_idle.set(0 if client._lock.locked() else 1)
            instruments.pool_max.set(1)


# --- the endpoint -----------------------------------------------------------------------


def token_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries `token` as a bearer token (constant time)."""
    scheme, _, given = (header or "").strip().partition(" ")
    # Hashing first makes the comparison independent of the lengths too.
    given_digest = hashlib.sha256(given.strip().encode("utf-8", "replace")).digest()
    expected = hashlib.sha256(token.encode()).digest()
    return hmac.compare_digest(given_digest, expected) and scheme.lower() == "bearer"


async def render() -> bytes:
    """The whole /metrics page. Without the database, the process counters still come,
    with `nabuur_database_up 0`: a scrape is most useful when something is wrong."""
    from node import queue_stats
    from node.db_faults import fault_of

    try:
        figures = await queue_stats.collect()
    except Exception as exc:
        fault = fault_of(exc)
        if fault is None:  # a bug stays a bug, with its traceback
            raise
        log.warning("metrics without the database's figures: %s", fault.cause)
        figures = None
    return _render(figures)


def _render(figures: QueueFigures | None) -> bytes:
    from prometheus_client import CollectorRegistry, generate_latest

    enable()
    assert _instruments is not None
    _sample_pool(_instruments)
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get(MULTIPROCESS_ENV)
    if directory and os.path.isdir(directory):
        from prometheus_client import multiprocess

        _forget_dead_processes(directory)
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:  # one process: its own instruments are the whole truth
        for instrument in _instruments.all:
            registry.register(instrument)
    registry.register(_DatabaseCollector(figures))
    return generate_latest(registry)


def _forget_dead_processes(directory: str) -> None:
    """Drop the pool figures of processes that died without saying so (a crash, a kill):
    the server restarts them under new ids, and their last figures must not add up."""
    from prometheus_client import multiprocess

    for file in Path(directory).glob("gauge_live*_*.db"):
        pid = file.stem.rsplit("_", 1)[1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)  # signal 0: only asks whether it exists
        except ProcessLookupError:
            multiprocess.mark_process_dead(int(pid), directory)
        except PermissionError:  # alive, as another user: not ours, leave it
            pass


class _DatabaseCollector:
    """The figures read from the database for one scrape, as metric families."""

    def __init__(self, figures: QueueFigures | None) -> None:
        self.figures = figures

    def collect(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily(
            "nabuur_database_up", "1 when the database answered this scrape's queries"
        )
        up.add_metric([], 0 if self.figures is None else 1)
        yield up
        if self.figures is None:
            return
        for name, help_text, label, values in self.figures.families():
            family = GaugeMetricFamily(name, help_text, labels=[label] if label else None)
            for key, value in values.items():
                family.add_metric([key] if label else [], value)
            yield family
