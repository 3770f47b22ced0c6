"""Domain policy (blocks, allowlist) and reports."""

from __future__ import annotations

from tortoise.expressions import Q

from node import db
from node.config import Settings
from node.errors import InvalidInput
from node.models import (
    Account,
    Delivery,
    DeliveryStatus,
    DomainPolicy,
    DomainRule,
    RemoteActor,
    Report,
)


def normalise_domain(domain: str) -> str:
    return domain.strip().lower().rstrip(".")


async def is_domain_blocked(domain: str) -> bool:
    """Blocked domains include their subdomains."""
    host = normalise_domain(domain).split(":", 1)[0]
    parts = host.split(".")
    candidates = {".".join(parts[i:]) for i in range(len(parts))} | {normalise_domain(domain)}
    return await DomainRule.filter(domain__in=list(candidates), policy=DomainPolicy.SUSPEND).exists()


async def is_domain_allowed(settings: Settings, domain: str) -> bool:
    """Whether federation with `domain` is allowed under the node's federation mode."""
    if settings.federation_mode == "off":
        return False
    if await is_domain_blocked(domain):
        return False
    if settings.federation_mode == "allowlist":
        return await DomainRule.filter(
            domain=normalise_domain(domain), policy=DomainPolicy.ALLOW
        ).exists()
    return True


async def set_domain_policy(domain: str, policy: DomainPolicy, reason: str = "") -> DomainRule:
    """Block or allow a domain; blocking also cancels what was waiting to go there."""
    name = normalise_domain(domain)
    if not name or "/" in name or " " in name:
        raise InvalidInput("domain", "expected a domain name such as example.org")
    async with db.atomic():
        rule, _ = await DomainRule.update_or_create(
            domain=name, defaults={"policy": policy, "reason": reason[:300]}
        )
        if policy == DomainPolicy.SUSPEND:
            await cancel_deliveries_to(name)
    return rule


async def cancel_deliveries_to(domain: str) -> int:
    """Cancel pending deliveries to `domain` and its subdomains."""
    return await Delivery.filter(
        Q(host=domain) | Q(host__endswith=f".{domain}") | Q(host__startswith=f"{domain}:"),
        status=DeliveryStatus.PENDING,
    ).update(status=DeliveryStatus.CANCELLED)


async def remove_domain_policy(domain: str) -> bool:
    return await DomainRule.filter(domain=normalise_domain(domain)).delete() > 0


async def add_report(
    *,
    object_uris: list[str],
    comment: str,
    reporter_remote: RemoteActor | None = None,
    reporter_account: Account | None = None,
    activity_uri: str | None = None,
) -> Report:
    return await Report.create(
        object_uris=object_uris[:20],
        comment=comment[:5000],
        reporter_remote=reporter_remote,
        reporter_account=reporter_account,
        activity_uri=activity_uri,
    )
