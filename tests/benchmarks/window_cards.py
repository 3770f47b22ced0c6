"""Rendering window cards: 1,000 must take less than a minute (issue 14).

Run by hand from the repository root (it is not part of the test suite)::

    .venv/bin/python tests/benchmarks/window_cards.py            # 1,000 cards
    .venv/bin/python tests/benchmarks/window_cards.py --n 200 --kind poster

Each card is a different neighbourhood (its own name, URL and QR code, and a full
offline contact block), the languages taking turns: nl, fr, en and nl+fr. Rendered in
this one process, one after the other, as `node.printing` does for a request (the
first card, which loads reportlab and the fonts, is counted too). Printed: cards per
second, the total in seconds, the average size, and the verdict against 60 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script: make `node` importable
    sys.path.insert(0, str(REPO))

from node import printing  # noqa: E402

TARGET_SECONDS = 60.0
CHOICES = tuple(printing.LANGUAGE_CHOICES.values())


def card(index: int) -> printing.NeighbourhoodPrint:
    slug = f"wijk-{index:04d}"
    return printing.NeighbourhoodPrint(
        slug=slug,
        name=f"Quartier Nord – Noordwijk {index}",
        commune="Schaerbeek / Schaarbeek",
        url=f"https://buren.example/n/{slug}",
        handle=f"@{slug}@buren.example",
        contact=printing.OfflineContact(
            phone=f"+32 2 000 {index:04d}",
            office="Maison de quartier / Buurthuis, Rue Exemple 12, 1030 Schaerbeek",
            hours="lun–ven / ma–vr 9:00–12:00",
        ),
        node_name="Buren Brussel",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="how many cards (default 1000)")
    parser.add_argument("--kind", choices=("card", "poster"), default="card")
    args = parser.parse_args()
    draw = printing.window_card if args.kind == "card" else printing.poster
    data = [card(i) for i in range(args.n)]
    total_bytes = 0
    started = time.perf_counter()
    for index, item in enumerate(data):
        body = draw(item, CHOICES[index % len(CHOICES)])
        if not body.startswith(b"%PDF"):
            raise SystemExit(f"card {index} is not a PDF")
        total_bytes += len(body)
    seconds = time.perf_counter() - started
    target = TARGET_SECONDS * args.n / 1000
    verdict = "PASS" if seconds < target else "FAIL"
    print(
        f"{args.n} {args.kind}s in {seconds:.2f} s: {args.n / seconds:.0f} per second, "
        f"{total_bytes / args.n / 1024:.0f} KiB each on average; "
        f"{verdict} (target: under {target:.0f} s)"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
