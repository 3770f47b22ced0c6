"""What every `nabuur` command shares: the one-line error and running a coroutine."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from tortoise.exceptions import OperationalError

from node.app import NotReady, check_ready
from node.config import Settings


class CLIError(Exception):
    """A problem to report in one line, with exit status 1."""


def run(coro: Coroutine[Any, Any, Any], *, uvloop: bool = False) -> Any:
    """Run `coro` to the end; with `uvloop`, on uvloop's event loop where it is installed
    (as `nabuur run` is, by uvicorn): sockets, timers and futures in C, about half the
    loop's CPU per outgoing request of the delivery worker."""
    if uvloop:
        try:
            from uvloop import new_event_loop
        except ImportError:  # uvicorn[standard] brings it, except where it cannot build
            pass
        else:
            with asyncio.Runner(loop_factory=new_event_loop) as runner:
                return runner.run(coro)
    return asyncio.run(coro)


async def require_ready(settings: Settings) -> None:
    try:
        await check_ready(settings)
    except NotReady as exc:
        raise CLIError(str(exc)) from None
    except OperationalError:
        raise CLIError("this database has no Nabuur tables: run `nabuur init`") from None
