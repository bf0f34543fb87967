"""Write paper claims as one PDF: each claim's CMS-1500 form(s), then its primary's EOB page(s).

Two layouts:
  "data"  the data alone, in Courier 12 (10 characters per inch) on the NUCC grid (grid.py), to be
          printed on the red pre-printed 1500 forms that payers scan (OCR drops the red ink)
  "full"  the same data on a drawn form: boxes, captions and check boxes in red, for viewing,
          archiving and fax

reportlab's built-in fonts only (Courier for the data and the EOB, Helvetica for captions).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from . import grid
from .eob import eob_lines
from .form import FormPage, forms_for, printable

LAYOUTS = ("data", "full")
FORM_XOBJECT = "cms1500_0212"
FORM_RED = (0.80, 0.11, 0.13)
SHADE = (0.99, 0.90, 0.90)
EOB_FONT_SIZE = 8.5
EOB_LEADING = 10.5
EOB_MARGIN = 42.0


class PaperError(ValueError):
    """The paper claims cannot be written as asked (an unknown layout)."""


def write_paper_pdf(items: Iterable, path: Path, *, layout: str = "data", today: dt.date | None = None,
                    on_error: Callable[[object, Exception], None] | None = None) -> int:
    """Writes one PDF with every item (a PaperClaim): its CMS-1500 form(s) and its EOB page(s).
    Atomic: a temp name beside `path` (mode 0600), fsync, rename, fsync the folder; nothing is left
    at `path` when it fails. `today` is the date printed in box 31 (default: today). Returns the
    number of claims written.

    A claim whose form or EOB cannot be made raises, unless `on_error` is given: then that claim is
    left out of the PDF (nothing of it is drawn) and `on_error(item, exception)` is called, so the
    caller can record it as not billed instead of losing the whole file."""
    if layout not in LAYOUTS:
        raise PaperError(f"unknown paper layout {layout!r}: use {' or '.join(LAYOUTS)}")
    from reportlab.pdfgen.canvas import Canvas

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    count = 0
    try:
        with os.fdopen(fd, "wb") as stream:
            canvas = Canvas(stream, pagesize=(grid.PAGE_WIDTH, grid.PAGE_HEIGHT), invariant=1,
                            pageCompression=1)
            canvas.setTitle("CMS-1500 secondary claims")
            canvas.setCreator("cobpipe")
            if layout == "full":  # the form is drawn once, as a form XObject every page shows
                canvas.beginForm(FORM_XOBJECT)
                draw_form(canvas)
                canvas.endForm()
            for item in items:
                try:  # everything of a claim is worked out before any of it is drawn
                    pages = (item, forms_for(item.claim, today=today), eob_lines(item))
                except Exception as exc:
                    if on_error is None:
                        raise
                    on_error(item, exc)
                    continue
                count += 1
                _claim_pages(canvas, *pages, layout, count)
            if count == 0:
                canvas.setFont("Helvetica", 10)
                canvas.drawString(72, grid.PAGE_HEIGHT - 72, "No paper claims.")
                canvas.showPage()
            canvas.save()
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return count


def _fsync_dir(directory: Path) -> None:
    from ..fsutil import _fsync_dir as fsync_dir

    fsync_dir(directory)


def _claim_pages(canvas, item, forms: list[FormPage], lines: list[str], layout: str, number: int) -> None:
    key = f"claim{number}"
    canvas.bookmarkPage(key)
    canvas.addOutlineEntry(f"{item.claim.id}: {item.reason}"[:200], key, level=0)
    for page in forms:
        if layout == "full":
            canvas.doForm(FORM_XOBJECT)
        draw_data(canvas, page)
        canvas.showPage()
    per_page = int((grid.PAGE_HEIGHT - 2 * EOB_MARGIN) // EOB_LEADING) - 2
    chunks = [lines[i:i + per_page] for i in range(0, len(lines), per_page)] or [[]]
    for n, chunk in enumerate(chunks, start=1):
        canvas.setFillColorRGB(0, 0, 0)
        y = grid.PAGE_HEIGHT - EOB_MARGIN
        for text in chunk:
            canvas.setFont("Courier", EOB_FONT_SIZE)
            if text:
                canvas.drawString(EOB_MARGIN, y, printable(text))
            y -= EOB_LEADING
        if len(chunks) > 1:
            canvas.setFont("Courier", EOB_FONT_SIZE)
            canvas.drawString(EOB_MARGIN, EOB_MARGIN - 12, f"EOB for claim {item.claim.id}, page {n} of {len(chunks)}")
        canvas.showPage()


def draw_data(canvas, page: FormPage) -> None:
    """Every item of one form at its grid position, one string per item (so a reader finds each box
    by position), in Courier 12 black."""
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setFont(grid.FONT, grid.FONT_SIZE)
    for key, text in page.values.items():
        where = grid.spot(key)
        text = text.strip()
        x = grid.x_of(where.col)
        if where.align == "right":  # money: the cents end at the box's last column; never cut short
            x = grid.x_of(where.col + where.width - len(text))
        else:  # names and addresses longer than their box are cut at its edge, as on any 1500
            text = text[:where.width]
        canvas.drawString(x, grid.baseline_of(where.line), text)


# --- the drawn form ("full") ------------------------------------------------------------------------
# Cells: (caption, first line, last line, first column, end column), on the grid of grid.py: the
# caption sits in the cell's first line, the data on its last; edges run 2 pt left of a column.

CELLS: list[tuple[str, int, int, float, float]] = [
    ("1.", 7, 8, 1, 49), ("1a. INSURED'S I.D. NUMBER                    (For Program in Item 1)", 7, 8, 49, 80),
    ("2. PATIENT'S NAME (Last Name, First Name, Middle Initial)", 9, 10, 1, 30),
    ("3. PATIENT'S BIRTH DATE            SEX", 9, 10, 30, 49),
    ("4. INSURED'S NAME (Last Name, First Name, Middle Initial)", 9, 10, 49, 80),
    ("5. PATIENT'S ADDRESS (No., Street)", 11, 12, 1, 30), ("6. PATIENT RELATIONSHIP TO INSURED", 11, 12, 30, 49),
    ("7. INSURED'S ADDRESS (No., Street)", 11, 12, 49, 80),
    ("CITY", 13, 14, 1, 25.5), ("STATE", 13, 14, 25.5, 30), ("8. RESERVED FOR NUCC USE", 13, 16, 30, 49),
    ("CITY", 13, 14, 49, 73.5), ("STATE", 13, 14, 73.5, 80),
    ("ZIP CODE", 15, 16, 1, 13.5), ("TELEPHONE (Include Area Code)", 15, 16, 13.5, 30),
    ("ZIP CODE", 15, 16, 49, 63.5), ("TELEPHONE (Include Area Code)", 15, 16, 63.5, 80),
    ("9. OTHER INSURED'S NAME (Last Name, First Name, Middle Initial)", 17, 18, 1, 30),
    ("10. IS PATIENT'S CONDITION RELATED TO:", 17, 18, 30, 49),
    ("11. INSURED'S POLICY GROUP OR FECA NUMBER", 17, 18, 49, 80),
    ("a. OTHER INSURED'S POLICY OR GROUP NUMBER", 19, 20, 1, 30),
    ("a. EMPLOYMENT? (Current or Previous)", 19, 20, 30, 49),
    ("a. INSURED'S DATE OF BIRTH                 SEX", 19, 20, 49, 80),
    ("b. RESERVED FOR NUCC USE", 21, 22, 1, 30), ("b. AUTO ACCIDENT?          PLACE (State)", 21, 22, 30, 49),
    ("b. OTHER CLAIM ID (Designated by NUCC)", 21, 22, 49, 80),
    ("c. RESERVED FOR NUCC USE", 23, 24, 1, 30), ("c. OTHER ACCIDENT?", 23, 24, 30, 49),
    ("c. INSURANCE PLAN NAME OR PROGRAM NAME", 23, 24, 49, 80),
    ("d. INSURANCE PLAN NAME OR PROGRAM NAME", 25, 26, 1, 30), ("10d. CLAIM CODES (Designated by NUCC)", 25, 26, 30, 49),
    ("d. IS THERE ANOTHER HEALTH BENEFIT PLAN?", 25, 26, 49, 80),
    ("READ BACK OF FORM BEFORE COMPLETING & SIGNING THIS FORM.   12. PATIENT'S OR AUTHORIZED PERSON'S SIGNATURE",
     27, 30, 1, 49),
    ("13. INSURED'S OR AUTHORIZED PERSON'S SIGNATURE", 27, 30, 49, 80),
    ("14. DATE OF CURRENT ILLNESS, INJURY, or PREGNANCY (LMP)", 31, 32, 1, 23),
    ("15. OTHER DATE", 31, 32, 23, 49), ("16. DATES PATIENT UNABLE TO WORK IN CURRENT OCCUPATION", 31, 32, 49, 80),
    ("17. NAME OF REFERRING PROVIDER OR OTHER SOURCE", 33, 34, 1, 29.5), ("17a.", 33, 33, 29.5, 49),
    ("17b. NPI", 34, 34, 29.5, 49),
    ("18. HOSPITALIZATION DATES RELATED TO CURRENT SERVICES", 33, 34, 49, 80),
    ("19. ADDITIONAL CLAIM INFORMATION (Designated by NUCC)", 35, 36, 1, 49),
    ("20. OUTSIDE LAB?             $ CHARGES", 35, 36, 49, 80),
    ("21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY  Relate A-L to service line below (24E)    ICD Ind.",
     37, 40, 1, 49),
    ("22. RESUBMISSION CODE         ORIGINAL REF. NO.", 37, 38, 49, 80),
    ("23. PRIOR AUTHORIZATION NUMBER", 39, 40, 49, 80),
    ("24. A.          DATE(S) OF SERVICE", 41, 42, 1, 19), ("B.\nPLACE OF\nSERVICE", 41, 42, 19, 21.5),
    ("C.\nEMG", 41, 42, 21.5, 24),
    ("D. PROCEDURES, SERVICES, OR SUPPLIES\n(Explain Unusual Circumstances)", 41, 42, 24, 45),
    ("E.\nDIAGNOSIS\nPOINTER", 41, 42, 45, 49.5), ("F.\n\n$ CHARGES", 41, 42, 49.5, 58.5),
    ("G.\nDAYS\nOR\nUNITS", 41, 42, 58.5, 62.5), ("H.\nEPSDT\nFamily\nPlan", 41, 42, 62.5, 64.5),
    ("I.\nID.\nQUAL.", 41, 42, 64.5, 67.5),
    ("J.\nRENDERING\nPROVIDER ID. #", 41, 42, 67.5, 80),
    ("25. FEDERAL TAX I.D. NUMBER", 55, 56, 1, 22), ("26. PATIENT'S ACCOUNT NO.", 55, 56, 22, 37),
    ("27. ACCEPT ASSIGNMENT?", 55, 56, 37, 49.5), ("28. TOTAL CHARGE", 55, 56, 49.5, 61),
    ("29. AMOUNT PAID", 55, 56, 61, 71), ("30. Rsvd for NUCC Use", 55, 56, 71, 80),
    ("31. SIGNATURE OF PHYSICIAN OR SUPPLIER\nINCLUDING DEGREES OR CREDENTIALS", 57, 61, 1, 22),
    ("32. SERVICE FACILITY LOCATION INFORMATION", 57, 60, 22, 49),
    ("33. BILLING PROVIDER INFO & PH #", 57, 60, 49, 80),
    ("a.", 61, 61, 22, 34.5), ("b.", 61, 61, 34.5, 49), ("a.", 61, 61, 49, 62.5), ("b.", 61, 61, 62.5, 80),
]

# check-box captions: (key of the check spot, caption, "above" or "right")
CHECK_CAPTIONS: list[tuple[str, str, str]] = [
    ("1.medicare", "MEDICARE", "above"), ("1.medicaid", "MEDICAID", "above"), ("1.tricare", "TRICARE", "above"),
    ("1.champva", "CHAMPVA", "above"), ("1.group", "GROUP\nHEALTH PLAN", "above"),
    ("1.feca", "FECA\nBLK LUNG", "above"), ("1.other", "OTHER", "above"),
    ("3.m", "M", "left"), ("3.f", "F", "left"), ("11a.m", "M", "left"), ("11a.f", "F", "left"),
    ("6.self", "Self", "left"), ("6.spouse", "Spouse", "left"), ("6.child", "Child", "left"),
    ("6.other", "Other", "left"),
    ("10a.yes", "YES", "right"), ("10a.no", "NO", "right"), ("10b.yes", "YES", "right"), ("10b.no", "NO", "right"),
    ("10c.yes", "YES", "right"), ("10c.no", "NO", "right"), ("11d.yes", "YES", "right"),
    ("11d.no", "NO", "right"), ("20.yes", "YES", "right"), ("20.no", "NO", "right"),
    ("27.yes", "YES", "right"), ("27.no", "NO", "right"), ("25.ssn", "SSN", "above"), ("25.ein", "EIN", "above"),
]


def _edge(col: float) -> float:
    return grid.x_of(col) - 2


def draw_form(canvas) -> None:
    """The 1500 form itself in red: title, carrier area, every box with its caption, check boxes and
    the six shaded service lines. The data drawn after it lands inside the boxes (same grid)."""
    canvas.saveState()
    canvas.setStrokeColorRGB(*FORM_RED)
    canvas.setFillColorRGB(*FORM_RED)
    canvas.setLineWidth(0.6)
    canvas.setFont("Helvetica-Bold", 15)
    canvas.drawString(_edge(1), grid.baseline_of(4), "HEALTH INSURANCE CLAIM FORM")
    canvas.setFont("Helvetica", 6)
    canvas.drawString(_edge(1), grid.baseline_of(5), "APPROVED BY NATIONAL UNIFORM CLAIM COMMITTEE (NUCC) 02/12")
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(_edge(1), grid.baseline_of(2.4), "1500")
    canvas.setFont("Helvetica", 5.5)
    canvas.drawString(_edge(41), grid.band_top(1) - 6, "CARRIER: payer billed (name and address)")
    canvas.drawRightString(_edge(80), grid.baseline_of(6), "PICA")
    canvas.line(_edge(1), grid.band_top(7), _edge(80), grid.band_top(7))
    for caption, first, last, left, right in CELLS:
        top, bottom = grid.band_top(first), grid.band_top(last + 1)
        canvas.rect(_edge(left), bottom, _edge(right) - _edge(left), top - bottom, stroke=1, fill=0)
        _caption(canvas, caption, _edge(left) + 1.5, top - 5.8, _edge(right) - _edge(left) - 2.5)
    for caption, col in (("From", 1), ("To", 10)):
        canvas.drawString(grid.x_of(col), grid.band_top(42) - 5.8, f"{caption}  MM   DD   YY")
    canvas.drawString(grid.x_of(25), grid.band_top(42) - 5.8, "CPT/HCPCS           MODIFIER")
    for row in range(1, grid.SERVICE_LINES_PER_FORM + 1):
        shaded, data = 42 + 2 * row - 1, 42 + 2 * row
        top, middle, bottom = grid.band_top(shaded), grid.band_top(data), grid.band_top(data + 1)
        canvas.setFillColorRGB(*SHADE)
        canvas.rect(_edge(1), middle, _edge(80) - _edge(1), top - middle, stroke=0, fill=1)
        canvas.setFillColorRGB(*FORM_RED)
        canvas.rect(_edge(1), bottom, _edge(80) - _edge(1), top - bottom, stroke=1, fill=0)
        canvas.setDash(1, 1.5)
        canvas.line(_edge(1), middle, _edge(80), middle)
        canvas.setDash()
        for col in (10, 19, 21.5, 24, 32, 35, 38, 41, 45, 49.5, 58.5, 62.5, 64.5, 67.5):
            canvas.line(_edge(col), bottom, _edge(col), middle if col in (10, 32, 35, 38, 41) else top)
        cents = grid.x_of(55) + grid.CHAR / 2  # box 24F: dollars | cents
        canvas.line(cents, bottom, cents, middle)
        canvas.setFont("Helvetica", 5)
        canvas.drawString(_edge(64.5) + 2, bottom + 3, "NPI")
        canvas.setFont("Helvetica-Bold", 7)
        canvas.drawString(_edge(80) + 3, bottom + 3, str(row))
    canvas.setFont("Helvetica", 5.5)
    for n, letter in enumerate("ABCDEFGHIJKL"):
        where = grid.SPOTS[f"21.{letter}"]
        canvas.drawString(grid.x_of(where.col) - 8, grid.baseline_of(where.line), f"{letter}.")
        canvas.line(grid.x_of(where.col), grid.baseline_of(where.line) - 1.5,
                    grid.x_of(where.col + 9), grid.baseline_of(where.line) - 1.5)
    ind = grid.SPOTS["21.ind"]
    canvas.rect(grid.x_of(ind.col) - 1.5, grid.baseline_of(ind.line) - 1.5, grid.CHAR + 3, 9.5, stroke=1, fill=0)
    for key in ("28", "29"):  # the dollars | cents divider
        where = grid.spot(key)
        x = grid.x_of(where.col + where.width - 3) + grid.CHAR / 2
        canvas.line(x, grid.band_top(where.line + 1), x, grid.band_top(where.line) + 3)
    for key, caption, side in CHECK_CAPTIONS:
        where = grid.SPOTS[key]
        x, y = grid.x_of(where.col), grid.baseline_of(where.line)
        canvas.rect(x - 1.5, y - 1.5, grid.CHAR + 3, 9.5, stroke=1, fill=0)
        if side == "above":
            for n, text in enumerate(reversed(caption.split("\n"))):
                canvas.drawString(x - 1.5, y + 9.5 + 5.5 * n, text)
        elif side == "left":
            canvas.drawRightString(x - 3, y + 1, caption)
        elif caption:
            canvas.drawString(x + grid.CHAR + 3, y + 1, caption)
    for key in ("3.mm", "11a.mm", "14.mm"):
        where = grid.SPOTS[key]
        canvas.drawString(grid.x_of(where.col), grid.band_top(where.line) + 1, "MM   DD   YY")
    for left, key in ((49.5, "28"), (61, "29")):
        canvas.drawString(_edge(left) + 2, grid.baseline_of(grid.spot(key).line) + 1, "$")
    canvas.setFont("Helvetica", 6)
    for label, key in (("SIGNED", "12"), ("DATE", "12.date"), ("SIGNED", "13")):
        where = grid.SPOTS[key]
        canvas.drawRightString(grid.x_of(where.col) - 3, grid.baseline_of(where.line), label)
    canvas.drawString(_edge(1) + 1.5, grid.baseline_of(61), "SIGNED")
    canvas.setFont("Helvetica", 5.5)
    canvas.drawString(_edge(1), grid.baseline_of(62.6), "NUCC Instruction Manual available at: www.nucc.org")
    canvas.drawCentredString(grid.PAGE_WIDTH / 2, grid.baseline_of(62.6), "PLEASE PRINT OR TYPE")
    canvas.drawRightString(_edge(80), grid.baseline_of(62.6), "APPROVED OMB-0938-1197 FORM 1500 (02-12)")
    canvas.restoreState()


def _caption(canvas, caption: str, x: float, y: float, room: float) -> None:
    """A box caption, one or more lines, shrunk to fit its box."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    for n, text in enumerate(caption.split("\n")):
        size = 5.2
        width = stringWidth(text, "Helvetica", size)
        if width > room > 0:
            size = max(3.2, size * room / width)
        canvas.setFont("Helvetica", size)
        canvas.drawString(x, y - 5.3 * n, text)
