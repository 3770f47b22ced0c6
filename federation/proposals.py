"""Help requests and offers on the wire: a `Note` that Mastodon shows in full, carrying
FEP-0837 (ValueFlows) properties that other Nabuur nodes and marketplaces read.

Status travels in existing terms: open slots as `availableQuantity` on the Intent,
matched as `availableQuantity` 0, done as `finished: true`; the date window as
`startTime`/`endTime`. Categories are URIs under our fixed namespace (FEDERATION.md).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from federation.parse import CATEGORY_BASE
from federation.vocab import AS_CONTEXT, PUBLIC
from node import uris
from node.config import Settings
from node.i18n import N_, translations
from node.models import HelpPost, PostKind, Visibility
from node.states import PostStatus
from node.taxonomy import hashtag as category_hashtag
from node.text import hashtag_spans, hashtags

NABUUR_NS = "https://nabuur.org/ns#"
VF = "https://w3id.org/valueflows/ont/vf#"
OM2 = "http://www.ontology-of-units-of-measure.org/resource/om-2/"

CONTEXT: list[Any] = [
    AS_CONTEXT,
    {
        "vf": VF,
        "om2": OM2,
        "nabuur": NABUUR_NS,
        "Intent": "vf:Intent",
        "purpose": "vf:purpose",
        "publishes": "vf:publishes",
        "action": "vf:action",
        "resourceConformsTo": {"@id": "vf:resourceConformsTo", "@type": "@id"},
        "resourceQuantity": "vf:resourceQuantity",
        "availableQuantity": "vf:availableQuantity",
        "finished": "vf:finished",
        "hasUnit": "om2:hasUnit",
        "hasNumericalValue": "om2:hasNumericalValue",
        "Hashtag": "as:Hashtag",
        "Agreement": "vf:Agreement",
        "stipulates": "vf:stipulates",
        "Commitment": "vf:Commitment",
        "satisfies": {"@id": "vf:satisfies", "@type": "@id"},
    },
]

KIND_LABEL = {PostKind.REQUEST: N_("Request for help"), PostKind.OFFER: N_("Offer of help")}
STATUS_PREFIX = {
    PostStatus.MATCHED: N_("Helpers found"),
    PostStatus.DONE: N_("Done, thank you!"),
}
# French puts a space before the colon: the whole pattern is translated.
HEADING = N_("%(label)s: %(title)s")
CALL_TO_ACTION = {
    PostKind.REQUEST: N_("Reply to this post to offer help."),
    PostKind.OFFER: N_("Reply to this post if this would help you."),
}


def category_uri(slug: str) -> str:
    return CATEGORY_BASE + slug


def attributed_path(post: HelpPost) -> str:
    """Posts made for an organisation (also for a client) are the organisation's."""
    if post.organisation_id and post.organisation is not None:
        return uris.organisation(post.organisation.slug)
    return uris.account(post.author.username)


def audience(settings: Settings, post: HelpPost) -> tuple[list[str], list[str]]:
    """(to, cc) for a post: public, or the approved followers of whoever posts it (levels
    that stay on this node are never addressed outside it)."""
    followers = uris.absolute(settings, uris.followers(attributed_path(post)))
    if post.visibility == Visibility.PUBLIC:
        group = uris.absolute(settings, uris.neighbourhood(post.neighbourhood.slug))
        return [PUBLIC], [followers, group]
    return [followers], []


def _quantity(value: int) -> dict[str, Any]:
    return {"hasUnit": "one", "hasNumericalValue": str(value)}


def _when(post: HelpPost, locale: str, zone: ZoneInfo) -> str:
    gettext = translations(locale).gettext
    if post.starts_at is None:
        return gettext("When it suits you")
    return format_datetime(post.starts_at, "EEEE d MMMM, HH:mm", tzinfo=zone, locale=locale)


def _text(value: str) -> str:
    """Text for an HTML text node: <, > and & escaped; quotes stay readable."""
    return html.escape(value, quote=False)


def _hood_url(settings: Settings, post: HelpPost) -> str:
    return uris.absolute(settings, uris.neighbourhood(post.neighbourhood.slug))


def _category_href(settings: Settings, post: HelpPost) -> str:
    """A category's tags lead to the neighbourhood's requests and offers of it."""
    return f"{_hood_url(settings, post)}?category={quote(post.category)}"


def _hashtag_link(name: str, href: str) -> str:
    # Mastodon's own markup: clients turn such a link into their tag page.
    return (
        f'<a href="{html.escape(href)}" class="mention hashtag" rel="tag">'
        f"#<span>{_text(name)}</span></a>"
    )


def _linked(value: str, href: str) -> str:
    """Plain text as HTML, with the hashtags the author wrote as links to `href`."""
    parts, last = [], 0
    for start, end, name in hashtag_spans(value):
        parts += [_text(value[last:start]), _hashtag_link(name, href)]
        last = end
    return "".join([*parts, _text(value[last:])])


def _category_tags(post: HelpPost, language: str) -> list[str]:
    """The category's tags in `language`: its slug, and its name there when that differs."""
    local = category_hashtag(post.category, language)
    same = local is None or local.casefold() == post.category.casefold()
    return [post.category] if same else [post.category, local]


def render_content(settings: Settings, post: HelpPost, language: str, slots_left: int) -> str:
    """The HTML a Mastodon reader sees, in `language` (a language the author wrote)."""
    locale = language if language in settings.languages else "en"
    catalogue = translations(locale)
    gettext, ngettext = catalogue.gettext, catalogue.ngettext
    title, description, _ = post.text_in(language)
    label = gettext(KIND_LABEL[PostKind(post.kind)])
    prefix = STATUS_PREFIX.get(PostStatus(post.status))
    heading = f"{gettext(prefix)} · {label}" if prefix else label
    place = post.neighbourhood.name + (f", {post.area_hint}" if post.area_hint else "")
    hood_url = _hood_url(settings, post)
    strong = gettext(HEADING) % {"label": _text(heading), "title": _linked(title, hood_url)}
    parts = [f"<p><strong>{strong}</strong></p>"]
    if description:
        paragraphs = [p for p in description.split("\n\n") if p.strip()]
        parts += [f"<p>{_linked(p, hood_url).replace(chr(10), '<br>')}</p>" for p in paragraphs]
    facts = [
        f"📍 {_text(place)}",
        f"🗓 {_text(_when(post, locale, ZoneInfo(settings.timezone)))}",
    ]
    if post.kind == PostKind.REQUEST and post.status == PostStatus.OPEN:
        facts.append(
            ngettext("%(num)d helper needed", "%(num)d helpers needed", slots_left)
            % {"num": slots_left}
        )
    parts.append(f"<p>{' · '.join(facts)}</p>")
    url = uris.absolute(settings, uris.post(post.id))
    call = gettext(CALL_TO_ACTION[PostKind(post.kind)]) if post.status == PostStatus.OPEN else ""
    link = f'<a href="{html.escape(url)}">{html.escape(url)}</a>'
    category_href = _category_href(settings, post)
    tags = " ".join(
        [_hashtag_link(t, category_href) for t in _category_tags(post, locale)]
        + [_hashtag_link("nabuur", hood_url)]
    )
    parts.append(f"<p>{_text(call)} {link} {tags}</p>".replace("<p> ", "<p>"))
    return "".join(parts)


PARTNERS = N_("Together with %(partners)s")


def _partners_line(partners: Sequence[Partner], language: str) -> str:
    if not partners:
        return ""
    mentions = ", ".join(
        f'<span class="h-card"><a href="{html.escape(p.uri)}" class="u-url mention">'
        f"{html.escape(p.handle)}</a></span>"
        for p in partners
    )
    text = translations(language if language in ("nl", "fr") else "en").gettext(PARTNERS)
    return f"<p>{text % {'partners': mentions}}</p>"


def _isoformat(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


# Creating a post stamps `created_at` and `updated_at` microseconds apart; a person's
# edit comes later than this.
EDIT_GRACE = timedelta(seconds=1)


def edited_at(post: HelpPost) -> datetime | None:
    """When the post last changed after it was published, or None if it never did.

    Mastodon shows a post as edited when its Note has `updated`, and applies an
    `Update` only when `updated` is later than the last one it saw. A post is born
    open, so one in any other status changed (matched, done); otherwise only a change
    more than `EDIT_GRACE` after publication (an edit, a reopening) is one.
    """
    created, updated = post.created_at, post.updated_at
    if created is None or updated is None:
        return None
    latest = max(updated, post.status_changed_at or updated)
    if post.status != PostStatus.OPEN or latest - created > EDIT_GRACE:
        return latest
    return None


def _hashtag_tags(settings: Settings, post: HelpPost) -> list[dict[str, str]]:
    """`Hashtag` tags: the category in each of the post's languages, #nabuur, and the
    hashtags the author wrote (in any language), each name once whatever its case."""
    category_href, hood_url = _category_href(settings, post), _hood_url(settings, post)
    named: dict[str, tuple[str, str]] = {}
    for lang in post.languages:
        for name in _category_tags(post, lang):
            named.setdefault(name.casefold(), (name, category_href))
    named.setdefault("nabuur", ("nabuur", hood_url))
    texts = [text for lang in post.languages for text in post.text_in(lang)[:2]]
    for name in hashtags(*texts):
        named.setdefault(name.casefold(), (name, hood_url))
    return [{"type": "Hashtag", "href": href, "name": f"#{name}"} for name, href in named.values()]


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner organisation named on a Note: its actor id and its handle."""

    uri: str
    handle: str


def post_to_note(
    settings: Settings, post: HelpPost, slots_left: int, partners: Sequence[Partner] = ()
) -> dict[str, Any]:
    """The Note for `post` (needs `author`, `organisation` and `neighbourhood` loaded).

    Partner organisations are mentioned (a `Mention` tag, addressed in `cc`, and named in
    the text), so their own node can show the request to their staff.
    """
    note_id = uris.absolute(settings, uris.post(post.id))
    to, cc = audience(settings, post)
    cc = [*cc, *(p.uri for p in partners if p.uri not in cc)]
    content_map = {
        lang: render_content(settings, post, lang, slots_left) + _partners_line(partners, lang)
        for lang in post.languages
    }
    title, _, _ = post.text_in(post.language)
    hood = post.neighbourhood
    location: dict[str, Any] = {"type": "Place", "name": f"{hood.name}, {hood.commune}".strip(", ")}
    if hood.centre_lat is not None and hood.centre_lon is not None:
        # The neighbourhood's centre, three decimals (about 100 m): never an address.
        location |= {"latitude": round(hood.centre_lat, 3), "longitude": round(hood.centre_lon, 3)}
        if hood.radius_m:
            location |= {"radius": hood.radius_m, "units": "m"}
    intent: dict[str, Any] = {
        "id": f"{note_id}#primary",
        "type": "Intent",
        "action": "deliverService",
        "resourceConformsTo": category_uri(post.category),
        "resourceQuantity": _quantity(post.helpers_needed),
        "availableQuantity": _quantity(slots_left if post.status == PostStatus.OPEN else 0),
    }
    if post.status == PostStatus.DONE:
        intent["finished"] = True
    note: dict[str, Any] = {
        "@context": CONTEXT,
        "id": note_id,
        "type": "Note",
        "attributedTo": uris.absolute(settings, attributed_path(post)),
        "audience": uris.absolute(settings, uris.neighbourhood(hood.slug)),
        "to": to,
        "cc": cc,
        "name": title,
        "content": content_map[post.language],
        "contentMap": content_map,
        "url": note_id,
        "published": _isoformat(post.created_at),
        "location": location,
        "tag": [
            *_hashtag_tags(settings, post),
            *({"type": "Mention", "href": p.uri, "name": p.handle} for p in partners),
        ],
        "purpose": post.kind,
        "publishes": intent,
        "endTime": _isoformat(post.ends_at or post.expires_at),
    }
    if post.starts_at is not None:
        note["startTime"] = _isoformat(post.starts_at)
    if (changed := edited_at(post)) is not None:
        note["updated"] = _isoformat(changed)
    return note


def tombstone(settings: Settings, post: HelpPost) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": uris.absolute(settings, uris.post(post.id)),
        "type": "Tombstone",
        "formerType": "Note",
        "deleted": _isoformat(post.status_changed_at),
    }
