"""What a conversion tells the ledger about its claims' lives: the claims issued (to whom, under which
control numbers), each decision with the 835's payer and level, payer claim numbers, states and
crossovers (cob-spec §8). Used by the batch with --db and by the jobs.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from .cob.decision import CONVERTED, PAPER
from .decision_log import report_rows

if TYPE_CHECKING:
    from .pipeline import ConvertResult


def record_issued(ledger, result: ConvertResult, source_sha256: str = "") -> None:
    record_conversion(ledger, result, source_sha256)


def claim_outcomes(result: ConvertResult) -> list:  # list[ledger.ClaimOutcome]
    """Each decision as the ledger stores it: status, payer billed, the 835's payer and level, and
    the reasons in words (a biller reads them in `status` and the console) after the finding codes.
    Read from the decisions' report rows (decision_log.report_rows: a long log's decisions are not
    made again: with the loop of record_conversion, -113M at 10k claims with --db)."""
    make = _outcome_maker()
    # ClaimOutcome's fields in order (claim_id, status, payer_id, reasons, era_payer, era_level, clp02,
    # payer_claim_number), without its frozen __init__'s setattr calls; a decision without findings
    # (nearly all) has its reasons alone
    return [make(claim_id, status, payer_id,
                 tuple(dict.fromkeys([f.code for f in findings] + list(reasons) if findings else reasons)),
                 era_payer, era_level, clp02, payer_claim_number)
            for (claim_id, status, reasons, payer_id, _, era_payer, _, era_level, clp02, payer_claim_number,
                 *_), findings in report_rows(result.decisions)]


@functools.lru_cache(maxsize=1)
def _outcome_maker():
    """ClaimOutcome(...) of every field positionally, as ClaimOutcome's own __init__ makes it (equal,
    same hash, frozen): one a decision of a run recorded in a ledger (~-110M at 10k claims with --db)."""
    from .cob.from_era import _unfrozen_maker
    from .ledger import ClaimOutcome

    return _unfrozen_maker(ClaimOutcome)


def record_conversion(ledger, result: ConvertResult, source_sha256: str = "", *, decisions: bool = True) -> None:
    """Everything one conversion tells the ledger about its claims' lives: what was billed to whom
    (and the claims issued, stored as claims so the next payer's 835 continues from them), each
    decision with the 835's payer and level, the payer claim numbers (CLP07) for later follow-ups,
    the claims' states, crossovers announced and answered; and, unless `decisions` is False (the
    caller records them with others), the decisions."""
    with ledger.transaction():
        ledger.record_issued_runs(source_sha256, issued_runs(result))
        if result.output is not None and Path(result.output).exists():
            from .claim837.rows import ClaimRows

            ledger.add_claim_rows(ClaimRows.open(result.output), source_hash=source_sha256 or None, issued=True)
        numbers, states, crossovers, answered = [], [], [], []
        # the decisions' report rows (cob.decision._ROW's fields), as claim_outcomes reads them
        for (claim_id, _, reasons, payer_id, _, era_payer, era_payer_id, _, _, payer_claim_number, _, _, state,
             crossover_to, crossover_answered), _ in report_rows(result.decisions):
            if payer_claim_number and era_payer_id:
                numbers.append((claim_id, era_payer_id, payer_claim_number, "835"))
            if state:
                states.append((claim_id, state, payer_id, reasons[-1] if reasons else ""))
            if crossover_to:
                crossovers.append((claim_id, era_payer or "", crossover_to))
            if crossover_answered:
                answered.append(claim_id)
        ledger.record_claim_life(source_sha256, numbers=numbers, states=states, crossovers=crossovers,
                                 answered=answered)
        if decisions:
            ledger.record_decisions(source_sha256, claim_outcomes(result))


def billed_row(decision) -> tuple:
    """What issued_runs takes of a converted or paper decision: (claim id, payer id, level,
    frequency, status)."""
    return decision.claim_id, decision.payer_id, decision.level, decision.frequency, decision.status


def issued_runs(result: ConvertResult) -> list:
    """The billed claims as Ledger.record_issued_runs takes them: runs of claims that went to the same
    place, ((output, ISA13, GS06, channel), [(claim id, payer id, ST02, level, frequency), ...]), in
    decision order, with the ISA13/GS06 of the output and the ST02 of the transaction set holding each
    converted claim (claims are written in decision order, `transactions` counts them)."""
    numbers = dict(result.control_numbers[:2])
    set_of_claim = (st for st, claims in result.transactions for _ in range(claims))
    output = result.output.name if result.output else None
    paper = result.paper.name if result.paper else None
    billed = result.billed  # read with the report's entries, when they were made ahead
    if billed is None:
        billed = [billed_row(d) for d in result.decisions if d.status == CONVERTED or d.status == PAPER]
    electronic, on_paper = (output, numbers.get("ISA"), numbers.get("GS"), "electronic"), (paper, None, None, "paper")
    runs: list[tuple[tuple, list[tuple]]] = []
    for claim_id, payer_id, level, frequency, status in billed:
        if status == CONVERTED:
            shared, st02 = electronic, next(set_of_claim, None)
        else:
            shared, st02 = on_paper, None
        if not runs or runs[-1][0] is not shared:
            runs.append((shared, []))
        runs[-1][1].append((claim_id, payer_id or "", st02, level or "", frequency))
    return runs


def issued_claims(result: ConvertResult) -> list:  # list[ledger.IssuedClaim]
    """One IssuedClaim per billed claim: `issued_runs`, each claim with what its run shares."""
    from .ledger import IssuedClaim

    return [IssuedClaim(claim_id, payer_id, output, isa13, gs06, st02, payer_level=level, frequency=frequency,
                        channel=channel)
            for (output, isa13, gs06, channel), claims in issued_runs(result)
            for claim_id, payer_id, st02, level, frequency in claims]
