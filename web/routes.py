"""The residents' routes."""

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from node import uris
from web.pages import profiles
from web.pages.home import home
from web.pages.neighbourhood import neighbourhood
from web.rendering import TEMPLATES_DIR

STATIC_DIR = TEMPLATES_DIR.parent / "static"

routes = [
    Route(uris.HOME, home, name="home"),
    Route("/n/{slug}", neighbourhood, name="neighbourhood"),
    Route("/@{username}", profiles.person, name="person"),
    Route("/o/{slug}", profiles.organisation, name="organisation"),
    Mount(uris.STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static"),
]
