"""A database that is away, full or read-only: telling it from a bug, and saying it once.

`fault_of(exc)` names what is wrong with the database behind an exception (the server is
unreachable or restarting, the connection was cut, the disk is full, the file is
read-only, another process holds the lock too long), or returns None for anything else,
which stays a bug with its traceback. Callers answer 503 with `Retry-After` for a fault:
the inbox, so the sender retries; pages, with a plain "temporarily unavailable".

`FailureStreak` is how long-running loops report failures: the first failure of a streak
is logged (one ERROR line with the cause and what to do for a database fault, the
traceback for anything else), the next ones are only counted, a reminder follows each
hour, and the end of the streak is logged once. A database that is down for an hour
then gives a handful of lines instead of thousands of tracebacks.

Nothing here imports a database driver: errors are recognised by their SQLSTATE (asyncpg)
or SQLite result code, so a SQLite node never loads asyncpg.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass

from tortoise.exceptions import DBConnectionError

RETRY_AFTER_SECONDS = 30  # what a 503 caused by the database asks clients to wait
REMIND_SECONDS = 3600.0  # a streak that lasts is mentioned again once an hour


@dataclass(frozen=True, slots=True)
class Fault:
    """What is wrong with the database, and what an admin can do about it."""

    kind: str  # a short name: unreachable, connection-lost, read-only, disk-full...
    cause: str
    advice: str

    def sentence(self) -> str:
        return f"{self.cause}: {self.advice}"


UNREACHABLE = Fault(
    "unreachable",
    "the database server cannot be reached",
    "check that PostgreSQL runs, accepts connections and that the database URL is right",
)
CONNECTION_LOST = Fault(
    "connection-lost",
    "the connection to the database was cut (a restart, a failover or a pooler reset)",
    "nothing to do if it does not last; the node reconnects by itself",
)
RESTARTING = Fault(
    "restarting",
    "the database server is shutting down or starting up",
    "wait for it to be up again; the node reconnects by itself",
)
REFUSING = Fault(
    "refusing",
    "the database refuses new connections",
    "check the database's ALLOW_CONNECTIONS and CONNECTION LIMIT settings",
)
OVERLOADED = Fault(
    "overloaded",
    "the database server has no room for more connections or memory",
    "raise max_connections or lower the number of node processes",
)
BUSY = Fault(
    "busy",
    "another process holds the SQLite database lock for too long",
    "look for a long-running command on the same file; the node retries by itself",
)
READ_ONLY = Fault(
    "read-only",
    "the database is read-only",
    "make the database file and its directory writable by the node's user (or remount "
    "the disk read-write; on PostgreSQL, point the node at the primary, not a standby)",
)
DISK_FULL = Fault(
    "disk-full",
    "the disk holding the database is full",
    "free space on that disk; the node resumes by itself",
)
IO_ERROR = Fault(
    "io",
    "the disk holding the database reports input/output errors",
    "check the disk (dmesg, SMART) and restore from a backup if the file is damaged",
)
CANNOT_OPEN = Fault(
    "cannot-open",
    "the SQLite database file cannot be opened",
    "check that the file exists and that its directory is readable and writable by the node's user",
)
MISSING = Fault(
    "missing",
    "the database does not exist (any more)",
    "check the database name in the settings, or restore the database from a backup",
)
LOGIN_REFUSED = Fault(
    "login-refused",
    "the database refuses the node's login (role, password or pg_hba.conf)",
    "check the database user, its password and pg_hba.conf",
)


class DatabaseUnavailable(DBConnectionError):
    """The database cannot serve the request now; `fault` says why."""

    def __init__(self, fault: Fault, detail: str = "") -> None:
        super().__init__(f"{fault.cause}{f' ({detail})' if detail else ''}")
        self.fault = fault


# SQLSTATE (PostgreSQL) → fault. Classes 08 (connection) and 57P (shutdown) are whole.
_SQLSTATES = {
    "53300": OVERLOADED,  # too_many_connections
    "53200": OVERLOADED,  # out_of_memory
    "53100": DISK_FULL,
    "25006": READ_ONLY,  # read_only_sql_transaction: a standby, or default read-only
    "3D000": MISSING,  # invalid_catalog_name
    "28000": LOGIN_REFUSED,  # invalid_authorization_specification: NOLOGIN, pg_hba.conf
    "28P01": LOGIN_REFUSED,  # invalid_password
    "58030": IO_ERROR,
}
# SQLite primary result codes → fault (extended codes are matched by their prefix).
_SQLITE = {
    "SQLITE_READONLY": READ_ONLY,
    "SQLITE_FULL": DISK_FULL,
    "SQLITE_IOERR": IO_ERROR,
    "SQLITE_CANTOPEN": CANNOT_OPEN,
    "SQLITE_BUSY": BUSY,
    "SQLITE_LOCKED": BUSY,
    "SQLITE_NOMEM": OVERLOADED,
}
# asyncpg's messages for a connection it has already lost or handed back after losing it;
# "cannot switch to state" is its protocol meeting the server's goodbye (a FATAL error
# sent on an idle connection) where it expected the answer to a new query.
_LOST_MARKERS = (
    "connection is closed",
    "released back to the pool",
    "connection was closed",
    "cannot switch to state",
)


def _fault_here(exc: BaseException) -> Fault | None:
    if isinstance(exc, DatabaseUnavailable):
        return exc.fault
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        for prefix, fault in _SQLITE.items():
            if name == prefix or name.startswith(prefix + "_"):
                return fault
        return None
    if not type(exc).__module__.startswith("asyncpg"):
        return None
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str):
        if sqlstate.startswith("08"):
            return CONNECTION_LOST
        if sqlstate in ("57P01", "57P02", "57P03"):  # admin/crash shutdown, cannot connect now
            return RESTARTING
        if sqlstate == "55000" and "accepting connections" in str(exc):
            return REFUSING
        return _SQLSTATES.get(sqlstate)
    if any(marker in str(exc) for marker in _LOST_MARKERS):
        return CONNECTION_LOST  # asyncpg's InterfaceError on a dead connection
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, what it was raised from, and what the ORM wrapped in it."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen or len(seen) > 8:
            continue
        seen.add(id(current))
        yield current
        if current.__cause__ is not None:
            pending.append(current.__cause__)
        # tortoise wraps the driver's error as its first argument: OperationalError(exc)
        if current.args and isinstance(current.args[0], BaseException):
            pending.append(current.args[0])


def fault_of(exc: BaseException) -> Fault | None:
    """The database fault behind `exc` (itself, what it was raised from, or what the ORM
    wrapped in it), or None when it is not one."""
    for current in _chain(exc):
        fault = _fault_here(current)
        if fault is not None:
            return fault
    return None


# PostgreSQL stopped one of two transactions that got in each other's way (a deadlock,
# a serialization failure): neither the database's fault nor a bug, and done again it
# goes through.
_CONFLICTS = frozenset({"40P01", "40001"})


def is_conflict(exc: BaseException) -> bool:
    return any(
        type(current).__module__.startswith("asyncpg")
        and getattr(current, "sqlstate", None) in _CONFLICTS
        for current in _chain(exc)
    )


def describe(exc: BaseException) -> str:
    """One line for a log: the fault and what to do, or the exception's type."""
    fault = fault_of(exc)
    detail = f"{type(exc).__name__}: {exc}"[:200]
    return f"{fault.sentence()} [{detail}]" if fault is not None else detail


class FailureStreak:
    """Logs a run of failures of one task once, not once per try.

    Call `failed(exc)` on each failure and `succeeded()` after each success (cheap when
    nothing failed).
    """

    def __init__(self, logger: logging.Logger, what: str, remind_seconds: float = REMIND_SECONDS):
        self.logger = logger
        self.what = what
        self.remind_seconds = remind_seconds
        self.failures = 0
        self.since: float | None = None
        self._reminded_at = 0.0

    @property
    def failing(self) -> bool:
        return self.failures > 0

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self.failures += 1
        if self.failures == 1:
            self.since = self._reminded_at = now
            fault = fault_of(exc)
            if fault is not None:
                self.logger.error(
                    "%s: %s; retrying quietly until it works again", self.what, describe(exc)
                )
            else:
                self.logger.error(
                    "%s failed; retrying quietly until it works again", self.what, exc_info=exc
                )
        elif now - self._reminded_at >= self.remind_seconds:
            self._reminded_at = now
            self.logger.error(
                "%s still failing after %d tries in %.0f s: %s",
                self.what,
                self.failures,
                now - (self.since or now),
                describe(exc),
            )

    def succeeded(self) -> None:
        if not self.failures:
            return
        elapsed = time.monotonic() - (self.since or time.monotonic())
        self.logger.warning(
            "%s works again after %d failed tries in %.1f s", self.what, self.failures, elapsed
        )
        self.failures = 0
        self.since = None
