"""CSRF tokens: every form carries one, derived from the browser's seed and session.

The token is an HMAC of the seed cookie and the session token under a key derived
from the node's secret, so a page from another site can neither read nor forge it,
and a token from before log-in is worthless after.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.requests import Request

FIELD = "csrf_token"


def token(request: Request) -> str:
    state = request.state
    state.csrf_used = True
    if state.csrf_token is None:  # a page has several forms; one HMAC serves them all
        message = f"{state.csrf_seed}|{state.session_token or ''}".encode()
        digest = hmac.new(state.csrf_key, message, hashlib.sha256).digest()
        state.csrf_token = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return state.csrf_token


def is_valid(request: Request, submitted: str | None) -> bool:
    if request.state.csrf_seed_new or not submitted:
        return False  # no seed cookie came with the request: the form was not ours
    if not submitted.isascii():  # compare_digest refuses to compare other text
        return False
    return hmac.compare_digest(token(request), submitted)
