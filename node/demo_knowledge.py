"""Seeds what a demo neighbourhood knows besides its requests: its connectors, the
services of the commune and the organisations, and an open needs survey in each
neighbourhood with a few votes (the `connectors`, `services` and `surveys` of
`demo_data.json`)."""

from __future__ import annotations

from datetime import timedelta

from node.models import Account, Neighbourhood, Organisation
from node.services import neighbourhoods, service_directory, survey_votes, surveys
from node.timeutil import utcnow


async def _services(data: dict, orgs: dict[str, Organisation], hoods, people) -> int:
    for entry in data.get("services", []):
        form = service_directory.ServiceForm(
            language=entry["language"],
            name=entry["name"],
            description=entry["description"],
            categories=entry["categories"],
            everywhere=entry["neighbourhoods"] is None,
            neighbourhoods=[hoods[slug].id for slug in entry["neighbourhoods"] or ()],
            phone=entry["phone"],
            email=entry["email"],
            hours=entry["hours"],
            address=entry["address"],
            website=entry["website"] or "",
            free=entry["free"],
        )
        await service_directory.create_service(
            orgs[entry["organisation"]], form, by=people[entry["author"]]
        )
    return len(data.get("services", []))


async def _surveys(data: dict, orgs: dict[str, Organisation], hoods, people) -> int:
    published = 0
    for entry in data.get("surveys", []):
        rows = await surveys.publish_survey(
            people[entry["author"]],
            neighbourhood_ids=[hoods[slug].id for slug in entry["neighbourhoods"]],
            organisation_id=orgs[entry["organisation"]].id,
            language=entry["language"],
            question=entry["question"],
            options=entry["options"],
            multiple=entry["multiple"],
            changeable=True,
            closes_at=utcnow() + timedelta(days=entry["closes_in_days"]),
        )
        by_hood = {row.neighbourhood_id: row for row in rows}
        for vote in entry.get("votes", []):
            survey = by_hood[hoods[vote["neighbourhood"]].id]
            await survey_votes.vote_local(people[vote["username"]], survey, vote["options"])
        published += len(rows)
    return published


async def seed_knowledge(
    data: dict,
    hoods: dict[str, Neighbourhood],
    orgs: dict[str, Organisation],
    people: dict[str, Account],
) -> dict[str, int]:
    for entry in data.get("connectors", []):
        await neighbourhoods.add_connector(hoods[entry["neighbourhood"]], people[entry["username"]])
    return {
        "services": await _services(data, orgs, hoods, people),
        "surveys": await _surveys(data, orgs, hoods, people),
    }
