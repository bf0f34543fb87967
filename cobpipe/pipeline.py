"""One conversion pipeline for every channel (CLI, drop folder, SFTP): 835 in, secondary 837P out.

read ERA (streaming) -> match each claim to its original 837P claim -> build the secondary claim ->
balancing gate + implementation-guide check -> write the outbound 837P and the report atomically.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from edi.findings import Finding
from edi.segment import STANDARD, Delimiters
from edi.writer import ControlNumberSource, InterchangeSettings

CONVERTED, SKIPPED, REJECTED, UNMATCHED = "converted", "skipped", "rejected", "unmatched"


class ClaimSource(Protocol):
    """Where original 837P claims are found by CLM01 (a ledger, or files given on the command line)."""

    def claims_for(self, claim_id: str) -> list:  # list[cobpipe.claim837.OriginalClaim]
        ...


class IssuedRegistry(Protocol):
    """Secondary claims already sent, so a claim is never billed to the same payer twice."""

    def was_issued(self, claim_id: str, payer_id: str) -> bool:
        ...


@dataclass(frozen=True, slots=True)
class ConvertOptions:
    bill_zero_balance: bool = False
    today: dt.date | None = None  # adjudication dates after this are rejected; default: today
    delimiters: Delimiters = STANDARD
    interchange: InterchangeSettings | None = None  # default: the original claims' submitter/receiver
    usage: str = "P"  # ISA15
    validate_ig: bool = True


@dataclass(slots=True)
class ClaimDecision:
    """What happened to one remitted claim (CLP01), for the report."""

    claim_id: str
    status: str
    reasons: list[str] = field(default_factory=list)
    payer_id: str | None = None  # the payer the secondary claim was billed to
    era_segment: int | None = None
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = {"id": self.claim_id, "status": self.status, "reasons": list(self.reasons)}
        if self.payer_id:
            data["payer_id"] = self.payer_id
        if self.era_segment is not None:
            data["segment"] = self.era_segment
        if self.findings:
            data["findings"] = [f.to_dict() for f in self.findings]
        return data


@dataclass(slots=True)
class ConvertResult:
    era: Path
    decisions: list[ClaimDecision]
    report: Path
    output: Path | None = None
    control_numbers: list[tuple[str, int]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if any(d.status in (REJECTED, UNMATCHED) for d in self.decisions) else 0


def convert_era(era: Path, claims: ClaimSource, out_dir: Path, *, options: ConvertOptions = ConvertOptions(),
                numbers: ControlNumberSource, issued: IssuedRegistry | None = None,
                coverage=None) -> ConvertResult:
    """Convert one ERA: writes out_dir/<era stem>.837 (when any claim converted) and
    out_dir/<era stem>.report.json, both atomically. Raises edi.errors.EdiError (nothing written)
    when the ERA is unusable."""
    raise NotImplementedError("being written")
