"""iCalendar (RFC 5545) feeds of the dated help posts, for calendar apps to subscribe to.

Written by hand rather than with a library: the format needs only TEXT escaping, line
folding and UTC times. Lines end in CRLF and are folded at 75 octets without splitting
a UTF-8 character. Times are UTC (`Z`) so no time zone definitions are needed. There is
no METHOD: the calendar is published, not an invitation, so DTSTAMP is when the post
last changed and stays the same between polls.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from web.feeds.items import FeedItem, FeedMeta

CONTENT_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//Nabuur//Neighbourhood help feeds//EN"
DEFAULT_DURATION = timedelta(hours=1)
MAX_OCTETS = 75
# TEXT may not hold control characters (RFC 5545 TSAFE-CHAR) except tab; newlines are
# escaped before this is applied. Lone surrogates cannot be encoded as UTF-8 at all.
_NOT_TEXT = re.compile("[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")
_LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and newlines escaped, controls dropped."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return _NOT_TEXT.sub("", text.replace("\n", "\\n"))


def fold(line: str) -> str:
    """`line` folded into pieces of at most 75 octets, never inside a UTF-8 character."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > MAX_OCTETS:
            pieces.append("".join(current))
            # A continuation line starts with one space, which counts towards its 75.
            current, size = [" "], 1
        current.append(char)
        size += octets
    pieces.append("".join(current))
    return "\r\n".join(pieces)


def utc(moment: datetime) -> str:
    """A DATE-TIME in UTC: `20240305T093000Z`."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _language_param(language: str) -> str:
    # Parameter values may not hold `:` or `;`; a tag that is not plain letters is left out.
    return f";LANGUAGE={language}" if _LANGUAGE.match(language) else ""


def _event(item: FeedItem) -> list[str]:
    assert item.starts_at is not None
    ends = item.ends_at if item.ends_at and item.ends_at > item.starts_at else None
    lang = _language_param(item.language)
    # The same facts as the other feeds: the date in the node's time zone reads easier.
    facts = "\n".join(f"{label}: {value}" for label, value in item.facts if value)
    description = f"{item.description}\n\n{facts}" if item.description else facts
    return [
        "BEGIN:VEVENT",
        f"UID:{escape_text(item.url)}",
        f"DTSTAMP:{utc(item.updated)}",
        f"CREATED:{utc(item.published)}",
        f"LAST-MODIFIED:{utc(item.updated)}",
        f"DTSTART:{utc(item.starts_at)}",
        f"DTEND:{utc(ends or item.starts_at + DEFAULT_DURATION)}",
        f"SUMMARY{lang}:{escape_text(item.title)}",
        f"DESCRIPTION{lang}:{escape_text(description)}",
        f"LOCATION:{escape_text(item.place)}",
        f"CATEGORIES:{escape_text(item.kind_label)},{escape_text(item.category_label)}",
        # A URI value, not TEXT: it is not escaped (a post URL holds no controls anyway).
        f"URL:{_NOT_TEXT.sub('', item.url)}",
        # Helping is not a busy slot in the subscriber's own calendar.
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]


def render_calendar(meta: FeedMeta, items: Sequence[FeedItem]) -> bytes:
    """The VCALENDAR with one VEVENT per dated item (undated items are skipped)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{escape_text(meta.title)}",
        f"X-WR-CALDESC:{escape_text(meta.subtitle)}",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]
    for item in items:
        if item.starts_at is not None:
            lines += _event(item)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines).encode("utf-8")
