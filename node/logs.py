"""Logging: one line per request and per job, to stderr, never a secret.

Request lines carry the path without its query string, since query strings can carry
tokens (password resets, invitations), and no header at all (Authorization and cookies
carry credentials). With `log_format = "json"` every line is one JSON object: `time`
(UTC, ISO 8601), `level`, `logger`, `message`, `pid`, `exception` when there is one, and the
request log's fields (`method`, `path`, `status`, `duration_ms`) as keys of their own.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node import metrics, uris

request_log = logging.getLogger("nabuur.http")

# Paths whose last segment is a secret (the links of e-mails): logged without it.
SECRET_PATHS = (uris.CONFIRM_EMAIL + "/", uris.PASSWORD_RESET + "/", uris.UNSUBSCRIBE + "/")


def loggable_path(path: str) -> str:
    """`path` as the request log may show it: a mailed link's secret replaced by "…"."""
    for prefix in SECRET_PATHS:
        if path.startswith(prefix) and len(path) > len(prefix):
            return prefix + "…"
    return path


# What every LogRecord has; anything else on a record was passed with `extra=`.
# (uvicorn repeats its messages with terminal colours as `color_message`: not for files)
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for journald, Loki or any log shipper."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which of `nabuur run --workers N` processes
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # default=str: a stray object in `extra` must not cost the log line.
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str, log_format: str = "text") -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # Our middleware writes the access log; uvicorn's would repeat it with the query.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("tortoise").setLevel(max(logging.getLevelName(level), logging.INFO))


class RequestLogMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): cheap, and streaming responses stay streamed.

    It also feeds the request figures of /metrics (`node.metrics.observe_request`, a
    no-op unless metrics are on): it already has the status and the duration.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - started
            metrics.observe_request(scope, status, seconds)
            path = loggable_path(scope["path"])
            request_log.info(
                "%s %s %d %.1fms",
                scope["method"],
                path,
                status,
                seconds * 1000,
                extra={
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
