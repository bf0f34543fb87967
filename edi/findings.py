"""Findings: business and syntax problems reported as values, each with where it was seen."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


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
