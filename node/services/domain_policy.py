"""Domain policy: Mastodon's domain blocks (suspend, limit), the allowlist of partner
networks, the federation mode, and the verdicts federation asks of them.

Severities, as on Mastodon:
- suspend: nothing in or out. The inbox drops the domain's activities, nothing is
  fetched there, nothing is delivered there (waiting deliveries are cancelled), and its
  posts and actors are hidden here.
- limit (Mastodon's "silence"): follows keep working, but the domain's content stays out
  of public listings here, and its replies are shown only to people who follow their
  author. Our public posts reach it only because someone there follows the sender.
- allow: listed for the federation mode "allowlist" (partner networks).

A rule covers its subdomains; the most specific rule wins (as Mastodon's `rule_for`).
Domains are stored lower case, without a trailing dot, internationalised names as
punycode; a rule may name a port (`host:8443`) for test and development nodes.

Every change is recorded in the audit log with who made it and why. Federation caches
verdicts briefly: `generation()` changes with every change made in this process, so
this process's caches drop them at once; other processes see a change within seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tortoise.expressions import Q

from node import db
from node.config import FEDERATION_MODES, Settings
from node.errors import InvalidInput
from node.i18n import N_
from node.models import Account, Delivery, DeliveryStatus, DomainPolicy, DomainRule, NodeSettings
from node.services import audit, node_profile
from node.services.domain_names import (
    candidates,
    check_domain,
    covers,
    display_domain,
    normalise_domain,
    obfuscated,
)
from node.services.node_setup import NODE_ROW_ID

__all__ = [
    "candidates",
    "check_domain",
    "covers",
    "display_domain",
    "normalise_domain",
    "obfuscated",
]

MAX_COMMENT = 300
MAX_DOMAIN = 255  # the size of DomainRule.domain
BLOCKS = (DomainPolicy.SUSPEND, DomainPolicy.LIMIT)

_generation = 0


def generation() -> int:
    """A number that changes whenever this process changes a rule or the mode."""
    return _generation


def note_change() -> None:
    """Make this process's verdict caches drop what they hold (a rule or mode changed)."""
    global _generation
    _generation += 1


def own_domain_conflict(settings: Settings, domain: str) -> bool:
    """Whether a rule for `domain` would cover this node itself."""
    return covers(domain, settings.domain) or covers(domain, settings.domain.split(":")[0])


# --- Verdicts ------------------------------------------------------------------------


async def rule_for(domain: str) -> DomainRule | None:
    """The most specific rule covering `domain`, if any."""
    names = candidates(domain)
    rules = {r.domain: r for r in await DomainRule.filter(domain__in=names)}
    return next((rules[name] for name in names if name in rules), None)


async def federation_mode(settings: Settings) -> str:
    """The mode in force: the configured one when pinned, else the one saved here."""
    return (await node_profile.load(settings)).federation_mode


async def is_domain_blocked(domain: str) -> bool:
    """Suspended: nothing in or out."""
    rule = await rule_for(domain)
    return rule is not None and rule.policy == DomainPolicy.SUSPEND


async def is_domain_limited(domain: str) -> bool:
    rule = await rule_for(domain)
    return rule is not None and rule.policy == DomainPolicy.LIMIT


async def rejects_reports(domain: str) -> bool:
    """Whether `Flag`s from `domain` are ignored (its rule says reject_reports)."""
    rule = await rule_for(domain)
    return rule is not None and (rule.reject_reports or rule.policy == DomainPolicy.SUSPEND)


async def is_domain_allowed(settings: Settings, domain: str) -> bool:
    """Whether federation with `domain` is allowed under the effective federation mode:
    never when off or suspended; in allowlist mode only under an allow rule (a more
    specific limit rule below it still federates, limited)."""
    return domain not in await refused_among(settings, [domain])


async def refused_among(settings: Settings, hosts: Iterable[str]) -> set[str]:
    """The hosts among `hosts` that nothing may be delivered to now (suspended, not on
    the allowlist in allowlist mode, or all when federation is off): one query for all,
    for the outbox to leave them out as it leaves out unavailable servers."""
    wanted = set(hosts)
    if not wanted:
        return set()
    mode = await federation_mode(settings)
    if mode == "off":
        return wanted
    names = {name for host in wanted for name in candidates(host)}
    rules = dict(await DomainRule.filter(domain__in=list(names)).values_list("domain", "policy"))
    refused = set()
    for host in wanted:
        matching = [rules[name] for name in candidates(host) if name in rules]
        if (matching and matching[0] == DomainPolicy.SUSPEND) or (
            mode == "allowlist" and DomainPolicy.ALLOW not in matching
        ):
            refused.add(host)
    return refused


async def limited_among(hosts: Iterable[str]) -> set[str]:
    """The hosts among `hosts` under a limit (or suspension): they get our public posts
    only through someone there who follows the sender, never from a relay."""
    wanted = list(hosts)
    hidden = await hidden_hosts(wanted)
    return {host for host in wanted if hidden.hides(host)}


@dataclass(frozen=True, slots=True)
class HiddenHosts:
    """Which hosts' content pages hide: suspended ones always, limited ones from
    listings and from people who do not follow the author. Read once per page."""

    suspended: frozenset[str]
    limited: frozenset[str]

    def _rule(self, host: str) -> str | None:
        for name in candidates(host):
            if name in self.suspended:
                return DomainPolicy.SUSPEND
            if name in self.limited:
                return DomainPolicy.LIMIT
        return None

    def hides(self, host: str, *, followed: bool = False) -> bool:
        """Whether content from `host` stays out of a public listing (or, `followed`,
        out of the view of someone who follows its author)."""
        rule = self._rule(host)
        return rule == DomainPolicy.SUSPEND or (rule == DomainPolicy.LIMIT and not followed)

    def keep(self, rows: Iterable[dict], key: str = "domain") -> list[dict]:
        """The rows whose `key` host is not hidden from public listings."""
        return [row for row in rows if not self.hides(str(row.get(key) or ""))]


async def hidden_hosts(hosts: Iterable[str]) -> HiddenHosts:
    """The block rules that cover `hosts` (the servers a page is about to show): one
    indexed query for the few names that could match, however long the block list is
    (a commune that adopted a network's 10,000 blocks reads 10,000 rows nowhere)."""
    names = sorted({name for host in hosts if host for name in candidates(host)})
    if not names:
        return HiddenHosts(frozenset(), frozenset())
    rows = await DomainRule.filter(domain__in=names, policy__in=BLOCKS).values_list(
        "domain", "policy"
    )
    return HiddenHosts(
        suspended=frozenset(d for d, p in rows if p == DomainPolicy.SUSPEND),
        limited=frozenset(d for d, p in rows if p == DomainPolicy.LIMIT),
    )


# --- Changes -------------------------------------------------------------------------


@dataclass(slots=True)
class RuleValues:
    """One rule as a form, the CLI or an imported row gives it."""

    domain: str
    policy: str
    reason: str = ""  # the private comment
    public_comment: str = ""
    reject_media: bool = False
    reject_reports: bool = False
    obfuscate: bool = False
    # An existing block of the same domain is replaced (the CLI, imports); the page's
    # add form sets it only when the admin ticks "change the existing rule".
    replace: bool = True


def _comment(field: str, text: str) -> str:
    text = text.strip()
    if len(text) > MAX_COMMENT or "\x00" in text:
        raise InvalidInput(field, N_("at most %(max)d characters"), max=MAX_COMMENT)
    return text


async def _checked(settings: Settings | None, values: RuleValues) -> RuleValues:
    name = check_domain(values.domain)
    if values.policy not in DomainPolicy.__members__.values():
        raise InvalidInput("policy", N_("choose one of the options"))
    if settings is not None and own_domain_conflict(settings, name):
        raise InvalidInput("domain", N_("this rule would cover this node's own domain"))
    existing = await DomainRule.get_or_none(domain=name)
    if existing is not None and (existing.policy == DomainPolicy.ALLOW) != (
        values.policy == DomainPolicy.ALLOW
    ):
        message = (
            N_("this domain is on the allowlist: remove it there first")
            if existing.policy == DomainPolicy.ALLOW
            else N_("this domain is blocked: lift the block first")
        )
        raise InvalidInput("domain", message)
    if existing is not None and not values.replace:
        raise InvalidInput(
            "domain",
            N_(
                "this server has a rule already (see the list): tick “Change the existing "
                "rule” to replace it, comments included"
            ),
        )
    return RuleValues(
        domain=name,
        policy=DomainPolicy(values.policy),
        reason=_comment("reason", values.reason),
        public_comment=_comment("public_comment", values.public_comment),
        reject_media=values.reject_media,
        reject_reports=values.reject_reports,
        obfuscate=values.obfuscate,
    )


def _fields(values: RuleValues) -> dict:
    return {
        "policy": values.policy,
        "reason": values.reason,
        "public_comment": values.public_comment,
        "reject_media": values.reject_media,
        "reject_reports": values.reject_reports,
        "obfuscate": values.obfuscate,
    }


async def save_rule(
    values: RuleValues, *, by: Account | None = None, settings: Settings | None = None
) -> DomainRule:
    """Add or change a rule; suspending also cancels what was waiting to go there.

    `settings` (given by pages and commands) lets the check refuse this node's own
    domain. Blocks and allow rules do not replace each other: the other goes first.
    """
    checked = await _checked(settings, values)
    async with db.atomic():
        rule, created = await DomainRule.update_or_create(
            domain=checked.domain, defaults=_fields(checked)
        )
        cancelled = 0
        if checked.policy == DomainPolicy.SUSPEND:
            cancelled = await cancel_deliveries_to(checked.domain)
        await audit.record(
            by,
            f"domain.{checked.policy}",
            f"domain:{checked.domain}"[:200],
            detail={"new": created, "cancelled_deliveries": cancelled, **_fields(checked)},
            reason=checked.reason,
        )
    note_change()
    return rule


async def set_domain_policy(
    domain: str,
    policy: DomainPolicy,
    reason: str = "",
    *,
    by: Account | None = None,
    settings: Settings | None = None,
) -> DomainRule:
    """Block (suspend, limit) or allow a domain with default options."""
    return await save_rule(RuleValues(domain, policy, reason), by=by, settings=settings)


async def cancel_deliveries_to(domain: str) -> int:
    """Cancel pending deliveries to `domain` and its subdomains."""
    return await Delivery.filter(
        Q(host=domain) | Q(host__endswith=f".{domain}") | Q(host__startswith=f"{domain}:"),
        status=DeliveryStatus.PENDING,
    ).update(status=DeliveryStatus.CANCELLED)


async def remove_domain_policy(
    domain: str,
    *,
    by: Account | None = None,
    reason: str = "",
    policy_in: Iterable[str] | None = None,
) -> bool:
    """Lift a block or take a domain off the allowlist (only a rule of `policy_in`, when
    given: the allowlist's remove button does not lift a block)."""
    name = normalise_domain(domain)
    why = _comment("reason", reason)
    async with db.atomic():
        # A name longer than the column is no rule's (and the ORM refuses to look it up).
        rule = await DomainRule.get_or_none(domain=name) if len(name) <= MAX_DOMAIN else None
        if rule is None or (policy_in is not None and rule.policy not in set(policy_in)):
            return False
        await rule.delete()
        await audit.record(
            by, "domain.removed", f"domain:{name}"[:200], detail={"policy": rule.policy}, reason=why
        )
    note_change()
    return True


async def set_federation_mode(
    settings: Settings, mode: str, *, by: Account | None = None, reason: str = ""
) -> str:
    """Change the federation mode saved here (refused when the configuration pins it)."""
    if node_profile.federation_mode_pinned(settings):
        raise InvalidInput("federation_mode", N_("set in the server's configuration"))
    if mode not in FEDERATION_MODES:
        raise InvalidInput("federation_mode", N_("choose one of the options"))
    why = _comment("reason", reason)
    before = await federation_mode(settings)
    async with db.atomic():
        await NodeSettings.filter(id=NODE_ROW_ID).update(federation_mode=mode)
        if before != mode:
            await audit.record(
                by,
                "federation.mode",
                "node",
                detail={"from": before, "to": mode},
                reason=why,
            )
    note_change()
    return mode


# --- Reading -------------------------------------------------------------------------


async def rules(policies: Iterable[str] = BLOCKS) -> list[DomainRule]:
    return await DomainRule.filter(policy__in=list(policies)).order_by("domain")


async def allowlist() -> list[DomainRule]:
    return await DomainRule.filter(policy=DomainPolicy.ALLOW).order_by("domain")


@dataclass(frozen=True, slots=True)
class PublicBlock:
    """A block as the about page shows it."""

    domain: str
    policy: str
    comment: str


async def public_blocks() -> list[PublicBlock]:
    """The moderated servers, for the about page: obfuscated where the rule says so."""
    return [
        PublicBlock(
            domain=obfuscated(display_domain(rule.domain))
            if rule.obfuscate
            else display_domain(rule.domain),
            policy=rule.policy,
            comment=rule.public_comment,
        )
        for rule in await rules()
    ]
