"""resolve_parts answers a claim of one CLP without the general path: the same Resolution."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cobpipe.cob.decide import REVERSAL, _resolve, resolve_parts
from cobpipe.cob.remit import RemitClaim


def part(status: str, reversed_before: bool) -> RemitClaim:
    claim = RemitClaim("C1", status, Decimal(10), Decimal(4), Decimal(6), "PCN1", "12", [], [], 14, None)
    claim.reversed = reversed_before
    return claim


@given(st.sampled_from(["1", "2", "3", "4", "19", REVERSAL, "23"]), st.booleans())
def test_one_part_resolves_as_the_general_path_does(status, reversed_before):
    fast, general = part(status, reversed_before), part(status, reversed_before)
    got, expected = resolve_parts([fast]), _resolve([general])
    assert (got.claim is fast) == (expected.claim is general)
    assert (got.skip_reason, got.notes) == (expected.skip_reason, expected.notes)
    assert fast.reversed == general.reversed


def test_a_reversal_and_its_correction_still_take_the_general_path():
    reversal, correction = part(REVERSAL, False), part("1", False)
    resolved = resolve_parts([reversal, correction])
    assert resolved.claim is correction and correction.reversed is True
    assert resolved.notes == ["a reversal (CLP02 22) voided the earlier adjudication; billed from its correction"]
