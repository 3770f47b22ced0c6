"""/readyz: may this node be sent work? Each check answers "ok" or what is wrong.

- the database answers a trivial query;
- its migrations are current (`nabuur migrate` otherwise; none unknown to this code, as
  after an upgrade rolled back without its backup), remembered once true: the
  code of a running process does not change, so its migrations cannot fall behind
  under it (planning them reads every migration module: not for every call);
- the node is initialised (`nabuur init`): one primary-key look-up;
- no queue is stuck (`node.queue_stats`): work due for over a minute with none done.

/healthz stays the cheap liveness check (is the process serving?); /readyz is for
monitoring and for a load balancer that should stop sending work to a broken node.
"""

from __future__ import annotations

import logging

from node import db, queue_stats
from node.backup_tables import applied_migrations, code_migrations
from node.config import Settings
from node.db_faults import fault_of
from node.services.node_setup import is_initialised

log = logging.getLogger("nabuur.health")

OK = "ok"
# Database URLs (one per process in production; tests open several) known migrated.
_migrated: set[str] = set()


async def newer_migrations_problem() -> str | None:
    """Why this code must not run on the open database: migrations it does not know were
    applied (a newer Nabuur upgraded it); None when there are none."""
    known = set(code_migrations())
    unknown = [name for name in await applied_migrations() if name not in known]
    if not unknown:
        return None
    return (
        f"this database was upgraded by a newer Nabuur (migration {unknown[-1]}): "
        "install that version, or restore the backup taken before the upgrade"
    )


async def _migrations(url: str) -> str:
    if url in _migrated:
        return OK
    newer = await newer_migrations_problem()
    if newer is not None:
        return newer
    pending = await db.pending_migrations(url)
    if pending:
        return f"{len(pending)} migration(s) not applied: run `nabuur migrate`"
    _migrated.add(url)
    return OK


async def _initialisation() -> str:
    if not await is_initialised():
        return "this node is not initialised: run `nabuur init`"
    return OK


async def check(settings: Settings) -> dict[str, str]:
    """Every check by name with "ok" or its problem; ready when all say "ok"."""
    url = settings.database_url
    checks: dict[str, str] = {}
    try:
        await db.ping()
    except Exception as exc:  # whatever the driver raises, the database is not answering
        log.warning("readiness: database unreachable: %s", type(exc).__name__)
        return {"database": "unreachable"}
    checks["database"] = OK
    try:
        checks["migrations"] = await _migrations(url)
        if checks["migrations"] != OK:  # tables may be missing: go no further
            return checks
        checks["initialised"] = await _initialisation()
        stuck = (await queue_stats.collect(counts=False)).stuck()
    except Exception as exc:  # the database went away meanwhile, or a bug: not ready
        fault = fault_of(exc)
        if fault is None:
            log.exception("readiness check failed")
        checks["database"] = fault.sentence() if fault else f"a check failed: {type(exc).__name__}"
        return checks
    for queue in ("inbox", "deliveries", "events"):
        checks[queue] = stuck.get(queue, OK)
    return checks


def is_ready(checks: dict[str, str]) -> bool:
    return all(value == OK for value in checks.values())
