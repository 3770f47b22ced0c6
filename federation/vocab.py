"""ActivityStreams vocabulary and media types used on the wire."""

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})

AP_MEDIA_TYPE = "application/activity+json"
LD_MEDIA_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AP_CONTENT_TYPES = frozenset({"application/activity+json", "application/ld+json"})

ACTOR_CONTEXT = [
    AS_CONTEXT,
    SECURITY_CONTEXT,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "discoverable": "toot:discoverable",
        # Profile fields (Mastodon shows them as a table under the bio).
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
    },
]


def wants_activitypub(accept: str | None) -> bool:
    """Whether an Accept header asks for ActivityStreams rather than HTML."""
    if not accept:
        return False
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media == "application/activity+json":
            return True
        if media == "application/ld+json" and "activitystreams" in part:
            return True
    return False


def is_activitypub_content_type(value: str | None) -> bool:
    media = (value or "").split(";", 1)[0].strip().lower()
    return media in AP_CONTENT_TYPES


def as_list(value: object) -> list:
    """AS2 allows one value or a list for most properties."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def id_of(value: object) -> str | None:
    """The id of a property that may be a URL string or an embedded object."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def type_of(value: object) -> str | None:
    """An object's `type` when it is one string. AS2 also allows a list (and senders
    send anything): such an object has no type we act on, and is never looked up in a
    set of types, which would fail on a list."""
    kind = value.get("type") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) else None
