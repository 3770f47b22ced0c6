"""Plain-text cleaning, remote HTML sanitising and Accept-Language negotiation."""

from __future__ import annotations

import unicodedata

import pytest

from node.i18n import negotiate, parse_accept_language
from node.text import clean_line, clean_text, sanitise_html

# The Bidi_Control characters that reorder what follows them (embeddings, overrides,
# isolates): they can make text display in another order than it is stored. The marks
# (ALM, LRM, RLM) only orient neighbouring punctuation and are kept for right-to-left
# writers (see tests/test_hardening_holes.py).
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CONTROLS = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cc"]


# --- plain text -------------------------------------------------------------------------


def test_clean_line_collapses_whitespace_and_newlines() -> None:
    assert clean_line("  Sofa \t naar\r\nhet   park \n") == "Sofa naar het park"
    assert clean_line("") == ""


def test_clean_line_normalises_to_nfc() -> None:
    assert clean_line("Cafe\u0301") == "Caf\u00e9"


@pytest.mark.parametrize("char", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_are_removed(char: str) -> None:
    assert clean_line(f"a{char}b").replace(" ", "") == "ab"
    kept = "\n" if char in "\r\n" else ""  # a lone CR is an old-style line break
    assert clean_text(f"a{char}b").replace(" ", "") == f"a{kept}b"


@pytest.mark.parametrize("char", BIDI_CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_bidi_controls_are_removed(char: str) -> None:
    assert clean_line(f"invoice{char}fdp.exe") == "invoicefdp.exe"
    assert clean_text(f"line one\nline{char} two") == "line one\nline two"


def test_zero_width_space_is_removed() -> None:
    assert clean_line("sp\u200bace") == "space"


def test_clean_text_keeps_paragraphs_and_drops_extra_blank_lines() -> None:
    raw = "  \r\nEerste regel   \r\n\r\n\r\n \t \n\nTweede\talinea\rDerde  \n\n"
    assert clean_text(raw) == "Eerste regel\n\nTweede alinea\nDerde"


# --- remote HTML ------------------------------------------------------------------------


def test_sanitise_html_removes_scripts_and_styles() -> None:
    html = sanitise_html(
        "<p>Hallo</p><script>alert('x')</script><style>p { display: none }</style>"
    )
    assert html == "<p>Hallo</p>"


def test_sanitise_html_removes_event_handlers_and_style_attributes() -> None:
    html = sanitise_html('<p onclick="steal()" style="color: red" class="x">Hallo</p>')
    assert html == "<p>Hallo</p>"


def test_sanitise_html_removes_javascript_and_relative_links() -> None:
    html = sanitise_html('<a href="javascript:alert(1)">a</a> <a href="/admin">b</a>')
    assert "javascript" not in html and "href" not in html
    assert html.count("<a ") == 2


def test_sanitise_html_keeps_allowed_markup_with_safe_rel() -> None:
    html = sanitise_html('<p>Zie <a href="https://buren.example.be/r/1" title="post">dit</a></p>')
    assert html == (
        '<p>Zie <a href="https://buren.example.be/r/1" title="post" '
        'rel="nofollow noopener noreferrer">dit</a></p>'
    )


def test_sanitise_html_overrides_a_given_rel_and_drops_unknown_tags() -> None:
    html = sanitise_html('<img src="x" onerror="y()"><a href="http://e.be" rel="me">e</a>')
    assert html == '<a href="http://e.be" rel="nofollow noopener noreferrer">e</a>'


# --- languages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-BE,fr;q=0.9,nl;q=0.8,en;q=0.5", ["fr", "fr", "nl", "en"]),
        ("en;q=0.5, nl;q=0.9, fr", ["fr", "nl", "en"]),
        ("NL-be", ["nl"]),
        ("nl ; q=0.7, fr ;q=0.8", ["fr", "nl"]),
        ("nl;Q=0.2, fr;q=0.5", ["fr", "nl"]),  # q is case-insensitive (RFC 9110)
        ("nl;q=0, fr", ["fr"]),  # q=0 means "not acceptable"
        ("en, nl", ["en", "nl"]),  # equal weight keeps the header's order
        (";;q=abc", []),
        ("nl;q=abc, fr", ["fr"]),
        ("nl;q=2, fr;q=0.5", ["fr"]),  # a weight above 1 is malformed
        ("nl;q=inf, fr;q=nan, en;q=0.1", ["en"]),
        (",,, ,", []),
        ("", []),
        (None, []),
    ],
)
def test_parse_accept_language(header: str | None, expected: list[str]) -> None:
    assert parse_accept_language(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-BE, nl;q=0.8", "fr"),
        ("de, en;q=0.3, nl;q=0.4", "nl"),
        ("de-DE, es", "nl"),  # nothing available: the first available language
        ("*", "nl"),
        (";;q=abc", "nl"),
        (None, "nl"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert negotiate(header, ("nl", "fr", "en")) == expected


def test_negotiate_falls_back_to_first_of_what_is_available() -> None:
    assert negotiate("de", ("fr", "nl")) == "fr"
    assert negotiate("nl;q=0.1, fr;q=0.2", ("en", "nl")) == "nl"
