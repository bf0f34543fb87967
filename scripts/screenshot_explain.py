#!/usr/bin/env python3
"""Render `cobpipe explain --format html` for an 835 and screenshot it in headless Chromium.

Used to look at the page as billing staff will see it (and by a test, when Chromium is installed):

    python scripts/screenshot_explain.py tests/cobpipe/explain/cases/unbalanced.835 -o out/unbalanced.png

Writes the HTML beside the PNG (same name, .html). Exit 0 with the PNG path on stdout; 2 when
Chromium is missing or produces no image.
"""
from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cobpipe.codes import default_codebook  # noqa: E402
from cobpipe.explain import ExplainOptions, explain_file, render  # noqa: E402

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def find_browser(explicit: str | None = None) -> str | None:
    if explicit:
        return shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk; ValueError when it is not a PNG."""
    head = path.read_bytes()[:24]
    if len(head) < 24 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG image")
    return struct.unpack(">II", head[16:24])


def screenshot(html: Path, png: Path, browser: str, width: int, height: int, timeout: float = 120) -> None:
    """Headless Chromium, no network or profile side effects, one screenshot of `html`."""
    with tempfile.TemporaryDirectory(prefix="cobpipe-chromium-") as profile:
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                   f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={width},{height}",
                   html.resolve().as_uri()]
        subprocess.run(command, check=False, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": "/dev/null"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("era", type=Path, help="the 835 file to explain")
    parser.add_argument("-o", "--output", type=Path, help="PNG to write (default: out/<era name>.png)")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1600)
    parser.add_argument("--browser", help="Chromium executable (default: the first of chromium, google-chrome on PATH)")
    parser.add_argument("--claim", action="append", default=[], help="only this claim (CLP01); repeatable")
    args = parser.parse_args(argv)

    browser = find_browser(args.browser)
    if browser is None:
        print("screenshot_explain: Chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2
    png = args.output or ROOT / "out" / f"{args.era.stem}.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    html = png.with_suffix(".html")
    view = explain_file(str(args.era), default_codebook(), ExplainOptions(claim_ids=frozenset(args.claim)))
    html.write_text(render(view, "html"), encoding="utf-8")
    if png.exists():
        png.unlink()
    screenshot(html, png, browser, args.width, args.height)
    try:
        png_size(png)
    except (OSError, ValueError):
        print(f"screenshot_explain: {browser} wrote no image for {html}", file=sys.stderr)
        return 2
    print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
