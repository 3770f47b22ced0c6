"""Which services of the directory answer a category in a neighbourhood: shown while a
resident composes a request, to helpers on a request page, and on neighbourhood pages."""

from __future__ import annotations

from node.models import Service, ServiceArea

# A directory is a few dozen services per node; more than this is a mistake to cap.
MAX_SERVICES = 500


async def serving(neighbourhood_id: int) -> list[Service]:
    """Services that serve `neighbourhood_id` (all of the node's, or listed there)."""
    listed = set(
        await ServiceArea.filter(neighbourhood_id=neighbourhood_id).values_list(
            "service_id", flat=True
        )
    )
    services = await Service.all().prefetch_related("organisation").limit(MAX_SERVICES)
    return by_name([s for s in services if s.everywhere or s.id in listed])


def by_name(services: list[Service]) -> list[Service]:
    """`services` in the order lists show them: by name in their lead language."""
    return sorted(services, key=lambda s: (s.name.get(s.language, "").casefold(), str(s.id)))


async def matching_services(category: str, neighbourhood_id: int) -> list[Service]:
    """Services that answer `category` in `neighbourhood_id`."""
    return [s for s in await serving(neighbourhood_id) if category in s.categories]
