"""The templates' `_()` (`web.shell.template_gettext`) gives what Jinja's own newstyle
gettext gives, for every message of every catalogue, with and without autoescape."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment

from node.i18n import LOCALES_DIR, translations
from web.shell.template_gettext import newstyle_gettext

# Values a template may pass: markup to escape, format directives to leave alone.
HOSTILE = '<b>O\'Brien & "co"</b> %s %(num)d {x}'


def message_ids() -> list[str]:
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        catalogue = read_po(handle)
    # Plural messages go through ngettext, which stays Jinja's.
    return [m.id for m in catalogue if m.id and isinstance(m.id, str)]


def environments(locale: str, autoescape: bool) -> tuple[Environment, Environment]:
    catalogue = translations(locale)
    jinjas = Environment(extensions=["jinja2.ext.i18n"], autoescape=autoescape)  # noqa: S701 - both ways compared
    jinjas.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    ours = Environment(extensions=["jinja2.ext.i18n"], autoescape=autoescape)  # noqa: S701 - both ways compared
    ours.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    ours.globals["gettext"] = ours.globals["_"] = newstyle_gettext(catalogue)
    return jinjas, ours


@pytest.mark.parametrize("autoescape", [True, False])
@pytest.mark.parametrize("locale", ["nl", "fr", "en"])
def test_every_message_reads_as_with_jinjas_gettext(locale: str, autoescape: bool) -> None:
    jinjas, ours = environments(locale, autoescape)
    source = "{{ _(message, **values) }}|{% trans %}fixed{% endtrans %}"
    theirs, mine = jinjas.from_string(source), ours.from_string(source)
    compared = 0
    for message in message_ids():
        directives = dict(re.findall(r"%\((\w+)\)(\w)", message))
        values = {name: 7 if kind == "d" else HOSTILE for name, kind in directives.items()}
        expected = theirs.render(message=message, values=values)
        assert mine.render(message=message, values=values) == expected
        # Twice: the second answer comes from what the first one looked up.
        assert mine.render(message=message, values=values) == expected
        compared += 1
    assert compared > 1000  # every catalogue holds far more than this
