"""Read a paper-claims PDF back: every string with its position, and the CMS-1500 boxes by position.

The data of a form is drawn in Courier 12 on NUCC's grid; a string is found in a box when it starts
on the box's line, within the box's columns (cobpipe.paper.grid). Captions of the drawn form are
Helvetica and are kept apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader

from cobpipe.paper import grid

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SEED_ERA = REPO / "samples" / "cob" / "seed-era.835"
SEED_CLAIMS = REPO / "samples" / "cob" / "seed-claims.837"
CHILD_ERA = HERE / "child-era.835"
CHILD_CLAIMS = HERE / "child-claims.837"


@dataclass(frozen=True)
class Text:
    text: str
    x: float
    y: float
    font: str
    size: float

    @property
    def spot(self) -> tuple[int, int]:
        return grid.spot_at(self.x, self.y)


def page_texts(path: Path) -> list[list[Text]]:
    """Every non-blank string of every page, with its start point and font."""
    pages = []
    for page in PdfReader(str(path)).pages:
        found: list[Text] = []

        def visit(text, cm, tm, font, size, found=found):
            if text.strip():
                x = tm[4] * cm[0] + cm[4]
                y = tm[5] * cm[3] + cm[5]
                found.append(Text(text.strip(), x, y, (font or {}).get("/BaseFont", ""), size))

        page.extract_text(visitor_text=visit)
        pages.append(found)
    return pages


def boxes(texts: list[Text]) -> dict[tuple[int, int], str]:
    """Courier strings of a form page by (line, column) of their first character."""
    out: dict[tuple[int, int], str] = {}
    for item in texts:
        if item.font == "/Courier" and item.size == grid.FONT_SIZE:
            assert abs(item.x - grid.x_of(item.spot[1])) < 0.01, f"{item.text!r} is off the column grid"
            assert abs(item.y - grid.baseline_of(item.spot[0])) < 0.01, f"{item.text!r} is off the line grid"
            assert item.spot not in out, f"two strings start at {item.spot}"
            out[item.spot] = item.text
    return out


def box(found: dict[tuple[int, int], str], key: str) -> str | None:
    """The text in box `key` (grid key, "24f@3" for a service line): the one string starting on the
    box's line within its columns, None when the box is empty."""
    where = grid.spot(key)
    hits = [(col, text) for (line, col), text in found.items()
            if line == where.line and where.col <= col < where.col + where.width]
    assert len(hits) <= 1, f"box {key}: several strings {hits}"
    if not hits:
        return None
    col, text = hits[0]
    assert col + len(text) <= where.col + where.width, f"box {key}: {text!r} runs past the box"
    if where.align == "right":
        assert col + len(text) == where.col + where.width, f"box {key}: {text!r} is not right-aligned"
    return text


def form_pages(pages: list[list[Text]]) -> list[int]:
    """Indexes of the pages that are forms (Courier 12 data), as opposed to EOB pages (Courier 8.5)."""
    return [n for n, texts in enumerate(pages)
            if any(t.font == "/Courier" and t.size == grid.FONT_SIZE for t in texts)]


def page_text(texts: list[Text]) -> str:
    return "\n".join(t.text for t in texts)
