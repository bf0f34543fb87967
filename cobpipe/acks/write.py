"""TA1 and 999 (005010X231A1) for a file we received, from the findings `cobpipe validate` prints.

Per interchange of the file: a TA1 rejecting it when its envelope is bad (IG-ISA-nnn carries the
TA105 code; the reader's ENV001/ENV002/ENV003 map onto 024/021/001), else one 999 set per functional
group: AK1 names the group (GS01, GS06, GS08), one AK2..IK5 per transaction set with an IK3 for each
segment in error (IK4 for the element) and the set's verdict, and AK9 the group's. The verdict is
what cobpipe did: a set of a file that was processed is accepted (A), or accepted with errors (E)
when the guide found errors; a set of a file that was rejected is rejected (R).

The answer goes from the receiver of the interchange (ISA07/ISA08, GS03) back to its sender, with
control numbers from the ledger (a ControlNumberSource) for that pair.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from edi.errors import EdiError
from edi.findings import Finding
from edi.reader import X12Reader
from edi.segment import Segment
from edi.writer import ControlNumberSource, InterchangeSettings, InterchangeWriter, Party

VERSION_999 = "005010X231A1"
MAX_IK3_PER_SET = 100  # the rest is summed up in the set's verdict
MAX_SETS = 10_000  # AK2 loops one 999 answers for; more sets in one group are counted in AK9 only

# reader findings -> 999 / TA1 codes (the IG-* codes already carry theirs)
_SET_CODES = {"ENV006": "4", "ENV007": "3", "ENV008": "2"}
_GROUP_CODES = {"ENV004": "5", "ENV005": "4"}
_INTERCHANGE_CODES = {"ENV001": "024", "ENV002": "021", "ENV003": "001"}
_ELEMENT = re.compile(r"^[A-Z0-9]{2,3}?(\d{2})(?:-(\d+))?$")
_REJECT_SET_CODE = {"unsupported-transaction": "1", "truncated": "2"}


@dataclass(slots=True)
class _Set:
    st: Segment
    end: int = 0  # index of the SE (or the last segment of the set)
    errors: list[Finding] = field(default_factory=list)


@dataclass(slots=True)
class _Group:
    gs: Segment
    end: int = 0
    sets: list[_Set] = field(default_factory=list)
    set_count: int = 0
    errors: list[Finding] = field(default_factory=list)


@dataclass(slots=True)
class _Interchange:
    isa: Segment
    end: int = 0
    closed: bool = False  # its IEA was read
    groups: list[_Group] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Written:
    text: str
    kinds: tuple[str, ...]  # 'TA1' and/or '999'
    verdicts: tuple[str, ...]  # TA104 / AK901 of each answer
    control_numbers: tuple[tuple[str, int], ...]


def acknowledge(path: Path, findings: list[Finding], numbers: ControlNumberSource, *, accepted: bool,
                reject_reason: str | None = None, now: dt.datetime | None = None) -> Written | None:
    """The TA1/999 text answering the file at `path`; None when it has no ISA to answer (not X12,
    a bare ST..SE fragment): there is nobody to address an acknowledgment to."""
    try:
        interchanges = _structure(path)
    except EdiError:
        return None
    if not interchanges:
        return None
    _place(interchanges, findings)
    out = io.StringIO()
    kinds: list[str] = []
    verdicts: list[str] = []
    control: list[tuple[str, int]] = []
    now = now or dt.datetime.now()
    for ix in interchanges:
        settings = _answer_settings(ix.isa)
        rejected_codes = [_interchange_code(f) for f in ix.errors]
        rejected_codes = [c for c in rejected_codes if c]
        with InterchangeWriter(out, settings, numbers, now=now) as writer:
            if rejected_codes or not ix.groups:
                code = rejected_codes[0] if rejected_codes else "024"
                writer._emit(Segment("TA1", (ix.isa.get(13), ix.isa.get(9), ix.isa.get(10), "R", code)))
                kinds.append("TA1")
                verdicts.append("R")
            else:
                with writer.group("FA", VERSION_999) as group:
                    for fg in ix.groups:
                        with group.transaction("999", VERSION_999) as ts:
                            verdicts.append(_write_999(ts, fg, accepted, reject_reason))
                kinds.append("999")
        control += writer.control_numbers
    return Written(out.getvalue(), tuple(kinds), tuple(verdicts), tuple(control))


def _structure(path: Path) -> list[_Interchange]:
    interchanges: list[_Interchange] = []
    ix: _Interchange | None = None
    group: _Group | None = None
    current: _Set | None = None
    last = 0
    with X12Reader.open(path, name=path.name) as reader:
        for seg in reader:
            last = seg.index
            tag = seg.tag
            if tag == "ISA":
                ix = _Interchange(seg)
                interchanges.append(ix)
                group = current = None
            elif tag == "GS" and ix is not None:
                group = _Group(seg)
                ix.groups.append(group)
                current = None
            elif tag == "ST" and group is not None:
                group.set_count += 1
                current = _Set(seg) if len(group.sets) < MAX_SETS else None
                if current is not None:
                    group.sets.append(current)
            elif tag == "SE" and current is not None:
                current.end = seg.index
                current = None
            elif tag == "GE" and group is not None:
                group.end = seg.index
                group = current = None
            elif tag == "IEA" and ix is not None:
                ix.end, ix.closed = seg.index, True
                ix = group = current = None
            if current is not None:
                current.end = seg.index
    for each in interchanges:  # an envelope never closed reaches the end of the file
        each.end = each.end or last
        for g in each.groups:
            g.end = g.end or each.end
    return interchanges


def _place(interchanges: list[_Interchange], findings: list[Finding]) -> None:
    """Each finding to the set, group or interchange whose segments hold it."""
    for finding in findings:
        code = finding.code
        position = finding.location.segment
        if finding.severity != "error" or position is None:
            continue
        ix = next((i for i in interchanges if i.isa.index <= position <= i.end), interchanges[-1])
        if code.startswith("IG-ISA-") or code in _INTERCHANGE_CODES or (code == "ENV008" and not ix.closed):
            ix.errors.append(finding)  # (an interchange never closed: TA105 023, no IEA)
            continue
        group = next((g for g in ix.groups if g.gs.index <= position <= g.end), None)
        if group is None:
            if code == "ENV008" and ix.groups:  # IEA missing: the interchange is cut short
                ix.errors.append(finding)
            continue
        if code.startswith("IG-GS-") or code in _GROUP_CODES:
            group.errors.append(finding)
            continue
        target = next((s for s in group.sets if s.st.index <= position <= max(s.end, s.st.index)), None)
        if target is not None:
            target.errors.append(finding)
        elif code == "ENV008":
            group.errors.append(finding)


def _answer_settings(isa: Segment) -> InterchangeSettings:
    return InterchangeSettings(
        sender=Party(isa.get(7).strip() or "ZZ", isa.get(8).strip()),
        receiver=Party(isa.get(5).strip() or "ZZ", isa.get(6).strip()),
        usage=(isa.get(15).strip() or "P")[:1])


def _interchange_code(finding: Finding) -> str | None:
    if finding.code.startswith("IG-ISA-"):
        return finding.code.rsplit("-", 1)[1].zfill(3)
    if finding.code == "ENV008":
        return "023"
    return _INTERCHANGE_CODES.get(finding.code)


def _write_999(ts, group: _Group, accepted: bool, reject_reason: str | None) -> str:
    gs = group.gs
    ts.write(Segment("AK1", tuple(v for v in (gs.get(1), gs.get(6), gs.get(8)) if v)))
    accepted_sets = 0
    for each in group.sets:
        verdict = _write_set(ts, each, accepted, reject_reason)
        accepted_sets += verdict in ("A", "E")
    accepted_sets += (group.set_count - len(group.sets)) if accepted else 0
    group_codes = []
    for finding in group.errors:
        code = finding.code.rsplit("-", 1)[1] if finding.code.startswith("IG-GS-") else _GROUP_CODES.get(finding.code)
        if code and code not in group_codes:
            group_codes.append(code)
    if group_codes or accepted_sets == 0:
        verdict = "R"
    elif accepted_sets < group.set_count:
        verdict = "P"
    elif any(s.errors for s in group.sets):
        verdict = "E"
    else:
        verdict = "A"
    accepted_sets = 0 if group_codes else accepted_sets
    ts.write(Segment("AK9", (verdict, str(group.set_count), str(group.set_count), str(accepted_sets),
                             *group_codes[:5])))
    return verdict


def _write_set(ts, each: _Set, accepted: bool, reject_reason: str | None) -> str:
    st = each.st
    ts.write(Segment("AK2", tuple(v for v in (st.get(1), st.get(2), st.get(3)) if v)))
    set_codes: list[str] = []
    segment_errors = 0
    by_segment: dict[int, list[Finding]] = {}
    for finding in each.errors:
        code = finding.code
        if code.startswith("IG-ST-"):
            set_codes.append(code.rsplit("-", 1)[1])
        elif code in _SET_CODES:
            set_codes.append(_SET_CODES[code])
        elif code.startswith(("IG-SEG-", "IG-ELE-")) or code == "ENV013":
            by_segment.setdefault(finding.location.segment or 0, []).append(finding)
    for position in sorted(by_segment)[:MAX_IK3_PER_SET]:
        group = by_segment[position]
        first = group[0]
        tag = (first.location.tag or "")[:3]
        if not tag.isalnum() or position < st.index:
            continue
        segment_errors += 1
        seg_codes = [_ik304(f.code) for f in group if not f.code.startswith("IG-ELE-")]
        elements = [f for f in group if f.code.startswith("IG-ELE-")]
        ik304 = seg_codes[0] if seg_codes else "8"
        loop = first.location.loop or ""
        loop = loop if len(loop) <= 4 and loop.isalnum() else ""
        ts.write(Segment("IK3", (tag, str(position - st.index + 1), loop, ik304)))
        for element in elements[:99]:
            place = _element_position(element.location.element)
            if place is None:
                continue
            ts.write(Segment("IK4", (place, "", element.code.rsplit("-", 1)[1])))
    if segment_errors:
        set_codes.append("5")
    if reject_reason and not accepted and not set_codes:
        set_codes.append(_REJECT_SET_CODE.get(reject_reason, "5"))
    codes = list(dict.fromkeys(set_codes))[:5]
    if not accepted or any(c != "5" for c in codes):
        verdict = "R"
        codes = codes or ["5"]
    elif codes:
        verdict = "E"
    else:
        verdict = "A"
    ts.write(Segment("IK5", (verdict, *codes)))
    return verdict


def _ik304(code: str) -> str:
    if code == "ENV013":
        return "1"
    tail = code.rsplit("-", 1)[1]
    return tail if tail.isdigit() else "8"


def _element_position(element: str | None) -> str | None:
    """'CLM07' -> '7'; 'SV101-2' -> '1:2' (IK401: position in the segment, and the component)."""
    if not element:
        return None
    match = _ELEMENT.match(element)
    if match is None:
        return None
    position = str(int(match.group(1)))
    return f"{position}:{int(match.group(2))}" if match.group(2) else position
