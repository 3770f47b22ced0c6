"""ActivityPub and discovery routes.

`routes` are mounted as they are. `negotiated_routes` share their paths with the HTML
pages of `web` and are only consulted for requests that ask for ActivityStreams (see
`federation.negotiation`).
"""

from starlette.routing import BaseRoute, Route

from federation import discovery, documents, inbox, services_out, surveys_out
from node import uris

ACTOR_PATHS = ("/@{username}", "/n/{hood}", "/o/{org}", "/actor")

routes: list[BaseRoute] = [
    Route("/.well-known/webfinger", discovery.webfinger),
    Route("/.well-known/host-meta", discovery.host_meta),
    Route("/.well-known/nodeinfo", discovery.nodeinfo_links),
    Route("/nodeinfo/{version}", discovery.nodeinfo),
    Route(uris.NEEDS_JSON, discovery.needs_data),
    Route("/inbox", inbox.receive, methods=["POST"]),
    # The instance actor has no HTML page: it is always JSON.
    Route("/actor", documents.actor_document),
]
for path in ACTOR_PATHS:
    routes += [
        Route(f"{path}/inbox", inbox.receive, methods=["POST"]),
        Route(f"{path}/outbox", documents.outbox),
        Route(f"{path}/followers", documents.followers),
        Route(f"{path}/following", documents.following),
    ]

negotiated_routes: list[BaseRoute] = [
    Route(path, documents.actor_document) for path in ACTOR_PATHS if path != "/actor"
] + [
    Route("/r/{post_id}", documents.post_document),
    Route("/services/{service_id}", services_out.service_document),
    Route("/surveys/{survey_id}", surveys_out.survey_document),
]
