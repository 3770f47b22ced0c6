"""A request's printable sheet (A4): for a social worker to take to a client, or to pin
up at the neighbourhood house.

What, when, roughly where (the neighbourhood and its commune, nothing finer), how many
helpers, a QR code to the request, and how to answer without internet. The data it is
given (`RequestPrint`) has no field for the private address or a client's label, so
none can be printed by mistake.
"""

from __future__ import annotations

import io

from node.i18n import gettext
from node.printing import texts
from node.printing.data import PostText, RequestPrint
from node.printing.draw import BOLD, BOLD_ITALIC, ITALIC, REGULAR, Column, new_canvas, qr_code
from node.printing.neighbourhood import A4, MM, contact_lines, shown_url
from node.taxonomy import BY_SLUG

MARGIN = 18 * MM
QR_SIZE = 150.0
BODY = 11.0
LEADING = 1.3


def request_sheet(data: RequestPrint, languages: tuple[str, ...]) -> bytes:
    """The sheet in one language or two (`("nl", "fr")`); the request's own text is
    printed in each of those languages its author wrote, else in the original."""
    buffer = io.BytesIO()
    chosen = chosen_texts(data.texts, languages)
    canvas = new_canvas(buffer, A4, chosen[0].title, data.node_name)
    page_width, page_height = A4
    col = Column(canvas, MARGIN, page_width - MARGIN, page_height - MARGIN)
    kind = texts.REQUEST if data.is_request else texts.OFFER
    col.paragraph(texts.label(languages, kind).upper(), BOLD, 10, max_lines=2)
    col.skip(4)
    for index, text in enumerate(chosen):
        col.fitted(text.title, BOLD if index == 0 else BOLD_ITALIC, (22, 14), max_lines=3)
        if index < len(chosen) - 1:
            col.skip(4)
    col.skip(10)
    _facts(col, data, languages)
    col.skip(10)
    bottom_top = MARGIN + 14 + QR_SIZE + 12
    _descriptions(col, chosen, bottom_top + 14)
    _answer_box(canvas, data, languages, bottom_top)
    footer = Column(canvas, MARGIN, page_width - MARGIN, MARGIN + 8)
    printed = " / ".join(
        texts.say(lang, texts.PRINTED, date=texts.day(data.printed_on, lang)) for lang in languages
    )
    footer.paragraph(f"{data.node_name} · {printed}", REGULAR, 7, max_lines=2)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def chosen_texts(written: tuple[PostText, ...], languages: tuple[str, ...]) -> list[PostText]:
    """The versions in the languages asked for, in their order; the original when the
    author wrote none of them."""
    chosen = [t for lang in languages for t in written if t.language == lang]
    return chosen or [written[0]]


def _facts(col: Column, data: RequestPrint, languages: tuple[str, ...]) -> None:
    rows: list[tuple[str, str]] = []
    if data.starts_at is None:
        rows.append((texts.WHEN, " / ".join(t for _, t in texts.said(languages, texts.FLEXIBLE))))
    else:
        moments = [
            texts.when(data.starts_at, data.ends_at, data.timezone, lang) for lang in languages
        ]
        rows.append((texts.WHEN, "\n".join(dict.fromkeys(moments))))
    where = data.neighbourhood
    if data.commune and data.commune.casefold() != data.neighbourhood.casefold():
        where = f"{where} ({data.commune})"
    rows.append((texts.WHERE, where))
    finished = data.finished
    if finished is not None:
        rows.append((texts.STATUS, texts.label(languages, texts.STATUS_LABELS[finished])))
    elif data.is_request:
        places = texts.said(
            languages, texts.PLACES, num=data.free_places, total=data.helpers_needed
        )
        rows.append((texts.PLACES_LABEL, "\n".join(text for _, text in places)))
    if data.category in BY_SLUG:
        label = BY_SLUG[data.category].label
        rows.append(
            (texts.CATEGORY, " / ".join(dict.fromkeys(gettext(lang, label) for lang in languages)))
        )
    label_width = 130.0
    for message, value in rows:
        top = col.y
        name = Column(col.canvas, col.left, col.left + label_width - 8, top)
        # Wrapped, never cut: "Helpers gezocht / Bénévoles recherchés" takes three lines.
        name.paragraph(texts.label(languages, message), BOLD, 10)
        shown = Column(col.canvas, col.left + label_width, col.right, top)
        for part in value.split("\n"):
            shown.paragraph(part, REGULAR, 11, max_lines=2)
        col.y = min(name.y, shown.y) - 4


def _descriptions(col: Column, chosen: list[PostText], floor: float) -> None:
    """The descriptions, sharing the room down to `floor`; what does not fit ends in an
    ellipsis (the QR code leads to the whole text)."""
    written = [t for t in chosen if t.description.strip()]
    if not written:
        return
    lines = int((col.y - floor) // (BODY * LEADING)) - len(written)
    each = max(lines // len(written), 2)
    for index, text in enumerate(written):
        paragraphs = [p for p in text.description.splitlines() if p.strip()]
        left = each
        for paragraph in paragraphs:
            if left <= 0:
                break
            font = REGULAR if index == 0 else ITALIC
            left -= col.paragraph(paragraph, font, BODY, max_lines=left, leading=LEADING)
            col.skip(3)
        col.skip(BODY)


def _answer_box(canvas, data: RequestPrint, languages: tuple[str, ...], top: float) -> None:
    page_width = A4[0]
    left, right = MARGIN, page_width - MARGIN
    bottom = MARGIN + 14
    canvas.setLineWidth(1.2)
    canvas.rect(left, bottom, right - left, top - bottom, stroke=1, fill=0)
    qr_code(canvas, data.url, left + 4, bottom + (top - bottom - QR_SIZE) / 2, QR_SIZE)
    col = Column(canvas, left + QR_SIZE + 14, right - 10, top - 10)
    if data.finished is None:
        answer = texts.ANSWER_REQUEST if data.is_request else texts.ANSWER_OFFER
    elif data.is_request:
        answer = texts.FINISHED_REQUEST[data.finished]
    else:
        answer = texts.FINISHED_OFFER
    for index, (_, text) in enumerate(texts.said(languages, answer)):
        col.paragraph(text, BOLD if index == 0 else ITALIC, 11, max_lines=3)
    col.paragraph(shown_url(data.url), BOLD, 9, max_lines=3)
    if not data.contact.is_empty:
        col.skip(8)
        contact_lines(col, data.contact, languages, 1.0)
