"""Text hygiene: plain text typed by people here, and HTML that arrives from elsewhere.

Local text is stored as plain text and escaped when rendered. Remote HTML is reduced
to Mastodon's small allowlist with nh3 before it is stored or shown; nh3 (about 1.5 MB of
memory) is loaded with the first remote HTML, not at start-up.
"""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)
_BLANK_LINES = re.compile(r"\n{3,}")

ALLOWED_TAGS = {
    "p",
    "br",
    "span",
    "a",
    "del",
    "pre",
    "blockquote",
    "code",
    "b",
    "strong",
    "u",
    "i",
    "em",
    "ul",
    "ol",
    "li",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "span": {"class"}, "ol": {"start"}}


def clean_line(value: str) -> str:
    """One line of plain text: normalised, without control or direction characters."""
    text = unicodedata.normalize("NFC", value)
    text = _CONTROL.sub("", text.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    return " ".join(text.split())


def clean_text(value: str) -> str:
    """Multi-line plain text: normalised, trimmed, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text.replace("\t", " "))
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def sanitise_html(html: str) -> str:
    """Remote HTML reduced to the allowlist; links only http(s), marked nofollow."""
    import nh3

    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="nofollow noopener noreferrer",
        url_relative="deny",
        strip_comments=True,
    )


# Hashtags as Mastodon finds them in text: "#" not after a letter, digit, "=", "/" or
# ")", then word characters (any script) with "·", "・" or a zero-width non-joiner
# inside; at least one letter or "_", so "#1" is not a tag.
_HASHTAG = re.compile(r"(?<![=/)])(?<![^\W_])#(\w(?:[\w·・\u200c]*\w)?)")
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
MAX_HASHTAGS = 20


def hashtag_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of each hashtag in plain `text`, "#" included in the span;
    none inside a URL ("https://example.org/#top" has no tag)."""
    urls = [m.span() for m in _URL.finditer(text)]
    found = []
    for match in _HASHTAG.finditer(text):
        name = match.group(1)
        if not any(c.isalpha() or c == "_" for c in name):
            continue
        if any(start <= match.start() < end for start, end in urls):
            continue
        found.append((match.start(), match.end(), name))
    return found


def hashtags(*texts: str) -> list[str]:
    """The hashtags written in `texts`, without "#", first spelling of each (tags are
    the same whatever their case), in order, at most `MAX_HASHTAGS`."""
    seen: dict[str, str] = {}
    for text in texts:
        for _, _, name in hashtag_spans(text):
            seen.setdefault(name.casefold(), name)
    return list(seen.values())[:MAX_HASHTAGS]


def camel_hashtag(label: str) -> str:
    """A label as one hashtag, each word capitalised ("Odd jobs and DIY" gives
    "OddJobsAndDIY"): readable, and screen readers can say it word by word."""
    words = re.findall(r"\w+", unicodedata.normalize("NFC", label))
    return "".join(w[:1].upper() + w[1:] for w in words)
