"""`nabuur move-to-postgres URL`: the command around `node.move_to_postgres`.

It draws a progress bar per table on stderr (redrawn in place on a terminal, one line per
table otherwise, as in a log) and ends with what the operator changes next.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from node.cli_common import CLIError, run
from node.config import Settings
from node.move_to_postgres import MoveError, MoveReport, move

BAR_WIDTH = 30
NAME_WIDTH = 24  # the longest table name today: neighbourhood_connectors

DESCRIPTION = """\
Copy this node's SQLite database (NABUUR_DATABASE_URL or the settings file) into the
empty PostgreSQL database at URL, then check the copy: rows per table and every actor's
keys, so that followers on other servers notice nothing. The SQLite file is only read.

Before: stop the node (`nabuur run` and every `nabuur worker`): what it writes during the
move is not copied, and the move is undone if the file changes. Create the database:
  createuser nabuur; createdb --owner nabuur nabuur
After: set NABUUR_DATABASE_URL to URL and start the node again.
"""

EPILOG = """\
All or nothing: every table is copied in one transaction, so a failure (or Ctrl+C) leaves
the target with empty tables, and running the command again is safe. A database that
already holds rows is refused, naming the tables; there is no option to overwrite it:
drop and recreate it (dropdb nabuur; createdb --owner nabuur nabuur) to start over.
A password in URL is visible to other users in `ps`: prefer PGPASSWORD or ~/.pgpass.
"""


class TableProgress:
    """One bar per table: redrawn with \\r on a terminal, one line per table otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._open_line = False

    def __call__(self, table: str, done: int, total: int) -> None:
        finished = done >= total
        if self.tty:
            filled = BAR_WIDTH if total == 0 else BAR_WIDTH * done // total
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\r{table:<{NAME_WIDTH}} [{bar}] {done}/{total}")
            self._open_line = not finished
            if finished:
                self.stream.write("\n")
        elif finished:
            self.stream.write(f"{table:<{NAME_WIDTH}} {total} rows\n")
        self.stream.flush()

    def close(self) -> None:
        """End a bar left open by a failure, so the error gets a line of its own."""
        if self._open_line:
            self.stream.write("\n")
            self.stream.flush()
            self._open_line = False


def summary(report: MoveReport) -> str:
    return "\n".join(
        [
            f"Moved {report.total_rows} rows in {len(report.rows)} tables from {report.source} "
            f"to {report.target} in {report.seconds:.1f} s.",
            "Verified: every table holds as many rows as in the SQLite file, and every "
            f"actor's keys are unchanged ({report.key_pairs} key pairs).",
            f"Id sequences continue after the copied ids ({report.sequences} tables).",
            f"{report.source} was only read: keep it until the node runs well on PostgreSQL.",
            "Next:",
            f"  1. set NABUUR_DATABASE_URL={report.target} (the URL you gave: with its "
            "password, or PGPASSWORD) where the node reads its settings;",
            "  2. start the node again (nabuur run, and any nabuur worker); "
            "on PostgreSQL `nabuur run --workers 2` can use two processes.",
        ]
    )


def cmd_move_to_postgres(settings: Settings, args: argparse.Namespace) -> int:
    progress = TableProgress(sys.stderr)
    try:
        report = run(move(settings.database_url, args.url, progress=progress))
    except MoveError as exc:
        raise CLIError(str(exc)) from None
    finally:
        progress.close()
    print(summary(report))
    return 0


def add_move_commands(sub: argparse._SubParsersAction) -> None:
    command = sub.add_parser(
        "move-to-postgres",
        help="copy this SQLite node into an empty PostgreSQL database",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument(
        "url", metavar="URL", help="the empty database: postgres://USER@HOST:PORT/DATABASE"
    )
    command.set_defaults(handler=cmd_move_to_postgres)
