"""Text hygiene: plain text typed by people here, and HTML that arrives from elsewhere.

Local text is stored as plain text and escaped when rendered. Remote HTML is reduced
to Mastodon's small allowlist with nh3 before it is stored or shown; nh3 (about 1.5 MB of
memory) is loaded with the first remote HTML, not at start-up.
"""

from __future__ import annotations

import html as html_entities
import re
import unicodedata

# What plain text loses, and why; everything else stays, so that emoji sequences (ZWJ
# U+200D, variation selectors, flag tags), Persian and Indic writing (ZWNJ U+200C) and
# right-to-left text with its direction marks (LRM U+200E, RLM U+200F, ALM U+061C: they
# only set the direction of neighbouring punctuation and cannot reorder letters) survive.
# - C0 and C1 controls; tab and line breaks are turned into spaces or kept by the callers.
# - Embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069): they reorder
#   everything after them up to a terminator that may never come, so text shows in
#   another order than it is stored ("Trojan Source"), spilling into the page around it.
# - U+200B zero width space and U+FEFF (byte-order mark, once a zero-width no-break
#   space): invisible, they make two names look alike or hide a word from a filter;
#   Thai, Khmer or Burmese text, which may use U+200B as a line-break hint, reads the same.
# - Interlinear annotations (U+FFF9-U+FFFB): some renderers hide the text they enclose.
# - Lone surrogates (only JSON can carry them): not characters, and not storable as UTF-8.
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2066-\u2069"
    "\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
# Tag characters (U+E0000-U+E007F) draw nothing: they are kept only where they spell an
# emoji flag of a region (🏴 U+1F3F4, a region code such as "gbsct" in tag letters and
# digits, U+E007F cancel tag), and dropped elsewhere, where they can only hide text.
_FLAG_OR_TAG = re.compile(
    "(\U0001f3f4[\U000e0030-\U000e0039\U000e0061-\U000e007a]{2,7}\U000e007f)"
    "|[\U000e0000-\U000e007f]"
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


def _strip(text: str) -> str:
    """`text` without the characters listed above `_CONTROL` and `_FLAG_OR_TAG`.

    Done before normalising (NFC), so that a character removed from between a letter
    and its accent leaves the same text as if it had never been typed."""
    text = _CONTROL.sub("", text)
    return _FLAG_OR_TAG.sub(lambda m: m.group(1) or "", text)


def clean_line(value: str) -> str:
    """One line of plain text: normalised, without control or direction-override characters."""
    text = _strip(value.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    return " ".join(unicodedata.normalize("NFC", text).split())


def clean_text(value: str) -> str:
    """Multi-line plain text: normalised, trimmed, at most one blank line in a row."""
    text = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = unicodedata.normalize("NFC", _strip(text))
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# What draws nothing on its own: format characters (joiners, direction marks, tags),
# combining marks without a letter, spaces, and the Hangul and Braille fillers that
# software counts as letters but readers see as blank.
_BLANK_CATEGORIES = frozenset({"Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_blank(text: str) -> bool:
    """Whether `text` shows nothing: three zero-width joiners are no title, though
    joiners are kept inside real text."""
    return all(c in _BLANK_LETTERS or unicodedata.category(c) in _BLANK_CATEGORIES for c in text)


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


_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<br\s*/?>|</p>", re.IGNORECASE)


def html_to_text(markup: str) -> str:
    """Sanitised HTML as plain text (notifications, e-mail, the plain `body` column):
    paragraphs and breaks become line breaks, tags go, every entity is decoded."""
    return html_entities.unescape(_TAG.sub("", _BREAK.sub("\n", markup))).strip()


# Hashtags as Mastodon finds them in text: "#" not after a letter, digit, mark, "=",
# "/" or ")", then word characters of any script, their combining marks included (the
# vowel signs and virama of Devanagari: "#नमस्ते" is one tag, not "#नमस"), with "·",
# "・" or a zero-width non-joiner (Persian, Indic) inside; at least one letter or "_",
# so "#1" is not a tag. Python's `\w` has no marks, hence the scan after the "#".
_HASHTAG_START = re.compile(r"(?<![=/)])#(?=\w)")
_INSIDE_TAG = "·・\u200c"
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
MAX_HASHTAGS = 20


def hashtag_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of each hashtag in plain `text`, "#" included in the span;
    none inside a URL ("https://example.org/#top" has no tag)."""
    urls = [m.span() for m in _URL.finditer(text)]
    found = []
    for match in _HASHTAG_START.finditer(text):
        start = match.start()
        if start and text[start - 1] != "_" and _in_word(text[start - 1]):
            continue
        end = start + 1
        while end < len(text) and (_in_word(text[end]) or text[end] in _INSIDE_TAG):
            end += 1
        while text[end - 1] in _INSIDE_TAG:
            end -= 1
        name = text[start + 1 : end]
        if not any(c.isalpha() or c == "_" for c in name):
            continue
        if any(url_start <= start < url_end for url_start, url_end in urls):
            continue
        found.append((start, end, name))
    return found


def _in_word(char: str) -> bool:
    """A letter, digit, "_" or combining mark: what a hashtag is made of."""
    return char.isalnum() or char == "_" or unicodedata.category(char)[0] == "M"


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
