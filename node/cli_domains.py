"""`nabuur domains`: domain blocks in Mastodon's CSV format, and the allowlist.

`import FILE` applies a file whole, or nothing: every bad row is printed with its line
and reason on stderr, and the exit status is 1. `--only-good-rows` applies the others
(still naming the bad ones). `export` writes the blocks to stdout, in a file Mastodon
imports. `allow` and `disallow` manage the allowlist of partner networks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from node import db
from node.cli_common import CLIError, require_ready, run
from node.config import Settings
from node.errors import InvalidInput
from node.models import DomainPolicy
from node.services import domain_csv, domain_policy


async def _import(settings: Settings, data: bytes, only_good_rows: bool) -> None:
    await db.open_database(settings.database_url)
    try:
        await require_ready(settings)
        plan = await domain_csv.read(data, settings)
        for problem in plan.bad:
            print(f"line {problem.line}: {problem.domain}: {problem.message}", file=sys.stderr)
        for problem in plan.skipped:
            print(f"line {problem.line}: {problem.domain}: {problem.message}", file=sys.stderr)
        if plan.ignored_columns:
            print(f"ignored columns: {', '.join(plan.ignored_columns)}", file=sys.stderr)
        if plan.bad and not only_good_rows:
            raise CLIError(
                f"{len(plan.bad)} rows have problems: nothing was imported "
                "(fix them, or use --only-good-rows to import the others)"
            )
        result = await domain_csv.apply_plan(plan, by=None, only_good_rows=only_good_rows)
    except InvalidInput as exc:
        raise CLIError(exc.message) from None
    finally:
        await db.close_database()
    print(
        f"Imported: {result.added} new, {result.changed} changed, "
        f"{result.refused} bad rows left out, {result.skipped} skipped."
    )


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        if path.stat().st_size > domain_csv.MAX_BYTES:
            raise CLIError(f"{path} is over {domain_csv.MAX_BYTES // (1024 * 1024)} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror}") from None
    run(_import(settings, data, args.only_good_rows))
    return 0


async def _export(settings: Settings) -> str:
    await db.open_database(settings.database_url)
    try:
        await require_ready(settings)
        return await domain_csv.export(by=None)
    finally:
        await db.close_database()


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    sys.stdout.write(run(_export(settings)))
    return 0


async def _allow(settings: Settings, domain: str, allow: bool, reason: str) -> None:
    await db.open_database(settings.database_url)
    try:
        await require_ready(settings)
        if allow:
            await domain_policy.set_domain_policy(
                domain, DomainPolicy.ALLOW, reason, settings=settings
            )
        elif not await domain_policy.remove_domain_policy(
            domain, reason=reason, policy_in=(DomainPolicy.ALLOW,)
        ):
            raise CLIError(f"{domain} is not on the allowlist")
    except InvalidInput as exc:
        raise CLIError(f"{domain}: {exc.message}") from None
    finally:
        await db.close_database()


def cmd_allow(settings: Settings, args: argparse.Namespace) -> int:
    run(_allow(settings, args.domain, args.action == "allow", args.reason or ""))
    state = "on" if args.action == "allow" else "off"
    print(f"{args.domain} is {state} the allowlist (it matters in federation mode allowlist).")
    return 0


def add_domain_commands(sub: argparse._SubParsersAction) -> None:
    domains = sub.add_parser(
        "domains", help="import or export domain blocks (Mastodon CSV), manage the allowlist"
    )
    actions = domains.add_subparsers(dest="domains_command", required=True, metavar="ACTION")
    importing = actions.add_parser("import", help="apply a Mastodon domain-block CSV file")
    importing.add_argument("file", help="the CSV file (#domain,#severity,... header)")
    importing.add_argument(
        "--only-good-rows",
        action="store_true",
        help="apply the good rows even when others are bad (they are still listed)",
    )
    importing.set_defaults(handler=cmd_import)
    exporting = actions.add_parser("export", help="write the domain blocks as CSV to stdout")
    exporting.set_defaults(handler=cmd_export)
    for name, text in (("allow", "add a partner domain"), ("disallow", "remove one")):
        command = actions.add_parser(name, help=f"allowlist: {text}")
        command.add_argument("domain")
        command.add_argument("--reason", help="why, for the audit log")
        command.set_defaults(handler=cmd_allow, action=name)
