"""Page rendering: one Jinja environment per locale, and the locale of each request.

Each environment has its own translations installed once at start-up; installing them
per request on a shared environment would race between concurrent requests.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from node import uris
from node.config import Settings
from node.i18n import LANGUAGE_NAMES, negotiate, translations
from node.taxonomy import BY_SLUG

TEMPLATES_DIR = Path(__file__).parent / "templates"

SECURITY_HEADERS = {
    # No scripts, styles or images from anywhere but this node; no framing.
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


class Renderer:
    """Renders templates in the visitor's language."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self.environments = {locale: self._environment(locale) for locale in settings.languages}

    def _environment(self, locale: str) -> Environment:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        catalogue = translations(locale)
        env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
        env.globals.update(
            locale=locale,
            uris=uris,
            node_name=self.settings.name,
            languages=[(code, LANGUAGE_NAMES[code]) for code in self.settings.languages],
        )
        env.filters["when"] = lambda value: self.format_when(value, locale)
        env.filters["category_label"] = lambda slug: catalogue.gettext(BY_SLUG[slug].label)
        env.filters["category_icon"] = lambda slug: BY_SLUG[slug].icon
        return env

    def format_when(self, value: datetime, locale: str) -> str:
        return format_datetime(value, "EEEE d MMMM, HH:mm", tzinfo=self.zone, locale=locale)

    def locale_for(self, request: Request) -> str:
        return negotiate(request.headers.get("accept-language"), self.settings.languages)

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        locale = self.locale_for(request)
        page = self.environments[locale].get_template(template)
        html = page.render(request=request, **(context or {}))
        response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
        # The page differs by language, so caches must key on it.
        response.headers["vary"] = "Accept-Language"
        return response
