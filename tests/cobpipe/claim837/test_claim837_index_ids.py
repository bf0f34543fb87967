"""The claim index's CLM01 tables (by_id, by_folded) and sqlite_upper: SQLite's UPPER() held to the
way it was first written, a translation of the ASCII letters; the tables to what they hold, each
claim's number under its CLM01 and under its folded CLM01 when that differs."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cobpipe.claim837.index import ClaimIndex, sqlite_upper

_ASCII_UPPER = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def upper_by_translation(text: str) -> str:
    return text.encode("ascii").translate(_ASCII_UPPER).decode("ascii") if text.isascii() else text.upper()


def tables_by_loop(claim_ids: list[str]) -> tuple[dict, dict]:
    """(by_id, by_folded) as a loop over the claims fills them: the numbers of the claims under each
    CLM01, and under each folded CLM01 that is not the CLM01 itself, in file order; one number
    stands alone, several make a list (written apart from index._file_under, not as a copy of it)."""
    by_id: dict[str, list[int]] = {}
    by_folded: dict[str, list[int]] = {}
    for number, claim_id in enumerate(claim_ids):
        by_id.setdefault(claim_id, []).append(number)
        folded = upper_by_translation(claim_id)
        if folded != claim_id:
            by_folded.setdefault(folded, []).append(number)

    def filed(table: dict[str, list[int]]) -> dict:
        return {key: numbers[0] if len(numbers) == 1 else numbers for key, numbers in table.items()}

    return filed(by_id), filed(by_folded)


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
