"""The work queue: claims whose latest decision needs a person (rejected, held, unmatched), with
the reason in words.

The ledger keeps a decision's reason codes; the words are in the report the job published next to
the 837P (ROOT/outbound/<era>.<sha12>.report.json, found through the ledger's outputs). A report
is read once per version (its size and mtime) and only the reasons of claims not converted are
kept. When the report is gone (picked up and removed), the codes are shown with our words for them.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass
from pathlib import Path

from .store import ConsoleStore, Decision

CODE_WORDS = {
    "ERA101": "a service line of the 835 does not balance (S rule)",
    "ERA102": "the 835 claim does not balance (C rule)",
    "ERA103": "the 835 payment does not balance (T rule)",
    "ERA104": "the 835 has an adjustment of 0",
    "ERA105": "CLP05 differs from the patient-responsibility adjustments",
    "MATCH001": "a remitted service line matches no billed line",
    "MATCH004": "a remitted line matches several billed lines",
    "MATCH006": "a billed line has no adjudication in the 835",
    "COB001": "claim charge differs from the sum of its lines",
    "COB002": "a line does not balance for the primary",
    "COB003": "the claim does not balance for the primary",
    "COB006": "too many adjustments for the 837P",
    "COB010": "the adjudication date is invalid or in the future",
    "console": "sent from the console",
}
STATUS_WORDS = {
    "rejected": "needs a fix before it can be billed",
    "held": "held for review",
    "unmatched": "no original claim for it",
}


@dataclass(frozen=True, slots=True)
class QueueItem:
    decision: Decision
    reasons: tuple[str, ...]  # in words
    billed_to: tuple[str, ...]  # payer ids the original claim was billed to
    report: str | None

    @property
    def claim_id(self) -> str:
        return self.decision.claim_id


class ReasonBook:
    def __init__(self, store: ConsoleStore, outbound: Path) -> None:
        self.store = store
        self.outbound = outbound
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[int, int], dict[str, tuple[str, ...]]]] = {}

    def report_of(self, source_sha256: str) -> Path | None:
        for output in self.store.ledger.outputs_of(source_sha256):
            if output.kind == "report":
                path = self.outbound / Path(output.name).name
                if path.is_file():
                    return path
        return None

    def reasons(self, decision: Decision) -> tuple[tuple[str, ...], str | None]:
        report = self.report_of(decision.source_sha256)
        if report is not None:
            words = self._report(report).get(decision.claim_id)
            if words:
                return words, report.name
        words = tuple(CODE_WORDS.get(c, c) for c in decision.reasons) or (STATUS_WORDS.get(decision.status, ""),)
        return words, report.name if report else None

    def _report(self, path: Path) -> dict[str, tuple[str, ...]]:
        try:
            stat = path.stat()
        except OSError:
            return {}
        version = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._cache.get(str(path))
            if cached and cached[0] == version:
                return cached[1]
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        found = {}
        for claim in data.get("claims", []) if isinstance(data, dict) else []:
            if isinstance(claim, dict) and claim.get("status") != "converted" and claim.get("id"):
                found[str(claim["id"])] = tuple(str(r) for r in claim.get("reasons", []))
        with self._lock:
            self._cache[str(path)] = (version, found)
        return found


def work_queue(store: ConsoleStore, book: ReasonBook, *, statuses=(), payer: str = "", reason: str = "",
               since: dt.date | None = None, until: dt.date | None = None) -> list[QueueItem]:
    decisions = store.queue(statuses=tuple(statuses), payer=payer,
                            since=since.isoformat() if since else "",
                            until=(until + dt.timedelta(days=1)).isoformat() if until else "")
    items = []
    needle = reason.strip().lower()
    for decision in decisions:
        words, report = book.reasons(decision)
        if needle and not any(needle in w.lower() for w in words) and not any(needle in c.lower()
                                                                                for c in decision.reasons):
            continue
        items.append(QueueItem(decision, words, (), report))
    return items
