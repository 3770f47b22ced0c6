"""What the page templates compile to: escapes that give text, constant `_()` folded in.

A logged-in neighbourhood page writes some five hundred escaped values (forty cards and
the page around them). Jinja wraps each in `markupsafe.escape`, which builds a `Markup`
object (~1 µs here) only for it to be joined into the page and dropped; and each
`_("Some label")` costs a context call, a lookup and an escape at every render (~4 µs),
although its result depends only on the environment's language, fixed for its lifetime.
Profiles put the two at a fifth of the page's template time. So, for the environments
of `web.shell.rendering` (one per language):

- `TextTemplate` makes a compiled template's output escape give plain text
  (`escape_text`: the same characters, no `Markup` object). That escape only ever wraps
  a value written out; markup made inside a template (macros, blocks, `{% set %}`) is
  still `Markup`, and filters such as `|e` keep markupsafe's own.
- `ConstantGettext` turns `_("literal")` and `gettext("literal")` (one string, no
  variables) into a filter over the literal that Jinja evaluates while compiling, so the
  translation is part of the compiled page. Anything else (`_("%(n)d left", n=...)`, a
  variable, several literals) is called at render time as before. Translations are ours
  and trusted, exactly as `web.shell.template_gettext` treats them. So no page template
  may name a variable, loop variable or macro argument `_` or `gettext` (a test reads
  them all), and a bytecode cache shared by the languages' environments would mix their
  translations (its key does not hold the language).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import markupsafe
from jinja2 import Environment, Template
from jinja2.ext import Extension
from jinja2.lexer import (
    TOKEN_DOT,
    TOKEN_LPAREN,
    TOKEN_NAME,
    TOKEN_PIPE,
    TOKEN_RPAREN,
    TOKEN_STRING,
    Token,
    TokenStream,
)

# markupsafe's own escaping loop (its C speed-up where built): `escape` is this plus a
# `Markup` object around the result. tests/test_template_compiling.py holds the two equal.
_escape_inner = markupsafe._escape_inner

GETTEXT_NAMES = frozenset({"_", "gettext"})
# The filter `ConstantGettext` writes in: the environment's own `gettext`.
CONSTANT_GETTEXT_FILTER = "constant_gettext"


def escape_text(value: Any) -> str:
    """`str(markupsafe.escape(value))`, without making the `Markup` object."""
    if type(value) is str:
        return _escape_inner(value)
    html = getattr(value, "__html__", None)
    if html is not None:
        return html()
    return _escape_inner(str(value))


class TextTemplate(Template):
    """A template whose compiled output escapes with `escape_text`."""

    @classmethod
    def _from_namespace(
        cls,
        environment: Environment,
        namespace: MutableMapping[str, Any],
        globals: MutableMapping[str, Any],
    ) -> Template:
        # The compiled module imports `escape` from jinja2.runtime and calls it only
        # around values it writes out (CodeGenerator._output_child_pre).
        namespace["escape"] = escape_text
        return super()._from_namespace(environment, namespace, globals)


class ConstantGettext(Extension):
    """Rewrites `_("literal")` as `("literal"|constant_gettext)`, which Jinja folds."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        tokens = list(stream)
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if _is_constant_gettext(tokens, index):
                literal = tokens[index + 2]
                yield Token(token.lineno, TOKEN_LPAREN, "(")
                yield literal
                yield Token(literal.lineno, TOKEN_PIPE, "|")
                yield Token(literal.lineno, TOKEN_NAME, CONSTANT_GETTEXT_FILTER)
                yield Token(literal.lineno, TOKEN_RPAREN, ")")
                index += 4
                continue
            yield token
            index += 1


def _is_constant_gettext(tokens: list[Token], index: int) -> bool:
    """`_ ( "literal" )` at `index`, not an attribute (`x._("...")`)."""
    if index + 3 >= len(tokens) or tokens[index].type != TOKEN_NAME:
        return False
    if tokens[index].value not in GETTEXT_NAMES:
        return False
    if index and tokens[index - 1].type == TOKEN_DOT:
        return False
    return [tokens[index + k].type for k in (1, 2, 3)] == [
        TOKEN_LPAREN,
        TOKEN_STRING,
        TOKEN_RPAREN,
    ]
