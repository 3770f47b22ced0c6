"""Drawing on a reportlab canvas: the embedded fonts, text that wraps and shrinks to
fit, and QR codes drawn as vector squares (sharp at any printer's resolution).

reportlab and segno are imported inside the functions: this module is loaded with the
routes, and an idle node must not carry them (tests/test_lazy_imports.py).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REGULAR = "NabuurSans"
BOLD = "NabuurSans-Bold"
ITALIC = "NabuurSans-Italic"
BOLD_ITALIC = "NabuurSans-BoldItalic"
_FILES = {REGULAR: "Vera.ttf", BOLD: "VeraBd.ttf", ITALIC: "VeraIt.ttf", BOLD_ITALIC: "VeraBI.ttf"}
# Spaces the fonts lack (French puts thin ones before : ; ! ?) print as a no-break space.
_SPACES = {0x202F: "\u00a0", 0x2009: " ", 0x2007: " ", 0x200A: " ", 0x2002: " ", 0x2003: " "}
_RUNS_OF_SPACES = re.compile(" {2,}")
# French puts a space before : ; ! ? » and after «: it must not break there, or a colon
# ends up alone on a line. Words are split at plain spaces only, so a no-break one holds.
_GLUED_AFTER = re.compile(" (?=[:;!?»›])")
_GLUED_BEFORE = re.compile("(?<=[«‹]) ")
QUIET_ZONE = 4  # modules of white around a QR code, as the standard asks


@functools.cache
def register_fonts() -> None:
    """Register the four TrueType faces once per process (they are embedded, subset,
    in every PDF, so nothing depends on the fonts of the machine that opens it)."""
    import reportlab
    from reportlab import rl_config
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    # Binary streams: ASCII85 makes every PDF a quarter bigger and costs time to encode.
    rl_config.useA85 = 0
    folder = Path(reportlab.__file__).parent / "fonts"
    for name, file in _FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(folder / file)))


@functools.cache
def _covered() -> frozenset[int]:
    """The characters every face has a glyph for."""
    from reportlab.pdfbase import pdfmetrics

    register_fonts()
    maps = [set(pdfmetrics.getFont(name).face.charToGlyph) for name in _FILES]
    return frozenset(set.intersection(*maps))


def printable(text: str) -> str:
    """`text` with what the fonts cannot draw left out (emoji, other scripts' letters
    would print as empty boxes); line breaks and tabs become spaces."""
    covered = _covered()
    out = []
    for char in text:
        code = ord(char)
        if char in "\t\r\n":
            out.append(" ")
        elif code in covered:
            out.append(char)
        elif code in _SPACES:
            out.append(_SPACES[code])
    return _RUNS_OF_SPACES.sub(" ", "".join(out)).strip()


def width(text: str, font: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, font, size)


def _words_in_lines(text: str, font: str, size: float, max_width: float) -> list[str]:
    """Whole words filled into lines no wider than `max_width` (where a word alone is
    wider, its line is too). Breaks at plain spaces only, never at a no-break space."""
    text = _GLUED_BEFORE.sub("\u00a0", _GLUED_AFTER.sub("\u00a0", text))
    lines: list[str] = []
    for part in text.split("\n"):
        line = ""
        for word in part.split(" "):
            if not word:
                continue
            longer = f"{line} {word}" if line else word
            if line and width(longer, font, size) > max_width:
                lines.append(line)
                line = word
            else:
                line = longer
        if line:
            lines.append(line)
    return lines


def wrap(text: str, font: str, size: float, max_width: float) -> list[str]:
    """`text` cut into lines no wider than `max_width` (a word too long is cut too,
    after a hyphen when it has one)."""
    lines: list[str] = []
    for line in _words_in_lines(text, font, size, max_width):
        while width(line, font, size) > max_width and len(line) > 1:
            cut = len(line) - 1
            while cut > 1 and width(line[:cut], font, size) > max_width:
                cut -= 1
            hyphen = line.rfind("-", 0, cut)
            cut = hyphen + 1 if hyphen > 0 else cut
            lines.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        lines.append(line)
    return lines


@dataclass(slots=True)
class Column:
    """A column of text drawn downwards from `y` (points from the page's bottom).
    Without a canvas it only measures: `y` moves as if it drew."""

    canvas: Any
    left: float
    right: float
    y: float

    @property
    def width(self) -> float:
        return self.right - self.left

    def skip(self, space: float) -> None:
        self.y -= space

    def _draw(self, text: str, font: str, size: float, centred: bool) -> None:
        if self.canvas is None:  # measuring only
            return
        self.canvas.setFont(font, size)
        if centred:
            self.canvas.drawCentredString((self.left + self.right) / 2, self.y, text)
        else:
            self.canvas.drawString(self.left, self.y, text)

    def paragraph(
        self,
        text: str,
        font: str,
        size: float,
        *,
        centred: bool = False,
        max_lines: int = 0,
        leading: float = 1.2,
    ) -> int:
        """Draw `text` wrapped; with `max_lines`, what does not fit ends in an ellipsis.
        Returns the number of lines drawn."""
        lines = wrap(printable(text), font, size, self.width)
        if max_lines and len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = _ellipsis(lines[-1], font, size, self.width)
        for line in lines:
            self.y -= size
            self._draw(line, font, size, centred)
            self.y -= size * (leading - 1)
        return len(lines)

    def fitted(
        self,
        text: str,
        font: str,
        sizes: tuple[float, float],
        *,
        max_lines: int = 2,
        centred: bool = False,
    ) -> float:
        """Draw `text` at the largest size from `sizes` (largest, smallest) at which it
        takes at most `max_lines` lines; at the smallest size it may take one line more
        before it ends in an ellipsis. Returns the size used."""
        largest, smallest = sizes
        size = largest
        clean = printable(text)
        while size > smallest and len(wrap(clean, font, size, self.width)) > max_lines:
            size -= 1
        if len(wrap(clean, font, size, self.width)) > max_lines:
            max_lines += 1
        self.paragraph(clean, font, size, centred=centred, max_lines=max_lines, leading=1.15)
        return size


def _ellipsis(line: str, font: str, size: float, max_width: float) -> str:
    text = line.rstrip()
    while text and width(text + "…", font, size) > max_width:
        text = text[:-1].rstrip()
    return text + "…"


@functools.lru_cache(maxsize=256)
def _modules(data: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code's modules, row by row (True: dark). Kept for the codes printed
    again and again: choosing the best mask is most of the time of making one."""
    import segno

    code = segno.make(data, error="m", micro=False, boost_error=False)
    return tuple(tuple(bool(m) for m in row) for row in code.matrix_iter(scale=1, border=0))


def qr_code(canvas: Any, data: str, x: float, y: float, size: float) -> None:
    """A QR code for `data` whose lower left corner (quiet zone included) is at (x, y),
    `size` points wide, on the white page. Error correction M survives a smudge or a
    folded corner."""
    rows = _modules(data)
    count = len(rows) + 2 * QUIET_ZONE
    module = size / count
    # Runs of dark modules as one rectangle each, in module units under one transform:
    # fewer operators, no hairline gaps between neighbouring squares when a viewer
    # anti-aliases, and whole numbers (reportlab's float formatting is the slow part).
    runs: list[str] = []
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            runs.append(f"{start} {r} {c - start} 1 re")
    left, top = x + QUIET_ZONE * module, y + size - QUIET_ZONE * module
    canvas.addLiteral(
        f"q 0 g {module:.4f} 0 0 {-module:.4f} {left:.4f} {top:.4f} cm\n"
        + "\n".join(runs)
        + "\nf Q"
    )


def new_canvas(buffer: Any, page_size: tuple[float, float], title: str, node_name: str) -> Any:
    """A canvas writing into `buffer`, with the document's title and author set."""
    from reportlab.pdfgen.canvas import Canvas

    register_fonts()
    # The embedded face from the start: reportlab's default, Helvetica, would otherwise
    # be listed in every PDF as a font the reader must supply (not embedded).
    canvas = Canvas(buffer, pagesize=page_size, pageCompression=1, initialFontName=REGULAR)
    canvas.setTitle(printable(title))
    canvas.setAuthor(printable(node_name))
    canvas.setCreator("Nabuur")
    canvas.setFillGray(0)
    canvas.setStrokeGray(0)
    return canvas
