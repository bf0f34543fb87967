"""Table 2 of the 835 (005010X221A1): a claim (2100, CLP) with its service lines (2110, SVC), their
CAS adjustments, parties, dates, references and amounts; and the PLB provider adjustments.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from edi.segment import Segment

from .context import _Context, _decimal, _elements, _label
from .header import _add_ref, _contact
from .model import (Adjustment, Cas, ClaimPayment, Mia, Moa, Party, PlbAdjustment, Procedure, ProviderAdjustment,
                    Remark, ServiceLine)
from .status import CLAIM_STATUS

GROUP_CODES = frozenset({"CO", "OA", "PI", "PR"})
_CLAIM_END = frozenset({"CLP", "LX", "TS3", "TS2", "PLB", "SE"})
_LINE_TAGS = frozenset({"DTM", "CAS", "REF", "AMT", "QTY", "LQ"})
# PLB03-1 reason codes are two letters or digits (L6, WO, 50, 72, B2 ...)
_FOREIGN_SEPARATOR_PLB = re.compile(r"[A-Z0-9]{2}([^A-Za-z0-9 ])")



def _read_claim(clp: Segment, segments: Iterator[Segment], ctx: _Context,
                lx: str | None) -> tuple[ClaimPayment, Segment | None]:
    """Loop 2100 from its CLP up to the next CLP, LX, TS3/TS2, PLB or SE, with its 2110 loops; with
    the segment that ended it (None at the end of the set)."""
    # the elements as text (CLP01-14); amounts are converted below, with their findings
    (claim_id, status, _charge, _paid, _patient_responsibility, filing_indicator, payer_claim_number,
     facility_code, frequency, patient_status, drg, drg_weight_text, discharge_fraction_text,
     yes_no) = _elements(clp, 14)[:14]
    claim = ClaimPayment(claim_id, status, None, None, filing_indicator=filing_indicator,
                         payer_claim_number=payer_claim_number, facility_code=facility_code, frequency=frequency,
                         patient_status=patient_status, drg=drg, yes_no=yes_no, lx=lx, segment=clp.index,
                         line=clp.line)
    loop = "2100"
    for position, value in ((1, claim_id), (2, status)):
        if not value:
            ctx.find("ERA005", f"CLP{position:02d} is required but empty", clp, element=f"CLP{position:02d}",
                     loop=loop, claim=claim)
    claim.charge = ctx.number(clp, 3, loop=loop, claim=claim, required=True)
    claim.paid = ctx.number(clp, 4, loop=loop, claim=claim, required=True)
    claim.patient_responsibility = ctx.number(clp, 5, loop=loop, claim=claim)
    if drg_weight_text:  # CLP12 and CLP13 are institutional: mostly absent
        claim.drg_weight = ctx.number(clp, 12, loop=loop, claim=claim)
    if discharge_fraction_text:
        claim.discharge_fraction = ctx.number(clp, 13, loop=loop, claim=claim)
    if status and status not in CLAIM_STATUS:
        ctx.find("ERA012", f"CLP02 {status[:10]!r} is not a claim status code", clp, element="CLP02",
                 loop=loop, claim=claim)

    line: ServiceLine | None = None
    end: Segment | None = None
    # most segments of a claim belong to a service line, so that case is tested first
    for seg in segments:
        tag = seg.tag
        if line is not None and tag in _LINE_TAGS:
            _line_segment(seg, ctx, claim, line)
        elif tag == "SVC":
            line = _read_svc(seg, ctx, claim, len(claim.lines) + 1)
            claim.lines.append(line)
        elif tag in _CLAIM_END:
            end = seg
            break
        else:
            if line is not None and tag in ("NM1", "MIA", "MOA", "PER"):
                ctx.find("ERA008", f"{tag} after a service line (SVC); read as claim-level (2100)", seg,
                         loop="2110", claim=claim, line=line)
            _claim_segment(seg, ctx, claim)
    # claim dates apply to lines without their own DTM; set once the claim (and its DTMs) is read
    period = claim.statement_period
    for each in claim.lines:
        each.claim_period = period
    return claim, end


def _claim_segment(seg: Segment, ctx: _Context, claim: ClaimPayment) -> None:
    tag, loop = seg.tag, "2100"
    if tag == "CAS":
        cas = _cas(seg, ctx, loop, claim, None)
        if cas is not None:
            claim.cas.append(cas)
    elif tag == "NM1":
        _party(seg, claim)
    elif tag == "DTM":
        claim.dates.setdefault(seg.get(1), ctx.date(seg, 2, loop=loop, claim=claim))
    elif tag == "REF":
        _add_ref(claim.refs, seg)
    elif tag == "AMT":
        claim.amounts.setdefault(seg.get(1), ctx.number(seg, 2, loop=loop, claim=claim))
    elif tag == "QTY":
        claim.quantities.setdefault(seg.get(1), ctx.number(seg, 2, loop=loop, claim=claim))
    elif tag == "MOA":
        claim.moa = Moa(ctx.number(seg, 1, loop=loop, claim=claim), ctx.number(seg, 2, loop=loop, claim=claim),
                        tuple(c for c in (seg.get(i) for i in range(3, 8)) if c),
                        ctx.number(seg, 8, loop=loop, claim=claim), ctx.number(seg, 9, loop=loop, claim=claim),
                        seg.index)
    elif tag == "MIA":
        claim.mia = Mia(ctx.number(seg, 1, loop=loop, claim=claim), ctx.number(seg, 2, loop=loop, claim=claim),
                        ctx.number(seg, 3, loop=loop, claim=claim), ctx.number(seg, 4, loop=loop, claim=claim),
                        tuple(c for c in (seg.get(i) for i in (5, 20, 21, 22, 23)) if c), seg.elements, seg.index)
    elif tag == "PER":
        claim.contacts.append(_contact(seg))
    elif tag == "LQ":
        ctx.find("ERA008", "LQ outside a service line; ignored", seg, loop=loop, claim=claim)
    else:
        ctx.find("ERA008", f"{tag} not expected in a claim (2100); ignored", seg, loop=loop, claim=claim)


_PARTY_SLOTS = {"QC": "patient", "IL": "insured", "74": "corrected_insured", "82": "rendering_provider",
                "TT": "crossover_carrier", "PR": "corrected_payer", "GB": "other_subscriber"}


def _party(seg: Segment, claim: ClaimPayment) -> None:
    entity, entity_type, last, first, middle, _prefix, suffix, id_qualifier, party_id = _elements(seg, 9)[:9]
    party = Party(entity, entity_type, last, first, middle, suffix, id_qualifier, party_id, seg.index, seg.line)
    slot = _PARTY_SLOTS.get(party.entity)
    if slot is not None and getattr(claim, slot) is None:
        setattr(claim, slot, party)
    else:
        claim.other_parties.append(party)


def _procedure(parts: list[str]) -> Procedure:
    if not parts:
        return Procedure()
    count = len(parts)
    if count <= 2:  # qualifier and code, the common case: no modifiers to collect
        return Procedure(parts[0], parts[1] if count > 1 else "")
    return Procedure(parts[0], parts[1], tuple(m for m in parts[2:6] if m), parts[6] if count > 6 else "")


def _read_svc(seg: Segment, ctx: _Context, claim: ClaimPayment, ordinal: int) -> ServiceLine:
    """SVC: 01 procedure composite, 02 charge, 03 paid, 04 revenue code, 05 units, 06 original procedure,
    07 original units."""
    loop = "2110"
    # the elements as text (SVC01-07); amounts and composites are converted below, with their findings
    (procedure_text, _charge, _paid, revenue_code, units_text, original_procedure_text,
     original_units_text) = _elements(seg, 7)[:7]
    line = ServiceLine(ordinal, _procedure(ctx.composite(seg, 1)), None, None, revenue_code=revenue_code,
                       segment=seg.index, line=seg.line)
    problems: list[str] = []
    if not procedure_text:
        ctx.find("ERA005", f"{line.label()}: SVC01 is required but empty", seg, element="SVC01", loop=loop,
                 claim=claim, line=line)
    elif not line.procedure.code:
        problems.append(f"SVC01 {line.procedure.qualifier[:4]!r} has no procedure code")
    if len(seg.elements) > 7:
        problems.append(f"SVC has {len(seg.elements)} elements where 7 are allowed")
    line.charge = ctx.number(seg, 2, loop=loop, claim=claim, line=line, required=True)
    line.paid = ctx.number(seg, 3, loop=loop, claim=claim, line=line, required=True)
    if revenue_code and not revenue_code.isdigit():
        problems.append("SVC04 is not a revenue code")
    # SVC05-07 are mostly absent; an absent element is None (or an empty Procedure) without a finding
    if units_text:
        line.units = ctx.number(seg, 5, loop=loop, claim=claim, line=line)
    if original_procedure_text:
        line.original_procedure = _procedure(ctx.composite(seg, 6))
        if line.original_procedure and not line.original_procedure.code:
            problems.append("SVC06 has no procedure code")
    if original_units_text:
        line.original_units = ctx.number(seg, 7, loop=loop, claim=claim, line=line)
    if problems:
        ctx.find("ERA007", f"{line.label()}: malformed SVC: {'; '.join(problems)}; elements may be shifted", seg,
                 element="SVC01", loop=loop, claim=claim, line=line)
    return line


def _line_segment(seg: Segment, ctx: _Context, claim: ClaimPayment, line: ServiceLine) -> None:
    tag, loop = seg.tag, "2110"
    if tag == "CAS":
        cas = _cas(seg, ctx, loop, claim, line)
        if cas is not None:
            line.cas.append(cas)
        return
    qualifier = seg.elements[0] if seg.elements else ""
    if tag == "DTM":
        line.dates.setdefault(qualifier, ctx.date(seg, 2, loop=loop, claim=claim, line=line))
    elif tag == "REF":
        _add_ref(line.refs, seg)
    elif tag == "AMT":
        line.amounts.setdefault(qualifier, ctx.number(seg, 2, loop=loop, claim=claim, line=line))
    elif tag == "QTY":
        line.quantities.setdefault(qualifier, ctx.number(seg, 2, loop=loop, claim=claim, line=line))
    elif tag == "LQ":
        if seg.get(2):
            line.remarks.append(Remark(seg.get(2), f"LQ*{qualifier}", seg.index))


def _cas(seg: Segment, ctx: _Context, loop: str, claim: ClaimPayment, line: ServiceLine | None) -> Cas | None:
    """CAS: CAS01 group, then up to 6 reason (CARC) / amount / quantity triplets."""
    elements = seg.elements
    count = len(elements)
    group = elements[0] if count else ""
    if not group:
        ctx.find("ERA005", f"{_label(line)}CAS01 group code is required but empty", seg, element="CAS01",
                 loop=loop, claim=claim, line=line)
    elif group not in GROUP_CODES:
        ctx.find("ERA010", f"{_label(line)}CAS01 {group[:4]!r} is not a 5010 835 group code (CO, OA, PI, PR)",
                 seg, element="CAS01", loop=loop, claim=claim, line=line)
    adjustments: list[Adjustment] = []
    # a triplet cut short at the end (or the first one of an empty CAS) reads as empty elements
    padded = elements + ("", "", "", "")
    triplet = 0
    for base in range(2, max(count + 1, 3), 3):
        triplet += 1
        reason, amount_text, quantity_text = padded[base - 1:base + 2]
        if not reason and not amount_text and not quantity_text:
            continue
        if not reason or not amount_text:
            missing = f"CAS{base:02d} reason" if not reason else f"CAS{base + 1:02d} amount"
            ctx.find("ERA009",
                     f"{_label(line)}CAS triplet {triplet} has no {missing.split()[1]} ({missing.split()[0]})", seg,
                     element=missing.split()[0], loop=loop, claim=claim, line=line)
            continue
        amount = _decimal(amount_text)
        if amount is None:  # not a number: ctx.number says so in a finding
            ctx.number(seg, base + 1, loop=loop, claim=claim, line=line)
            continue
        quantity = ctx.number(seg, base + 2, loop=loop, claim=claim, line=line) if quantity_text else None
        adjustments.append(Adjustment(group, reason, amount, quantity, seg.index, triplet))
    if triplet > 6:
        ctx.find("ERA009", f"{_label(line)}CAS has {triplet} triplets; at most 6 are allowed (all read)", seg,
                 loop=loop, claim=claim, line=line)
    if not adjustments:
        if len(seg.elements) <= 1:
            ctx.find("ERA009", f"{_label(line)}CAS has no adjustment", seg, loop=loop, claim=claim, line=line)
        return None
    return Cas(group, tuple(adjustments), seg.index, seg.line)


def _plb(seg: Segment, ctx: _Context) -> ProviderAdjustment:
    """PLB: 01 provider id, 02 fiscal period date, then up to 6 (reason:reference, amount) pairs."""
    if not seg.get(1):
        ctx.find("ERA005", "PLB01 provider identifier is required but empty", seg, element="PLB01")
    fiscal = ctx.date(seg, 2, required=True)
    pairs: list[PlbAdjustment] = []
    for pair, base in enumerate(range(3, max(len(seg.elements) + 1, 4), 2), start=1):
        parts = ctx.composite(seg, base, _FOREIGN_SEPARATOR_PLB)
        amount_text = seg.get(base + 1)
        if not parts and not amount_text:
            continue
        if not parts or not parts[0] or not amount_text:
            what = f"PLB{base:02d} reason" if not parts or not parts[0] else f"PLB{base + 1:02d} amount"
            ctx.find("ERA005", f"PLB adjustment {pair} has no {what.split()[1]}", seg, element=what.split()[0])
            continue
        amount = ctx.number(seg, base + 1)
        if amount is None:
            continue
        pairs.append(PlbAdjustment(parts[0], parts[1] if len(parts) > 1 else "", amount, pair))
    return ProviderAdjustment(seg.get(1), fiscal, tuple(pairs), seg.index, seg.line)

