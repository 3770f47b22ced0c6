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
