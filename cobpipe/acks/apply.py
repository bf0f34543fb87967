"""Match a 999 or 277CA to what the ledger says we issued, and store each claim's verdict.

999: AK1 names our group (GS06) and AK2 our set (ST02); the IK5 verdict of a set applies to every
claim we issued in it (a group's AK9 R/M/W/X without a set verdict, to every claim of the group).
277CA: each 2200D names one claim by TRN02 (our CLM01); the STC01 category says accepted or
rejected. The payer is the issued claim's payer: the one the 277CA's information source (2100A
NM109) names when we billed that claim to several payers, else the latest we billed it to.

A rejected claim also gets a 'rejected' decision (the work queue: `cobpipe status` and the console
show it) with the reason in words, and the acknowledgment file is recorded like any input.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..ledger import ClaimOutcome, FileRecord, Ledger
from ..logs import event
from . import codes
from .read import SET_ACK_WORDS, read_277ca, read_999
from ..fsutil import sha256_of as _sha256

log = logging.getLogger("cobpipe.acks")


@dataclass(slots=True)
class AckResult:
    """What one acknowledgment file did."""

    file: str
    kind: str  # '999' or '277CA'
    sha256: str
    claims: dict[str, int] = field(default_factory=dict)  # state -> claims
    unmatched: list[str] = field(default_factory=list)  # sets ("GS06/ST02") or claim ids we never issued
    rejected: list[dict] = field(default_factory=list)  # {"claim_id", "payer_id", "reason"}
    duplicate: bool = False

    def to_dict(self) -> dict:
        data = {"file": self.file, "kind": self.kind, "sha256": self.sha256, "claims": dict(self.claims),
                "unmatched": list(self.unmatched), "rejected": list(self.rejected)}
        if self.duplicate:
            data["duplicate"] = True
        return data


def apply_file(path: Path, ledger: Ledger, kind: str, name: str | None = None,
               detail: dict | None = None) -> AckResult:
    """Read `path` as a `kind` ('999' or '277CA') acknowledgment and record it; the same bytes
    applied twice change nothing the second time. Raises EdiError for an unusable file."""
    name = name or path.name
    sha = _sha256(path)
    known = ledger.file(sha)
    if known is not None and known.outcome != "rejected":
        return AckResult(name, kind, sha, duplicate=True)
    result = AckResult(name, kind, sha)
    if kind == "999":
        ack = read_999(path, name)
        with ledger.transaction():
            _apply_999(ack, ledger, result)
            _finish(ledger, result, detail)
    else:
        ack277 = read_277ca(path, name)
        with ledger.transaction():
            _apply_277(ack277, ledger, result)
            _finish(ledger, result, detail)
    event(log, "ack.applied", file=name, sha256=sha, kind=kind, counts=result.claims,
          claims=[r["claim_id"] for r in result.rejected][:200] or None,
          reason="claims-rejected" if result.rejected else None)
    return result


def _finish(ledger: Ledger, result: AckResult, detail: dict | None) -> None:
    if result.rejected:
        ledger.record_decisions(result.sha256, [
            ClaimOutcome(r["claim_id"], "rejected", r["payer_id"], (r["reason"],)) for r in result.rejected])
    ledger.record_file(FileRecord(result.sha256, result.file, result.kind, "applied", detail={
        "claims": result.claims, "unmatched": result.unmatched[:200], **(detail or {})}))


def _apply_999(ack, ledger: Ledger, result: AckResult) -> None:
    for group in ack.groups:
        if group.control is None:
            result.unmatched.append(f"AK1 {group.functional_id} without a group control number")
            continue
        covered: set[tuple[str, str]] = set()
        for set_ack in group.sets:
            st02 = _int(set_ack.control)
            issued = ledger.issued_in_set(group.control, st02) if st02 is not None else []
            if not issued:
                result.unmatched.append(f"{group.control}/{set_ack.control}")
                continue
            verdict = set_ack.verdict or group.verdict
            state = set_ack.state if set_ack.verdict else _group_state(group.verdict)
            words = SET_ACK_WORDS.get(verdict, f"999 verdict {verdict}")
            reason = f"999 set {set_ack.control} {words}" + (
                f" ({'; '.join(set_ack.reasons[:5])})" if set_ack.reasons else "")
            for claim_id, payer_id, _ in issued:
                covered.add((claim_id, payer_id))
                _record(ledger, result, claim_id, payer_id, "999", state, [verdict, *set_ack.reasons], reason)
        if group.verdict in ("R", "M", "W", "X") or not group.sets:
            # a group rejected (or acknowledged) as a whole: the claims no set verdict covered
            rest = [row for row in ledger.issued_in_set(group.control, None) if (row[0], row[1]) not in covered]
            if not rest and not group.sets:
                result.unmatched.append(f"{group.control}")
            state = _group_state(group.verdict)
            words = SET_ACK_WORDS.get(group.verdict, f"999 verdict {group.verdict}")
            for claim_id, payer_id, _ in rest:
                _record(ledger, result, claim_id, payer_id, "999", state, [group.verdict, *group.reasons],
                        f"999 group {group.control} {words}"
                        + (f" ({'; '.join(group.reasons)})" if group.reasons else ""))


def _group_state(verdict: str) -> str:
    if verdict == "A":
        return "accepted"
    if verdict in ("E", "P"):
        return "accepted_with_errors"
    return "rejected"


def _apply_277(ack, ledger: Ledger, result: AckResult) -> None:
    for claim in ack.claims:
        issued = [i for i in ledger.issued_for(claim.claim_id)]
        if not issued:
            result.unmatched.append(claim.claim_id)
            continue
        chosen = [i for i in issued if claim.source_id and i.payer_id == claim.source_id] or [issued[-1]]
        payer_id = chosen[0].payer_id
        statuses = claim.statuses or claim.line_statuses
        outcomes = [codes.category_outcome(s.category) for s in statuses]
        state = "rejected" if "rejected" in outcomes else "accepted"
        shown = [s for s, o in zip(statuses, outcomes) if o == "rejected"] or statuses
        reason = "277CA " + "; ".join(codes.describe(s.category, s.status, s.entity) for s in shown[:5])
        stc = [":".join(x for x in (s.category, s.status, s.entity) if x) for s in statuses]
        _record(ledger, result, claim.claim_id, payer_id, "277CA", state, stc, reason, claim.payer_claim_number)
        if claim.payer_claim_number:
            ledger.record_payer_claim_number(claim.claim_id, payer_id, claim.payer_claim_number, "277CA")


def _record(ledger: Ledger, result: AckResult, claim_id: str, payer_id: str, kind: str, state: str,
            ack_codes: list[str], reason: str, payer_claim_number: str = "") -> None:
    ledger.record_claim_ack(claim_id, payer_id, kind, state, ack_codes, reason, result.sha256, result.file,
                            payer_claim_number)
    result.claims[state] = result.claims.get(state, 0) + 1
    if state == "rejected":
        result.rejected.append({"claim_id": claim_id, "payer_id": payer_id, "reason": reason})


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
