"""No input gives a 500: every route, form and query parameter, fuzzed, on both databases.

A node is seeded (`tests/fuzz_seed.py`: neighbourhoods, an organisation with its staff,
an admin, a moderator, residents, requests and offers in several states, offers of
help, reports, domain rules, partner follows, a failed delivery) and visited as an
admin and as a resident (each logged in through the real log-in form) and anonymously,
each on a node in another time zone. Routes are read from the app
(`tests/fuzz_routes.py`), so a new route is fuzzed without editing this file. The
crawl opens every page with the seeded values and the pages its links with a query
lead to, and reads their forms. Then, for each viewer (`tests/fuzz_runner.py`):

1. every GET route is requested with real and arbitrary path parameters, arbitrary
   values for the query parameters its pages' links and GET forms use (plus a few
   generic ones), asking for HTML or ActivityStreams in any language;
2. every form found is submitted, with its valid CSRF token, with values hypothesis
   draws per field (`tests/fuzz_values.py`): kept, another option, arbitrary Unicode,
   100k characters, numbers and dates in and out of range, left out, repeated, and
   unknown fields added;
3. every POST route gets arbitrary fields, known and unknown, and bodies of the wrong
   kind.

The answer is never a 5xx (nor an exception, which a browser sees as a dropped
connection), and after any 4xx answer to a POST every table holds exactly what it held
before (`fuzz_values.snapshot`; only bookkeeping of attempts may change). Inputs that
once gave a 500 are explicit examples (`REGRESSIONS`).

Each form and route gets NABUUR_FUZZ_EXAMPLES examples (default 3), derandomised so
that CI runs the same inputs every time; NABUUR_FUZZ_RANDOM=1 draws new ones, e.g.
`NABUUR_FUZZ_EXAMPLES=200 NABUUR_FUZZ_RANDOM=1 .venv/bin/python -m pytest
tests/test_no_500.py`. The number of inputs tried is printed at the end of the run.
No hypothesis database is written. Other servers are unreachable (`no_network`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import strategies as st

from node.app import create_app
from node.config import Settings
from tests.conftest import report_in_summary
from tests.fuzz_routes import HtmlForm, RouteInfo, parse_page, route_table, template_of
from tests.fuzz_runner import INPUTS, SENT, Fuzzer, path_strategy, real_paths
from tests.fuzz_seed import PASSWORD, World, build_world
from tests.fuzz_values import FILES, IN_URL, UNICODE, blind_pairs, form_pairs
from tests.webclient import browser

ROUTES = route_table(create_app(Settings(), manage_database=False, workers=False))
VIEWERS = ("admin", "resident", "anonymous")
GENERIC_PARAMS = ("page", "q", "from", "to", "since", "until", "next", "lang", "status")
GENERIC_PARAMS += ("category", "neighbourhood", "kind", "done", "tab", "when")
ACCEPT = st.sampled_from(
    [
        "text/html",
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "*/*",
        "\x7f;q=x, text/*;q=abc",
    ]
)
LANGUAGES = st.one_of(
    st.sampled_from(["fr;q=nan", "*;q=1e999", "nl-BE,fr;q=0.5", "en;q=-1", "xx", ",;q=", ""]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)
HEADERS = st.fixed_dictionaries({"accept": ACCEPT}, optional={"accept-language": LANGUAGES})
# What a blind POST sends: a form, a body of another kind, or a form about whose length
# the Content-Length header lies.
BODIES = st.sampled_from(
    ["form", "form", "multipart", "json", "none", "length:-1", "length:" + "9" * 30]
)
# Each viewer's node shows times in another zone, the farthest from UTC on either side
# among them, so that converting a typed time to UTC meets the edges of the calendar.
ZONES = {"admin": "Pacific/Pago_Pago", "resident": "Pacific/Kiritimati", "anonymous": "UTC"}
# Inputs that once gave a 500, kept as explicit examples of every form and route they
# name (before a page's own values: the first value of a field is the one read).
REGRESSIONS: dict[tuple[str, str], list[list[tuple[str, str]]]] = {
    # compose._when: a day added past 9999-12-31, year 1 taken to UTC (OverflowError).
    ("POST", "/new"): [
        [
            ("when", "date"),
            ("date", "9999-12-31"),
            ("starts_time", "23:59"),
            ("ends_time", "00:30"),
        ],
        [("when", "date"), ("date", "0001-01-01"), ("starts_time", "00:00"), ("action", "publish")],
        [("helpers_needed", "²"), ("action", "preview")],  # "²".isdigit(), int("²") fails
    ],
    ("POST", "/logout"): [[("csrf_token", "é")]],  # compare_digest refuses non-ASCII
    # case._moment: 9999-12-31 23:59 at UTC-11 is past the calendar's end in UTC.
    ("POST", "/admin/o/{slug}/r/{post_id}/notes"): [
        [("kind", "contact"), ("body", "Gebeld"), ("occurred_at", "9999-12-31T23:59")]
    ],
    ("POST", "/admin/federation/blocks/remove"): [[("domain", "a" * 1000)]],
    ("POST", "/admin/federation/network/unfollow"): [[("follow", str(2**31))], [("follow", "²")]],
    ("POST", "/admin/federation/network/followers"): [[("follow", "²"), ("decision", "accept")]],
    ("POST", "/admin/federation/health/deliveries"): [[("delivery", "²"), ("action", "retry")]],
    ("POST", "/admin/invitations"): [[("action", "revoke"), ("invitation", "²")]],
    ("POST", "/admin/o/{slug}/staff"): [[("action", "revoke"), ("invitation", "²")]],
    ("POST", "/admin/neighbourhoods/new"): [[("slug", "a" * 35)]],  # no username is 35 long
    ("POST", "/admin/moderation/reports/{report_id}/hand-over"): [[("handler", "a" * 40)]],
    ("POST", "/settings/followers"): [[("action", "approve"), ("follow_id", str(2**31))]],
    ("GET", "/n/{hood}/outbox"): [[("page", "²")], [("page", "9" * 5000)]],
    ("GET", "/admin/federation"): [
        [("added", "²"), ("changed", "1"), ("left_out", "1"), ("skipped", "1")]
    ],
}


def visible(route: RouteInfo, viewer: str) -> bool:
    return viewer == "admin" or not route.template.startswith("/admin")


async def crawl(fuzzer: Fuzzer) -> tuple[list[HtmlForm], dict[str, set[str]]]:
    """Every form on every page the viewer can open (each route with the seeded values,
    then the pages its links with a query lead to, such as `/report?post=…`), once per
    (route, method, fields); and the query parameter names links and GET forms use."""
    forms: dict[tuple, HtmlForm] = {}
    params: dict[str, set[str]] = {}
    pages = [
        path
        for route in ROUTES
        if "GET" in route.methods and visible(route, fuzzer.viewer)
        for path in real_paths(route, fuzzer.world)
    ] + fuzzer.world.pages
    seen_links: set[tuple] = set()
    while pages:
        path = pages.pop(0)
        response = await fuzzer.send("GET", path)
        assert response.status_code < 500, (path, response.status_code)
        if "html" not in response.headers.get("content-type", ""):
            continue
        page = parse_page(path, response.text)
        for target, names in page.link_params.items():
            params.setdefault(target, set()).update(names)
        for link in page.links:
            target, _, query = link.partition("?")
            found = template_of(ROUTES, target, "GET")
            key = (found and found.template, tuple(sorted(dict(parse_qsl(query)))))
            if found and visible(found, fuzzer.viewer) and key not in seen_links:
                seen_links.add(key)
                pages.append(link)
        for form in page.forms:
            found = template_of(ROUTES, form.path, form.method)
            key = (
                found and found.template,
                form.method,
                tuple(sorted({f.name for f in form.fields})),
            )
            if key not in forms and (found is None or visible(found, fuzzer.viewer)):
                forms[key] = form
    # Forms that end the session or rewrite the admin's node go last.
    return sorted(forms.values(), key=lambda f: f.action.startswith(("/admin", "/logout"))), params


def _form_examples(form: HtmlForm) -> list[tuple[list[tuple[str, str]], bytes]]:
    found = template_of(ROUTES, form.path, form.method)
    known = REGRESSIONS.get((form.method, found.template if found else form.path), [])
    return [([*pairs, *form.default_pairs()], b"") for pairs in known]


def _route_examples(route: RouteInfo, method: str, world: World, last: object) -> list[tuple]:
    path = next(real_paths(route, world))
    return [(path, pairs, last) for pairs in REGRESSIONS.get((method, route.template), [])]


async def _fuzz(world: World, viewer: str) -> None:
    fuzzer = Fuzzer(asyncio.get_running_loop(), world, viewer)
    await fuzzer.refresh()
    forms, params = await crawl(fuzzer)
    await fuzzer.refresh()

    def everything() -> None:
        for route in ROUTES:
            if "GET" in route.methods:
                names = sorted({*GENERIC_PARAMS, *world.params_of(route, params)})
                query = st.lists(
                    st.tuples(st.one_of(st.sampled_from(names), UNICODE), IN_URL), max_size=4
                )
                strategy = st.tuples(path_strategy(route, world), query, HEADERS)
                json = {"accept": "application/activity+json"}
                known = _route_examples(route, "GET", world, json)
                fuzzer.search(f"GET {route.template}", strategy, fuzzer.get, known)
        fuzzer.run(fuzzer.refresh())
        for form in forms:
            strategy = st.tuples(form_pairs(form), FILES)
            fuzzer.search(
                f"{form.method} {form.action} (form on {form.page})",
                strategy,
                lambda drawn, form=form: fuzzer.submit(form, drawn),
                _form_examples(form),
            )
        for route in ROUTES:
            if "POST" in route.methods:
                names = sorted(
                    {f.name for form in forms for f in form.fields if route.matches(form.path)}
                )
                strategy = st.tuples(path_strategy(route, world), blind_pairs(names), BODIES)
                # forms._body: a Content-Length of 5000 digits is more than `int` reads.
                lying = (next(real_paths(route, world)), [], "length:" + "9" * 5000)
                fuzzer.search(
                    f"POST {route.template} (any fields)",
                    strategy,
                    lambda drawn: fuzzer.post(drawn[0], drawn[1], drawn[2]),
                    [*_route_examples(route, "POST", world, "form"), lying],
                )

    await asyncio.to_thread(everything)
    assert forms, f"no form found for {viewer}"
    assert not fuzzer.failures, "\n\n".join(fuzzer.failures)


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_no_input_gives_a_server_error(database: str, viewer: str) -> None:
    async with browser(database, timezone=ZONES[viewer]) as web:
        world = await build_world({viewer: web})
        account = world.accounts.get(viewer)
        if account is not None:  # through the log-in form, as a person does (argon2 once)
            login = await web.submit("/login", {"username": account.username, "password": PASSWORD})
            assert login.status_code == 303, login.text[:500]
        await _fuzz(world, viewer)


@pytest.fixture(scope="module", autouse=True)
def report_count(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if INPUTS:
        figures = ", ".join(f"{count} as {viewer}" for viewer, count in sorted(INPUTS.items()))
        line = f"no-500 fuzzing: {INPUTS.total()} generated inputs ({figures}), "
        report_in_summary(request.config, line + f"{SENT.total()} requests with the crawl")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other server is unreachable: addresses typed into forms are refused as the
    client refuses them, and anything it would send is a network error (no test leaves
    this machine)."""
    from federation import client

    async def unreachable(self: client.HttpClient, method: str, url: str, **_: Any) -> Any:
        self._check_target(client._parse_url(url))
        raise client.FetchError(url, "network error: unreachable in this test")

    monkeypatch.setattr(client.HttpClient, "request", unreachable)
