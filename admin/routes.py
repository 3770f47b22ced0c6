"""Routes of the organisation and moderation dashboard, mounted under /admin.

Empty until the dashboard is built: the mount point is fixed so links can be planned.
"""

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
