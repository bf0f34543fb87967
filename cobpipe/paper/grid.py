"""Where each item of the CMS-1500 (02/12) goes: NUCC's character grid.

The 1500 form is 8.5 x 11 inches and is laid out for fixed-pitch printing at 10 characters per
inch and 6 lines per inch (Courier 12 pt: 7.2 pt advance = 1/10 in, 12 pt leading = 1/6 in), the
way practice-management systems have printed on the red pre-printed forms since the 08/05 version.
The line and column of each item were cross-checked against OpenEMR's Hcfa1500 text layout (same
grid, printed with 24 pt left and 20 pt top margins) and the relative row spacing against another
vendor's 1500 print template (rows 1/3 in apart, box 24 lines 1/3 in apart, box 25 twelve lines
below the first service line). NUCC publishes no coordinates; real printers differ (see OFFSET_X/Y).
Positions here are (line, column), both 1-based:

    column c starts at x = LEFT + (c - 1) / 10 in   (LEFT = 24 pt = 1/3 in from the left paper edge)
    line l is the band from TOP + (l - 1) / 6 in to TOP + l / 6 in from the top edge (TOP = 22.5 pt);
    text sits on a baseline 2.5 pt above the bottom of its band: 20 pt + l / 6 in from the top

so the grid is 80 columns by 63 lines. On the form each box is two lines tall: its printed caption
on the upper line, the data on the lower one (the lines listed below). Box 24 has six service lines,
each a shaded line (supplemental information: NDC, other provider ids) above its data line.

    line  8  box 1 (type of coverage) and 1a          line 32  boxes 14, 15, 16
    line 10  boxes 2, 3, 4                            line 34  boxes 17, 17b, 18 (17a on line 33)
    line 12  boxes 5 (street), 6, 7 (street)          line 36  boxes 19, 20
    line 14  5/7 city and state                       line 37  box 21 ICD indicator
    line 16  5/7 ZIP code and telephone               line 38-40 box 21 A-L, 22 (38), 23 (40)
    line 18  boxes 9, 11                              line 43/44 ... 53/54  box 24 lines 1-6
    line 20  boxes 9a, 10a, 11a                       line 56  boxes 25-29
    line 22  10b, 11b      line 24  10c, 11c          line 57  box 33 telephone
    line 26  boxes 9d, 10d, 11d                       line 58-60 boxes 31, 32, 33 name and address
    line 29  boxes 12, 13 (signatures)                line 61  31 date, 32a, 32b, 33a, 33b

Printers and paper feeds differ by a few hundredths of an inch: `OFFSET_X` / `OFFSET_Y` (points)
move the whole grid for a printer that needs it, as the alignment setting of a billing system does.
"""
from __future__ import annotations

from dataclasses import dataclass

PT_PER_IN = 72.0
PAGE_WIDTH = 8.5 * PT_PER_IN
PAGE_HEIGHT = 11 * PT_PER_IN
CHAR = PT_PER_IN / 10  # 10 characters per inch
LINE = PT_PER_IN / 6  # 6 lines per inch
LEFT = 24.0  # x of column 1 (1/3 in)
TOP = 22.5  # top of line 1's band: line l's baseline is 20 pt + l * 12 pt from the top
BASELINE_RISE = 2.5
FONT = "Courier"
FONT_SIZE = 12.0  # Courier 12: 0.6 * 12 = 7.2 pt per character = 10 per inch
COLUMNS = 80
LINES = 63
OFFSET_X = 0.0
OFFSET_Y = 0.0


@dataclass(frozen=True, slots=True)
class Spot:
    """One data position: line, first column, width in characters, and "left" or "right" alignment."""

    line: int
    col: int
    width: int
    align: str = "left"


def x_of(col: float) -> float:
    return LEFT + (col - 1) * CHAR + OFFSET_X


def baseline_of(line: float) -> float:
    """PDF y (from the bottom) of the baseline of a grid line."""
    return PAGE_HEIGHT - (TOP + line * LINE) + BASELINE_RISE - OFFSET_Y


def band_top(line: float) -> float:
    """PDF y of the top edge of a grid line's band."""
    return PAGE_HEIGHT - (TOP + (line - 1) * LINE) - OFFSET_Y


def spot_at(x: float, y: float) -> tuple[int, int]:
    """(line, column) of a point on the page: the inverse of x_of / baseline_of, for tests and tools."""
    col = round((x - LEFT - OFFSET_X) / CHAR) + 1
    line = round((PAGE_HEIGHT - OFFSET_Y - y + BASELINE_RISE - TOP) / LINE)
    return line, col


# --- the boxes ---------------------------------------------------------------------------------
# Keys are the NUCC item numbers, with a suffix for the parts of an item ("3.mm", "6.child").
# Check boxes are one column wide and receive an "X".

SPOTS: dict[str, Spot] = {
    "page": Spot(1, 64, 16),  # "PAGE 1 OF 2" on a claim continued over several forms (top right)
    "carrier.1": Spot(2, 41, 38), "carrier.2": Spot(3, 41, 38), "carrier.3": Spot(4, 41, 38),
    "carrier.4": Spot(5, 41, 38),
    "1.medicare": Spot(8, 1, 1), "1.medicaid": Spot(8, 8, 1), "1.tricare": Spot(8, 15, 1),
    "1.champva": Spot(8, 24, 1), "1.group": Spot(8, 31, 1), "1.feca": Spot(8, 39, 1), "1.other": Spot(8, 45, 1),
    "1a": Spot(8, 50, 29),
    "2": Spot(10, 1, 28), "3.mm": Spot(10, 31, 2), "3.dd": Spot(10, 34, 2), "3.yyyy": Spot(10, 37, 4),
    "3.m": Spot(10, 42, 1), "3.f": Spot(10, 47, 1), "4": Spot(10, 50, 29),
    "5.street": Spot(12, 1, 28), "6.self": Spot(12, 33, 1), "6.spouse": Spot(12, 38, 1),
    "6.child": Spot(12, 42, 1), "6.other": Spot(12, 47, 1), "7.street": Spot(12, 50, 29),
    "5.city": Spot(14, 1, 24), "5.state": Spot(14, 26, 3), "7.city": Spot(14, 50, 23), "7.state": Spot(14, 74, 3),
    "5.zip": Spot(16, 1, 12), "5.area": Spot(16, 15, 3), "5.phone": Spot(16, 19, 10),
    "7.zip": Spot(16, 50, 12), "7.area": Spot(16, 65, 3), "7.phone": Spot(16, 69, 10),
    "9": Spot(18, 1, 28), "11": Spot(18, 50, 29),
    "9a": Spot(20, 1, 28), "10a.yes": Spot(20, 35, 1), "10a.no": Spot(20, 41, 1),
    "11a.mm": Spot(20, 53, 2), "11a.dd": Spot(20, 56, 2), "11a.yyyy": Spot(20, 59, 4),
    "11a.m": Spot(20, 68, 1), "11a.f": Spot(20, 75, 1),
    "10b.yes": Spot(22, 35, 1), "10b.no": Spot(22, 41, 1), "10b.state": Spot(22, 45, 2), "11b": Spot(22, 50, 29),
    "10c.yes": Spot(24, 35, 1), "10c.no": Spot(24, 41, 1), "11c": Spot(24, 50, 29),
    "9d": Spot(26, 1, 28), "10d": Spot(26, 31, 18), "11d.yes": Spot(26, 52, 1), "11d.no": Spot(26, 57, 1),
    "12": Spot(29, 7, 20), "12.date": Spot(29, 37, 10), "13": Spot(29, 55, 22),
    "14.mm": Spot(32, 2, 2), "14.dd": Spot(32, 5, 2), "14.yyyy": Spot(32, 8, 4), "14.qual": Spot(32, 16, 3),
    "17a.qual": Spot(33, 30, 2), "17a": Spot(33, 33, 15),
    "17.qual": Spot(34, 1, 2), "17": Spot(34, 4, 25), "17b": Spot(34, 33, 10),
    "19": Spot(36, 1, 48), "20.yes": Spot(36, 52, 1), "20.no": Spot(36, 57, 1),
    "21.ind": Spot(37, 42, 1),
    "22.code": Spot(38, 50, 10), "22.ref": Spot(38, 62, 17),
    "23": Spot(40, 50, 29),
    "25": Spot(56, 1, 15), "25.ssn": Spot(56, 17, 1), "25.ein": Spot(56, 19, 1),
    "26": Spot(56, 23, 14), "27.yes": Spot(56, 38, 1), "27.no": Spot(56, 43, 1),
    "28": Spot(56, 50, 10, "right"), "29": Spot(56, 61, 9, "right"),  # cents end in columns 59 and 69
    "33.area": Spot(57, 66, 3), "33.phone": Spot(57, 70, 10),
    "32.1": Spot(58, 23, 26), "33.1": Spot(58, 50, 29),
    "32.2": Spot(59, 23, 26), "33.2": Spot(59, 50, 29),
    "31": Spot(60, 1, 21), "32.3": Spot(60, 23, 26), "33.3": Spot(60, 50, 29),
    "31.date": Spot(61, 6, 10), "32a": Spot(61, 23, 10), "32b": Spot(61, 35, 13),
    "33a": Spot(61, 50, 10), "33b": Spot(61, 63, 16),
}

# Box 21 diagnoses A-L: three rows of four, 13 columns apart, 7 characters each (no decimal point)
for _n, _letter in enumerate("ABCDEFGHIJKL"):
    SPOTS[f"21.{_letter}"] = Spot(38 + _n // 4, 3 + 13 * (_n % 4), 8)

# Box 24: service line n (1..6): data on line 42 + 2n, its shaded supplemental line above it
LINE_SPOTS: dict[str, Spot] = {
    # relative to the data line (line offset 0) or the shaded line (-1); columns as on the form
    "24.supplemental": Spot(-1, 1, 61),
    "24a.from.mm": Spot(0, 1, 2), "24a.from.dd": Spot(0, 4, 2), "24a.from.yy": Spot(0, 7, 2),
    "24a.to.mm": Spot(0, 10, 2), "24a.to.dd": Spot(0, 13, 2), "24a.to.yy": Spot(0, 16, 2),
    "24b": Spot(0, 19, 2), "24c": Spot(0, 22, 2), "24d.code": Spot(0, 25, 6),
    "24d.mod1": Spot(0, 33, 2), "24d.mod2": Spot(0, 36, 2), "24d.mod3": Spot(0, 39, 2), "24d.mod4": Spot(0, 42, 2),
    "24e": Spot(0, 45, 4), "24f": Spot(0, 50, 8, "right"), "24g": Spot(0, 59, 3), "24h": Spot(0, 63, 2),
    "24i.shaded": Spot(-1, 65, 2), "24j.shaded": Spot(-1, 68, 11), "24j": Spot(0, 68, 11),
}
SERVICE_LINES_PER_FORM = 6


def service_line_spot(key: str, row: int) -> Spot:
    """The position of a box-24 item on service line `row` (1..6)."""
    rel = LINE_SPOTS[key]
    return Spot(42 + 2 * row + rel.line, rel.col, rel.width, rel.align)


def spot(key: str) -> Spot:
    """"24f@3" is box 24F on the third service line; other keys are in SPOTS."""
    if "@" in key:
        name, row = key.split("@")
        return service_line_spot(name, int(row))
    return SPOTS[key]
