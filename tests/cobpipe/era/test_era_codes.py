"""Every finding code the 835 model can emit is listed (with severity and meaning) in cobpipe.era.codes."""
from __future__ import annotations

import re
from pathlib import Path

import cobpipe.era
from cobpipe.era.codes import CODES, markdown_table

SOURCE = Path(cobpipe.era.__file__).parent


def test_codes_used_in_the_source_are_exactly_the_listed_ones():
    used = set()
    for path in SOURCE.glob("*.py"):
        if path.name != "codes.py":
            used |= set(re.findall(r'"(ERA\d{3})"', path.read_text(encoding="utf-8")))
    assert used == set(CODES)


def test_markdown_table_lists_every_code():
    table = markdown_table()
    assert all(f"| {code} |" in table for code in CODES)
    assert table.splitlines()[0] == "| code | severity | meaning |"
