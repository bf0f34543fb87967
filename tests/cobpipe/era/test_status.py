"""Claim status semantics (cob-spec §2.4) and grouping by CLP01: splits, reversals, corrections."""
from __future__ import annotations

import csv
from decimal import Decimal as D
from pathlib import Path

import pytest

from cobpipe.era import (CLAIM_STATUS, ClaimPayment, Party, Remark, ServiceLine, group_claims, is_cob_input,
                         is_crossover, is_denial, is_reversal, parse_remittance_text, payer_level)
from cobpipe.era.model import Moa, Procedure
from cobpipe.era.status import crossover_evidence, crossover_payer, has_corrected_priority, split_remark

from conftest import era

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings" / "claim_status.csv"


def claim(status: str, charge="100", paid="80", claim_id="C1", segment=0, **extra) -> ClaimPayment:
    return ClaimPayment(claim_id, status, D(charge) if charge is not None else None,
                        D(paid) if paid is not None else None, segment=segment, **extra)


@pytest.mark.parametrize("code,level,cob", [
    ("1", 1, True), ("2", 2, True), ("3", 3, True), ("4", None, True), ("19", 1, True), ("20", 2, True),
    ("21", 3, True), ("22", None, False), ("23", None, False), ("25", None, False), ("99", None, False),
])
def test_payer_level_and_cob_input(code, level, cob):
    c = claim(code)
    assert payer_level(c) == level
    assert is_cob_input(c) is cob
    assert is_reversal(c) is (code == "22")
    assert is_denial(c) is (code == "4")


@pytest.mark.parametrize("code", ["19", "20", "21"])
def test_forwarded_status_is_a_crossover(code):
    assert is_crossover(claim(code))
    assert crossover_evidence(claim(code)) == [f"CLP02 {code}"]


def test_nm1_tt_alone_is_a_crossover():
    c = claim("1", crossover_carrier=Party("TT", "2", "NEXT PLAN", id_qualifier="PI", id="NEXT1"))
    assert is_crossover(c) and crossover_evidence(c) == ["NM1*TT"]
    assert crossover_payer(c) == ("NEXT PLAN", "PI", "NEXT1")


@pytest.mark.parametrize("code", ["MA18", "MA07", "N89"])
def test_forwarding_remarks_in_moa_or_lq_are_a_crossover(code):
    in_moa = claim("1", moa=Moa(remarks=(code,)))
    line = ServiceLine(1, Procedure("HC", "99213"), D(1), D(1), remarks=[Remark(code, "LQ*HE")])
    in_lq = claim("1", lines=[line])
    assert is_crossover(in_moa) and is_crossover(in_lq)
    assert crossover_evidence(in_lq) == [f"remark {code}"]


def test_ma19_means_not_forwarded_even_with_status_19_and_nm1_tt():
    c = claim("19", moa=Moa(remarks=("MA19",)), crossover_carrier=Party("TT", "2", "MEDIGAP"))
    assert not is_crossover(c)


def test_primary_without_evidence_is_not_a_crossover():
    assert not is_crossover(claim("1"))
    assert crossover_payer(claim("1")) is None


def test_corrected_priority_payer_and_split_remark():
    assert has_corrected_priority(claim("1", corrected_payer=Party("PR", "2", "OTHER PLAN")))
    assert not has_corrected_priority(claim("1"))
    assert split_remark(claim("1", moa=Moa(remarks=("MA15",))))


def test_status_table_agrees_with_the_code_book():
    if not MAPPINGS.is_file():
        pytest.skip("mappings/claim_status.csv not present")
    with MAPPINGS.open(encoding="utf-8") as stream:
        rows = {row["code"]: row for row in csv.DictReader(stream)}
    assert set(rows) == set(CLAIM_STATUS)
    for code, status in CLAIM_STATUS.items():
        row = rows[code]
        assert row["payer_level"] == status.payer_level, code
        assert (row["reversal"] == "yes") is status.reversal, code
        assert (row["denial"] == "yes") is status.denial, code
        assert (row["crossover"] == "yes") is status.forwarded, code


# --- grouping by CLP01 -----------------------------------------------------------------------


def test_reversal_then_correction():
    rev = claim("22", "-150", "-100", segment=10)
    cor = claim("1", "150", "110", segment=20)
    (group,) = group_claims([rev, cor])
    (pair,) = group.reversals
    assert pair.reversal is rev and pair.correction is cor and pair.original is None
    assert group.current == [cor] and group.latest is cor
    assert not group.is_split and group.orphan_reversals == [] and group.findings == []
    assert group.corrections == [cor]


def test_original_reversal_correction_in_one_file():
    orig = claim("1", "150", "100", segment=5)
    rev = claim("22", "-150", "-100", segment=10)
    cor = claim("1", "150", "110", segment=20)
    (group,) = group_claims([orig, rev, cor])
    (pair,) = group.reversals
    assert pair.original is orig and pair.correction is cor
    assert group.current == [cor] and not group.is_split


def test_orphan_reversal_and_reversal_after_its_correction():
    cor = claim("1", "150", "110", segment=5)
    rev = claim("22", "-150", "-100", segment=10)
    (group,) = group_claims([cor, rev])
    # the earlier CLP is not the negation of the reversal, so it is not taken as the original
    assert group.reversals[0].original is None and group.orphan_reversals == [rev]
    assert group.current == [cor]
    assert [f.code for f in group.findings] == ["ERA201"]
    assert group.findings[0].location.claim == "C1" and group.findings[0].location.segment == 10


def test_reversal_with_positive_amounts_is_flagged():
    rev = claim("22", "150", "100", segment=10)
    cor = claim("1", "150", "110", segment=20)
    (group,) = group_claims([rev, cor])
    assert [f.code for f in group.findings] == ["ERA202"]


def test_split_claim_and_other_ids_keep_their_order():
    a1 = claim("1", "200", "100", segment=5)
    b = claim("1", claim_id="B", segment=7)
    a2 = claim("1", "100", "80", segment=9)
    groups = group_claims([a1, b, a2])
    assert [g.claim_id for g in groups] == ["C1", "B"]
    split = groups[0]
    assert split.is_split and split.split_parts == [a1, a2]
    assert [f.code for f in split.findings] == ["ERA203"]
    assert not groups[1].is_split and groups[1].split_parts == []


def test_single_part_with_ma15_counts_as_split():
    (group,) = group_claims([claim("1", moa=Moa(remarks=("MA15",)))])
    assert group.is_split and group.findings == []


def test_two_reversals_pair_with_two_corrections_in_order():
    r1, c1 = claim("22", "-100", "-80", segment=1), claim("1", "100", "70", segment=2)
    r2, c2 = claim("22", "-100", "-70", segment=3), claim("1", "100", "60", segment=4)
    (group,) = group_claims([r1, c1, r2, c2])
    assert [(p.reversal, p.correction, p.original) for p in group.reversals] == [(r1, c1, None), (r2, c2, c1)]
    assert group.current == [c2]


def test_group_claims_on_a_parsed_835():
    (remit,) = parse_remittance_text(era("""
        CLP*R1*22*-150*-100*0*12*PCN1
        CAS*CO*45*-50
        CLP*R1*1*150*110*0*12*PCN1B
        CAS*CO*45*40
        CLP*S1*1*200*100*0*12*PCN2
        CAS*CO*45*100
        CLP*S1*1*100*80*0*12*PCN3
        CAS*CO*45*20
    """, amount="190"))
    groups = {g.claim_id: g for g in group_claims(remit.claims(), path=remit.path)}
    assert groups["R1"].current[0].paid == D("110") and not groups["R1"].orphan_reversals
    assert groups["S1"].is_split and [c.paid for c in groups["S1"].split_parts] == [D("100"), D("80")]
    assert remit.findings == []
