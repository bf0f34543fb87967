"""record.issued_runs (the runs Ledger.record_issued_runs records, read as IssuedClaims by
issued_claims) held to the IssuedClaims issued_claims made before it, claim by claim (equal, same
hash, frozen), for converted and paper claims, follow-ups, claims spread over transaction sets, with
and without the billed rows read ahead."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cobpipe.cob.decision import CONVERTED, HELD, PAPER, SKIPPED, ClaimDecision
from cobpipe.decision_log import DecisionLog
from cobpipe.ledger import IssuedClaim
from cobpipe.pipeline import ConvertResult
from cobpipe.record import billed_row, issued_claims


def _reference(result: ConvertResult) -> list[IssuedClaim]:
    """issued_claims as it was written before: IssuedClaim's own __init__, by keyword."""
    numbers = dict(result.control_numbers[:2])
    set_of_claim = (st for st, claims in result.transactions for _ in range(claims))
    output = result.output.name if result.output else None
    paper = result.paper.name if result.paper else None
    issued = []
    for d in result.decisions:
        if d.status == CONVERTED:
            issued.append(IssuedClaim(d.claim_id, d.payer_id or "", output, numbers.get("ISA"), numbers.get("GS"),
                                      next(set_of_claim, None), payer_level=d.level or "", frequency=d.frequency))
        elif d.status == PAPER:
            issued.append(IssuedClaim(d.claim_id, d.payer_id or "", paper, payer_level=d.level or "",
                                      frequency=d.frequency, channel="paper"))
    return issued


_DECISIONS = st.lists(st.builds(
    lambda n, status, payer, level, frequency: ClaimDecision(f"C{n}", status, payer_id=payer, level=level,
                                                             frequency=frequency),
    st.integers(0, 99), st.sampled_from([CONVERTED, CONVERTED, PAPER, SKIPPED, HELD]),
    st.sampled_from([None, "", "P2"]), st.sampled_from([None, "", "S", "T"]), st.sampled_from(["1", "7", "8"])),
    max_size=12)


@given(_DECISIONS, st.sampled_from([[], [(1, 2), (2, 30)], [(7, 1)]]), st.booleans(), st.booleans(),
       st.booleans())
def test_issued_claims_are_those_made_by_their_init(decisions, transactions, output, paper, ahead):
    result = ConvertResult(Path("era.835"), DecisionLog(decisions, block=3), Path("era.report.json"),
                           Path("/o/era.837") if output else None, [("ISA", 12), ("GS", 34), ("ST", 1)], [],
                           transactions, Path("/o/era.paper.pdf") if paper else None)
    if ahead:
        result.billed = [billed_row(d) for d in decisions if d.status in (CONVERTED, PAPER)]
    made, reference = issued_claims(result), _reference(result)
    assert made == reference
    assert [hash(i) for i in made] == [hash(i) for i in reference]
    assert all(type(i) is IssuedClaim for i in made)
    for claim in made:
        with pytest.raises(dataclasses.FrozenInstanceError):
            claim.payer_id = "X"  # type: ignore[misc]
