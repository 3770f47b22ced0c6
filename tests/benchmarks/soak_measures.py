"""What the soak measures besides the answers: memory of every process over time, the
node's queues (read from its tables), and every delivery checked against what was due.

RSS is read from /proc/<pid>/status (VmRSS, the process and its children) every
`interval` seconds, and each process gets a least-squares slope in MB per minute, over the
whole run and over its second half (once caches are warm: what "flat" is judged on).
Queues are counted in the tables only, whatever the workers do: inbox items not yet
processed, ignored or rejected; events not handled; deliveries not sent, failed or
cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.benchmarks.inbox import PostgresProbe, percentile
from tests.benchmarks.soak_load import NO_ANSWER, Channel, Published

QUEUE_SECONDS = 5.0  # how often the queue depths are read during the load
QUEUE_SQL = {
    "inbox items": "SELECT count(*) FROM inbox_items "
    "WHERE status NOT IN ('processed', 'ignored', 'rejected')",
    "events": "SELECT count(*) FROM events WHERE handled_at IS NULL",
    "deliveries": "SELECT count(*) FROM deliveries "
    "WHERE status NOT IN ('sent', 'failed', 'cancelled')",
}


def rss_kb(pid: int) -> int | None:
    """VmRSS of this one process (inbox.proc_status adds its children: the soak's are the
    node's processes)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of this one process (its threads included, not its children)."""
    try:
        fields_ = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


async def queue_depths(probe: PostgresProbe) -> dict[str, int]:
    return {name: int(await probe.scalar(sql) or 0) for name, sql in QUEUE_SQL.items()}


async def drain(probe: PostgresProbe, within: float) -> tuple[float, dict[str, int]]:
    """Wait until every queue is empty, at most `within` s; (seconds waited, depths left)."""
    start = time.monotonic()
    while True:
        depths = await queue_depths(probe)
        waited = time.monotonic() - start
        if not any(depths.values()) or waited >= within:
            return waited, depths
        await asyncio.sleep(1.0)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x; nan with fewer than two distinct x."""
    if len(points) < 2:
        return float("nan")
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return float("nan")
    return sum((x - mx) * (y - my) for x, y in points) / sxx


@dataclass
class Sampler:
    """RSS and CPU of named processes every `interval` seconds, and the queue depths."""

    probe: PostgresProbe
    interval: float
    pids: dict[str, int]
    rss: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (min, MB)
    depths: list[dict[str, int]] = field(default_factory=list)
    cpu0: dict[str, tuple[float, float]] = field(default_factory=dict)  # (when, CPU s)
    cpu: dict[str, float] = field(default_factory=dict)  # share of a core over the run
    started: float = field(default_factory=time.monotonic)
    last_rss: float = 0.0

    def sample_rss(self) -> None:
        minute = (time.monotonic() - self.started) / 60
        for name, pid in list(self.pids.items()):
            kb = rss_kb(pid)
            if kb:
                self.rss.setdefault(name, []).append((minute, kb / 1024))
            self.cpu0.setdefault(name, (time.monotonic(), cpu_seconds(pid)))
        self.last_rss = time.monotonic()

    async def run(self, seconds: float) -> None:
        """RSS at 0, interval, 2 x interval... and at the end; queues every few seconds."""
        self.started = time.monotonic()
        end = self.started + seconds
        next_rss = self.started
        while True:
            if time.monotonic() >= next_rss - 0.05:
                self.sample_rss()
                next_rss += self.interval
            self.depths.append(await queue_depths(self.probe))
            left = end - time.monotonic()
            if left <= 0.05:
                break
            await asyncio.sleep(max(0.0, min(QUEUE_SECONDS, left, next_rss - time.monotonic())))
        if time.monotonic() - self.last_rss > 1.0:
            self.sample_rss()
        for name, (since, cpu) in self.cpu0.items():
            wall = max(time.monotonic() - since, 1e-9)
            self.cpu[name] = (cpu_seconds(self.pids[name]) - cpu) / wall

    def slopes(self, name: str) -> tuple[float, float]:
        """(MB per minute over all samples, over the later half of them)."""
        points = self.rss.get(name, [])
        return slope(points), slope(points[len(points) // 2 :])


# --- deliveries -----------------------------------------------------------------------------


@dataclass
class Deliveries:
    """Every activity the receivers verified, against the inboxes each request was due at."""

    expected: int = 0
    verified: int = 0  # distinct (request, inbox) pairs reached
    missing: int = 0
    duplicates: int = 0  # the same activity at the same inbox again (all activities)
    latencies: list[float] = field(default_factory=list)  # publish POST -> arrival, s
    last_inbox: list[float] = field(default_factory=list)  # per request, s
    other_types: Counter[str] = field(default_factory=Counter)  # besides one Announce each
    missing_examples: list[str] = field(default_factory=list)
    duplicate_examples: list[str] = field(default_factory=list)


def account(records: list[list[Any]], published: list[Published], due: set[str]) -> Deliveries:
    """Check the receivers' records: each published request at each due inbox, once."""
    out = Deliveries()
    seen: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], float] = {}  # (note, inbox) -> first arrival
    notes = {p.note for p in published}
    for arrived, inbox, activity_id, kind, _actor, note in records:
        seen[(activity_id, inbox)] += 1
        if note not in notes:
            continue
        if kind != "Announce" or (note, inbox) in first:
            out.other_types[kind] += 1
        first.setdefault((note, inbox), arrived)
    for (activity_id, inbox), n in seen.items():
        if n > 1:
            out.duplicates += n - 1
            if len(out.duplicate_examples) < 3:
                out.duplicate_examples.append(f"{activity_id} -> {inbox} x{n}")
    for item in published:
        arrivals = []
        for inbox in sorted(due):
            out.expected += 1
            at = first.get((item.note, inbox))
            if at is None:
                out.missing += 1
                if len(out.missing_examples) < 3:
                    out.missing_examples.append(f"{item.note} -> {inbox}")
                continue
            out.verified += 1
            arrivals.append(at - item.sent_at)
        out.latencies += arrivals
        if arrivals:
            out.last_inbox.append(max(arrivals))
    return out


def fanout_channel(records: list[list[Any]], failures: dict[str, int], d: Deliveries) -> Channel:
    """The receivers' answers to the node (202 verified, 401 refused), publish -> arrival."""
    channel = Channel("fan-out")
    channel.statuses["202"] = len(records)
    if failures:
        channel.statuses["401"] = sum(failures.values())
    ordered = sorted(d.latencies)
    channel.p50_ms = percentile(ordered, 0.50) * 1000
    channel.p99_ms = percentile(ordered, 0.99) * 1000
    return channel


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit)\b.*")


def log_summary(path: Path) -> str | None:
    """How many errors a process logged, and its most frequent exceptions; None if none."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    errors = sum(1 for line in lines if "ERROR" in line or "CRITICAL" in line)
    tracebacks = sum(1 for line in lines if line.startswith("Traceback"))
    exceptions = Counter(m.group(0)[:160] for line in lines if (m := EXCEPTION_LINE.match(line)))
    if not errors and not tracebacks and not exceptions:
        return None
    top = "; ".join(f"{text} x{n}" for text, n in exceptions.most_common(2))
    return f"{errors} error lines, {tracebacks} tracebacks" + (f"; {top}" if top else "")


def channel_row(channel: Channel) -> str:
    classes = channel.classes()
    answers = ", ".join(f"{k} {v}" for k, v in sorted(classes.items())) or "none"
    others = {
        k: v for k, v in sorted(channel.statuses.items()) if not (k.isdigit() and k[0] in "23")
    }
    bad = ", ".join(f"{k}: {v}" for k, v in others.items()) or "none"
    if channel.failed_at:
        bad += f" (due {min(channel.failed_at):.0f}-{max(channel.failed_at):.0f} s into the load)"
    return (
        f"  {channel.name:8} {channel.total:7} answers ({answers}); p50 "
        f"{channel.percentile_ms(0.50):7.1f} ms, p99 {channel.percentile_ms(0.99):7.1f} ms; "
        f"non-2xx/3xx: {bad}"
    )


def server_errors(channel: Channel) -> int:
    """5xx answers and requests that got no answer at all (they may hide a 5xx)."""
    classes = channel.classes()
    return classes["5xx"] + classes[NO_ANSWER]
