"""Page templates compiled the cheaper way (`web.shell.template_compiling`) write exactly
what Jinja's own compilation writes: the same escaping, the same translations."""

from __future__ import annotations

import json

import markupsafe
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import DictLoader, Environment, nodes, select_autoescape

import admin.routes
import web.routes
from node.config import load_settings
from node.i18n import translations
from tests.test_template_gettext import message_ids
from web.shell.rendering import Renderer
from web.shell.template_compiling import (
    CONSTANT_GETTEXT_FILTER,
    GETTEXT_NAMES,
    ConstantGettext,
    TextTemplate,
    escape_text,
)
from web.shell.template_gettext import newstyle_gettext

# Output in every position a template can write one: plain, in a macro and a call
# block, a {% set %} block, a block with super(), an include, attributes and filters.
TEMPLATES = {
    "base.html": (
        '<title>{% block title %}{{ value }}{% endblock %}</title><p title="{{ value }}">'
        "{% block body %}{{ value }}{% endblock %}</p>{% include 'part.html' %}"
    ),
    "part.html": "<i>{{ value|e }} {{ value|upper }} {{ value ~ '&' }}</i>",
    "page.html": (
        "{% extends 'base.html' %}{% macro card(x) %}<b>{{ x }}</b>{{ caller() if caller }}"
        "{% endmacro %}{% block title %}{{ super() }}:{{ value }}{% endblock %}"
        "{% block body %}{% set kept %}<u>{{ value }}</u>{% endset %}{{ kept }}{{ card(value) }}"
        "{% call card(value) %}[{{ value }}]{% endcall %}{{ [value, 1]|join(', ') }}"
        "{{ value|safe if safe else value }}{{ number }}{{ missing_html }}"
        "{% autoescape false %}{{ value }}{% endautoescape %}{% endblock %}"
    ),
}


def _environment(*, ours: bool, locale: str = "nl", autoescape: object = None) -> Environment:
    catalogue = translations(locale)
    env = Environment(
        loader=DictLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]) if autoescape is None else autoescape,  # noqa: S701 - both ways tested
        extensions=["jinja2.ext.i18n", *([ConstantGettext] if ours else [])],
    )
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    gettext = newstyle_gettext(catalogue)
    env.globals["gettext"] = env.globals["_"] = env.filters[CONSTANT_GETTEXT_FILTER] = gettext
    if ours:
        env.template_class = TextTemplate
    return env


class Html:
    """A value that knows its own HTML (as markupsafe's `__html__` protocol allows)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __html__(self) -> str:
        return f"<em>{markupsafe.escape(self.text)}</em>"

    def __str__(self) -> str:
        return self.text


values = st.one_of(
    st.text(),
    st.text(alphabet="<>&\"'%{}ab ").map(markupsafe.Markup),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
    st.text().map(Html),
)


@given(value=values)
def test_escape_text_writes_what_markupsafe_escape_writes(value: object) -> None:
    assert escape_text(value) == str(markupsafe.escape(value))
    assert type(escape_text(value)) in (str, markupsafe.Markup)


@given(value=values, safe=st.booleans(), number=st.integers())
def test_pages_compiled_our_way_read_as_jinjas(value: object, safe: bool, number: int) -> None:
    jinjas, ours = _environment(ours=False), _environment(ours=True)
    context = {
        "value": value,
        "safe": safe,
        "number": number,
        "missing_html": Html("a < b"),
    }
    page = ours.get_template("page.html")
    assert page.root_render_func.__globals__["escape"] is escape_text  # ours, not Jinja's
    assert page.render(context) == jinjas.get_template("page.html").render(context)


@pytest.mark.parametrize("autoescape", [True, False])
@pytest.mark.parametrize("locale", ["nl", "fr", "en"])
def test_constant_translations_are_compiled_in_and_read_the_same(
    locale: str, autoescape: bool
) -> None:
    """Every message without variables, as `_("…")` and `gettext("…")`: the same text
    as Jinja's gettext gives at render time, and no call left for it in the code."""
    messages = [m for m in message_ids() if "%(" not in m]
    assert len(messages) > 500
    lines = [f"{{{{ _({json.dumps(m)}) }}}}|{{{{ gettext({json.dumps(m)}) }}}}" for m in messages]
    source = "\n".join(lines)
    jinjas = _environment(ours=False, locale=locale, autoescape=autoescape)
    ours = _environment(ours=True, locale=locale, autoescape=autoescape)
    expected = jinjas.from_string(source).render()
    assert ours.from_string(source).render() == expected
    template = ours.from_string(source)
    if locale == "nl":
        assert "Inloggen" in ours.compile(source, raw=True)  # "Log in", in the code

    def not_folded(*args: object) -> str:
        raise AssertionError(f"translated at render time: {args[1:]}")

    # Compiled above with the translations in: rendering asks no gettext of any kind.
    ours.filters[CONSTANT_GETTEXT_FILTER] = not_folded
    ours.globals["_"] = ours.globals["gettext"] = not_folded
    assert template.render() == expected


def test_only_a_lone_literal_is_folded() -> None:
    """Variables, attributes named `_` and joined literals are left to render time."""
    ours = _environment(ours=True)
    source = (
        "{{ _('Log in') }}|{{ _('Open until %(when)s.', when=w) }}|{{ x._('Log in') }}"
        "|{{ _(name) }}|{{ _('Log' ' in') }}"
    )

    class Attribute:
        def _(self, text: str) -> str:
            return f"attribute:{text}"

    page = ours.from_string(source).render(w="<b>", x=Attribute(), name="Log in")
    assert page.split("|") == [
        "Inloggen",
        "Open tot &lt;b&gt;.",
        "attribute:Log in",
        "Inloggen",
        "Inloggen",
    ]
    assert ours.compile(source, raw=True).count("context.call") == 4


def test_no_page_template_names_anything_underscore_or_gettext() -> None:
    """`ConstantGettext` reads every `_("literal")` as a translation: a template variable,
    loop variable or macro argument of that name would be translated over."""
    renderer = Renderer(
        load_settings({"NABUUR_NAME": "Buren"}),
        template_dirs=[web.routes.TEMPLATES_DIR],
        prefixed={"admin": admin.routes.TEMPLATES_DIR},
    )
    env = renderer.environments["en"]
    names = env.list_templates(extensions=["html"])
    assert len(names) > 60
    for name in names:
        source = env.loader.get_source(env, name)[0]
        bound = {
            node.name
            for node in env.parse(source).find_all(nodes.Name)
            if node.ctx in ("store", "param")
        }
        assert not bound & GETTEXT_NAMES, f"{name} binds {bound & GETTEXT_NAMES}"
