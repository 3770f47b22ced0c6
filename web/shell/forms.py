"""Reading posted forms: size-limited, CSRF-checked, errors translated.

Forms are URL-encoded; only an upload (an icon) comes as multipart, read by
`read_upload` under its own size limit.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request

from node.errors import InvalidInput
from node.i18n import gettext
from web.shell import csrf

MAX_FORM_BYTES = 64 * 1024
MAX_FIELDS = 100


class Form:
    """The fields of a posted form; missing fields read as empty strings."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        self._first: dict[str, str] = {}
        for key, value in pairs:
            self._first.setdefault(key, value)

    def get(self, name: str, default: str = "") -> str:
        return self._first.get(name, default)

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]

    def has(self, name: str) -> bool:
        return name in self._first

    def values(self) -> dict[str, str]:
        return dict(self._first)


async def read_form(request: Request) -> Form:
    """The posted form, or an HTTP error: 413 too big, 415 not a form, 400 bad, 403 CSRF."""
    if _content_type(request) != "application/x-www-form-urlencoded":
        raise HTTPException(415)
    body = await _body(request, MAX_FORM_BYTES)
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400) from None
    form = Form([(key, value.replace("\x00", "")) for key, value in pairs])
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        raise HTTPException(403, detail="csrf")
    # Something may change: pages kept for anonymous visitors are rendered afresh (only
    # for genuine forms, so forged posts cannot keep emptying the cache).
    request.app.state.page_cache.clear()
    return form


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _body(request: Request, limit: int) -> bytes:
    """The request's body, or 413 as soon as it is (or says it will be) over `limit`."""
    declared = request.headers.get("content-length")
    # A number too long to be a size is over the limit (`int` refuses 4300 digits), and
    # "²" is a digit to `isdigit` only.
    if declared is not None and (
        not (declared.isascii() and declared.isdigit())
        or len(declared) > 18
        or int(declared) > limit
    ):
        raise HTTPException(413)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise HTTPException(413)
    return bytes(body)


async def read_upload(request: Request, field: str, max_bytes: int) -> tuple[Form, bytes]:
    """A multipart form with one file in `field` (at most `max_bytes`): its other fields
    and the file's bytes (empty when none was chosen). 413, 415, 400 and 403 as forms."""
    if _content_type(request) != "multipart/form-data":
        raise HTTPException(415)
    # The whole body is read under a limit first: the multipart parser would otherwise
    # spool any amount to disk before we could refuse it.
    body = await _body(request, max_bytes + MAX_FORM_BYTES)
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    parsed = Request(request.scope, receive)
    try:
        data = await parsed.form(max_files=1, max_fields=MAX_FIELDS, max_part_size=MAX_FORM_BYTES)
    except HTTPException:
        raise
    except Exception:  # the parser's errors for malformed multipart bodies
        raise HTTPException(400) from None
    try:
        pairs = [(k, v) for k, v in data.multi_items() if isinstance(v, str)]
        upload = data.get(field)
        content = b"" if upload is None or isinstance(upload, str) else await upload.read()
    finally:
        await data.close()
    if len(content) > max_bytes:
        raise HTTPException(413)
    form = Form([(key, value.replace("\x00", "")) for key, value in pairs])
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        raise HTTPException(403, detail="csrf")
    request.app.state.page_cache.clear()
    return form, content


def field_error(locale: str, error: InvalidInput) -> str:
    """The message of `error` in `locale`, first letter capitalised for display."""
    text = gettext(locale, error.template)
    if error.params:
        text = text % error.params
    return text[:1].upper() + text[1:]


def local_path(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this node, else `default` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return default
    return target
