"""`nabuur backup`, `nabuur restore` and `nabuur check`: keeping a node safe and sound.

Problems are one line on stderr with a non-zero exit (the archive is never half
written; a refused restore changes nothing); `check` prints its findings and exits 1
when there is something to do.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from node import node_check
from node.backup import BackupError, backup
from node.cli_common import CLIError, run
from node.config import Settings
from node.restore import restore


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    settings_file = args.config or os.environ.get("NABUUR_CONFIG")
    try:
        run(backup(settings, Path(args.path), force=args.force, settings_file=settings_file))
    except BackupError as exc:
        raise CLIError(str(exc)) from None
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    try:
        run(restore(settings, Path(args.path), force=args.force))
    except BackupError as exc:
        raise CLIError(str(exc)) from None
    return 0


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    report = run(node_check.check(settings, make_keys=args.make_keys))
    for line in report.lines():
        print(line)
    return 1 if report.problems else 0


def add_backup_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    make = sub.add_parser("backup", help="write the whole node (database, keys, settings) to PATH")
    make.add_argument("path", metavar="PATH", help="the archive to write (e.g. nabuur.tar.gz)")
    make.add_argument("--force", action="store_true", help="replace PATH if it exists")
    make.epilog = (
        "Safe while the node runs. The archive holds the actors' private keys: it is "
        "written readable by you only; keep it so."
    )
    make.set_defaults(handler=cmd_backup)

    back = sub.add_parser("restore", help="put a node back from a backup archive")
    back.add_argument("path", metavar="PATH", help="an archive written by `nabuur backup`")
    back.add_argument(
        "--force", action="store_true", help="replace the database even if it holds data"
    )
    back.epilog = (
        "Stop the node first. The database is the one of the settings (NABUUR_DATABASE_URL): "
        "a SQLite file is replaced, a PostgreSQL database emptied and loaded in one "
        "transaction. Nothing changes when the archive is damaged."
    )
    back.set_defaults(handler=cmd_restore)

    check = sub.add_parser("check", help="say what is wrong with this node, in plain words")
    check.add_argument(
        "--make-keys",
        action="store_true",
        help="give the node, neighbourhoods and organisations without a key pair a new one",
    )
    check.epilog = "Exits with status 1 when something needs doing, 0 when all is well."
    check.set_defaults(handler=cmd_check)
