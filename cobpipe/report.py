"""The conversion's report (<era>.report.json): its head and counts, one line of JSON a remitted
claim, then the control numbers and the ERA's findings; and `Prepared`, what the end of a
conversion makes in one read of its decisions (the entries, the counts, the billed rows).
"""
from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .cob.decision import BILLED_OF_ROW, CONVERTED, PAPER, STATUSES, ClaimDecision, report_finding, report_json
from .decision_log import DecisionLog, report_rows
from .fsutil import sha256_of

if TYPE_CHECKING:
    from .pipeline import ConvertResult


class Prepared:
    """What the end of a conversion needs: the report's claim entries, the counts per status, the
    billed decisions and the ERA's SHA-256 (the ledger's name for it). Made while the guide check of
    its output finishes in its own process (the core this process would leave idle), else at the end
    when the decisions are final; a split conversion's process encodes the entries of the decisions
    its converting processes hand it while it waits on them (`catch_up`), the end only the rest.
    `stale` once a decision changes after it was made."""

    __slots__ = ("era", "decisions", "entries", "counts", "billed", "sha256", "stale", "_file", "_statuses",
                 "_billed", "_blocks", "_position", "_failed")

    def __init__(self, era: Path, decisions: DecisionLog) -> None:
        self.era, self.decisions = era, decisions
        self.entries = self.counts = self.billed = self.sha256 = None
        self.stale = False
        self._file = None  # the entries encoded so far (a temporary file), their statuses and billed rows
        self._statuses: list[str] = []
        self._billed: list[tuple] = []
        self._blocks = self._position = 0  # the log's blocks encoded, and their decisions
        self._failed = False  # no temporary file to write them to: the report encodes them at its end

    def catch_up(self) -> bool:
        """The entries of the log's next written block encoded now (one block, a few ms: the caller
        has something else to do as soon as it comes); False when every written block is."""
        decisions = self.decisions
        if self._failed or self._blocks >= decisions.blocks:
            return False
        try:
            rows = decisions.block_rows(self._blocks, self._position)
        except OSError:
            self._failed = True
            return False
        return self._encode_block(rows)

    def block_written(self, number: int, rows: list) -> None:
        """The log's block `number` as it is written out (DecisionLog.on_block), its decisions final
        and their rows made in memory: encoded now when it is the next to encode, instead of read
        back from the log's file (a pickle of every decision's values) at the end."""
        if not self._failed and number == self._blocks:
            self._encode_block(rows)

    def _encode_block(self, rows: list) -> bool:
        """The entries of the next block to encode, from its rows; False when they cannot be written."""
        try:
            self._write(rows)
        except OSError:
            self._failed = True
            return False
        self._blocks += 1
        self._position += len(rows)
        return True

    def prepare(self, sha256: bool = True) -> None:
        """One read of the decisions for all of it (of those not encoded already): the report's
        entries, the counts per status and the billed decisions (the ledger's issued claims); and
        the ERA's SHA-256 (`sha256`: the end of a run without a spare core leaves that to whoever
        needs it)."""
        while self.catch_up():
            pass
        if self._failed:  # the report encodes them at the end, as without
            return
        try:
            self._write(self.decisions.recent_rows())
            if self._file is None:  # (no decision at all)
                self._write(())
        except OSError:
            self._failed = True
            return
        self.entries, self.billed = self._file, self._billed
        counted = Counter(self._statuses)
        self.counts = {status: counted.get(status, 0) for status in STATUSES}
        if sha256:
            self.sha256 = sha256_of(self.era)

    def _write(self, rows: Iterable) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile("w+", encoding="ascii", newline="", prefix="cobpipe-report-")
        _write_entries(rows, self._file, self._statuses, self._billed)

    def give(self, result: ConvertResult) -> None:
        """What was made ahead, to `result`, unless a decision changed since."""
        if not self.stale:
            result.claim_entries, result.billed, result._counts = self.entries, self.billed, self.counts

    def revised(self, changed: int) -> None:
        if changed:
            self.stale = True


def write_report(result: ConvertResult, stream) -> None:
    """The report JSON, written claim by claim so a 100k-claim ERA never sits in memory as one string.

    {"era", "output", "counts", "claims": [{"id", "status", "reasons", ...}], "control_numbers", "findings"}
    """
    write_report_claims(result, stream)
    write_report_tail(result, stream)


def write_report_claims(result: ConvertResult, stream) -> None:
    """The report up to its control numbers (which a batch worker does not know yet): ASCII."""
    head = {"era": result.era.name, "output": result.output.name if result.output else None,
            "paper": result.paper.name if result.paper else None, "counts": result.counts}
    stream.write(json.dumps(head, indent=2)[:-2] + ',\n  "claims": [')
    entries = result.claim_entries
    if entries is not None:  # encoded already, for these decisions as they are
        entries.seek(0)
        while block := entries.read(1 << 20):
            stream.write(block)
    else:
        write_claim_entries(result.decisions, stream)
    stream.write(("\n  " if result.decisions else "") + "],\n")


def write_claim_entries(decisions: Iterable[ClaimDecision], stream) -> tuple[list[str], list[tuple]]:
    """The report's "claims" entries, one line each, after a comma but for the first; returns what
    was read on the way: the decisions' statuses, and the billed ones' (converted or paper)
    `record.billed_row`s. A DecisionLog is read by its rows (no decision made again)."""
    rows = report_rows(decisions)
    statuses: list[str] = []
    billed: list[tuple] = []
    _write_entries(rows, stream, statuses, billed)
    return statuses, billed


def _write_entries(rows: Iterable[tuple], stream, statuses: list[str], billed: list[tuple]) -> None:
    """write_claim_entries of these `report_row()`s after the entries whose statuses are `statuses`
    (a comma first when there are some), their statuses and billed rows added to the lists."""
    entries: list[str] = []  # written _ENTRIES_A_WRITE at a time: one stream write a claim costs more
    for row, findings in rows:
        entries.append(report_json(row, findings))
        status = row[1]
        statuses.append(status)
        if status == CONVERTED or status == PAPER:
            billed.append(BILLED_OF_ROW(row))
        if len(entries) >= _ENTRIES_A_WRITE:
            stream.write(("," if len(statuses) > len(entries) else "") + "\n    " + ",\n    ".join(entries))
            entries.clear()
    if entries:
        stream.write(("," if len(statuses) > len(entries) else "") + "\n    " + ",\n    ".join(entries))


_ENTRIES_A_WRITE = 256


def write_report_tail(result: ConvertResult, stream) -> None:
    tail = {"control_numbers": [{"kind": kind, "number": number} for kind, number in result.control_numbers],
            "findings": [report_finding(f) for f in result.findings]}
    stream.write(json.dumps(tail, indent=2)[2:] + "\n")
