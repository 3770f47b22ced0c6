"""A real SMTP server for tests (aiosmtpd), and settings that send to it.

    async def test_x(smtp_server, ...):
        settings = mail_settings(make_settings(), smtp_server)
        ...  # queue and send
        [message] = await smtp_server.wait_for(1)
        assert message["Subject"] == ...

`smtp_server.messages` are `email.message.EmailMessage`s parsed with
`email.policy.default` (`message.get_body(("plain",))`, `message["To"]`, …), and
`smtp_server.envelopes` the (mail_from, rcpt_tos) of each, `smtp_server.raw` the bytes
of each as received. `stop()`/`start()` take the
server away and bring it back on the same port (an outage). `reject(address, 550)`
makes it refuse one recipient for good; `reject(address, 451)` for now. With
`users={"name": "password"}` it offers AUTH (PLAIN/LOGIN over plain SMTP) and
records successful logins in `logins`.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from node.config import Settings

MAIL_FROM = "Buren Test <buren@nabuur.test>"

_ANSWERS = {
    550: "550 5.1.1 Mailbox unavailable",
    551: "551 5.1.1 User not local",
    552: "552 5.2.2 Mailbox full",
    553: "553 5.1.3 Mailbox name not allowed",
    450: "450 4.2.1 Mailbox busy, try again later",
    451: "451 4.3.0 Local error, try again later",
    452: "452 4.3.1 Insufficient storage, try again later",
}


class _Handler:
    def __init__(self, server: SmtpTestServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        code = self.server.rejections.get(address.lower())
        if code is not None:
            return _ANSWERS.get(code, f"{code} Refused")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.server.messages.append(message)
        self.server.raw.append(raw)
        self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpTestServer:
    """An aiosmtpd server on 127.0.0.1 in its own thread, on a port fixed at creation."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.users = users
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.raw: list[bytes] = []  # each message's bytes as received (headers unparsed)
        self.rejections: dict[str, int] = {}
        self.logins: list[str] = []
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def url_with_login(self, username: str, password: str) -> str:
        from urllib.parse import quote

        return (
            f"smtp://{quote(username, safe='')}:{quote(password, safe='')}@{self.host}:{self.port}"
        )

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        options: dict[str, Any] = {}
        if self.users is not None:
            options = {
                # AUTH offered over plain SMTP (no TLS in tests); a sender that has a
                # username logs in, and a wrong password is refused.
                "auth_require_tls": False,
                "authenticator": self._authenticate,
            }
        controller = Controller(
            _Handler(self), hostname=self.host, port=self.port, ready_timeout=5, **options
        )
        # A port just freed may linger a moment in the kernel: retry briefly.
        deadline = time.monotonic() + 5
        while True:
            try:
                controller.start()
                break
            except (OSError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def reject(self, address: str, code: int = 550) -> None:
        """Answer RCPT TO:<address> with `code` (5xx: permanent, 4xx: temporary)."""
        self.rejections[address.lower()] = code

    def accept(self, address: str) -> None:
        self.rejections.pop(address.lower(), None)

    async def wait_for(self, n: int, timeout: float = 5.0) -> list[EmailMessage]:  # noqa: ASYNC109
        """The messages once at least `n` have arrived; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < n:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {n} message(s) within {timeout}s, got {len(self.messages)}"
                )
            await asyncio.sleep(0.02)
        return list(self.messages)

    def by_message_id(self) -> dict[str, list[EmailMessage]]:
        grouped: dict[str, list[EmailMessage]] = {}
        for message in self.messages:
            grouped.setdefault(str(message["Message-ID"]), []).append(message)
        return grouped

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode()
            password = auth_data.password.decode()
            if self.users is not None and self.users.get(login) == password:
                self.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def mail_settings(
    settings: Settings, smtp_server: SmtpTestServer, *, mail_from: str = MAIL_FROM
) -> Settings:
    """`settings` sending e-mail to the test server."""
    return replace(settings, smtp_url=smtp_server.url, mail_from=mail_from)


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    server = SmtpTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
