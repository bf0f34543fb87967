"""The explain HTML renders in real headless Chromium (scripts/screenshot_explain.py); skipped without Chromium."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "screenshot_explain.py"
CASES = Path(__file__).resolve().parent / "cases"


def load_script():
    spec = importlib.util.spec_from_file_location("screenshot_explain", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_png_size_rejects_non_png(tmp_path):
    script = load_script()
    bad = tmp_path / "x.png"
    bad.write_bytes(b"not a png at all, not a png at all")
    with pytest.raises(ValueError):
        script.png_size(bad)


def test_screenshot_in_headless_chromium(tmp_path):
    script = load_script()
    if script.find_browser() is None:
        pytest.skip("Chromium is not installed")
    png = tmp_path / "unbalanced.png"
    assert script.main([str(CASES / "unbalanced.835"), "-o", str(png), "--width", "900", "--height", "700"]) == 0
    assert script.png_size(png) == (900, 700)
    assert png.stat().st_size > 10_000  # a rendered page, not a blank image
    html = png.with_suffix(".html").read_text(encoding="utf-8")
    assert "UNBAL01" in html and "Does not balance" in html
