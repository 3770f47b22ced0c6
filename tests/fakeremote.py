"""A small remote ActivityPub server on loopback for in-process federation tests.

It serves actor documents (with keys we control), records what is POSTed to its
inboxes, and signs activities as its actors would. Multi-node and Fedify tests use
real peers instead; this one lets the inbox's rules be tested one by one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from federation.signatures import sign_cavage, sign_rfc9421

_KEYS: list[RSAPrivateKey] = []


def remote_key(index: int) -> RSAPrivateKey:
    while len(_KEYS) <= index:
        _KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEYS[index]


def public_pem(key: RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return orjson.loads(self.body)


@dataclass
class FakeRemote:
    keys: dict[str, RSAPrivateKey] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    fetches: list[str] = field(default_factory=list)
    inbox_status: int = 202
    # Objects it serves at /objects/{key}; a key in `gone` answers 410.
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    types: dict[str, str] = field(default_factory=dict)
    base: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> FakeRemote:
        app = web.Application()
        app.router.add_get("/users/{name}", self._actor)
        app.router.add_post("/users/{name}/inbox", self._inbox)
        app.router.add_post("/inbox", self._inbox)
        app.router.add_get("/objects/{key}", self._object)
        self._runner, self.base = await serve(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def add_actor(self, name: str, key_index: int = 0, actor_type: str = "Person") -> str:
        self.keys[name] = remote_key(key_index)
        self.types[name] = actor_type
        return self.actor_url(name)

    def actor_url(self, name: str) -> str:
        return f"{self.base}/users/{name}"

    def key_id(self, name: str) -> str:
        return self.actor_url(name) + "#main-key"

    def actor_document(self, name: str) -> dict[str, Any]:
        url = self.actor_url(name)
        return {
            "@context": ["https://www.w3.org/ns/activitystreams"],
            "id": url,
            "type": self.types.get(name, "Person"),
            "preferredUsername": name,
            "name": name.title(),
            "inbox": f"{url}/inbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {
                "id": self.key_id(name),
                "owner": url,
                "publicKeyPem": public_pem(self.keys[name]),
            },
        }

    async def _actor(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.fetches.append(name)
        if name not in self.keys:
            return web.json_response({"error": "gone"}, status=404)
        return web.Response(
            body=orjson.dumps(self.actor_document(name)), content_type="application/activity+json"
        )

    async def _object(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if key in self.gone:
            return web.json_response({"type": "Tombstone"}, status=410)
        if key not in self.objects:
            return web.json_response({"error": "not found"}, status=404)
        return web.Response(
            body=orjson.dumps(self.objects[key]), content_type="application/activity+json"
        )

    def object_url(self, key: str) -> str:
        return f"{self.base}/objects/{key}"

    async def _inbox(self, request: web.Request) -> web.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append(Received(request.path, headers, await request.read()))
        return web.Response(status=self.inbox_status)

    def new_id(self, kind: str = "activities") -> str:
        return f"{self.base}/{kind}/{uuid.uuid4()}"

    def activity(self, name: str, activity_type: str, obj: Any, **extra: Any) -> dict[str, Any]:
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": extra.pop("id", None) or self.new_id(),
            "type": activity_type,
            "actor": self.actor_url(name),
            "object": obj,
            **extra,
        }

    def note(self, name: str, in_reply_to: str, content: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": extra.pop("id", None) or self.new_id("notes"),
            "type": "Note",
            "attributedTo": self.actor_url(name),
            "inReplyTo": in_reply_to,
            "content": content,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            **extra,
        }

    def signed_get_headers(self, name: str, url: str) -> dict[str, str]:
        """Headers of a GET signed by `name`, as a server fetching an object sends."""
        headers = {"accept": "application/activity+json"}
        headers.update(
            sign_cavage(
                method="GET",
                url=url,
                headers=headers,
                body=None,
                key_id=self.key_id(name),
                private_key=self.keys[name],
            )
        )
        return headers

    def signed_headers(
        self,
        name: str,
        url: str,
        body: bytes,
        *,
        profile: str = "cavage",
        key: RSAPrivateKey | None = None,
        **header_overrides: str,
    ) -> dict[str, str]:
        headers = {"content-type": "application/activity+json", **header_overrides}
        sign = sign_cavage if profile == "cavage" else sign_rfc9421
        headers.update(
            sign(
                method="POST",
                url=url,
                headers=headers,
                body=body,
                key_id=self.key_id(name),
                private_key=key or self.keys[name],
            )
        )
        return headers


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve `app` on a free loopback port: its runner (to clean up) and base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
