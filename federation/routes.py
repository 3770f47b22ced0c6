"""ActivityPub and discovery routes (WebFinger, NodeInfo, actors, inboxes).

Empty until the federation core lands; `node.app` already mounts this list.
"""

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
