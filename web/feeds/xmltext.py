"""Writing feed XML safely: forbidden characters out, dates in the formats feeds use.

ElementTree escapes `<`, `>` and `&` in text and attributes, so a title such as
`</title><script>` or `]]>` stays text. What it does not do is drop characters XML 1.0
cannot hold at all; `SafeElement` does, so no post can make a whole feed unreadable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.etree.ElementTree import Element, SubElement, tostring

# Not allowed in XML 1.0, not even as character references: C0 controls other than tab
# and newlines, lone surrogates, and the non-characters U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids."""
    return _NOT_XML.sub("", text)


def _safe(attributes: Mapping[str, str] | None) -> dict[str, str]:
    return {key: xml_safe(value) for key, value in (attributes or {}).items()}


def add(
    parent: Element, tag: str, text: str | None = None, attributes: Mapping[str, str] | None = None
) -> Element:
    """A child element of `parent`, its text and attribute values made XML-safe."""
    child = SubElement(parent, tag, _safe(attributes))
    if text is not None:
        child.text = xml_safe(text)
    return child


def root(tag: str, attributes: Mapping[str, str] | None = None) -> Element:
    return Element(tag, _safe(attributes))


def serialise(element: Element) -> bytes:
    """The document as UTF-8 bytes with its XML declaration."""
    return tostring(element, encoding="utf-8", xml_declaration=True)


def rfc822(moment: datetime) -> str:
    """RSS dates: `Tue, 05 Mar 2024 09:30:00 GMT`."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def rfc3339(moment: datetime) -> str:
    """Atom dates: `2024-03-05T09:30:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
