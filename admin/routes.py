"""Routes of node administration and the organisation dashboard, mounted under /admin."""

from pathlib import Path

from starlette.routing import BaseRoute

TEMPLATES_DIR = Path(__file__).parent / "templates"

routes: list[BaseRoute] = []
