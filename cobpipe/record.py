"""What a conversion tells the ledger about its claims' lives: the claims issued (to whom, under which
control numbers), each decision with the 835's payer and level, payer claim numbers, states and
crossovers (cob-spec §8). Used by the batch with --db and by the jobs.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from .cob.decision import CONVERTED, PAPER

if TYPE_CHECKING:
    from .pipeline import ConvertResult


def record_issued(ledger, result: ConvertResult, source_sha256: str = "") -> None:
    record_conversion(ledger, result, source_sha256)


def claim_outcomes(result: ConvertResult) -> list:  # list[ledger.ClaimOutcome]
    """Each decision as the ledger stores it: status, payer billed, the 835's payer and level, and
    the reasons in words (a biller reads them in `status` and the console) after the finding codes."""
    from .ledger import ClaimOutcome

    return [ClaimOutcome(d.claim_id, d.status, d.payer_id,
                         tuple(dict.fromkeys([f.code for f in d.findings] + list(d.reasons))),
                         d.era_payer, d.era_level, d.clp02, d.payer_claim_number)
            for d in result.decisions]


def record_conversion(ledger, result: ConvertResult, source_sha256: str = "", *, decisions: bool = True) -> None:
    """Everything one conversion tells the ledger about its claims' lives: what was billed to whom
    (and the claims issued, stored as claims so the next payer's 835 continues from them), each
    decision with the 835's payer and level, the payer claim numbers (CLP07) for later follow-ups,
    the claims' states, crossovers announced and answered; and, unless `decisions` is False (the
    caller records them with others), the decisions."""
    with ledger.transaction():
        ledger.record_issued(source_sha256, issued_claims(result))
        if result.output is not None and Path(result.output).exists():
            from .claim837.rows import ClaimRows

            ledger.add_claim_rows(ClaimRows.open(result.output), source_hash=source_sha256 or None, issued=True)
        numbers, states, crossovers, answered = [], [], [], []
        for d in result.decisions:
            if d.payer_claim_number and d.era_payer_id:
                numbers.append((d.claim_id, d.era_payer_id, d.payer_claim_number, "835"))
            if d.state:
                states.append((d.claim_id, d.state, d.payer_id, d.reasons[-1] if d.reasons else ""))
            if d.crossover_to:
                crossovers.append((d.claim_id, d.era_payer or "", d.crossover_to))
            if d.crossover_answered:
                answered.append(d.claim_id)
        ledger.record_claim_life(source_sha256, numbers=numbers, states=states, crossovers=crossovers,
                                 answered=answered)
        if decisions:
            ledger.record_decisions(source_sha256, claim_outcomes(result))


def billed_row(decision) -> tuple:
    """What issued_claims takes of a converted or paper decision: (claim id, payer id, level,
    frequency, status)."""
    return decision.claim_id, decision.payer_id, decision.level, decision.frequency, decision.status


def issued_claims(result: ConvertResult) -> list:  # list[ledger.IssuedClaim]
    """One IssuedClaim per converted claim, with the ISA13/GS06 of the output and the ST02 of the
    transaction set holding it (claims are written in decision order, `transactions` counts them)."""
    from .ledger import IssuedClaim

    numbers = dict(result.control_numbers[:2])
    set_of_claim = (st for st, claims in result.transactions for _ in range(claims))
    output = result.output.name if result.output else None
    paper = result.paper.name if result.paper else None
    billed = result.billed  # read with the report's entries, when they were made ahead
    if billed is None:
        billed = [billed_row(d) for d in result.decisions if d.status == CONVERTED or d.status == PAPER]
    make = _issued_maker()
    isa, gs = numbers.get("ISA"), numbers.get("GS")
    issued = []
    for claim_id, payer_id, level, frequency, status in billed:
        # IssuedClaim's fields in order (claim_id, payer_id, output, isa13, gs06, st02, source_sha256,
        # issued_at, payer_level, frequency, channel), without its frozen __init__'s setattr calls
        if status == CONVERTED:
            issued.append(make(claim_id, payer_id or "", output, isa, gs, next(set_of_claim, None), "", "",
                               level or "", frequency, "electronic"))
        else:
            issued.append(make(claim_id, payer_id or "", paper, None, None, None, "", "", level or "", frequency,
                               "paper"))
    return issued


@functools.lru_cache(maxsize=1)
def _issued_maker():
    """IssuedClaim(...) of every field positionally, as IssuedClaim's own __init__ makes it (equal,
    same hash, frozen): one a billed claim at the end of a run (tests hold it to IssuedClaim's)."""
    from .cob.from_era import _unfrozen_maker
    from .ledger import IssuedClaim

    return _unfrozen_maker(IssuedClaim)
