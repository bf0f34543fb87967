"""Secondary claims on paper: CMS-1500 (02/12) forms with the primary's EOB, as one PDF.

    from cobpipe.paper import PaperClaim, write_paper_pdf
    write_paper_pdf([PaperClaim(claim, payments, header, reason)], Path("out/era.paper.pdf"), layout="data")

form.py maps the secondary claim (as cobpipe.cob.build.build_secondary makes it) to the 1500's items
per NUCC's instructions, grid.py places them on NUCC's 10-characters-per-inch, 6-lines-per-inch grid,
eob.py writes the primary's EOB of that claim only, render.py draws the PDF (reportlab).
"""
from __future__ import annotations

from .claims import PaperClaim, items_from_files
from .render import LAYOUTS, PaperError, write_paper_pdf

__all__ = ["LAYOUTS", "PaperClaim", "PaperError", "items_from_files", "write_paper_pdf"]
