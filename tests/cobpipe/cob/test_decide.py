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


# --- zero_balance: a claim with no PR adjustment is not summed ------------------------------------

from cobpipe.cob.decide import zero_balance  # noqa: E402
from cobpipe.cob.remit import RemitLine  # noqa: E402
from cobpipe.era.model import Adjustment  # noqa: E402

adjustments = st.lists(st.builds(Adjustment, st.sampled_from(["PR", "CO", "OA", "PI", "pr"]),
                                 st.sampled_from(["1", "2", "45"]),
                                 st.sampled_from([Decimal(0), Decimal("5.00"), Decimal("-5.00"), Decimal("0.00")])),
                       max_size=3)


def remit(status, responsibility, claim_adjustments, line_adjustments):
    lines = [RemitLine(None, Decimal(0), None, ("HC", "99213"), a) for a in line_adjustments]
    return RemitClaim("C1", status, Decimal(10), Decimal(4), responsibility, "PCN1", "12", claim_adjustments,
                      lines, 14, None)


@given(st.sampled_from(["1", "2", "4"]), st.sampled_from([Decimal(0), Decimal("0.00"), Decimal(3)]), adjustments,
       st.lists(adjustments, max_size=3), st.booleans())
def test_zero_balance_answers_as_the_sum_does(status, responsibility, claim_adjustments, line_adjustments, bill):
    claim = remit(status, responsibility, claim_adjustments, line_adjustments)
    expected = status != "4" and not bill and responsibility == 0 and claim.patient_adjustments == 0
    assert (zero_balance(claim, bill_zero_balance=bill) is not None) is expected


class _Unsummable(RemitClaim):
    __slots__ = ()

    @property
    def patient_adjustments(self):
        raise AssertionError("summed although no adjustment is in group PR")


def test_a_claim_without_a_pr_adjustment_is_not_summed():
    """Fails if zero_balance stops taking the group test (back to a sum per claim)."""
    claim = _Unsummable("C1", "1", Decimal(10), Decimal(10), Decimal(0), "PCN1", "12",
                        [Adjustment("CO", "45", Decimal(0))],
                        [RemitLine(None, Decimal(0), None, ("HC", "99213"), [Adjustment("OA", "23", Decimal(1))])],
                        14, None)
    assert zero_balance(claim, bill_zero_balance=False) is not None
