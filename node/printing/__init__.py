"""Printed window cards, posters and request sheets (PDF).

Pure functions from plain data (`node.printing.data`) to PDF bytes: `window_card` (A6,
for a window), `poster` (A4, for a notice board) and `request_sheet` (A4, one request,
for a social worker to take to a client or pin up). `node.services.print_data` gathers
the data from the models, public data only.

reportlab draws the pages and segno makes the QR codes; both are imported on first use
(an idle node never loads them, see tests/test_lazy_imports.py). The fonts are the
TrueType Bitstream Vera faces that reportlab ships, embedded in every PDF (no system
fonts): they cover the French and Dutch letters, the euro sign and typographic quotes.
Text is black on white, without emoji, so that a photocopy stays readable.
"""

from node.printing.data import (
    LANGUAGE_CHOICES,
    NeighbourhoodPrint,
    OfflineContact,
    PostText,
    RequestPrint,
    languages_of,
)
from node.printing.neighbourhood import poster, window_card
from node.printing.sheet import request_sheet

__all__ = [
    "LANGUAGE_CHOICES",
    "NeighbourhoodPrint",
    "OfflineContact",
    "PostText",
    "RequestPrint",
    "languages_of",
    "poster",
    "request_sheet",
    "window_card",
]
