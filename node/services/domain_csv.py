"""Domain blocks in Mastodon's CSV format, in and out: a commune adopts a partner
network's list, or hands its own to another server.

The format is Mastodon's export: a header `#domain,#severity,#reject_media,
#reject_reports,#public_comment,#obfuscate` (columns in any order; `#domain` required,
the others default as Mastodon does: severity suspend, flags false), one block a row.
Severity `silence` is our limit; `noop` rows (no block, only flags) are skipped and named.

Reading never writes: it names every bad row with its line and reason (a wildcard, a
name that is not a domain, a duplicate, this node's own domain, a domain on the
allowlist, an unknown severity...). Applying writes the whole file in one transaction,
or nothing: with bad rows it is refused, unless the admin chose to apply only the good
rows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from node import db
from node.config import Settings
from node.errors import InvalidInput
from node.i18n import N_
from node.models import Account, Delivery, DeliveryStatus, DomainPolicy, DomainRule
from node.services import audit, domain_policy
from node.services.domain_policy import RuleValues

HEADER = (
    "#domain",
    "#severity",
    "#reject_media",
    "#reject_reports",
    "#public_comment",
    "#obfuscate",
)
MAX_BYTES = 4 * 1024 * 1024
MAX_ROWS = 20_000  # Mastodon's own import limit
SEVERITIES = {
    "": DomainPolicy.SUSPEND,
    "suspend": DomainPolicy.SUSPEND,
    "silence": DomainPolicy.LIMIT,
}
TRUE = ("true", "t", "1", "yes", "on")
FALSE = ("", "false", "f", "0", "no", "off")
CHUNK = 500  # rows per query when comparing with what is stored


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one line was refused (or skipped): a message template and its values."""

    line: int
    domain: str
    template: str
    params: dict = field(default_factory=dict)
    skipped: bool = False  # not a problem: a row that blocks nothing

    @property
    def message(self) -> str:
        return self.template % self.params if self.params else self.template


@dataclass(slots=True)
class ImportPlan:
    """What a file would do: the good rows, the bad ones, the skipped ones."""

    rows: list[tuple[int, RuleValues]] = field(default_factory=list)
    bad: list[RowProblem] = field(default_factory=list)
    skipped: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    changed: int
    refused: int  # bad rows left out (only when the admin chose so)
    skipped: int


class BadFile(InvalidInput):
    """The file as a whole cannot be read (not text, no header, too big)."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__("file", message, **params)


def _text(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise BadFile(N_("the file is over %(max)d MB"), max=MAX_BYTES // (1024 * 1024))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadFile(N_("this is not a CSV file (text in UTF-8)")) from None
    if "\x00" in text:
        raise BadFile(N_("this is not a CSV file (text in UTF-8)"))
    if not text.strip():
        raise BadFile(N_("the file is empty"))
    return text


def _flag(value: str) -> bool | None:
    value = value.strip().lower()
    return True if value in TRUE else False if value in FALSE else None


def _header(row: list[str]) -> tuple[dict[str, int], list[str]]:
    names = [cell.strip().lower() for cell in row]
    if "#domain" not in names:
        raise BadFile(
            N_("the first line must be Mastodon's header: %(header)s"), header=",".join(HEADER)
        )
    if len(set(names)) != len(names):
        raise BadFile(N_("the header names a column twice"))
    columns = {name: i for i, name in enumerate(names) if name in HEADER}
    return columns, [row[i] for i, name in enumerate(names) if name not in HEADER]


def _row(line: int, cells: list[str], columns: dict[str, int]) -> RuleValues | RowProblem:
    def cell(name: str) -> str:
        at = columns.get(name)
        return cells[at].strip() if at is not None and at < len(cells) else ""

    raw = cell("#domain")
    try:
        domain = domain_policy.check_domain(raw)
    except InvalidInput as exc:
        return RowProblem(line, raw[:100], exc.template, exc.params)
    severity = cell("#severity").lower()
    if severity == "noop":
        return RowProblem(line, domain, N_("severity noop blocks nothing: skipped"), skipped=True)
    if severity not in SEVERITIES:
        return RowProblem(
            line,
            domain,
            N_("unknown severity %(value)s (suspend or silence)"),
            {"value": severity[:20]},
        )
    flags = {}
    for name in ("#reject_media", "#reject_reports", "#obfuscate"):
        flags[name] = _flag(cell(name))
        if flags[name] is None:
            return RowProblem(
                line, domain, N_("%(column)s must be true or false"), {"column": name}
            )
    comment = cell("#public_comment")
    if len(comment) > domain_policy.MAX_COMMENT:
        return RowProblem(
            line,
            domain,
            N_("the public comment is over %(max)d characters"),
            {"max": domain_policy.MAX_COMMENT},
        )
    return RuleValues(
        domain=domain,
        policy=SEVERITIES[severity],
        public_comment=comment,
        reject_media=bool(flags["#reject_media"]),
        reject_reports=bool(flags["#reject_reports"]),
        obfuscate=bool(flags["#obfuscate"]),
    )


def parse(data: bytes, settings: Settings | None = None) -> ImportPlan:
    """Read a file without touching the database (`read` adds the stored rules' checks)."""
    reader = csv.reader(io.StringIO(_text(data), newline=""), strict=True)
    plan, seen = ImportPlan(), {}
    columns: dict[str, int] | None = None
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if columns is None:
                columns, plan.ignored_columns = _header(cells)
                continue
            if len(plan.rows) + len(plan.bad) + len(plan.skipped) >= MAX_ROWS:
                raise BadFile(N_("the file has more than %(max)d rows"), max=MAX_ROWS)
            line = reader.line_num
            result = _row(line, cells, columns)
            if isinstance(result, RowProblem):
                (plan.skipped if result.skipped else plan.bad).append(result)
            elif result.domain in seen:
                plan.bad.append(
                    RowProblem(
                        line,
                        result.domain,
                        N_("already on line %(line)d"),
                        {"line": seen[result.domain]},
                    )
                )
            elif settings is not None and domain_policy.own_domain_conflict(
                settings, result.domain
            ):
                plan.bad.append(
                    RowProblem(
                        line, result.domain, N_("this rule would cover this node's own domain")
                    )
                )
            else:
                seen[result.domain] = line
                plan.rows.append((line, result))
    except csv.Error as exc:
        raise BadFile(
            N_("this is not a CSV file (line %(line)d: %(error)s)"),
            line=reader.line_num,
            error=str(exc)[:80],
        ) from None
    if columns is None:
        raise BadFile(N_("the file is empty"))
    return plan


async def _stored(domains: list[str]) -> dict[str, DomainRule]:
    found: dict[str, DomainRule] = {}
    for start in range(0, len(domains), CHUNK):
        for rule in await DomainRule.filter(domain__in=domains[start : start + CHUNK]):
            found[rule.domain] = rule
    return found


async def read(data: bytes, settings: Settings) -> ImportPlan:
    """Everything `parse` checks, and the allowlist: a partner is not blocked by a file."""
    plan = parse(data, settings)
    stored = await _stored([values.domain for _, values in plan.rows])
    good = []
    for line, values in plan.rows:
        rule = stored.get(values.domain)
        if rule is not None and rule.policy == DomainPolicy.ALLOW:
            plan.bad.append(
                RowProblem(
                    line,
                    values.domain,
                    N_("this domain is on the allowlist: remove it there first"),
                )
            )
        else:
            good.append((line, values))
    plan.rows = good
    plan.bad.sort(key=lambda problem: problem.line)
    return plan


def _fields(values: RuleValues) -> dict:
    return {
        "policy": values.policy,
        "public_comment": values.public_comment,
        "reject_media": values.reject_media,
        "reject_reports": values.reject_reports,
        "obfuscate": values.obfuscate,
    }


async def _cancel_deliveries(suspended: set[str]) -> int:
    """Cancel what waits to go to the suspended domains: one query for the hosts."""
    hosts = set(
        await Delivery.filter(status=DeliveryStatus.PENDING)
        .distinct()
        .values_list("host", flat=True)
    )
    covered = [h for h in hosts if any(c in suspended for c in domain_policy.candidates(h))]
    cancelled = 0
    for start in range(0, len(covered), CHUNK):
        cancelled += await Delivery.filter(
            status=DeliveryStatus.PENDING, host__in=covered[start : start + CHUNK]
        ).update(status=DeliveryStatus.CANCELLED)
    return cancelled


async def apply(
    data: bytes,
    settings: Settings,
    *,
    by: Account | None,
    only_good_rows: bool = False,
    reason: str = "",
) -> ImportResult:
    """Read and import a file whole (or, `only_good_rows`, its good rows).

    Raises BadFile when the file cannot be read, InvalidInput when rows are bad and the
    admin did not choose to leave them out: then nothing is stored.
    """
    plan = await read(data, settings)
    return await apply_plan(plan, by=by, only_good_rows=only_good_rows, reason=reason)


async def apply_plan(
    plan: ImportPlan, *, by: Account | None, only_good_rows: bool = False, reason: str = ""
) -> ImportResult:
    """Store what `read` found, in one transaction (bulk), or refuse it all."""
    if plan.bad and not only_good_rows:
        raise InvalidInput(
            "file", N_("%(count)d rows have problems: nothing was imported"), count=len(plan.bad)
        )
    why = reason.strip()[: domain_policy.MAX_COMMENT]
    values = [v for _, v in plan.rows]
    async with db.atomic():
        stored = await _stored([v.domain for v in values])
        new = [DomainRule(domain=v.domain, **_fields(v)) for v in values if v.domain not in stored]
        changed = []
        for v in values:
            rule = stored.get(v.domain)
            if rule is not None and any(getattr(rule, k) != x for k, x in _fields(v).items()):
                for key, value in _fields(v).items():
                    setattr(rule, key, value)
                changed.append(rule)
        await DomainRule.bulk_create(new, batch_size=CHUNK)
        if changed:
            await DomainRule.bulk_update(changed, fields=list(_fields(values[0])), batch_size=CHUNK)
        suspended = {v.domain for v in values if v.policy == DomainPolicy.SUSPEND}
        cancelled = await _cancel_deliveries(suspended) if suspended else 0
        await audit.record(
            by,
            "domain.imported",
            "domains",
            detail={
                "added": len(new),
                "changed": len(changed),
                "refused_lines": [p.line for p in plan.bad][:1000],
                "skipped_lines": [p.line for p in plan.skipped][:1000],
                "cancelled_deliveries": cancelled,
                "domains": sorted(r.domain for r in new + changed)[:1000],
            },
            reason=why,
        )
    domain_policy.note_change()
    return ImportResult(len(new), len(changed), len(plan.bad), len(plan.skipped))


async def export(*, by: Account | None = None) -> str:
    """The blocks as a file Mastodon imports (`silence` for our limit); recorded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for rule in await domain_policy.rules():
        writer.writerow(
            [
                rule.domain,
                "suspend" if rule.policy == DomainPolicy.SUSPEND else "silence",
                str(rule.reject_media).lower(),
                str(rule.reject_reports).lower(),
                rule.public_comment,
                str(rule.obfuscate).lower(),
            ]
        )
    await audit.record(by, "domain.exported", "domains")
    return buffer.getvalue()
