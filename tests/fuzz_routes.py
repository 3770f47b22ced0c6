"""Route and form discovery for the no-500 fuzz test (tests/test_no_500.py).

Routes come from the app itself (`app.routes`, mounted sub-apps included), so a route
added tomorrow is fuzzed without editing the test. Pages are read with the standard
library's HTML parser: every form (its action, method, encoding and fields, with the
options of selects, radios and named buttons) and the query parameter names that the
page's links and GET forms use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

from starlette.routing import BaseRoute, Mount, Route

_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """One route of the app: its path template and methods (HEAD left out)."""

    template: str
    methods: frozenset[str]

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.template)

    def fill(self, values: dict[str, str]) -> str:
        """The path with each `{name}` replaced by `values[name]` (already quoted)."""
        return _PARAM.sub(lambda found: values[found.group(1)], self.template)

    def matches(self, path: str) -> bool:
        return _matcher(self.template).fullmatch(path) is not None


def _matcher(template: str) -> re.Pattern[str]:
    pattern = "".join(
        "[^/]+" if index % 2 else re.escape(part)
        for index, part in enumerate(_PARAM.split(template))
        if index % 2 == 0 or part  # split keeps each captured name at odd positions
    )
    return re.compile(pattern)


def _walk(routes: Iterable[BaseRoute], prefix: str) -> Iterator[RouteInfo]:
    for route in routes:
        if isinstance(route, Mount):
            inner = list(route.routes or [])
            if inner:
                yield from _walk(inner, prefix + route.path)
            else:  # an app mounted whole (static files): any path below it
                yield RouteInfo(prefix + route.path + "/{path}", frozenset({"GET"}))
        elif isinstance(route, Route):
            methods = frozenset((route.methods or {"GET"}) - {"HEAD"})
            yield RouteInfo(prefix + route.path, methods)


def route_table(app: object) -> list[RouteInfo]:
    """Every route of `app`, mounted sub-apps included, in the app's order."""
    return list(_walk(app.routes, ""))  # type: ignore[attr-defined]


def template_of(routes: list[RouteInfo], path: str, method: str) -> RouteInfo | None:
    """The route that answers `method path` (the first that matches, as Starlette does)."""
    for route in routes:
        if method in route.methods and route.matches(path):
            return route
    return None


@dataclass(slots=True)
class Field:
    """One named control of a form: what the page offers for it."""

    name: str
    kind: str  # the input's type ("text", "date", ...), or "textarea", "select", "button"
    value: str = ""
    options: list[str] = field(default_factory=list)
    checked: bool = False


@dataclass(slots=True)
class HtmlForm:
    page: str  # the page it was found on
    action: str  # path (and query) it posts to
    method: str
    enctype: str
    fields: list[Field] = field(default_factory=list)

    def field(self, name: str, kind: str) -> Field:
        for existing in self.fields:
            if existing.name == name and kind in ("radio", "button", "checkbox", "option"):
                return existing
        made = Field(name, kind)
        self.fields.append(made)
        return made

    @property
    def path(self) -> str:
        return urlsplit(self.action).path

    def default_pairs(self) -> list[tuple[str, str]]:
        """What a browser sends when the form is submitted as the page left it."""
        pairs: list[tuple[str, str]] = []
        for item in self.fields:
            if item.kind in ("file", "submit"):
                continue
            if item.kind in ("checkbox", "radio") and not item.checked:
                if item.kind == "radio" and item.options:
                    pairs.append((item.name, item.options[0]))
                continue
            if item.kind == "button":
                pairs.append((item.name, item.options[0] if item.options else item.value))
                continue
            pairs.append((item.name, item.value))
        return pairs


class PageParser(HTMLParser):
    """Collects a page's forms and the query parameter names of its links."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[HtmlForm] = []
        self.link_params: dict[str, set[str]] = {}  # path -> names used in its links
        self.links: list[str] = []  # links with a query (`/report?post=…`): pages too
        self._form: HtmlForm | None = None
        self._text_field: Field | None = None  # a textarea or option whose text is read
        self._select: Field | None = None
        self._option_value: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag in ("a", "link") and a.get("href"):
            self._link(a["href"])
        elif tag == "form":
            action = urljoin(self.page, a.get("action") or self.page)
            parts = urlsplit(action)
            if parts.netloc not in ("", "testserver"):
                self._form = None  # a form to another site (none today): not ours to post
                return
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            method = (a.get("method") or "get").upper()
            enctype = a.get("enctype") or "application/x-www-form-urlencoded"
            self._form = HtmlForm(self.page, target, method, enctype)
            self.forms.append(self._form)
            if method == "GET":
                self._link(target)
        elif self._form is not None:
            self._control(tag, a)

    def _control(self, tag: str, a: dict[str, str]) -> None:
        form = self._form
        assert form is not None
        name = a.get("name", "")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            item = form.field(name, kind)
            if kind in ("radio", "checkbox"):
                item.options.append(a.get("value", "on"))
                if "checked" in a:
                    item.checked, item.value = True, a.get("value", "on")
            else:
                item.value = a.get("value", "")
        elif tag == "button" and name:
            form.field(name, "button").options.append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._text_field = form.field(name, "textarea")
        elif tag == "select" and name:
            self._select = form.field(name, "select")
        elif tag == "option" and self._select is not None:
            self._option_value = a.get("value")
            if self._option_value is not None:
                self._select.options.append(self._option_value)
            if "selected" in a:
                self._select.value = self._option_value or ""

    def handle_data(self, data: str) -> None:
        if self._text_field is not None:
            self._text_field.value += data
        elif self._select is not None and self._option_value is None and data.strip():
            self._select.options.append(data.strip())  # an option without a value attribute
            self._option_value = data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            if self._form is not None and self._form.method == "GET":
                names = self.link_params.setdefault(self._form.path, set())
                names.update(item.name for item in self._form.fields)
            self._form = None
        elif tag == "textarea":
            self._text_field = None
        elif tag == "select":
            if self._select is not None and not self._select.value and self._select.options:
                self._select.value = self._select.options[0]
            self._select = None
        elif tag == "option":
            self._option_value = None

    def _link(self, href: str) -> None:
        parts = urlsplit(urljoin(self.page, href))
        if parts.netloc not in ("", "testserver"):
            return
        names = self.link_params.setdefault(parts.path, set())
        names.update(name for name, _ in parse_qsl(parts.query, keep_blank_values=True))
        if parts.query:
            self.links.append(f"{parts.path}?{parts.query}")


def parse_page(page: str, html: str) -> PageParser:
    parser = PageParser(page)
    parser.feed(html)
    parser.close()
    return parser
