"""The `nabuur` command: init, run, demo, migrate, createadmin, invite (and the set-up
commands of `node.cli_setup` and the federation commands of `node.cli_federation`).

Every failure the operator can cause (a bad flag, a bad setting, a taken name, a
database that is behind) ends in one line on stderr and a non-zero exit, never a
traceback, and nothing is written before the input has been checked.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any, NoReturn

import uvicorn
from tortoise.exceptions import DBConnectionError, OperationalError

from node import __version__, db, metrics, readiness, validation
from node.app import NotReady, create_app, run_workers
from node.cli_backup import add_backup_commands
from node.cli_common import CLIError, require_ready, run
from node.cli_domains import add_domain_commands
from node.cli_errors import no_create_rights, os_error_line
from node.cli_federation import add_federation_commands
from node.cli_mail import add_mail_commands
from node.cli_move import add_move_commands
from node.cli_setup import add_setup_commands
from node.config import Settings, SettingsError, load_settings
from node.demo import DEMO_PASSWORD, seed
from node.errors import DomainError
from node.logs import configure as configure_logging
from node.models import Role
from node.services import signups
from node.services.accounts import check_password, create_account
from node.services.node_setup import initialise_node, is_initialised

DEMO_DATABASE = "sqlite://./data/demo.sqlite3"
PASSWORD_ENV = "NABUUR_ADMIN_PASSWORD"  # noqa: S105 - the name of a variable
GRACEFUL_SHUTDOWN_SECONDS = 20


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _read_password(prompt_for: str) -> str:
    """The admin password from $NABUUR_ADMIN_PASSWORD, else asked twice on a terminal.

    Never a command-line flag: flags are visible to every user in `ps`.
    """
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        if not sys.stdin.isatty():
            raise CLIError(f"set {PASSWORD_ENV} or run on a terminal to type the password")
        password = getpass.getpass(f"Password for {prompt_for}: ")
        if getpass.getpass("Again: ") != password:
            raise CLIError("the passwords do not match")
    check_password(password)
    return password


def _check_admin_input(username: str, email: str | None) -> tuple[str, str | None]:
    return validation.username(username), validation.email(email)


async def _database_state(settings: Settings) -> tuple[bool, bool]:
    """(exists with our tables, initialised), without creating anything."""
    path = db.sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        return False, False
    await db.open_database(settings.database_url)
    try:
        return True, await is_initialised()
    except OperationalError:  # no tables yet
        return True, False
    finally:
        await db.close_database()


async def _init(settings: Settings, args: argparse.Namespace, password: str) -> None:
    _, initialised = await _database_state(settings)
    if initialised:
        raise CLIError("this node is already initialised (use `nabuur createadmin` to add one)")
    await _migrate(settings, progress=lambda name: print(f"  applied {name}"))
    await db.open_database(settings.database_url)
    try:
        admin = await initialise_node(settings.name, args.admin_username, password, args.email)
    finally:
        await db.close_database()
    print(f"Node {settings.name!r} initialised; admin @{admin.username} created.")


async def _migrate(settings: Settings, **options: Any) -> None:
    """db.migrate, refusing a database upgraded by a newer Nabuur (its migrations
    unknown here: going on would plan against tables this code does not understand)."""
    exists, _ = await _database_state(settings)
    if exists:
        await db.open_database(settings.database_url)
        try:
            newer = await readiness.newer_migrations_problem()
        finally:
            await db.close_database()
        if newer is not None:
            raise CLIError(newer)
    try:
        await db.migrate(settings.database_url, **options)
    except OperationalError as exc:
        # PostgreSQL 15 lets only the database's owner create tables in schema public.
        if getattr(exc.__cause__, "sqlstate", None) == "42501":
            raise no_create_rights(settings.database_url) from None
        raise


def cmd_init(settings: Settings, args: argparse.Namespace) -> int:
    _check_admin_input(args.admin_username, args.email)
    password = _read_password(f"@{args.admin_username}")
    run(_init(settings, args, password))
    print(f"Start it with: nabuur run  (serves {settings.public_url})")
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    applied: list[str] = []

    def progress(name: str) -> None:
        applied.append(name)
        print(f"  applied {name}", flush=True)

    if args.target is not None and args.target not in db.known_migrations():
        raise CLIError(
            f"no migration named {args.target!r}; known: {', '.join(db.known_migrations())}"
        )
    run(_migrate(settings, target=args.target, progress=progress))
    print(f"{len(applied)} migration(s) applied." if applied else "The database is up to date.")
    return 0


async def _createadmin(settings: Settings, args: argparse.Namespace, password: str) -> str:
    await db.open_database(settings.database_url)
    try:
        await require_ready(settings)
        account = await create_account(
            args.username, args.username, password=password, email=args.email, role=Role.ADMIN
        )
    finally:
        await db.close_database()
    return account.username


def cmd_createadmin(settings: Settings, args: argparse.Namespace) -> int:
    _check_admin_input(args.username, args.email)
    password = _read_password(f"@{args.username}")
    print(f"Admin @{run(_createadmin(settings, args, password))} created.")
    return 0


async def _invite(settings: Settings, uses: int, days: int) -> str:
    await db.open_database(settings.database_url)
    try:
        await require_ready(settings)
        invitation = await signups.create_invitation(None, uses=uses, lifetime=timedelta(days=days))
    finally:
        await db.close_database()
    return invitation.code


def cmd_invite(settings: Settings, args: argparse.Namespace) -> int:
    if not 1 <= args.days <= 365:
        raise CLIError("--days must be between 1 and 365")
    code = run(_invite(settings, args.uses, args.days))
    uses = "once" if args.uses == 1 else f"{args.uses} times"
    print(f"Invitation (valid {args.days} days, usable {uses}):")
    print(f"  {settings.public_url}/signup?invite={code}")
    if settings.signups != "invitation":
        print(
            f"Note: this node's sign-ups are {settings.signups!r}; set NABUUR_SIGNUPS=invitation."
        )
    return 0


async def _check_serveable(settings: Settings) -> None:
    exists, _ = await _database_state(settings)
    if not exists:
        raise CLIError(f"no database at {settings.database_url}: run `nabuur init` first")
    await db.open_database(settings.database_url)
    try:
        await require_ready(settings)
    finally:
        await db.close_database()


def _serve(settings: Settings, workers: int = 1) -> int:
    configure_logging(settings.log_level, settings.log_format)
    metrics.prepare_process_directory(settings)  # shared by the processes, before they start
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "server_header": False,
        # The node speaks no WebSocket; not loading a WebSocket stack saves memory.
        "ws": "none",
        # Uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 (its default
        # FORWARDED_ALLOW_IPS) and rewrite the client; node.client_address reads it,
        # from NABUUR_TRUSTED_PROXIES only.
        "proxy_headers": False,
        # SIGTERM: stop accepting, let requests in flight finish (an inbox POST is
        # answered once its row is committed) for up to this long, then shut down.
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return 0
    # Several processes: each builds the app from the same settings, passed as variables.
    os.environ.update(settings.to_environ())
    os.environ.pop("NABUUR_CONFIG", None)
    uvicorn.run("node.app:app_from_environment", factory=True, workers=workers, **options)
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    run(_check_serveable(settings))
    return _serve(settings, args.workers)


async def _demo(settings: Settings) -> dict[str, int]:
    await db.migrate(settings.database_url)
    await db.open_database(settings.database_url)
    try:
        await initialise_node(settings.name, "admin", DEMO_PASSWORD)
        return await seed(settings.timezone, settings=settings)
    finally:
        await db.close_database()


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    url = args.database_url or DEMO_DATABASE
    # A demo lives on loopback, where other demo nodes and test peers are.
    settings = settings.with_overrides(
        database_url=url,
        name=settings.name if settings.name != "Nabuur" else "Nabuur demo",
        allow_private_addresses=True,
        signups="open",  # a demo is there to be tried
    )
    path = db.sqlite_path(url)
    if path is None:
        raise CLIError("the demo runs on a SQLite file of its own; give a sqlite:// URL")
    for suffix in ("", "-wal", "-shm"):  # a demo always starts fresh
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    counts = run(_demo(settings))
    summary = ", ".join(f"{n} {what}" for what, n in counts.items())
    print(f"Demo data: {summary}.")
    print(f"Log in as admin, els or sophie with the password {DEMO_PASSWORD!r}.")
    print(f"Open {settings.public_url}/ (stop with Ctrl+C).", flush=True)
    return _serve(settings)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    run(_check_serveable(settings))  # the same start-up check, and words, as `nabuur run`
    configure_logging(settings.log_level, settings.log_format)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await run_workers(settings, stop)
        except NotReady as exc:
            raise CLIError(str(exc)) from None

    run(main(), uvloop=True)  # the loop `nabuur run` has too (uvicorn's choice)
    return 0


def _add_serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8000)")


def build_parser() -> Parser:
    parser = Parser(prog="nabuur", description="Run a Nabuur node: neighbours helping neighbours.")
    parser.add_argument("--version", action="version", version=f"nabuur {__version__}")
    parser.add_argument("--config", help="TOML settings file (default: $NABUUR_CONFIG)")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )

    init = sub.add_parser("init", help="create the database, the node's keys and the first admin")
    init.add_argument("--admin-username", required=True, help="username of the first admin")
    init.add_argument("--email", help="e-mail address of the first admin")
    init.epilog = f"The password is read from ${PASSWORD_ENV} or asked on the terminal."
    init.set_defaults(handler=cmd_init)

    serve = sub.add_parser("run", help="serve the node (web pages, federation, periodic jobs)")
    _add_serve_options(serve)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        choices=range(1, 33),
        metavar="N",
        help="processes to serve with (default 1). For PostgreSQL; on SQLite one process "
        "is faster, as processes wait for each other's writes",
    )
    serve.set_defaults(handler=cmd_run)

    demo = sub.add_parser("demo", help="start a fresh demo node with seeded data")
    _add_serve_options(demo)
    demo.add_argument("--database-url", help=f"SQLite file to (re)create (default {DEMO_DATABASE})")
    demo.epilog = "The demo database is deleted and seeded again on every start."
    demo.set_defaults(handler=cmd_demo)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--target", help="migrate up or down to this migration name")
    migrate.set_defaults(handler=cmd_migrate)

    createadmin = sub.add_parser("createadmin", help="add an admin account")
    createadmin.add_argument("--username", required=True, help="username of the new admin")
    createadmin.add_argument("--email", help="e-mail address of the new admin")
    createadmin.epilog = f"The password is read from ${PASSWORD_ENV} or asked on the terminal."
    createadmin.set_defaults(handler=cmd_createadmin)

    invite = sub.add_parser("invite", help="make a sign-up link for someone (or a group)")
    invite.add_argument("--uses", type=int, default=1, help="how many accounts it may create")
    invite.add_argument("--days", type=int, default=14, help="how many days it stays valid")
    invite.set_defaults(handler=cmd_invite)

    worker = sub.add_parser(
        "worker", help="work the federation queues and periodic jobs, without serving HTTP"
    )
    worker.epilog = (
        "Run web processes with NABUUR_RUN_WORKERS=0 when workers run apart. On PostgreSQL "
        "several workers share the queues; on SQLite only one may run."
    )
    worker.set_defaults(handler=cmd_worker)

    add_setup_commands(sub)
    add_backup_commands(sub)
    add_move_commands(sub)
    add_federation_commands(sub)
    add_domain_commands(sub)
    add_mail_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        settings = load_settings(config_file=args.config)
        settings = settings.with_overrides(
            host=getattr(args, "host", None), port=getattr(args, "port", None)
        )
        return handler(settings, args)
    except (SettingsError, CLIError, DomainError) as exc:
        print(f"nabuur: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"nabuur: {os_error_line(exc)}", file=sys.stderr)
        return 1
    except DBConnectionError as exc:
        print(f"nabuur: cannot reach the database: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
