"""What the drop-folder step says about one file, and the words it says it in.

`JobOptions` (the settings every channel passes down), `Status` and `Outcome` (what became of a
file: the channels count and log these), `Reject` (raised inside the step for unusable input,
turned into a rejected/ file by rejection.py) and the claim-id fields of its log lines. Every
module of the step imports this one; it imports none of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from edi.errors import EdiError, EdiSyntaxError, UnsupportedTransactionError
from edi.findings import TooManyFindings
from edi.reader import SegmentCountError

from .. import pipeline
from ..ledger import FileRecord, Ledger


class Status(StrEnum):
    STORED = "stored"  # 837P: claims stored
    CONVERTED = "converted"  # 835: every claim converted or skipped
    PARTIAL = "partial"  # 835: some claims rejected or unmatched (the report says which)
    DUPLICATE = "duplicate"  # same bytes already processed: archived, nothing new
    REJECTED = "rejected"  # moved to rejected/ with a reason file
    WAITING = "waiting"  # not complete yet (no IEA): left in inbound
    ERROR = "error"  # configuration or I/O problem: left in inbound for the next attempt
    GONE = "gone"  # vanished before it could be taken (another worker took it)
    IGNORED = "ignored"  # hidden/temporary name, or not a regular file


@dataclass(frozen=True, slots=True)
class JobOptions:
    """Settings shared by watch, run and sftp-serve (explicit, never global)."""

    convert: pipeline.ConvertOptions = pipeline.ConvertOptions()
    coverage: Path | None = None  # the coverage CSV (re-read for each 835, so edits apply)
    truncated_after: float = 900.0  # seconds without an IEA before a file is rejected as truncated
    settle: float = 2.0  # seconds unchanged before a file seen without a close event is taken
    acknowledge: bool = False  # TA1/999 for ROOT/inbound files too (partner homes always get them)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one inbound file."""

    name: str
    status: Status
    sha256: str | None = None
    kind: str | None = None  # '837P', '835' or None when unknown
    reason: str | None = None  # rejection reason code
    message: str | None = None  # PHI-free detail (our own error messages only)
    moved_to: Path | None = None
    outputs: tuple[Path, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        data = {"file": self.name, "status": str(self.status)}
        for key in ("sha256", "kind", "reason", "message"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.moved_to:
            data["moved_to"] = str(self.moved_to)
        if self.outputs:
            data["outputs"] = [str(p) for p in self.outputs]
        if self.counts:
            data["counts"] = dict(self.counts)
        return data


class Reject(Exception):
    """The input is unusable for `reason`; carries the PHI-free details (rejection.py files it)."""

    def __init__(self, reason: str, message: str, kind: str | None = None, exc: BaseException | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.kind = kind
        self.exc = exc


def reason_of(exc: EdiError) -> str:
    """The rejection reason code of a reader error."""
    if isinstance(exc, TooManyFindings):
        return "too-many-errors"
    if isinstance(exc, SegmentCountError):
        return "bad-counts"
    if isinstance(exc, UnsupportedTransactionError):
        return "unsupported-transaction"
    if isinstance(exc, EdiSyntaxError):
        return "not-x12"
    return "unusable"


# claim ids one log event lists: a log line stays small enough for log shippers (journald cuts
# lines at 48 KB, Docker at 16 KB) on a 100k-claim ERA; the report lists every claim
LOGGED_CLAIMS_MAX = 200


def claim_fields(claim_ids) -> dict:
    """event() fields: `claims`, the first LOGGED_CLAIMS_MAX ids, and `claims_total` when there were more."""
    ids: list[str] = []
    total = 0
    for total, claim_id in enumerate(claim_ids, 1):
        if total <= LOGGED_CLAIMS_MAX:
            ids.append(claim_id)
    return {"claims": ids or None, "claims_total": total if total > LOGGED_CLAIMS_MAX else None}


def committed(ledger: Ledger, sha: str) -> FileRecord | None:
    """The ledger's FileRecord of these bytes when they were processed already, else None. A
    rejected file's bytes are tried again (the cause may have been fixed: a coverage file, a bug)."""
    known = ledger.file(sha)
    return known if known is not None and known.outcome != "rejected" else None
