#!/usr/bin/env python3
"""Render the paper-claim examples shown in the README to PNG (docs/paper/).

    .venv/bin/python scripts/paper_images.py [--out docs/paper] [--dpi 90]

Converts the seed ($33) remittance and the child-patient test remittance (tests/cobpipe/paper:
a 2000C patient with 8 lines, so two forms) in memory, writes both layouts with
cobpipe.paper.write_paper_pdf, and turns pages into PNG with pdftoppm (Debian's poppler-utils).
"""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cobpipe.paper import items_from_files, write_paper_pdf  # noqa: E402

TODAY = dt.date(2026, 3, 25)
# (PNG name, layout, page of the PDF: child claim = form 1, form 2, EOB)
IMAGES = [("cms1500-full.png", "full", 1), ("cms1500-full-page2.png", "full", 2), ("cms1500-data.png", "data", 1),
          ("eob.png", "data", 3)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "paper")
    parser.add_argument("--dpi", type=int, default=90)
    args = parser.parse_args()
    if shutil.which("pdftoppm") is None:
        print("pdftoppm not found: apt-get install poppler-utils", file=sys.stderr)
        return 2
    fixtures = REPO / "tests" / "cobpipe" / "paper"
    items = items_from_files(fixtures / "child-era.835", [fixtures / "child-claims.837"], only=["CHILD08"],
                             reason="the payer list says payer 22222 takes no electronic secondary claims",
                             as_of=TODAY)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, layout, page in IMAGES:
            pdf = Path(tmp) / f"{layout}.pdf"
            if not pdf.exists():
                write_paper_pdf(items, pdf, layout=layout, today=TODAY)
            stem = Path(tmp) / name.removesuffix(".png")
            subprocess.run(["pdftoppm", "-png", "-r", str(args.dpi), "-f", str(page), "-l", str(page), "-singlefile",
                            str(pdf), str(stem)], check=True)
            shutil.copyfile(f"{stem}.png", args.out / name)
            print(args.out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
