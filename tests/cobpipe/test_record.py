"""record.issued_runs (the runs Ledger.record_issued_runs records, read as IssuedClaims by
issued_claims) held to the IssuedClaims issued_claims made before it, claim by claim (equal, same
hash, frozen), for converted and paper claims, follow-ups, claims spread over transaction sets, with
and without the billed rows read ahead."""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cobpipe.cob.decision import CONVERTED, HELD, PAPER, SKIPPED, ClaimDecision
from cobpipe.decision_log import DecisionLog
from cobpipe.ledger import ClaimOutcome, IssuedClaim, Ledger
from cobpipe.pipeline import ConvertResult
from cobpipe.record import billed_row, claim_outcomes, issued_claims, record_conversion
from edi.findings import Finding


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


_LIVES = st.lists(st.builds(
    lambda n, status, reasons, payer, number, era_payer_id, state, crossover_to, answered, found:
        ClaimDecision(f"C{n}", status, list(reasons), payer_id=payer, era_segment=n, era_payer="ERA PAYER",
                      era_payer_id=era_payer_id, era_level="P", clp02="1", payer_claim_number=number,
                      state=state, crossover_to=crossover_to, crossover_answered=answered,
                      findings=[Finding("COB020", "x")] * found if found else ClaimDecision("x", "y").findings),
    st.integers(0, 99), st.sampled_from([CONVERTED, PAPER, SKIPPED, HELD]),
    st.lists(st.sampled_from(["r1", "r2", "COB020"]), max_size=3), st.sampled_from([None, "", "P2"]),
    st.sampled_from([None, "", "N1"]), st.sampled_from([None, "", "99904"]),
    st.sampled_from([None, "", "closed", "billed_secondary"]), st.sampled_from([None, "", "99905"]), st.booleans(),
    st.integers(0, 2)), max_size=12)


@given(_LIVES, st.booleans())
def test_a_runs_claim_lives_are_read_from_the_decisions_rows(decisions, revise):
    """claim_outcomes and record_conversion read a DecisionLog's report rows (blocks written out, some
    revised after): the same outcomes (ClaimOutcomes as their own __init__ makes them), payer claim
    numbers and states as the decisions' own fields give (fails with the row's era payer id read as
    its era payer, and with a decision's reasons left a dict: checked)."""
    log = DecisionLog(decisions, block=2)
    if revise:
        log.revise(lambda d: d.claim_id.endswith("1") and not setattr(d, "state", "needs_review"))
        for d in decisions:
            if d.claim_id.endswith("1"):
                d.state = "needs_review"
    result = ConvertResult(Path("era.835"), log, Path("era.report.json"), None, [("ISA", 1), ("GS", 1)], [], [])
    outcomes, reference = claim_outcomes(result), [
        ClaimOutcome(d.claim_id, d.status, d.payer_id, tuple(dict.fromkeys([f.code for f in d.findings] + d.reasons)),
                     d.era_payer, d.era_level, d.clp02, d.payer_claim_number) for d in decisions]
    assert outcomes == reference  # made without ClaimOutcome's __init__: the same values, type, hash, frozen
    assert [hash(o) for o in outcomes] == [hash(o) for o in reference]
    assert all(type(o) is ClaimOutcome and type(o.reasons) is tuple for o in outcomes)
    for outcome in outcomes:
        with pytest.raises(dataclasses.FrozenInstanceError):
            outcome.status = "X"  # type: ignore[misc]
    with tempfile.TemporaryDirectory() as folder, Ledger.open(Path(folder) / "l.db") as ledger:
        record_conversion(ledger, result, "a" * 64)
        last = {d.claim_id: d for d in decisions}
        for d in decisions:
            assert ledger.payer_claim_number(d.claim_id, d.era_payer_id or "") == (
                [e.payer_claim_number for e in decisions if e.claim_id == d.claim_id
                 and e.era_payer_id == d.era_payer_id and e.payer_claim_number and e.era_payer_id] or [None])[-1]
        for claim_id in last:
            stated = [e for e in decisions if e.claim_id == claim_id and e.state]
            got = ledger.claim_state(claim_id)
            assert ((got["state"], got["payer_id"], got["detail"]) if got else None) == (
                (stated[-1].state, stated[-1].payer_id, stated[-1].reasons[-1] if stated[-1].reasons else "")
                if stated else None)
