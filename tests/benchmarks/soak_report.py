"""The soak's results: collected from the receivers and the node's tables, printed, judged.

`print_report` prints every figure and one PASS/MISS line per target, and returns the
targets missed (empty: the run passed).
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

from tests.benchmarks.inbox import PostgresProbe
from tests.benchmarks.soak_load import Channel, Publisher, Replies
from tests.benchmarks.soak_measures import (
    Deliveries,
    Sampler,
    account,
    channel_row,
    drain,
    fanout_channel,
    server_errors,
)
from tests.benchmarks.soak_receivers import Layout, Receivers

NODE_PROCESSES = ("web-", "worker-")  # judged on memory; the others are the soak's own
RSS_JUDGED_FROM_MINUTES = 5.0  # shorter runs have too few samples for a slope to mean much


@dataclass
class Run:
    args: argparse.Namespace
    layout: Layout
    ports: list[int]
    posts: int
    sampler: Sampler | None = None
    pages: Channel | None = None
    inbox: Channel | None = None
    publish: Channel | None = None
    exits: dict[str, int] = field(default_factory=dict)
    drained_after: float = 0.0
    left: dict[str, int] = field(default_factory=dict)
    deliveries: Deliveries = field(default_factory=Deliveries)
    fanout: Channel | None = None
    published: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # by the receivers, by reason
    accepted: int = 0  # replies answered 202
    lost: list[str] = field(default_factory=list)  # of those, not stored as responses
    inbox_statuses: Counter[str] = field(default_factory=Counter)
    delivery_rows: Counter[str] = field(default_factory=Counter)
    logs: dict[str, str] = field(default_factory=dict)  # process -> errors it logged

    def make_sampler(self, probe: PostgresProbe, pids: dict[str, int]) -> Sampler:
        return Sampler(probe, self.args.sample_every, pids)

    async def drain(self, probe: PostgresProbe, within: float) -> tuple[float, dict[str, int]]:
        return await drain(probe, within)

    async def collect(
        self,
        probe: PostgresProbe,
        session: aiohttp.ClientSession,
        receivers: Receivers,
        replies: Replies,
        publisher: Publisher,
    ) -> None:
        got = await receivers.collect(session)
        due = self.layout.inboxes(self.ports)
        self.deliveries = account(got["records"], publisher.published, due)
        self.fanout = fanout_channel(got["records"], got["failures"], self.deliveries)
        self.refused = dict(got["failures"])
        self.inbox, self.publish = replies.channel, publisher.channel
        self.published = len(publisher.published)
        self.accepted = len(replies.accepted)
        prefix = f"{replies.actors.origin}/%{replies.run_id}-%"
        stored = {
            r["object_uri"]
            for r in await probe.conn.fetch(
                "SELECT object_uri FROM responses WHERE object_uri LIKE $1", prefix
            )
        }
        self.lost = sorted(replies.accepted - stored)
        rows = await probe.conn.fetch(
            "SELECT status, count(*) AS n FROM inbox_items WHERE activity_id LIKE $1 "
            "GROUP BY status",
            prefix,
        )
        self.inbox_statuses = Counter({r["status"]: r["n"] for r in rows})
        rows = await probe.conn.fetch(
            "SELECT d.status, count(*) AS n FROM deliveries d "
            "JOIN outbox_activities a ON a.id = d.activity_id "
            "WHERE a.object_uri = ANY($1::text[]) GROUP BY d.status",
            [p.note for p in publisher.published],
        )
        self.delivery_rows = Counter({r["status"]: r["n"] for r in rows})


def _counts(counter: dict[str, int] | Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"


def _rss_lines(run: Run) -> tuple[list[str], list[str]]:
    """The RSS table, and the node processes whose memory rises."""
    sampler = run.sampler
    if sampler is None or not sampler.rss:
        return ["  (no samples)"], []
    judged = run.args.minutes >= RSS_JUDGED_FROM_MINUTES
    lines = [
        f"  {'process':18} {'pid':>7} {'first':>7} {'last':>7} {'peak':>7} "
        f"{'MB/min':>7} {'2nd half':>8} {'CPU':>5}"
    ]
    rising = []
    for name, points in sampler.rss.items():
        whole, second = sampler.slopes(name)
        mbs = [mb for _, mb in points]
        lines.append(
            f"  {name:18} {sampler.pids[name]:7} {mbs[0]:7.1f} {mbs[-1]:7.1f} {max(mbs):7.1f} "
            f"{whole:+7.2f} {second:+8.2f} {sampler.cpu.get(name, float('nan')):5.0%}"
        )
        if judged and name.startswith(NODE_PROCESSES) and second > run.args.max_rss_slope:
            rising.append(f"{name} {second:+.2f} MB/min")
    samples = len(next(iter(sampler.rss.values())))
    lines.append(
        f"  ({samples} samples every {run.args.sample_every:g} s; slope by least squares; "
        f"CPU as a share of one core)"
    )
    if not judged:
        lines.append(f"  (slopes not judged: runs shorter than {RSS_JUDGED_FROM_MINUTES:g} min)")
    return lines, rising


def print_report(run: Run) -> list[str]:
    """Print the figures and the verdict; returns the targets missed."""
    a, d = run.args, run.deliveries
    per_request = len(run.layout.inboxes(run.ports))
    print()
    print(f"== soak: {a.minutes:g} min on PostgreSQL, 2 web + 2 worker processes ==")
    print(
        f"load: replies {a.reply_rate:g}/s to {run.posts} requests over both web processes, "
        f"page views {a.page_rate:g}/s, a request every {a.publish_every:g} s to "
        f"{a.followers} followers on {a.hosts} hosts ({a.shared_hosts} with a shared inbox): "
        f"{per_request} inboxes each"
    )
    print("channels (latency from when each request was due; fan-out: from the publishing")
    print("POST to each verified arrival, answers = the receivers' to every delivery):")
    channels = [c for c in (run.inbox, run.pages, run.publish, run.fanout) if c is not None]
    for channel in channels:
        print(channel_row(channel))
    if run.inbox is not None and run.inbox.latencies:
        trend = ", ".join(f"{v:.0f}" for v in run.inbox.p99_per_minute())
        print(f"  inbox p99 per minute (ms): {trend}")
    print(
        f"replies: {run.accepted} answered 202, {run.accepted - len(run.lost)} stored as "
        f"responses, {len(run.lost)} lost; their inbox items: {_counts(run.inbox_statuses)}"
    )
    for note in run.lost[:3]:
        print(f"  lost: {note}")
    last = sorted(d.last_inbox)
    print(
        f"fan-out: {run.published} requests published; deliveries expected {d.expected}, "
        f"verified {d.verified}, missing {d.missing}, duplicates {d.duplicates}, "
        f"extra activities about them {_counts(d.other_types)}"
    )
    if last:
        print(
            f"  last inbox reached after p50 {last[len(last) // 2]:.2f} s, max {last[-1]:.2f} s "
            f"from the publishing POST; delivery rows: {_counts(run.delivery_rows)}"
        )
    for example in d.missing_examples + d.duplicate_examples:
        print(f"  e.g. {example}")
    for reason, n in run.refused.items():
        print(f"  refused by the receivers: {reason} x{n}")
    depths = run.sampler.depths if run.sampler else []
    peak = {k: max(x[k] for x in depths) for k in depths[0]} if depths else {}
    print(
        f"queues: peak during the load {_counts(peak)}; after the drain "
        f"({run.drained_after:.1f} s, at most {a.drain:g}): {_counts(run.left)}"
    )
    print("RSS (MB):")
    lines, rising = _rss_lines(run)
    print("\n".join(lines))
    for name, code in run.exits.items():
        print(f"  {name} EXITED with {code} during the run")
    for name, summary in run.logs.items():
        print(f"log of {name}: {summary}")

    errors = sum(server_errors(c) for c in channels if c is not run.fanout)
    checks = [
        ("no 5xx and no unanswered request", errors == 0, f"{errors}"),
        ("every 202 reply stored", not run.lost, f"{len(run.lost)} lost"),
        ("every delivery verified", d.missing == 0 and d.verified > 0, f"{d.missing} missing"),
        ("receivers refused none", not run.refused, f"{sum(run.refused.values())} refused"),
        (
            f"duplicates <= {a.max_duplicates}",
            d.duplicates <= a.max_duplicates,
            f"{d.duplicates}",
        ),
        ("queues empty after the drain", not any(run.left.values()), _counts(run.left)),
        ("no node process died", not run.exits, _counts(run.exits)),
        (f"RSS flat (<= {a.max_rss_slope:g} MB/min)", not rising, "; ".join(rising) or "ok"),
    ]
    print()
    for label, ok, detail in checks:
        print(f"{'PASS' if ok else 'MISS'} {label}: {detail}")
    return [label for label, ok, _ in checks if not ok]
