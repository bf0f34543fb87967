"""The claim index's CLM01 tables (by_id, by_folded) and sqlite_upper, held to the way they were
first written: SQLite's UPPER() as a translation of the ASCII letters, each claim filed in a loop
over both tables."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cobpipe.claim837.index import ClaimIndex, sqlite_upper

_ASCII_UPPER = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def upper_by_translation(text: str) -> str:
    return text.encode("ascii").translate(_ASCII_UPPER).decode("ascii") if text.isascii() else text.upper()


def tables_by_loop(claim_ids: list[str]) -> tuple[dict, dict]:
    by_id: dict = {}
    by_folded: dict = {}
    for number, claim_id in enumerate(claim_ids):
        folded = upper_by_translation(claim_id)
        for table, key in ((by_id, claim_id), (by_folded, folded)):
            if table is by_folded and key == claim_id:
                continue
            known = table.get(key)
            if known is None:
                table[key] = number
            elif isinstance(known, list):
                known.append(number)
            else:
                table[key] = [known, number]
    return by_id, by_folded


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_sqlite_upper_as_the_translation(text):
    assert sqlite_upper(text) == upper_by_translation(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["PCN1", "pcn1", "Pcn1", "PCN-2a", "PCN-2A", "x", "X", "", "ÿa", "ŸA", "1"]),
                max_size=12))
def test_claims_filed_as_by_the_loop(claim_ids):
    index = ClaimIndex()
    for number, claim_id in enumerate(claim_ids):
        index._add_claim(claim_id, 0, 0, 10 * number, 10 * number + 5)
    assert (index.by_id, index.by_folded) == tables_by_loop(claim_ids)
    assert list(index.claims) == [v for n in range(len(claim_ids)) for v in (0, 0, 10 * n, 10 * n + 5)]
