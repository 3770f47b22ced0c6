"""One-line messages for the failures of `nabuur` commands that are not the operator's
input: a file that cannot be used, a database role without the right to create tables."""

from __future__ import annotations

import errno
from urllib.parse import urlsplit

from node.cli_common import CLIError

_WRITE_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG}


def os_error_line(exc: OSError) -> str:
    """A file the command could not use says which file and why; an OSError without a
    file name is the connection to the database (refused, no route, name not found)."""
    if exc.filename is None:
        return f"cannot reach the database: {exc}"
    verb = "write" if exc.errno in _WRITE_ERRORS else "use"
    target = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
    return f"cannot {verb} {target}: {exc.strerror or exc}"


def no_create_rights(url: str) -> CLIError:
    parts = urlsplit(url)
    name, role = parts.path.strip("/") or "nabuur", parts.username or "nabuur"
    return CLIError(
        f"cannot create the tables: the role {role!r} may not create tables in database "
        f"{name!r} (permission denied for schema public); as the postgres user run "
        f"`ALTER DATABASE {name} OWNER TO {role}`, or create it with "
        f"`createdb --owner {role} {name}`"
    )
