"""Discovery: WebFinger, host-meta and NodeInfo 2.0/2.1.

Every actor has a handle `name@domain`: residents by username, neighbourhoods and
organisations by slug, and the node's instance actor by the domain itself, made a valid
username (`local_actors.instance_username`: a port's colon becomes a dot).
"""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import unquote

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from node import __version__, uris
from node.config import Settings
from node.models import Account, HelpPost, Neighbourhood, Visibility
from node.services import local_actors, needs_aggregate, node_profile
from node.timeutil import utcnow

JRD = "application/jrd+json"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
NEEDS_SECONDS = 300  # figures per month move slowly; partners and caches may keep them
NEEDS_HEADERS = {
    "cache-control": f"public, max-age={NEEDS_SECONDS}",
    "access-control-allow-origin": "*",
}
NODEINFO_SCHEMAS = {
    "2.0": "http://nodeinfo.diaspora.software/ns/schema/2.0",
    "2.1": "http://nodeinfo.diaspora.software/ns/schema/2.1",
}


async def webfinger(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    resource = unquote(request.query_params.get("resource", "")).strip()
    if not resource:
        return JSONResponse({"error": "the resource parameter is required"}, status_code=400)
    actor = await local_actors.by_resource(settings, resource)
    if actor is None:
        return JSONResponse({"error": "no such actor here"}, status_code=404)
    name = local_actors.handle_name(settings, actor)
    actor_url = uris.absolute(settings, local_actors.path(actor))
    links = [
        {"rel": "self", "type": "application/activity+json", "href": actor_url},
        {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": actor_url},
        {
            "rel": SUBSCRIBE_REL,
            "template": uris.absolute(settings, "/authorize_interaction") + "?uri={uri}",
        },
    ]
    body = {"subject": f"acct:{name}@{settings.domain}", "aliases": [actor_url], "links": links}
    return JSONResponse(body, media_type=JRD, headers={"access-control-allow-origin": "*"})


async def host_meta(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    template = uris.absolute(settings, "/.well-known/webfinger") + "?resource={uri}"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" type="application/xrd+xml" template="{template}"/>\n'
        "</XRD>\n"
    )
    return Response(xml, media_type="application/xrd+xml")


async def nodeinfo_links(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    links = [
        {"rel": schema, "href": uris.absolute(settings, f"/nodeinfo/{version}")}
        for version, schema in NODEINFO_SCHEMAS.items()
    ]
    return JSONResponse({"links": links})


async def nodeinfo(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    version = request.path_params["version"]
    if version not in NODEINFO_SCHEMAS:
        return JSONResponse({"error": "unknown NodeInfo version"}, status_code=404)
    now = utcnow()
    users = Account.filter(is_active=True)
    software: dict[str, str] = {"name": "nabuur", "version": __version__}
    if version == "2.1":
        software["homepage"] = settings.public_url + "/"
    hoods = await Neighbourhood.filter(archived_at=None).order_by("name")
    profile = await node_profile.load(settings)
    description, _ = profile.text_in(profile.description, settings.default_language)
    about = uris.absolute(settings, uris.ABOUT)
    body = {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        # Invitation-only and closed nodes take no sign-ups from strangers.
        "openRegistrations": profile.signups == "open",
        "usage": {
            "users": {
                "total": await users.count(),
                "activeMonth": await users.filter(
                    last_login_at__gte=now - timedelta(days=30)
                ).count(),
                "activeHalfyear": await users.filter(
                    last_login_at__gte=now - timedelta(days=180)
                ).count(),
            },
            # What anyone can read here: no post a moderator hid, none that is not public.
            "localPosts": await HelpPost.filter(
                visibility=Visibility.PUBLIC, hidden_at=None
            ).count(),
        },
        "metadata": {
            "nodeName": profile.name,
            # Where people look first (as Misskey and Pleroma publish them).
            "nodeDescription": description,
            "aboutUrl": about,
            "rulesUrl": about + "#rules",
            "maintainer": {"name": profile.name, "email": profile.contact_email or ""},
            "languages": list(settings.languages),
            "federationMode": profile.federation_mode,
            # Anonymised needs figures for partner nodes (FEDERATION.md, "Needs figures").
            "needsData": uris.absolute(settings, uris.NEEDS_JSON),
            "neighbourhoods": [
                {
                    "name": h.name,
                    "slug": h.slug,
                    "commune": h.commune,
                    "country": h.country,
                    "url": uris.absolute(settings, uris.neighbourhood(h.slug)),
                }
                for h in hoods
            ],
        },
    }
    profile = NODEINFO_SCHEMAS[version]
    return JSONResponse(body, media_type=f'application/json; profile="{profile}#"')


async def needs_data(request: Request) -> Response:
    """The node's anonymised needs figures (`needs_aggregate`), built at most once per
    NEEDS_SECONDS per process: anyone may ask, and each answer is a GROUP BY."""
    settings: Settings = request.app.state.settings
    kept = getattr(request.app.state, "needs_document", None)
    if kept is None or time.monotonic() - kept[0] > NEEDS_SECONDS:
        kept = (time.monotonic(), orjson.dumps(await needs_aggregate.build(settings)))
        request.app.state.needs_document = kept
    return Response(kept[1], media_type="application/json", headers=NEEDS_HEADERS)
