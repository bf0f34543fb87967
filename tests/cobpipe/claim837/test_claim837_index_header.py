"""A transaction header whose BHT comes after another segment is stored by the plain reader with its
BHT first (`_TransactionBuilder.run`), so not in file order: the index declines such a file (the
plain way reads it), and takes one whose BHTs lead, storing exactly the plain reader's rows."""
from __future__ import annotations

import pytest

from cobpipe.claim837.index import ClaimIndex, _in_storage_order
from cobpipe.claim837.rows import ClaimRows
from cobpipe.synth import generate_set


def _rows_and_index(path):
    index = ClaimIndex.build([path])
    rows = [(row[3], row[4]) for row in ClaimRows.open(path)]
    if index is None:
        return rows, None
    with index:
        return rows, [index._storage(number) for number in range(len(index.claims) // 4)]


@pytest.mark.parametrize("after", ["NM1*41*", "PER*", "NM1*40*"])
def test_a_late_bht_is_read_the_plain_way(tmp_path, after):
    made = generate_set(4, tmp_path, seed=7)
    text = made.claims.read_text()
    lines = text.split("~\n")
    bht = next(n for n, line in enumerate(lines) if line.startswith("BHT*"))
    moved = lines.pop(bht)
    lines.insert(next(n for n, line in enumerate(lines) if line.startswith(after)) + 1, moved)
    made.claims.write_text("~\n".join(lines))
    rows, stored = _rows_and_index(made.claims)
    assert rows and stored is None  # the index would store the header in file order, the ledger BHT first


def test_leading_bhts_are_indexed_as_stored(tmp_path):
    made = generate_set(4, tmp_path, seed=7)
    text = made.claims.read_text()
    bht = text[text.index("BHT*"):text.index("~", text.index("BHT*")) + 2]
    text = text.replace(bht, bht + bht, 1)  # two BHTs, both before NM1*41
    se = text.index("~\nSE*") + 2
    count = text[se + 3:text.index("*", se + 3)]
    made.claims.write_text(text[:se + 3] + str(int(count) + 1) + text[se + 3 + len(count):])  # SE01 counts it
    rows, stored = _rows_and_index(made.claims)
    assert stored is not None and stored == rows


def test_in_storage_order():
    assert _in_storage_order(b"BHT*1~\nNM1*41*2~\nPER*IC~\n")
    assert _in_storage_order(b"BHT*1~BHT*2~NM1*41*2~") and _in_storage_order(b"NM1*41*2~") and _in_storage_order(b"")
    assert not _in_storage_order(b"NM1*41*2~BHT*1~")
    assert not _in_storage_order(b"BHT*1~NM1*41*2~BHT*2~")
