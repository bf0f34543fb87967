"""Findings and value conversion for the 835 readers (era.header: Table 1, era.claims: Table 2).

One `_Context` per transaction set collects its findings (each also on its claim and line) and
turns element text into Decimal amounts and dates, once per distinct text.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal

from edi.findings import CappedFindings, Finding, Location, Severity
from edi.segment import Segment

from .codes import severity_of
from .model import ClaimPayment, ServiceLine

_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)\Z")
_D8 = re.compile(r"\d{8}\Z")
# a composite written with another separator than ISA16: a 2-character qualifier (HC, AD, N4 ...)
# followed by a punctuation character, e.g. "HC>12345>26" in a file whose ISA16 is ":"
_FOREIGN_SEPARATOR = re.compile(r"(?:[A-Z]{2}|N[1-6])([^A-Za-z0-9 ])")


def _elements(seg: Segment, count: int) -> tuple[str, ...]:
    """At least `count` elements (01 first); X12 drops trailing empty elements, these read as ""."""
    elements = seg.elements
    missing = count - len(elements)
    return elements + ("",) * missing if missing > 0 else elements


# Amounts and dates repeat across claims (units "1", round CAS amounts, one date of service for
# many lines), so each distinct text is converted once. Decimal and date are immutable, so sharing
# one value between claims is safe; the caches are bounded to keep streaming in constant memory.
@functools.lru_cache(maxsize=16384)
def _decimal(text: str) -> Decimal | None:
    """An R/N element as Decimal (surrounding blanks tolerated), None when empty or not a number."""
    if _NUMBER.match(text):
        return Decimal(text)
    text = text.strip()
    if text and _NUMBER.match(text):
        return Decimal(text)
    return None


@functools.lru_cache(maxsize=4096)
def _d8(text: str) -> dt.date | None:
    """A D8 element (CCYYMMDD, surrounding blanks tolerated) as a date, None when empty or invalid."""
    text = text.strip()
    if text and _D8.match(text):
        try:
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            pass
    return None


def _quoted(text: str) -> str:
    """An invalid amount or date as findings cite it. A value with letters is withheld: when a segment
    terminator is missing, the next segment (NM1*QC: patient name, member id) runs into the amount
    and date elements, and findings are printed without --show-phi."""
    if any(c.isalpha() for c in text):
        return f"(value of {len(text)} characters with letters, not shown: may be a name or id)"
    return repr(text[:20])


def _label(line: ServiceLine | None) -> str:
    return f"{line.label()}: " if line is not None else ""


class _Context:
    """Findings and value conversion for one transaction set."""

    __slots__ = ("path", "findings", "_separators_reported")

    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[Finding] = CappedFindings()  # bounded on hostile input
        self._separators_reported: set[str] = set()

    def find(self, code: str, message: str, seg: Segment, *, element: str | None = None,
             loop: str | None = None, claim: ClaimPayment | None = None, line: ServiceLine | None = None,
             severity: Severity | None = None) -> Finding:
        finding = Finding(code, message, Location(self.path, seg.index or None, seg.line or None, seg.tag, loop,
                                                  element, claim.claim_id if claim else None),
                          severity or severity_of(code))
        self.attach(finding, claim, line)
        return finding

    def attach(self, finding: Finding, claim: ClaimPayment | None = None, line: ServiceLine | None = None) -> None:
        self.findings.append(finding)
        if claim is not None:
            claim.findings.append(finding)
        if line is not None:
            line.findings.append(finding)

    def number(self, seg: Segment, position: int, *, loop: str | None = None, claim: ClaimPayment | None = None,
               line: ServiceLine | None = None, required: bool = False) -> Decimal | None:
        """A decimal element (R or N type), None when empty or not a number (with a finding)."""
        elements = seg.elements
        text = elements[position - 1] if position <= len(elements) else ""
        if not text and not required:
            return None
        value = _decimal(text)
        if value is not None:
            return value
        text = text.strip()
        element = f"{seg.tag}{position:02d}"
        if not text:
            if required:
                self.find("ERA005", f"{_label(line)}{element} is required but empty", seg, element=element,
                          loop=loop, claim=claim, line=line)
            return None
        self.find("ERA003", f"{_label(line)}{element} {_quoted(text)} is not a number", seg, element=element,
                  loop=loop, claim=claim, line=line)
        return None

    def date(self, seg: Segment, position: int, *, loop: str | None = None, claim: ClaimPayment | None = None,
             line: ServiceLine | None = None, required: bool = False) -> dt.date | None:
        """A D8 date element (CCYYMMDD), None when empty or invalid (with a finding)."""
        elements = seg.elements
        value = _d8(elements[position - 1] if position <= len(elements) else "")
        if value is not None:
            return value
        text = seg.get(position).strip()
        element = f"{seg.tag}{position:02d}"
        if not text:
            if required:
                self.find("ERA005", f"{_label(line)}{element} date is required but empty", seg, element=element,
                          loop=loop, claim=claim, line=line)
            return None
        self.find("ERA004", f"{_label(line)}{element} {_quoted(text)} is not a valid CCYYMMDD date", seg,
                  element=element, loop=loop, claim=claim, line=line)
        return None

    def composite(self, seg: Segment, position: int, hint: re.Pattern[str] = _FOREIGN_SEPARATOR) -> list[str]:
        """Components of a composite element, tolerating a separator other than ISA16 (ERA006):
        `hint` matches the qualifier and captures the separator the sender used instead."""
        elements = seg.elements
        value = elements[position - 1] if position <= len(elements) else ""
        if not value:
            return []
        component = seg.delimiters.component
        if component in value:
            return value.split(component)
        match = hint.match(value)
        if match and len(value) > 3:
            other = match.group(1)
            if other not in self._separators_reported:
                self._separators_reported.add(other)
                self.find("ERA006", f"{seg.tag}{position:02d} uses {other!r} as component separator but ISA16 "
                          f"is {component!r}; composites split on {other!r} (first seen here)", seg,
                          element=f"{seg.tag}{position:02d}")
            return value.split(other)
        return [value]

