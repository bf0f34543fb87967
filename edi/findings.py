"""Findings: business and syntax problems reported as values, each with where it was seen."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from .errors import EdiSyntaxError


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding was seen: file, 1-based segment number in the file, line, and X12 context.

    Only structural identifiers live here (claim ids, loop ids, element names); never PHI.
    """

    path: str | None = None
    segment: int | None = None
    line: int | None = None
    tag: str | None = None
    loop: str | None = None
    element: str | None = None
    claim: str | None = None

    @classmethod
    def of(cls, seg: Any, path: str | None = None, **extra: Any) -> "Location":
        """The location of a reader Segment (anything with tag, index and line)."""
        return cls(path=path, segment=seg.index, line=seg.line, tag=seg.tag, **extra)

    def __str__(self) -> str:
        parts: list[str] = []
        if self.path:
            parts.append(self.path)
        if self.segment is not None:
            parts.append(f"seg {self.segment}" + (f" ({self.tag})" if self.tag else ""))
        elif self.tag:
            parts.append(self.tag)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.loop:
            parts.append(f"loop {self.loop}")
        if self.element:
            parts.append(self.element)
        if self.claim:
            parts.append(f"claim {self.claim}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: a stable code (listed in the README), a message and where it was seen."""

    code: str
    message: str
    location: Location = field(default_factory=Location)
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = str(self.location)
        return f"{where}: {self.code} {self.message}" if where else f"{self.code} {self.message}"

    def with_location(self, **changes: Any) -> "Finding":
        return replace(self, location=replace(self.location, **changes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "segment": self.location.segment,
            "location": self.location.to_dict(),
        }


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


# --- bounded findings for hostile input ------------------------------------------------------------

FINDINGS_PER_CODE = 100
"""Findings kept per code in one file; the rest are counted in one summary finding of that code."""
JUNK_LIMIT = 10_000
"""Segments that are not segments or not expected anywhere (JUNK_CODES) before a file is refused."""
JUNK_CODES = frozenset({"ENV013", "ERA008", "IG-SEG-1", "C837008"})


class TooManyFindings(EdiSyntaxError):
    """A file with more junk segments than JUNK_LIMIT: refused early, in bounded memory and time."""


def _too_many(finding: Finding, limit: int) -> TooManyFindings:
    loc = finding.location
    return TooManyFindings(f"refused: more than {limit:,} segments that are not segments or not expected "
                           f"here ({finding.code}); the file is not usable", path=loc.path,
                           segment=loc.segment, line=loc.line)


class CappedFindings(list):
    """A list of findings that keeps at most `per_code` findings of each code; the next one of a code
    becomes a summary finding ("... and N more") whose count goes up with every finding dropped,
    so memory stays bounded whatever the input. More than `junk_limit` findings with a code of
    JUNK_CODES raise TooManyFindings (an EdiSyntaxError naming the file and the segment).

    `per_code=None` and `junk_limit=None` keep everything (a list like any other). `keep()` adds a
    finding whatever the cap (e.g. "truncated", which callers look for).
    """

    __slots__ = ("per_code", "junk_limit", "counts", "junk", "_summaries")

    def __init__(self, findings=(), *, per_code: int | None = FINDINGS_PER_CODE,
                 junk_limit: int | None = JUNK_LIMIT) -> None:
        super().__init__()
        self.per_code = per_code
        self.junk_limit = junk_limit
        self.counts: dict[str, int] = {}
        self.junk = 0
        self._summaries: dict[str, Finding] = {}
        self.extend(findings)

    def append(self, finding: Finding) -> None:  # type: ignore[override]
        code = finding.code
        if code in JUNK_CODES:
            self.junk += 1
            if self.junk_limit is not None and self.junk > self.junk_limit:
                raise _too_many(finding, self.junk_limit)
        n = self.counts.get(code, 0) + 1
        self.counts[code] = n
        per_code = self.per_code
        if per_code is None or n <= per_code:
            list.append(self, finding)
            return
        summary = self._summaries.get(code)
        more = n - per_code
        if summary is None:
            summary = Finding(code, "", finding.location, finding.severity)
            self._summaries[code] = summary
            list.append(self, summary)
        # a summary is the one finding that changes after it was made: only its count
        object.__setattr__(summary, "message", f"... and {more:,} more {code} findings not listed "
                                               f"(the first {per_code} are)")

    def keep(self, finding: Finding) -> None:
        """Add `finding` whatever the cap."""
        list.append(self, finding)

    def extend(self, findings) -> None:  # type: ignore[override]
        for finding in findings:
            self.append(finding)

    def __iadd__(self, findings):  # type: ignore[override]
        self.extend(findings)
        return self

    def __reduce__(self):  # pickling (decision logs, worker processes) keeps the counts and summaries
        return (_restore_capped, (list(self), self.per_code, self.junk_limit, dict(self.counts), self.junk,
                                  dict(self._summaries)))

    @property
    def dropped(self) -> int:
        """How many findings were counted but not kept."""
        return sum(max(0, n - self.per_code) for n in self.counts.values()) if self.per_code else 0


def _restore_capped(items, per_code, junk_limit, counts, junk, summaries) -> CappedFindings:
    restored = CappedFindings(per_code=per_code, junk_limit=junk_limit)
    list.extend(restored, items)
    restored.counts, restored.junk, restored._summaries = counts, junk, summaries
    return restored
