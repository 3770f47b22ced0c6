"""Our objects as ActivityStreams: actors now; help posts join in the next step.

Builders are pure: they take loaded models and settings and return dicts. Nothing here
reads a private key.
"""

from __future__ import annotations

from typing import Any

from federation.vocab import ACTOR_CONTEXT, AS_CONTEXT
from node import uris
from node.config import Settings
from node.models import Account, Neighbourhood, NodeSettings, Organisation


def _actor(
    settings: Settings,
    path: str,
    actor_type: str,
    username: str,
    name: str,
    summary: str,
    public_key_pem: str | None,
    *,
    locked: bool = False,
) -> dict[str, Any]:
    actor_id = uris.absolute(settings, path)
    document: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": actor_id,
        "type": actor_type,
        "preferredUsername": username,
        "name": name,
        "summary": summary,
        "url": actor_id,
        "inbox": uris.absolute(settings, uris.inbox(path)),
        "outbox": uris.absolute(settings, uris.outbox(path)),
        "followers": uris.absolute(settings, uris.followers(path)),
        "following": uris.absolute(settings, uris.following(path)),
        "endpoints": {"sharedInbox": uris.absolute(settings, uris.SHARED_INBOX)},
        "manuallyApprovesFollowers": locked,
        "discoverable": True,
    }
    if public_key_pem:
        document["publicKey"] = {
            "id": uris.key_id(actor_id),
            "owner": actor_id,
            "publicKeyPem": public_key_pem,
        }
    return document


def _summary(texts: dict[str, str], language: str) -> str:
    text = texts.get(language) or next(iter(texts.values()), "")
    return f"<p>{_escape(text)}</p>" if text else ""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def person(settings: Settings, account: Account) -> dict[str, Any]:
    return _actor(
        settings,
        uris.account(account.username),
        "Person",
        account.username,
        account.display_name,
        "",
        account.public_key_pem,
        locked=account.manually_approves_followers,
    )


def _described(
    settings: Settings, path: str, actor_type: str, model: Organisation | Neighbourhood
) -> dict[str, Any]:
    """Organisations and neighbourhoods: named by slug, described in several languages."""
    texts: dict[str, str] = model.description
    document = _actor(
        settings,
        path,
        actor_type,
        model.slug,
        model.name,
        _summary(texts, settings.default_language),
        model.public_key_pem,
    )
    if texts:
        document["summaryMap"] = {lang: f"<p>{_escape(t)}</p>" for lang, t in texts.items()}
    return document


def organisation(settings: Settings, org: Organisation) -> dict[str, Any]:
    return _described(settings, uris.organisation(org.slug), "Organization", org)


def group(settings: Settings, hood: Neighbourhood) -> dict[str, Any]:
    return _described(settings, uris.neighbourhood(hood.slug), "Group", hood)


def instance(settings: Settings, node: NodeSettings) -> dict[str, Any]:
    document = _actor(
        settings,
        uris.INSTANCE_ACTOR,
        "Application",
        settings.domain,
        node.name,
        "",
        node.public_key_pem,
    )
    # The instance actor signs fetches and follows; it has no page of its own.
    document["url"] = uris.absolute(settings, uris.HOME)
    return document


def ordered_collection(collection_id: str, total: int, first: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if first is not None:
        document["first"] = first
    return document


def collection_page(
    page_id: str, collection_id: str, items: list[Any], next_page: str | None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "orderedItems": items,
    }
    if next_page:
        document["next"] = next_page
    return document
