"""Rendering e-mail: subject, plain text and HTML from `node/mail_templates`, in one language.

Each message is three templates: `{name}.subject.txt`, `{name}.txt` and `{name}.html`
(the HTML one extends `_layout.html`). Only the HTML is autoescaped: the plain text
must show a name with an ampersand as it is. Strings are translated with the node's
catalogues (`node.i18n`), so `make messages` extracts them like the pages' strings.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from node.config import SUPPORTED_LANGUAGES, Settings
from node.i18n import translations

TEMPLATES_DIR = Path(__file__).parent / "mail_templates"


@dataclass(frozen=True, slots=True)
class Composed:
    subject: str
    text: str
    html: str


@functools.cache
def _environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        auto_reload=False,  # the templates ship with the code
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["language"] = language
    return env


def language_for(settings: Settings, language: str | None) -> str:
    """`language` when the node speaks it, else the node's default language."""
    if language in settings.languages and language in SUPPORTED_LANGUAGES:
        return language
    return settings.default_language


def compose(settings: Settings, template: str, language: str, **context: Any) -> Composed:
    """The message `template` in `language` (the node's default when it does not speak it).

    The context always has `node_name` and `public_url`; a caller may pass its own
    `node_name` (the name admins saved in the browser, which settings do not know).
    """
    env = _environment(language_for(settings, language))
    context.setdefault("node_name", settings.name)
    context.setdefault("public_url", settings.public_url)
    # A subject is one line: a stray newline would be refused (or worse) in a header.
    subject = " ".join(env.get_template(f"{template}.subject.txt").render(**context).split())
    text = env.get_template(f"{template}.txt").render(**context)
    html = env.get_template(f"{template}.html").render(**context)
    return Composed(subject=subject, text=text, html=html)
