"""/about: what this node is, its rules, who runs it and how to reach them, and its
organisations and neighbourhoods, and the servers it moderates (what visitors and other
servers' admins look for first; NodeInfo links here)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from node.services import domain_policy, neighbourhoods, node_profile, organisations
from web.shell.page_cache import for_anonymous


@for_anonymous
async def about(request: Request) -> Response:
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    profile = await request.app.state.profile_cache.get()
    description, description_lang = profile.text_in(profile.description, locale)
    rules, rules_lang = profile.rules_in(locale)
    return await renderer.render(
        request,
        "about.html",
        {
            "description": description,
            "description_lang": description_lang,
            "rules": rules,
            "rules_lang": rules_lang,
            "contact_email": profile.contact_email,
            "admins": await node_profile.admins(),
            "organisations": await organisations.list_organisations(),
            "neighbourhoods": await neighbourhoods.list_neighbourhoods(),
            "signups": profile.signups,
            "moderated_servers": await domain_policy.public_blocks(),
        },
    )
