"""Our actors and collections as ActivityStreams (help posts are in `proposals`).

Builders are pure: they take loaded models and settings and return dicts. Nothing here
reads a private key.
"""

from __future__ import annotations

import html
from typing import Any

from federation.vocab import ACTOR_CONTEXT, AS_CONTEXT
from node import uris
from node.config import Settings
from node.models import Account, Neighbourhood, NodeSettings, Organisation
from node.services import local_actors


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


def _icon(settings: Settings, icon_path: str | None) -> dict[str, Any]:
    """The avatar Mastodon shows, when one was uploaded (PNG or JPEG, see node.images)."""
    if not icon_path:
        return {}
    media_type = "image/png" if icon_path.endswith(".png") else "image/jpeg"
    return {
        "icon": {
            "type": "Image",
            "mediaType": media_type,
            "url": uris.absolute(settings, icon_path),
        }
    }


def _described(
    settings: Settings,
    path: str,
    actor_type: str,
    model: Organisation | Neighbourhood,
    icon_path: str | None,
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
    if model.updated_at is not None:
        document["updated"] = model.updated_at.isoformat().replace("+00:00", "Z")
    return document | _icon(settings, icon_path)


def _field(name: str, value_html: str) -> dict[str, str]:
    return {"type": "PropertyValue", "name": name, "value": value_html}


def organisation(
    settings: Settings, org: Organisation, icon_path: str | None = None
) -> dict[str, Any]:
    document = _described(settings, uris.organisation(org.slug), "Organization", org, icon_path)
    fields = []
    if org.website:
        link = html.escape(org.website)
        fields.append(_field("Website", f'<a href="{link}" rel="me nofollow noopener">{link}</a>'))
    if org.contact:
        fields.append(_field("Contact", _escape(org.contact)))
    if fields:
        document["attachment"] = fields
    return document | {"manuallyApprovesFollowers": org.manually_approves_followers}


def group(settings: Settings, hood: Neighbourhood, icon_path: str | None = None) -> dict[str, Any]:
    document = _described(settings, uris.neighbourhood(hood.slug), "Group", hood, icon_path)
    return document | {"manuallyApprovesFollowers": hood.manually_approves_followers}


def instance(settings: Settings, node: NodeSettings, name: str) -> dict[str, Any]:
    """The node's own actor; `name` is the node's name as it applies now (node_profile)."""
    document = _actor(
        settings,
        uris.INSTANCE_ACTOR,
        "Application",
        local_actors.instance_username(settings),
        name,
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
