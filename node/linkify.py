"""Clickable links in plain text people typed here (comments, offers, services).

Local text is stored as plain text. `linkify` turns it into HTML with its http(s) URLs as
links, the way Mastodon and GitHub find them, and then passes that HTML through nh3 with
an allowlist of one tag (`a`, `href` only, http and https only): whatever the URL pattern
gets wrong can come out as text or as an http(s) link, never as anything else. nh3
(about 1.5 MB of memory) is loaded with the first text shown, not at start-up.
"""

from __future__ import annotations

import html
import re

LINK_REL = "nofollow ugc noopener"

# A URL starts with http:// or https:// (any case), not glued to a word before it
# ("xhttp://" is no link), with a host that starts with a letter or digit of any script
# (IDN hosts are written in their own script); it runs up to a space, "<", ">" or '"'
# (a quote ends it, so '"onmouseover=' can never join an attribute: nh3 escapes it anyway).
# No scheme-less "www." links and no other schemes: "javascript:", "data:", "mailto:"
# stay text.
_URL = re.compile(r"(?<![\w@.+-])https?://(?=[^\W_])[^\s<>\"\x00-\x1f\x7f]+", re.IGNORECASE)
# What ends a sentence rather than a URL: left outside the link ("see https://a.org.").
_TRAILING = set(".,:;!?'*_~’”»›…\u3002\uff0c")
_CLOSING = {")": "(", "]": "[", "}": "{"}
_HOST_CHAR = re.compile(r"[^\W_]")
# Where nh3 removed an href it could not parse as an http(s) URL ("http://[bad"), the
# link is no link: its text stays, the empty <a> goes.
_HREFLESS = re.compile(r'<a rel="[^"]*">([^<]*)</a>')
# What HTML parsing would change: line breaks become "\n" (as `node.text.clean_text`
# stores them), NUL is dropped; lone surrogates are no characters and cannot reach nh3.
_UNPARSABLE = re.compile("[\x00\ud800-\udfff]")


def _trim(url: str) -> str:
    """`url` without the punctuation that follows it in the sentence: a closing bracket
    stays only when the URL opened it ("https://en.wikipedia.org/wiki/Foo_(bar)")."""
    while url:
        last = url[-1]
        unbalanced = last in _CLOSING and url.count(_CLOSING[last]) < url.count(last)
        if last in _TRAILING or unbalanced:
            url = url[:-1]
        else:
            break
    return url


def _has_host(url: str) -> bool:
    return bool(_HOST_CHAR.match(url.split("://", 1)[1][:1]))


def _anchored(text: str) -> str:
    """`text` escaped, its URLs as <a> elements (before nh3 checks them)."""
    parts, last = [], 0
    for match in _URL.finditer(text):
        url = _trim(match.group())
        if not _has_host(url):
            continue
        start, end = match.start(), match.start() + len(url)
        escaped = html.escape(url)
        parts += [html.escape(text[last:start]), f'<a href="{escaped}">{escaped}</a>']
        last = end
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def normalise(text: str) -> str:
    """`text` as it reads once in HTML: "\\r\\n" and "\\r" as "\\n", without NUL or lone
    surrogates. `linkify(text)` shows exactly this text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNPARSABLE.sub("", text)


def linkify(text: str) -> str:
    """Plain `text` as safe HTML: escaped, its http(s) URLs as links marked
    `rel="nofollow ugc noopener"`, line breaks kept as "\\n" characters (the caller
    makes paragraphs of them). The URL is shown in full: the pages let it wrap anywhere."""
    import nh3

    cleaned = nh3.clean(
        _anchored(normalise(text)),
        tags={"a"},
        attributes={"a": {"href"}},
        link_rel=LINK_REL,
        url_schemes={"http", "https"},
        url_relative="deny",
        strip_comments=True,
    )
    return _HREFLESS.sub(r"\1", cleaned)
