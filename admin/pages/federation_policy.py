"""/admin/federation (node admins): the federation mode, domain blocks with Mastodon's
severities, the allowlist of partner networks, and Mastodon CSV import and export.

Each form posts to its own address and comes back here; bad input answers 400 with the
page and its errors, and nothing is stored. A change takes effect at once in this
process and within seconds in the others (see `node.services.domain_policy`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin.guard import admins_only, back, errors_of, me
from admin.rendering import render
from node import uris
from node.config import FEDERATION_MODES
from node.errors import InvalidInput
from node.i18n import N_, gettext
from node.models import DomainPolicy
from node.services import domain_csv, domain_policy, node_profile
from node.services.domain_policy import RuleValues
from web.shell.forms import Form, read_form, read_upload

PATH = f"{uris.ADMIN}/federation"
COMMAND_LINE = N_("a command-line option")
RESULT_KEYS = ("added", "changed", "left_out", "skipped")
DONE = {
    "mode": N_("The federation mode is saved."),
    "blocked": N_("The rule is saved. It applies within a few seconds."),
    "unblocked": N_("The rule is removed."),
    "allowed": N_("The domain is on the allowlist."),
    "disallowed": N_("The domain is off the allowlist."),
}


def _counts(query: Any) -> dict[str, int] | None:
    """The result of an import, read back from the address it redirected to."""
    raw = {key: query.get(key, "") for key in RESULT_KEYS}
    if not all(value.isascii() and value.isdigit() and len(value) <= 6 for value in raw.values()):
        return None
    return {key: int(value) for key, value in raw.items()}


async def _page(
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    problems: list[domain_csv.RowProblem] | None = None,
    status_code: int = 200,
) -> Response:
    settings = request.app.state.settings
    locale = request.app.state.renderer.locale_for(request)
    where = node_profile.federation_mode_pinned(settings)
    done = request.query_params.get("done", "")

    def said(problem: domain_csv.RowProblem) -> dict[str, Any]:
        text = gettext(locale, problem.template)
        return {
            "line": problem.line,
            "domain": domain_policy.display_domain(problem.domain),
            "reason": text % problem.params if problem.params else text,
        }

    return await render(
        request,
        "federation_policy.html",
        {
            "mode": await domain_policy.federation_mode(settings),
            "modes": FEDERATION_MODES,
            "mode_pinned": gettext(locale, where) if where == COMMAND_LINE else where,
            "blocks": await domain_policy.rules(),
            "allowed": await domain_policy.allowlist(),
            "shown": domain_policy.display_domain,
            "errors": errors or {},
            "values": values or {},
            "problems": [said(p) for p in problems or []],
            "result": _counts(request.query_params),
            "done_here": gettext(locale, DONE[done]) if done in DONE else None,
            "max_mb": domain_csv.MAX_BYTES // (1024 * 1024),
        },
        status_code=status_code,
    )


@admins_only
async def policy_page(request: Request) -> Response:
    return await _page(request)


@admins_only
async def set_mode(request: Request) -> Response:
    form = await read_form(request)
    try:
        await domain_policy.set_federation_mode(
            request.app.state.settings,
            form.get("federation_mode"),
            by=me(request),
            reason=form.get("mode_reason"),
        )
    except InvalidInput as exc:
        return await _page(request, errors=errors_of(request, exc), status_code=400)
    return back(PATH, "mode")


def _rule_values(form: Form, policy: str) -> RuleValues:
    return RuleValues(
        domain=form.get("domain"),
        policy=policy,
        reason=form.get("reason"),
        public_comment=form.get("public_comment"),
        reject_media=form.get("reject_media") == "yes",
        reject_reports=form.get("reject_reports") == "yes",
        obfuscate=form.get("obfuscate") == "yes",
        replace=form.get("replace") == "yes",
    )


@admins_only
async def add_block(request: Request) -> Response:
    form = await read_form(request)
    policy = form.get("policy")
    try:
        if policy not in domain_policy.BLOCKS:
            raise InvalidInput("policy", N_("choose one of the options"))
        await domain_policy.save_rule(
            _rule_values(form, policy), by=me(request), settings=request.app.state.settings
        )
    except InvalidInput as exc:
        return await _page(
            request, errors=errors_of(request, exc), values=form.values(), status_code=400
        )
    return back(PATH, "blocked")


@admins_only
async def add_allowed(request: Request) -> Response:
    form = await read_form(request)
    values = RuleValues(domain=form.get("allow_domain"), policy=DomainPolicy.ALLOW)
    values.reason = form.get("allow_reason")
    try:
        await domain_policy.save_rule(values, by=me(request), settings=request.app.state.settings)
    except InvalidInput as exc:
        errors = {
            ("allow_" + k if k in ("domain", "reason") else k): v
            for k, v in errors_of(request, exc).items()
        }
        return await _page(request, errors=errors, values=form.values(), status_code=400)
    return back(PATH, "allowed")


async def _remove(request: Request, policies: tuple[str, ...], done: str) -> Response:
    form = await read_form(request)
    try:
        removed = await domain_policy.remove_domain_policy(
            form.get("domain"), by=me(request), reason=form.get("reason"), policy_in=policies
        )
    except InvalidInput as exc:
        return await _page(request, errors=errors_of(request, exc), status_code=400)
    if not removed:
        error = InvalidInput("domain", N_("there is no such rule (any more)"))
        return await _page(request, errors=errors_of(request, error), status_code=400)
    return back(PATH, done)


@admins_only
async def remove_block(request: Request) -> Response:
    return await _remove(request, domain_policy.BLOCKS, "unblocked")


@admins_only
async def remove_allowed(request: Request) -> Response:
    return await _remove(request, (DomainPolicy.ALLOW,), "disallowed")


@admins_only
async def import_blocks(request: Request) -> Response:
    form, data = await read_upload(request, "file", domain_csv.MAX_BYTES)
    settings = request.app.state.settings
    only_good = form.get("only_good_rows") == "yes"
    problems: list[domain_csv.RowProblem] = []
    try:
        if not data:
            raise InvalidInput("file", N_("choose a CSV file"))
        plan = await domain_csv.read(data, settings)
        problems = plan.bad + plan.skipped
        problems.sort(key=lambda problem: problem.line)
        result = await domain_csv.apply_plan(
            plan, by=me(request), only_good_rows=only_good, reason=form.get("import_reason")
        )
    except InvalidInput as exc:
        return await _page(
            request,
            errors={"import_" + k: v for k, v in errors_of(request, exc).items()},
            problems=problems,
            status_code=400,
        )
    counts = {
        "added": result.added,
        "changed": result.changed,
        "left_out": result.refused,
        "skipped": result.skipped,
    }
    query = "&".join(f"{key}={value}" for key, value in counts.items())
    return RedirectResponse(f"{PATH}?{query}", status_code=303)


@admins_only
async def export_blocks(request: Request) -> Response:
    await read_form(request)
    text = await domain_csv.export(by=me(request))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": 'attachment; filename="domain_blocks.csv"',
            "cache-control": "private, no-store",
        },
    )
