"""Which services of the directory answer a category in a neighbourhood: shown while a
resident composes a request, to helpers on a request page, and on neighbourhood pages."""

from __future__ import annotations

from node import raw_sql as sql
from node.models import Organisation, Service

# A directory is a few dozen services per node; a neighbourhood shows at most this many.
MAX_SERVICES = 500


async def serving(neighbourhood_id: int) -> list[Service]:
    """Services that serve `neighbourhood_id` (all of the node's, or listed there)."""
    # Every neighbourhood page asks this: hand-written reads (`node.raw_sql`), the
    # organisations attached where tortoise's prefetch_related puts them.
    services = await sql.select_where(
        Service,
        "t.everywhere OR t.id IN (SELECT service_id FROM service_areas WHERE neighbourhood_id = ?)",
        [neighbourhood_id],
        order="t.id",
        limit=MAX_SERVICES,
    )
    if services:
        ids = list({s.organisation_id for s in services})  # type: ignore[attr-defined]
        by_id = {o.id: o for o in await sql.select(Organisation, {"id__in": ids})}
        for service in services:
            object.__setattr__(service, "_organisation", by_id[service.organisation_id])  # type: ignore[attr-defined]
    return by_name(services)


def by_name(services: list[Service]) -> list[Service]:
    """`services` in the order lists show them: by name in their lead language."""
    return sorted(services, key=lambda s: (s.name.get(s.language, "").casefold(), str(s.id)))


async def matching_services(category: str, neighbourhood_id: int) -> list[Service]:
    """Services that answer `category` in `neighbourhood_id`."""
    return [s for s in await serving(neighbourhood_id) if category in s.categories]
