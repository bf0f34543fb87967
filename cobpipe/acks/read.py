"""Read the acknowledgments a clearinghouse or payer sends for our 837Ps.

999 (005010X231A1): per functional group we sent (AK1: GS01, GS06), per transaction set (AK2: ST01,
ST02) the IK5 verdict and the IK3/IK4 errors, and the group's AK9.
277CA (005010X214): per claim (2200D, TRN02 = our CLM01) the STC statuses, the payer's claim number
(REF*1K) and the information source (2100A NM109).

Both stream through edi.reader; the values kept are codes, control numbers and claim ids (no names).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edi.errors import EdiSyntaxError, UnsupportedTransactionError
from edi.reader import X12Reader, iter_transactions

ACCEPTED_CODES = {"A": "accepted", "E": "accepted_with_errors"}
REJECTED_CODES = frozenset({"R", "M", "W", "X"})
SET_ACK_WORDS = {
    "A": "accepted", "E": "accepted with errors", "R": "rejected", "M": "rejected: message authentication failed",
    "W": "rejected: assurance failed validity tests", "X": "rejected: content could not be analyzed",
    "P": "partially accepted: some transaction sets rejected",
}
MAX_ERRORS_KEPT = 50  # per set: a 999 naming thousands of errors still answers in a few lines


@dataclass(slots=True)
class SetAck:
    code: str  # ST01 of our set (837)
    control: str  # ST02
    verdict: str  # IK501: A, E, R, M, W, X
    reasons: list[str] = field(default_factory=list)  # IK502.. codes and IK3/IK4 in short form

    @property
    def state(self) -> str:
        return ACCEPTED_CODES.get(self.verdict, "rejected" if self.verdict in REJECTED_CODES else "unknown")


@dataclass(slots=True)
class GroupAck:
    functional_id: str  # AK101 (HC)
    control: int | None  # AK102 = our GS06
    version: str  # AK103
    sets: list[SetAck] = field(default_factory=list)
    verdict: str = ""  # AK901: A, E, P, R, M, W, X
    counts: tuple[str, str, str] = ("", "", "")  # AK902-AK904
    reasons: list[str] = field(default_factory=list)  # AK905..


@dataclass(slots=True)
class Ack999:
    sender: str  # ISA06 of the 999 (who answers)
    receiver: str
    groups: list[GroupAck] = field(default_factory=list)


@dataclass(slots=True)
class ClaimStatus:
    category: str
    status: str = ""
    entity: str = ""


@dataclass(slots=True)
class ClaimAck:
    claim_id: str  # 2200D TRN02
    statuses: list[ClaimStatus] = field(default_factory=list)  # claim-level STCs (not 2220D lines)
    line_statuses: list[ClaimStatus] = field(default_factory=list)
    payer_claim_number: str = ""  # REF*1K
    clearinghouse_trace: str = ""  # REF*D9
    source_id: str = ""  # 2100A NM109 of the information source


@dataclass(slots=True)
class Ack277:
    sender: str
    receiver: str
    claims: list[ClaimAck] = field(default_factory=list)


def transaction_code(path: Path) -> tuple[str, str, str] | None:
    """(ST01, GS01, GS08) of the first set in the file, reading only until that ST; None if none."""
    gs01 = gs08 = ""
    with X12Reader.open(path, name=path.name) as reader:
        for segment in reader:
            if segment.tag == "GS":
                gs01, gs08 = segment.get(1), segment.get(8)
            elif segment.tag == "ST":
                return segment.get(1), gs01, gs08
    return None


def is_ack(path: Path) -> str | None:
    """'999' or '277CA' when the file is an acknowledgment we read (by ST01 and GS01), else None."""
    try:
        found = transaction_code(path)
    except (EdiSyntaxError, OSError):
        return None
    if found is None:
        return None
    st01, gs01, gs08 = found
    if st01 == "999" and gs01 == "FA":
        return "999"
    if st01 == "277" and gs01 == "HN" and (not gs08 or gs08.startswith("005010X214")):
        return "277CA"
    return None


def read_999(path: Path, name: str | None = None) -> Ack999:
    label = name or path.name
    reader = X12Reader.open(path, name=label)
    ack: Ack999 | None = None
    for ts in iter_transactions(reader):
        if ts.code != "999":
            raise UnsupportedTransactionError(f"transaction set {ts.code} is not a 999", path=label,
                                              segment=ts.st.index)
        if ack is None:
            ack = Ack999(ts.isa.get(6).strip() if ts.isa else "", ts.isa.get(8).strip() if ts.isa else "")
        group: GroupAck | None = None
        current: SetAck | None = None
        for seg in ts.segments:
            tag = seg.tag
            if tag == "AK1":
                group = GroupAck(seg.get(1), _int(seg.get(2)), seg.get(3))
                ack.groups.append(group)
            elif tag == "AK2" and group is not None:
                current = SetAck(seg.get(1), seg.get(2).strip(), "")
                group.sets.append(current)
            elif tag == "IK3" and current is not None and len(current.reasons) < MAX_ERRORS_KEPT:
                current.reasons.append(f"IK3 {seg.get(1)} segment {seg.get(2)}"
                                       + (f" loop {seg.get(3)}" if seg.get(3) else "") + f" code {seg.get(4)}")
            elif tag == "IK4" and current is not None and len(current.reasons) < MAX_ERRORS_KEPT:
                current.reasons.append(f"IK4 element {seg.get(1)} code {seg.get(3)}")
            elif tag == "IK5" and current is not None:
                current.verdict = seg.get(1)
                current.reasons[:0] = [f"IK5 {c}" for c in seg.elements[1:] if c]
                current = None
            elif tag == "AK9" and group is not None:
                group.verdict = seg.get(1)
                group.counts = (seg.get(2), seg.get(3), seg.get(4))
                group.reasons = [f"AK9 {c}" for c in seg.elements[4:] if c]
                group = None
    if ack is None:
        raise EdiSyntaxError("no 999 transaction set in the file", path=label)
    return ack


def read_277ca(path: Path, name: str | None = None) -> Ack277:
    """Claims of every 277 set; a claim is its 2200D (TRN*2 under an HL of level PT)."""
    label = name or path.name
    reader = X12Reader.open(path, name=label)
    ack: Ack277 | None = None
    for ts in iter_transactions(reader):
        if ts.code != "277":
            raise UnsupportedTransactionError(f"transaction set {ts.code} is not a 277CA", path=label,
                                              segment=ts.st.index)
        if ack is None:
            ack = Ack277(ts.isa.get(6).strip() if ts.isa else "", ts.isa.get(8).strip() if ts.isa else "")
        level = ""
        source_id = ""
        claim: ClaimAck | None = None
        in_line = False
        for seg in ts.segments:
            tag = seg.tag
            if tag == "HL":
                level = seg.get(3)
                claim, in_line = None, False
            elif tag == "NM1" and level == "20" and seg.get(1) in ("PR", "AY"):
                source_id = seg.get(9)
            elif tag == "TRN" and level == "PT" and seg.get(1) == "2":
                claim = ClaimAck(seg.get(2), source_id=source_id)
                ack.claims.append(claim)
                in_line = False
            elif claim is None:
                continue
            elif tag == "SVC":
                in_line = True
            elif tag == "STC":
                parts = seg.composite(1)
                status = ClaimStatus(*(parts + ["", "", ""])[:3])
                (claim.line_statuses if in_line else claim.statuses).append(status)
                for extra in (10, 11):  # STC10 / STC11: more statuses of the same claim
                    more = seg.composite(extra) if seg.get(extra) else []
                    if more:
                        (claim.line_statuses if in_line else claim.statuses).append(
                            ClaimStatus(*(more + ["", "", ""])[:3]))
            elif tag == "REF" and not in_line:
                if seg.get(1) == "1K":
                    claim.payer_claim_number = seg.get(2)
                elif seg.get(1) == "D9":
                    claim.clearinghouse_trace = seg.get(2)
    if ack is None:
        raise EdiSyntaxError("no 277 transaction set in the file", path=label)
    return ack


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
