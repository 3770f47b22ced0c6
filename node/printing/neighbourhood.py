"""A neighbourhood's window card (A6) and poster (A4): one layout at two scales.

From the top: the neighbourhood's name and commune, the call to action, the QR code to
its page with the address written out and its fediverse handle, and at the bottom how
to ask for help without internet. The QR code takes the room the texts leave, so a
long name or a bilingual card never runs off the page.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from node.printing import texts
from node.printing.data import NeighbourhoodPrint, OfflineContact
from node.printing.draw import (
    BOLD,
    BOLD_ITALIC,
    ITALIC,
    REGULAR,
    Column,
    new_canvas,
    printable,
    qr_code,
)

MM = 72 / 25.4
A6 = (105 * MM, 148 * MM)
A4 = (210 * MM, 297 * MM)


def window_card(data: NeighbourhoodPrint, languages: tuple[str, ...]) -> bytes:
    """An A6 card for a window, in one language or two (`("nl", "fr")`)."""
    return _render(data, languages, A6, 1.0)


def poster(data: NeighbourhoodPrint, languages: tuple[str, ...]) -> bytes:
    """An A4 poster for a notice board or a shop door."""
    return _render(data, languages, A4, 1.9)


def shown_url(url: str) -> str:
    """The address as people type it: browsers add https:// themselves."""
    return url.removeprefix("https://")


def _render(
    data: NeighbourhoodPrint, languages: tuple[str, ...], page: tuple[float, float], s: float
) -> bytes:
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, page, data.name, data.node_name)
    page_width, page_height = page
    margin = 16 * s
    # The bottom block (offline contact and footer) is measured first, then drawn
    # upwards from the bottom margin; the top block goes down from the top.
    measure = Column(None, margin, page_width - margin, 0)
    _bottom(measure, data, languages, s)
    bottom_height = -measure.y
    top = Column(canvas, margin, page_width - margin, page_height - margin)
    _top(top, data, languages, s)
    qr_text = Column(None, margin, page_width - margin, 0)
    _under_qr(qr_text, data, languages, s)
    under_height = -qr_text.y
    room = top.y - (margin + bottom_height) - under_height - 10 * s
    size = max(min(room, 0.62 * page_width), 60 * s)
    # What room is left goes half above the code, half below its address.
    qr_top = top.y - 4 * s - max(room - size, 0) / 2
    qr_code(canvas, data.url, (page_width - size) / 2, qr_top - size, size)
    below = Column(canvas, margin, page_width - margin, qr_top - size)
    _under_qr(below, data, languages, s)
    bottom = Column(canvas, margin, page_width - margin, margin + bottom_height)
    _bottom(bottom, data, languages, s)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _top(col: Column, data: NeighbourhoodPrint, languages: tuple[str, ...], s: float) -> None:
    col.fitted(data.name, BOLD, (26 * s, 14 * s), max_lines=2, centred=True)
    if data.commune and data.commune.casefold() != data.name.casefold():
        col.skip(2 * s)
        col.paragraph(data.commune, REGULAR, 11 * s, centred=True, max_lines=1)
    col.skip(7 * s)
    _rule(col, s)
    col.skip(6 * s)
    for index, (_, text) in enumerate(texts.said(languages, texts.CALL)):
        col.paragraph(text, BOLD if index == 0 else BOLD_ITALIC, 13 * s, centred=True, max_lines=2)
    col.skip(2 * s)
    for index, (_, text) in enumerate(texts.said(languages, texts.NEIGHBOURS)):
        col.paragraph(text, REGULAR if index == 0 else ITALIC, 11 * s, centred=True, max_lines=2)


def _under_qr(col: Column, data: NeighbourhoodPrint, languages: tuple[str, ...], s: float) -> None:
    url = shown_url(data.url)
    if data.contact.is_empty:
        for _, text in texts.said(languages, texts.ASK_AT, url=url):
            col.paragraph(text, BOLD, 9 * s, centred=True, max_lines=2)
    else:
        col.paragraph(texts.label(languages, texts.SCAN), REGULAR, 8 * s, centred=True)
        col.paragraph(url, BOLD, 9.5 * s, centred=True, max_lines=2)
    col.skip(2 * s)
    handle = " / ".join(t for _, t in texts.said(languages, texts.FEDIVERSE, handle=data.handle))
    col.paragraph(handle, REGULAR, 7.5 * s, centred=True, max_lines=3)


def _bottom(col: Column, data: NeighbourhoodPrint, languages: tuple[str, ...], s: float) -> None:
    contact = data.contact
    if not contact.is_empty:
        box_top = col.y
        col.skip(5 * s)
        inner = Column(col.canvas, col.left + 6 * s, col.right - 6 * s, col.y)
        contact_lines(inner, contact, languages, s)
        col.y = inner.y - 4 * s
        if col.canvas is not None:
            col.canvas.setLineWidth(1.2 * s)
            col.canvas.rect(
                col.left, col.y, col.right - col.left, box_top - col.y, stroke=1, fill=0
            )
        col.skip(6 * s)
    col.paragraph(data.node_name, REGULAR, 7 * s, centred=True, max_lines=1)


def contact_lines(
    col: Column, contact: OfflineContact, languages: tuple[str, ...], s: float
) -> None:
    """How to ask for help without internet: a heading, the phone number large."""
    col.paragraph(texts.label(languages, texts.NO_INTERNET), BOLD, 10 * s, max_lines=3)
    col.skip(2 * s)
    fields: list[tuple[str, str, Callable[[Column, str], Any]]] = [
        (texts.PHONE, contact.phone, lambda c, t: c.fitted(t, BOLD, (15 * s, 8 * s), max_lines=1)),
        (texts.OFFICE, contact.office, lambda c, t: c.paragraph(t, REGULAR, 9 * s, max_lines=3)),
        (texts.HOURS, contact.hours, lambda c, t: c.paragraph(t, REGULAR, 9 * s, max_lines=2)),
    ]
    for message, value, draw in fields:
        if value:
            draw(col, f"{texts.label(languages, message)}: {printable(value)}")


def _rule(col: Column, s: float) -> None:
    if col.canvas is not None:
        col.canvas.setLineWidth(0.8 * s)
        middle = (col.left + col.right) / 2
        col.canvas.line(middle - 30 * s, col.y, middle + 30 * s, col.y)
