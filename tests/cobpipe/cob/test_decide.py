"""resolve_parts answers a claim of one CLP without the general path: the same Resolution."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cobpipe.cob.decide import REVERSAL, _resolve, _why_not_cob_input, not_cob_input, resolve_parts, standing_parts
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


def numbered(status: str, number: str) -> RemitClaim:
    return RemitClaim("C1", status, Decimal(10), Decimal(4), Decimal(6), number, "12", [], [], 14, None)


def test_a_correction_sent_before_its_reversal_is_billed():
    """A payer that lists the correction (new CLP07) before the reversal of the earlier 835's
    adjudication: the reversal takes back its own number, not the correction (it voided the claim)."""
    correction, reversal = numbered("1", "ICN2B"), numbered(REVERSAL, "ICN2A")
    resolved = resolve_parts([correction, reversal])
    assert resolved.claim is correction and correction.reversed is True


def test_a_reversal_takes_back_the_parts_before_it_with_its_number():
    original, reversal, correction = numbered("1", "A"), numbered(REVERSAL, "A"), numbered("1", "B")
    assert standing_parts([original, reversal, correction]) == [correction]
    # the correction under the reversed number (payers reuse it): after the reversal, it stands
    again = numbered("1", "A")
    assert standing_parts([original, reversal, again]) == [again]
    # a reversal without a number takes back everything before it
    assert standing_parts([original, numbered(REVERSAL, ""), correction]) == [correction]
    assert resolve_parts([original, reversal]).claim is None


@given(st.sampled_from(["1", "2", "3", "4", "19", "20", "21", "22", "23", "25", "5", "", "x"]),
       st.sampled_from([None, "", "ZZ CARRIER"]),
       st.sets(st.sampled_from(["MA18", "MA07", "N89", "MA19", "MA01", "N479"]), max_size=3))
def test_not_cob_input_answers_as_the_general_path(status, carrier, remarks):
    """The shortcut for a processed claim not forwarded (CLP02 1-4, no NM1*TT, no MA18/MA07/N89)
    says what the general path says for every status, carrier and remark."""
    claim = RemitClaim(claim_id="C1", status_code=status, charge=Decimal("10"), paid=Decimal("0"),
                       patient_responsibility=Decimal("0"), payer_claim_number="P1", filing_indicator="CI",
                       adjustments=[], lines=[], segment=1, adjudication_date=None, crossover_carrier=carrier,
                       remarks=remarks)
    assert not_cob_input(claim) == _why_not_cob_input(claim)
