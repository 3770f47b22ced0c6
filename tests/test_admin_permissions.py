"""The permission matrix of /admin: every admin route, asked by every kind of viewer.

`ROUTES` lists each route under /admin once per method, with the rule that decides who
may use it; `RULES` spells each rule out for the seven viewers. The matrix test walks the
whole table for one viewer at a time (on SQLite and on PostgreSQL) and reports every cell
that answers differently, so one run shows all that is wrong. Together they guarantee:

- anonymous visitors are always sent to log in, and brought back to the page afterwards;
- node administration answers only the node's admins; everyone else gets 403;
- an organisation's dashboard, exports, staff list and the follow-up page of its requests
  answer its staff, its coordinators and the node's admins, not the staff of another
  organisation, nor residents or moderators;
- managing an organisation (its staff, profile and icon) is for its coordinators and the
  node's admins only;
- an unknown organisation is not found, rather than a server error.

`test_every_admin_route_has_a_permission_row` fails as soon as a route is added to
`admin.routes.routes` without a row here, so no admin page goes unchecked.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

import admin.routes
from node import uris
from node.config import Settings
from node.models import Account, HelpPost, Organisation
from node.services import casework, reports, service_directory
from tests import factories
from tests.webclient import Browser, browser

HOOD = "kuregem"
ORG = "buurthuis"  # the organisation under test
OTHER_ORG = "andere-vzw"
MISSING_ORG = "no-such-org"

VIEWERS = ("anonymous", "resident", "other-staff", "staff", "coordinator", "moderator", "admin")


class Rule(StrEnum):
    NODE_ADMIN = "node administration"
    OVERVIEW = "overview"
    DASHBOARD = "organisation dashboard"
    MANAGE = "managing the organisation"
    CASE = "follow-up of a request"
    UNKNOWN_ORG = "unknown organisation"
    MODERATION = "moderation"
    # Admins, connectors and staff of organisations with areas (none in this world).
    SURVEYS = "needs surveys"
    # Any organisation's staff (for their own), and admins: services, needs figures.
    ANY_STAFF = "staff of any organisation"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a viewer should get: `allowed` is 200 for GET, a handled answer for POST."""

    name: str
    location: str = ""


LOGIN = Outcome("303 to /login?next=<the page>")
FORBIDDEN = Outcome("403")
NOT_FOUND = Outcome("404")
ALLOWED = Outcome("allowed")


def to_dashboard(slug: str) -> Outcome:
    return Outcome("303 to the dashboard", uris.dashboard(slug))


TO_ORG, TO_OTHER_ORG = to_dashboard(ORG), to_dashboard(OTHER_ORG)
TO_MOD = Outcome("303 to the moderation queue", "/admin/moderation")

# One row per rule, one column per viewer, in the order of VIEWERS.
# fmt: off
RULES: dict[Rule, tuple[Outcome, ...]] = {
    #                anonymous resident  other-staff   staff      coordinator moderator  admin
    Rule.NODE_ADMIN:  (LOGIN, FORBIDDEN, FORBIDDEN,    FORBIDDEN, FORBIDDEN, FORBIDDEN, ALLOWED),
    Rule.OVERVIEW:    (LOGIN, FORBIDDEN, TO_OTHER_ORG, TO_ORG,    TO_ORG,    TO_MOD,    ALLOWED),
    Rule.DASHBOARD:   (LOGIN, FORBIDDEN, FORBIDDEN,    ALLOWED,   ALLOWED,   FORBIDDEN, ALLOWED),
    Rule.MANAGE:      (LOGIN, FORBIDDEN, FORBIDDEN,    FORBIDDEN, ALLOWED,   FORBIDDEN, ALLOWED),
    Rule.CASE:        (LOGIN, FORBIDDEN, FORBIDDEN,    ALLOWED,   ALLOWED,   FORBIDDEN, ALLOWED),
    Rule.UNKNOWN_ORG: (LOGIN, NOT_FOUND, NOT_FOUND,    NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    Rule.MODERATION:  (LOGIN, FORBIDDEN, FORBIDDEN,    FORBIDDEN, FORBIDDEN, ALLOWED,   ALLOWED),
    Rule.SURVEYS:     (LOGIN, FORBIDDEN, FORBIDDEN,    FORBIDDEN, FORBIDDEN, FORBIDDEN, ALLOWED),
    Rule.ANY_STAFF:   (LOGIN, FORBIDDEN, ALLOWED,      ALLOWED,   ALLOWED,   FORBIDDEN, ALLOWED),
}
# fmt: on

# Every route under /admin, once per method. Placeholders: {hood}, {org} (the organisation
# under test), {username}, {post} (a public request of {org}), {missing} (no such org) and
# {report} (a resident's report about {post}).
ROUTES: list[tuple[str, str, Rule]] = [
    ("GET", "/admin/", Rule.OVERVIEW),
    # Node administration.
    ("GET", "/admin/neighbourhoods", Rule.NODE_ADMIN),
    ("GET", "/admin/neighbourhoods/new", Rule.NODE_ADMIN),
    ("POST", "/admin/neighbourhoods/new", Rule.NODE_ADMIN),
    ("GET", "/admin/neighbourhoods/{hood}", Rule.NODE_ADMIN),
    ("POST", "/admin/neighbourhoods/{hood}", Rule.NODE_ADMIN),
    ("POST", "/admin/neighbourhoods/{hood}/archive", Rule.NODE_ADMIN),
    ("POST", "/admin/neighbourhoods/{hood}/icon", Rule.NODE_ADMIN),
    ("POST", "/admin/neighbourhoods/{hood}/connectors", Rule.NODE_ADMIN),
    # Help without internet: admins and the neighbourhood's connectors (none in this world).
    ("GET", "/admin/n/{hood}/contact", Rule.NODE_ADMIN),
    ("POST", "/admin/n/{hood}/contact", Rule.NODE_ADMIN),
    ("GET", "/admin/organisations", Rule.NODE_ADMIN),
    ("GET", "/admin/organisations/new", Rule.NODE_ADMIN),
    ("POST", "/admin/organisations/new", Rule.NODE_ADMIN),
    # The directory of services: {service} is a service of {org}.
    ("GET", "/admin/services", Rule.ANY_STAFF),
    ("GET", "/admin/services/new", Rule.ANY_STAFF),
    ("POST", "/admin/services/new", Rule.ANY_STAFF),
    ("GET", "/admin/services/{service}", Rule.CASE),
    ("POST", "/admin/services/{service}", Rule.CASE),
    ("POST", "/admin/services/{service}/delete", Rule.CASE),
    # Guides for helpers.
    ("GET", "/admin/guides", Rule.NODE_ADMIN),
    ("GET", "/admin/guides/{category}/{language}", Rule.NODE_ADMIN),
    ("POST", "/admin/guides/{category}/{language}", Rule.NODE_ADMIN),
    ("POST", "/admin/guides/{category}/{language}/reset", Rule.NODE_ADMIN),
    ("GET", "/admin/o/{org}/guides", Rule.DASHBOARD),
    ("GET", "/admin/o/{org}/guides/{category}/{language}", Rule.DASHBOARD),
    ("POST", "/admin/o/{org}/guides/{category}/{language}", Rule.MANAGE),
    ("POST", "/admin/o/{org}/guides/{category}/{language}/reset", Rule.MANAGE),
    ("GET", "/admin/o/{missing}/guides", Rule.UNKNOWN_ORG),
    # Needs surveys.
    ("GET", "/admin/surveys", Rule.SURVEYS),
    ("GET", "/admin/surveys/new", Rule.SURVEYS),
    ("POST", "/admin/surveys/new", Rule.SURVEYS),
    ("POST", "/admin/surveys/withdraw", Rule.SURVEYS),
    ("GET", "/admin/people", Rule.NODE_ADMIN),
    ("GET", "/admin/people/{username}", Rule.NODE_ADMIN),
    ("POST", "/admin/people/{username}", Rule.NODE_ADMIN),
    ("GET", "/admin/people/{username}/moderation", Rule.MODERATION),
    ("POST", "/admin/people/{username}/moderation", Rule.MODERATION),
    ("GET", "/admin/audit", Rule.MODERATION),
    ("POST", "/admin/audit/export.csv", Rule.MODERATION),
    ("GET", "/admin/settings", Rule.NODE_ADMIN),
    ("POST", "/admin/settings", Rule.NODE_ADMIN),
    ("GET", "/admin/invitations", Rule.NODE_ADMIN),
    ("POST", "/admin/invitations", Rule.NODE_ADMIN),
    ("GET", "/admin/federation", Rule.NODE_ADMIN),
    ("POST", "/admin/federation/mode", Rule.NODE_ADMIN),
    ("POST", "/admin/federation/blocks", Rule.NODE_ADMIN),
    ("POST", "/admin/federation/blocks/remove", Rule.NODE_ADMIN),
    ("POST", "/admin/federation/allowlist", Rule.NODE_ADMIN),
    ("POST", "/admin/federation/allowlist/remove", Rule.NODE_ADMIN),
    ("POST", "/admin/federation/import", Rule.NODE_ADMIN),
    ("POST", "/admin/federation/export.csv", Rule.NODE_ADMIN),
    ("GET", "/admin/federation/network", Rule.NODE_ADMIN),
    ("POST", "/admin/federation/network/follow", Rule.NODE_ADMIN),
    ("POST", "/admin/federation/network/unfollow", Rule.NODE_ADMIN),
    ("POST", "/admin/federation/network/followers", Rule.NODE_ADMIN),
    ("POST", "/admin/federation/network/relays", Rule.NODE_ADMIN),
    ("GET", "/admin/federation/health", Rule.NODE_ADMIN),
    ("POST", "/admin/federation/health/deliveries", Rule.NODE_ADMIN),
    ("POST", "/admin/federation/health/servers", Rule.NODE_ADMIN),
    ("GET", "/admin/needs", Rule.ANY_STAFF),  # staff: their organisation's own posts
    ("GET", "/admin/needs.csv", Rule.ANY_STAFF),
    ("GET", "/admin/needs/region", Rule.NODE_ADMIN),
    # The organisation's dashboard.
    ("GET", "/admin/o/{org}", Rule.DASHBOARD),
    ("GET", "/admin/o/{missing}", Rule.UNKNOWN_ORG),
    ("POST", "/admin/o/{org}/renew", Rule.DASHBOARD),
    ("POST", "/admin/o/{org}/export.csv", Rule.DASHBOARD),
    ("POST", "/admin/o/{org}/summary.csv", Rule.DASHBOARD),
    ("GET", "/admin/o/{org}/staff", Rule.DASHBOARD),
    ("GET", "/admin/o/{org}/followers", Rule.DASHBOARD),
    # Managing the organisation.
    ("POST", "/admin/o/{org}/staff", Rule.MANAGE),
    ("POST", "/admin/o/{org}/followers", Rule.MANAGE),
    ("GET", "/admin/o/{org}/profile", Rule.MANAGE),
    ("POST", "/admin/o/{org}/profile", Rule.MANAGE),
    ("POST", "/admin/o/{org}/icon", Rule.MANAGE),
    # Following a request of the organisation up.
    ("GET", "/admin/o/{org}/r/{post}", Rule.CASE),
    ("POST", "/admin/o/{org}/r/{post}/assign", Rule.CASE),
    ("POST", "/admin/o/{org}/r/{post}/notes", Rule.CASE),
    ("POST", "/admin/o/{org}/r/{post}/partners", Rule.CASE),
    # Reports about the organisation's posts, as its coordinators see them.
    ("GET", "/admin/o/{org}/reports/{report}", Rule.MANAGE),
    ("POST", "/admin/o/{org}/reports/{report}", Rule.MANAGE),
    # The moderation queue ({report}: a resident's report about {post}).
    ("GET", "/admin/moderation", Rule.MODERATION),
    ("GET", "/admin/moderation/reports/{report}", Rule.MODERATION),
    ("POST", "/admin/moderation/reports/{report}/act", Rule.MODERATION),
    ("POST", "/admin/moderation/reports/{report}/take", Rule.MODERATION),
    ("POST", "/admin/moderation/reports/{report}/hand-over", Rule.MODERATION),
    ("POST", "/admin/moderation/reports/{report}/reopen", Rule.MODERATION),
]

UPLOADS = ("/icon", "/federation/import")  # routes that take a multipart form (a file)
ALLOWED_POST = (200, 303, 400)  # done and back to the page, or the form with its errors
ROOT = Path(__file__).resolve().parent.parent
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def template_of(path: str) -> str:
    """A path with every placeholder emptied, so `{slug}` and `{org}` compare equal."""
    return _PLACEHOLDER.sub("{}", path)


@dataclass(slots=True)
class World:
    accounts: dict[str, Account | None]
    values: dict[str, str]  # what the placeholders of ROUTES stand for
    post: HelpPost
    other_org: Organisation
    coordinator: Account

    def account(self, viewer: str) -> Account:
        found = self.accounts[viewer]
        assert found is not None, f"{viewer} is not logged in"
        return found


async def build_world() -> World:
    """One neighbourhood, two organisations with their staff, and a request of `ORG`."""
    await factories.node_row()
    hood = await factories.neighbourhood(HOOD)
    staff = await factories.account("staff")
    other_staff = await factories.account("otherstaff")
    org = await factories.organisation(ORG, staff=[staff])
    other_org = await factories.organisation(OTHER_ORG, staff=[other_staff])
    coordinator = await factories.coordinator_of(org, "coordinator")
    resident = await factories.account("resident")
    await factories.admin("admin2")  # role changes never leave the node without an admin
    post = await factories.post(staff, hood, organisation=ORG)
    target = await reports.find_target(Settings(), "post", str(post.id), resident)
    report = (await reports.file_report(Settings(), resident, target, "spam", "")).report
    service = await service_directory.create_service(
        org,
        service_directory.ServiceForm(
            name={"nl": "Grofvuil"}, description={"nl": "Gratis"}, categories=["transport"]
        ),
        staff,
    )
    return World(
        accounts={
            "anonymous": None,
            "resident": resident,
            "other-staff": other_staff,
            "staff": staff,
            "coordinator": coordinator,
            "moderator": await factories.moderator("moderator"),
            "admin": await factories.admin("admin"),
        },
        values={
            "hood": HOOD,
            "org": ORG,
            "username": resident.username,
            "post": str(post.id),
            "missing": MISSING_ORG,
            "report": str(report.id),
            "service": str(service.id),
            "category": "pets",
            "language": "nl",
        },
        post=post,
        other_org=other_org,
        coordinator=coordinator,
    )


async def send(web: Browser, method: str, path: str, token: str) -> httpx.Response:
    """GET the page, or POST an empty form (multipart for uploads) with a valid token."""
    if method == "GET":
        return await web.get(path)
    if path.endswith(UPLOADS):
        boundary = "permission-matrix"
        body = (
            f"--{boundary}\r\n"
            'content-disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{token}\r\n--{boundary}--\r\n"
        )
        content_type = f"multipart/form-data; boundary={boundary}"
    else:
        body = f"csrf_token={quote(token, safe='')}"
        content_type = "application/x-www-form-urlencoded"
    return await web.http.post(path, content=body, headers={"content-type": content_type})


def is_login_redirect(response: httpx.Response, path: str) -> bool:
    location = response.headers.get("location", "")
    if response.status_code != 303 or not location.startswith("/login?next="):
        return False
    return parse_qs(urlsplit(location).query).get("next") == [path]


def judge(want: Outcome, method: str, path: str, response: httpx.Response) -> str | None:
    """None when `response` is `want`, else what was got instead."""
    status = response.status_code
    location = response.headers.get("location", "")
    got = f"{status}" + (f" to {location}" if location else "")
    if want == LOGIN:
        ok = is_login_redirect(response, path)
    elif want == FORBIDDEN:
        ok = status == 403
    elif want == NOT_FOUND:
        ok = status == 404
    elif want == ALLOWED and method == "GET":
        ok = status == 200
    elif want == ALLOWED:
        ok = status in ALLOWED_POST and not is_login_redirect(response, path)
    else:
        ok = status == 303 and location == want.location
    return None if ok else got


def server_error(exc: BaseException) -> str:
    """Where in the application an exception came from, and what it was (the frames of
    this repository only, through `raise ... from` chains)."""
    frames: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        for frame in traceback.extract_tb(seen.__traceback__):
            path = Path(frame.filename)
            if ROOT not in path.parents or frame.name == "__call__":  # not the middleware
                continue
            relative = path.relative_to(ROOT)
            if relative.parts[0] not in (".venv", "tests"):
                where = f"{relative}:{frame.lineno} {frame.name}"
                if where not in frames:
                    frames.append(where)
        seen = seen.__cause__ or seen.__context__
    return " -> ".join(frames) + f" -> {type(exc).__name__}: {str(exc)[:160]}"


async def csrf_token(web: Browser, account: Account | None) -> str:
    """The viewer's CSRF token, read from a form every such viewer is shown."""
    return await web.token("/login" if account is None else "/")


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_every_admin_route_answers_each_viewer_as_the_matrix_says(
    database: str, viewer: str
) -> None:
    world = await build_world()
    account = world.accounts[viewer]
    mismatches: list[str] = []
    async with browser(database) as web:
        if account is not None:
            await web.log_in_as(account)
        token = await csrf_token(web, account)
        for method, template, rule in ROUTES:
            path = template.format(**world.values)
            want = RULES[rule][VIEWERS.index(viewer)]
            cell = f"{method} {path} ({rule}) as {viewer}: expected {want.name}"
            try:
                response = await send(web, method, path, token)
            except Exception as exc:  # the app's exception comes through: a 500
                mismatches.append(f"{cell}, got a server error: {server_error(exc)}")
                continue
            got = judge(want, method, path, response)
            if got is not None:
                mismatches.append(f"{cell}, got {got}")
    assert mismatches == [], "\n".join(mismatches)


def test_every_admin_route_has_a_permission_row() -> None:
    mounted: set[tuple[str, str]] = set()
    for route in admin.routes.routes:
        assert isinstance(route, Route), f"{route!r}: give its routes a row each"
        for method in route.methods or ():
            if method != "HEAD":
                mounted.add((method, template_of(uris.ADMIN + route.path)))
    listed = {(method, template_of(path)) for method, path, _ in ROUTES}
    assert mounted - listed == set(), "admin routes without a row in ROUTES"
    assert listed - mounted == set(), "rows in ROUTES for routes that do not exist"
    assert set(RULES) == set(Rule)
    assert all(len(outcomes) == len(VIEWERS) for outcomes in RULES.values())


async def test_a_partner_organisation_follows_the_request_up_only_once_named(
    database: str,
) -> None:
    world = await build_world()
    as_partner = uris.case(OTHER_ORG, world.post.id)
    as_owner = uris.case(ORG, world.post.id)
    async with browser(database) as web:
        await web.log_in_as(world.account("other-staff"))
        assert (await web.get(as_partner)).status_code == 403
        await casework.add_local_partner(world.post, world.other_org, by=world.coordinator)
        assert (await web.get(as_partner)).status_code == 200
        # Under the posting organisation's own slug it stays closed to them.
        assert (await web.get(as_owner)).status_code == 403


GET_TEMPLATES = sorted({path for method, path, _ in ROUTES if method == "GET" and "{" in path})
PLACEHOLDERS = (
    "hood",
    "org",
    "username",
    "post",
    "missing",
    "report",
    "service",
    "category",
    "language",
)
# None keeps the real value, so that an odd segment is also met behind valid ones; long
# texts go past the columns' lengths (slugs 40, usernames 30).
SEGMENT = st.none() | st.text(max_size=20) | st.text(min_size=25, max_size=80)


def only(**odd: str) -> dict[str, str | None]:
    """Segments where only the named placeholders are odd."""
    return {name: odd.get(name) for name in PLACEHOLDERS}


@pytest.fixture
async def admin_web(database: str) -> AsyncIterator[tuple[Browser, dict[str, str]]]:
    """An admin's browser and the real values of the placeholders (built once per item)."""
    world = await build_world()
    async with browser(database) as web:
        await web.log_in_as(world.account("admin"))
        yield web, world.values


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    template=st.sampled_from(GET_TEMPLATES),
    segments=st.fixed_dictionaries({name: SEGMENT for name in PLACEHOLDERS}),
)
# Tried on every run: longer than the column (slug 40, username 30), and a NUL character.
@example(template="/admin/o/{org}", segments=only(org="o" * 41))
@example(template="/admin/people/{username}", segments=only(username="u" * 31))
@example(template="/admin/neighbourhoods/{hood}", segments=only(hood="kuregem\x00"))
async def test_any_path_segment_gets_an_answer_never_a_server_error(
    admin_web: tuple[Browser, dict[str, str]], template: str, segments: dict[str, str | None]
) -> None:
    web, real = admin_web
    values = {
        name: quote(real[name] if text is None else text, safe="")
        for name, text in segments.items()
    }
    path = template.format(**values)
    try:
        response = await web.get(path)
    except Exception as exc:  # the app's exception comes through: a 500
        raise AssertionError(f"GET {path} is a server error: {server_error(exc)}") from exc
    assert response.status_code < 500, path
