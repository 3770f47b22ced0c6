"""Page rendering: one Jinja environment per locale, and the locale of each request.

Each environment has its own translations installed once at start-up; installing them
per request on a shared environment would race between concurrent requests.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from node import uris
from node.config import Settings
from node.i18n import LANGUAGE_NAMES, N_, negotiate, translations
from node.linkify import linkify
from node.services.page_header import header_facts
from node.taxonomy import BY_SLUG
from web.shell import csrf
from web.shell.card_html import CardRenderer
from web.shell.page_cache import TOKEN_PLACEHOLDER
from web.shell.template_compiling import CONSTANT_GETTEXT_FILTER, ConstantGettext, TextTemplate
from web.shell.template_gettext import newstyle_gettext

# The layout, form macros and error page every page builds on.
SHELL_TEMPLATES = Path(__file__).parent / "templates"

SECURITY_HEADERS = {
    # No scripts, styles or images from anywhere but this node; no framing.
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


STATUS_LABELS = {
    "open": N_("Open"),
    "matched": N_("Helpers found"),
    "done": N_("Done"),
    "withdrawn": N_("Withdrawn"),
    "expired": N_("Expired"),
}
OFFER_LABELS = {
    "offered": N_("Offered"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "withdrawn": N_("Withdrawn"),
    # Not taken before the request was filled or closed; its helper was told so.
    "not_needed": N_("No longer needed"),
}


def paragraphs(text: str) -> Markup:
    """Plain text as escaped paragraphs, single newlines kept as line breaks."""
    blocks = [block for block in str(text).split("\n\n") if block.strip()]
    return Markup("").join(
        Markup("<p>%s</p>") % Markup("<br>").join(escape(line) for line in block.split("\n"))
        for block in blocks
    )


def linked_paragraphs(text: str) -> Markup:
    """Like `paragraphs`, with the http(s) URLs in the text as links (`node.linkify`):
    for what people write to each other (comments, offers), not for titles or names."""
    # linkify's output holds only text and <a> elements, and no URL holds a line break:
    # splitting it at "\n" cuts text, never a tag (and the parts stay Markup).
    html = Markup(linkify(str(text)))  # noqa: S704 - nh3 allowlist: text and http(s) links
    blocks = [block for block in html.split("\n\n") if block.strip()]
    return Markup("").join(
        Markup("<p>%s</p>") % Markup("<br>").join(block.split("\n")) for block in blocks
    )


def linked(text: str) -> Markup:
    """Plain text as escaped inline HTML with its http(s) URLs as links (`node.linkify`):
    a listing's shortened description. Text without a URL does not load nh3."""
    if "://" not in str(text):
        return escape(text)
    return Markup(linkify(str(text)))  # noqa: S704 - nh3 allowlist: text and http(s) links


@functools.lru_cache(maxsize=4096)
def _format_when(value: datetime, locale: str, zone: ZoneInfo) -> str:
    # Babel takes ~50 µs a date; listings show the same dates page after page.
    return format_datetime(value, "EEEE d MMMM, HH:mm", tzinfo=zone, locale=locale)


class Renderer:
    """Renders templates in the visitor's language."""

    def __init__(
        self,
        settings: Settings,
        template_dirs: Sequence[Path] = (),
        prefixed: Mapping[str, Path] | None = None,
    ) -> None:
        """`template_dirs` are searched before the shell's own; `prefixed` maps a prefix to
        a directory whose templates are named `prefix/name.html` (the dashboards')."""
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        loaders: list[BaseLoader] = [FileSystemLoader([*template_dirs, SHELL_TEMPLATES])]
        if prefixed:
            loaders.append(
                PrefixLoader({key: FileSystemLoader(path) for key, path in prefixed.items()})
            )
        self.loader = ChoiceLoader(loaders)
        self.environments = {locale: self._environment(locale) for locale in settings.languages}

    def _environment(self, locale: str) -> Environment:
        env = Environment(
            loader=self.loader,
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            # Templates ship with the code: no need to look at their files on every page.
            auto_reload=False,
            extensions=["jinja2.ext.i18n", ConstantGettext],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        catalogue = translations(locale)
        env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
        env.template_class = TextTemplate
        gettext = newstyle_gettext(catalogue)
        env.globals["gettext"] = env.globals["_"] = env.filters[CONSTANT_GETTEXT_FILTER] = gettext
        env.globals.update(
            locale=locale,
            uris=uris,
            languages=[(code, LANGUAGE_NAMES[code]) for code in self.settings.languages],
        )
        env.filters["when"] = lambda value: self.format_when(value, locale)
        env.filters["category_label"] = lambda slug: catalogue.gettext(BY_SLUG[slug].label)
        env.filters["category_icon"] = lambda slug: BY_SLUG[slug].icon
        env.filters["status_label"] = lambda status: catalogue.gettext(STATUS_LABELS[status])
        env.filters["offer_label"] = lambda status: catalogue.gettext(OFFER_LABELS[status])
        env.filters["clock"] = lambda value: format_time(
            value, "HH:mm", tzinfo=self.zone, locale=locale
        )
        env.filters["until"] = lambda ends, starts: self.format_until(ends, starts, locale)
        env.filters["paragraphs"] = paragraphs
        env.filters["linked_paragraphs"] = linked_paragraphs
        env.filters["linked"] = linked
        env.globals["post_card"] = CardRenderer(env, catalogue, env.filters["when"], linked)
        env.globals["post_cards"] = env.globals["post_card"].many
        return env

    def format_when(self, value: datetime, locale: str) -> str:
        return _format_when(value, locale, self.zone)

    def format_until(self, ends: datetime | None, starts: datetime, locale: str) -> str:
        """The end of a dated post after its start: the time alone on the same day, the
        full date on another; nothing for an end not after the start (never "14:00 –
        10:00", whatever older rows hold)."""
        if ends is None or ends <= starts:
            return ""
        if ends.astimezone(self.zone).date() == starts.astimezone(self.zone).date():
            return format_time(ends, "HH:mm", tzinfo=self.zone, locale=locale)
        return self.format_when(ends, locale)

    def locale_for(self, request: Request) -> str:
        """The account's language, else the one picked with the switch, else the browser's."""
        offered = self.settings.languages
        account = getattr(request.state, "account", None)
        if account is not None:
            for language in account.languages:
                if language in offered:
                    return language
        picked = getattr(request.state, "language_cookie", None)
        if picked in offered:
            return picked
        return negotiate(request.headers.get("accept-language"), offered)

    async def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        locale: str | None = None,
    ) -> HTMLResponse:
        """`template` in `locale` if the node offers it (a page about an account the
        visitor is not logged in as: its language), else in `locale_for(request)`."""
        if locale is None or locale not in self.environments:
            locale = self.locale_for(request)
        viewer = getattr(request.state, "account", None)
        page = self.environments[locale].get_template(template)
        cache_key = getattr(request.state, "cache_key", None) if status_code == 200 else None
        profile = await request.app.state.profile_cache.get()
        tagline, tagline_lang = profile.text_in(profile.tagline, locale)
        context = dict(context or {})
        unread = 0
        if viewer is not None:
            # Admins and organisations' staff get a link to their dashboards (admin pages
            # know it already); read with the badge, on every page, fresh.
            facts = await header_facts(viewer, ask_dashboard="dashboard" not in context)
            unread = facts.unread
            context.setdefault("dashboard", facts.dashboard)
        context.setdefault("dashboard", False)
        html = page.render(
            request=request,
            viewer=viewer,
            unread=unread,
            node_name=profile.name,
            node_tagline=tagline,
            node_tagline_lang=tagline_lang,
            # A page kept for other visitors holds a placeholder, filled in per visitor.
            csrf_token=(lambda: TOKEN_PLACEHOLDER) if cache_key else (lambda: csrf.token(request)),
            here=request.url.path,
            **context,
        )
        all_headers = {
            **SECURITY_HEADERS,
            # The page differs by language and by who is logged in; it holds a CSRF token.
            "vary": "Accept-Language, Cookie",
            "cache-control": "private, no-cache",
            **(headers or {}),
        }
        if cache_key:
            request.app.state.page_cache.put(cache_key, html, all_headers)
            html = html.replace(TOKEN_PLACEHOLDER, csrf.token(request))
        return HTMLResponse(html, status_code=status_code, headers=all_headers)
