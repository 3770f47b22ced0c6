"""Bar charts drawn on the server as inline SVG: no JavaScript, no image files.

Each chart has a `<title>` and a `<desc>` (its accessible name and summary, given by the
page in the reader's language) and the page puts a table of the same figures beside it,
so nothing is only in the picture. A suppressed value (None) draws no bar and says "<5".
Colours are SVG attributes, not styles, so the page's content security policy allows them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

SUPPRESSED = "<5"
WIDTH = 720
LABEL_CHARS = 40
_ids = itertools.count(1)
# Light to dark: the later series are subsets of the earlier ones and drawn in front.
COLOURS = ("#9ecae1", "#3182bd", "#08519c")


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: Sequence[int | None]


def _top(values: Sequence[int | None]) -> int:
    biggest = max((v for v in values if v is not None), default=0)
    return max(biggest, 1)


def _open(height: int, title: str, desc: str) -> tuple[str, list[str]]:
    uid = f"chart-{next(_ids)}"
    return uid, [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}"'
        f' width="100%" role="img" class="chart" aria-labelledby="{uid}-t {uid}-d">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        f'<desc id="{uid}-d">{escape(desc)}</desc>',
    ]


def month_bars(months: Sequence[str], series: Sequence[Series], *, title: str, desc: str) -> Markup:
    """One group per month: the series drawn over each other from the baseline, each
    narrower than the one before (posted, then matched, then done)."""
    height, left, bottom, top_margin = 260, 44, 36, 40
    plot_w, plot_h = WIDTH - left - 8, height - bottom - top_margin
    top = _top([v for s in series for v in s.values])
    slot = plot_w / max(len(months), 1)
    step = max(1, round(len(months) / 12))  # at most about twelve month labels
    _uid, parts = _open(height, title, desc)
    base_y = top_margin + plot_h
    parts.append(
        f'<line x1="{left}" y1="{base_y}" x2="{WIDTH - 8}" y2="{base_y}" stroke="#555"/>'
        f'<line x1="{left}" y1="{top_margin}" x2="{WIDTH - 8}" y2="{top_margin}"'
        ' stroke="#ccc" stroke-dasharray="4 4"/>'
        f'<text x="{left - 6}" y="{top_margin + 4}" text-anchor="end" font-size="12">{top}</text>'
        f'<text x="{left - 6}" y="{base_y + 4}" text-anchor="end" font-size="12">0</text>'
    )
    for index, item in enumerate(series):  # the legend
        x = left + index * 160
        parts.append(
            f'<rect x="{x}" y="8" width="14" height="14" fill="{COLOURS[index % 3]}"/>'
            f'<text x="{x + 20}" y="20" font-size="13">{escape(item.label)}</text>'
        )
    for col, month in enumerate(months):
        x0 = left + col * slot
        for index, item in enumerate(series):
            value = item.values[col]
            width = slot * 0.8 * (1 - index / (len(series) + 1))
            x = x0 + (slot - width) / 2
            if value is None:
                if index == 0:
                    parts.append(
                        f'<text x="{x0 + slot / 2:.1f}" y="{base_y - 6}" text-anchor="middle"'
                        f' font-size="11">{escape(SUPPRESSED)}</text>'
                    )
                continue
            h = plot_h * value / top
            parts.append(
                f'<rect x="{x:.1f}" y="{base_y - h:.1f}" width="{width:.1f}" height="{h:.1f}"'
                f' fill="{COLOURS[index % 3]}"><title>{escape(month)}: {escape(item.label)}'
                f" {value}</title></rect>"
            )
        if col % step == 0:
            parts.append(
                f'<text x="{x0 + slot / 2:.1f}" y="{base_y + 18}" text-anchor="middle"'
                f' font-size="11">{escape(month)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def category_bars(rows: Sequence[tuple[str, int | None]], *, title: str, desc: str) -> Markup:
    """One horizontal bar per labelled value, in the order given."""
    row_h, left, right = 24, 300, 60
    height = max(len(rows), 1) * row_h + 12
    top = _top([value for _label, value in rows])
    plot_w = WIDTH - left - right
    _uid, parts = _open(height, title, desc)
    for index, (label, value) in enumerate(rows):
        y = 6 + index * row_h
        # About 40 characters fit left of the bars; a longer label is shortened in the
        # picture and whole in its tooltip (and in the table beside the chart).
        short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" font-size="13">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
        )
        if value is None:
            shown_as, w = SUPPRESSED, 0.0
        else:
            shown_as, w = str(value), plot_w * value / top
            parts.append(
                f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}"'
                f' fill="{COLOURS[1]}"/>'
            )
        parts.append(
            f'<text x="{left + w + 6:.1f}" y="{y + 16}" font-size="13">{escape(shown_as)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()
