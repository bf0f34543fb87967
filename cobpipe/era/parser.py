"""Streaming 835 (005010X221A1) parser: one Remittance per ST..SE, claims read one at a time.

    for remit in read_remittances(path):     # RemittanceReader; raises EdiError for unusable files
        remit.header                           # Table 1, parsed before the first claim
        for claim in remit.claims():           # ClaimPayment (2100) with its lines (2110)
            ...
        remit.plbs, remit.findings, remit.totals   # complete once claims() is exhausted

Only the claim being read is held in memory, so a 100k-claim 835 streams in constant memory
(`parse_remittances` keeps the claims, for small files and tests). Moving to the next remittance
reads whatever the caller left of the previous one, so its totals and T-rule check are always
complete. Bad content never raises: it becomes a Finding (codes in cobpipe.era.codes) and reading
goes on. Only a file that is not X12, or (with require_835) a transaction set that is not an 835,
raises an edi.errors.EdiError.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from edi.errors import EdiError, EdiSyntaxError, UnsupportedTransactionError
from edi.findings import CappedFindings, Finding, Location, Severity
from edi.reader import TransactionSet, X12Reader, iter_transactions
from edi.segment import Segment

from . import balance
from .codes import severity_of
from .model import (Address, Adjustment, Cas, ClaimPayment, Contact, Envelope, Mia, Moa, Party, Payee, Payer,
                    Payment, PlbAdjustment, Procedure, ProviderAdjustment, Remark, RemittanceHeader,
                    RemittanceTotals, ServiceLine, Trace, ZERO)
from .status import CLAIM_STATUS

VERSION = "005010X221A1"
GROUP_CODES = frozenset({"CO", "OA", "PI", "PR"})

_HEADER_END = frozenset({"LX", "TS3", "TS2", "CLP", "PLB", "SE"})
_CLAIM_END = frozenset({"CLP", "LX", "TS3", "TS2", "PLB", "SE"})
_LINE_TAGS = frozenset({"DTM", "CAS", "REF", "AMT", "QTY", "LQ"})
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)\Z")
_D8 = re.compile(r"\d{8}\Z")
# a composite written with another separator than ISA16: a 2-character qualifier (HC, AD, N4 ...)
# followed by a punctuation character, e.g. "HC>12345>26" in a file whose ISA16 is ":"
_FOREIGN_SEPARATOR = re.compile(r"(?:[A-Z]{2}|N[1-6])([^A-Za-z0-9 ])")
# PLB03-1 reason codes are two letters or digits (L6, WO, 50, 72, B2 ...)
_FOREIGN_SEPARATOR_PLB = re.compile(r"[A-Z0-9]{2}([^A-Za-z0-9 ])")


# Loops end at the next loop's first segment: each loop reader takes the segment iterator, reads
# on until a segment that is not its own, and returns that segment with what it read, so the
# caller starts from it. (No push-back cursor: a method call per segment costs more than the
# dispatch it serves.)


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


# --- Table 1 ---------------------------------------------------------------------------------


def _envelope(ts: TransactionSet) -> Envelope:
    isa, gs, st = ts.isa, ts.gs, ts.st
    return Envelope(
        interchange_sender_qualifier=isa.get(5).strip() if isa else "",
        interchange_sender=isa.get(6).strip() if isa else "",
        interchange_receiver_qualifier=isa.get(7).strip() if isa else "",
        interchange_receiver=isa.get(8).strip() if isa else "",
        interchange_control_number=isa.get(13).strip() if isa else "",
        usage=isa.get(15).strip() if isa else "",
        group_sender=gs.get(2) if gs else "",
        group_receiver=gs.get(3) if gs else "",
        group_control_number=gs.get(6) if gs else "",
        version=ts.version,
        control_number=st.get(2),
        segment=st.index,
    )


def _add_ref(refs: dict[str, list[str]], seg: Segment) -> None:
    qualifier, value = _elements(seg, 2)[:2]
    refs.setdefault(qualifier, []).append(value)


def _contact(seg: Segment) -> Contact:
    pairs = tuple((seg.get(i), seg.get(i + 1)) for i in (3, 5, 7) if seg.get(i) or seg.get(i + 1))
    return Contact(seg.get(1), seg.get(2), pairs, seg.index)


def _read_header(segments: Iterator[Segment], ctx: _Context,
                 ts: TransactionSet) -> tuple[RemittanceHeader, Segment | None]:
    """Table 1: BPR, TRN, CUR, REF, DTM*405, loop 1000A (N1*PR) and 1000B (N1*PE); with the first
    segment after it (None at the end of the set)."""
    header = RemittanceHeader(envelope=_envelope(ts))
    st = ts.st
    if ts.version != VERSION:
        ctx.find("ERA002", f"implementation guide {ts.version or 'missing'!r}, expected {VERSION}; read as a "
                 "5010 835", st, element="ST03")
    party: Payer | Payee | None = None
    in_party_loop = False
    seen: set[str] = set()
    end: Segment | None = None
    for seg in segments:
        tag = seg.tag
        if tag in _HEADER_END:
            end = seg
            break
        if tag == "ST":
            continue
        if tag == "BPR" and "BPR" not in seen:
            seen.add("BPR")
            header.payment = _payment(seg, ctx)
        elif tag == "TRN" and "TRN" not in seen:
            seen.add("TRN")
            header.trace = Trace(seg.get(1), seg.get(2), seg.get(3), seg.get(4), seg.index)
        elif tag == "CUR":
            header.currency = seg.get(2)
        elif tag == "REF":
            if in_party_loop:
                if party is not None:
                    _add_ref(party.refs, seg)
            else:
                _add_ref(header.refs, seg)
                if seg.get(1) == "EV":
                    header.receiver_id = seg.get(2)
                elif seg.get(1) == "F2":
                    header.version_id = seg.get(2)
        elif tag == "DTM" and seg.get(1) == "405":
            header.production_date = ctx.date(seg, 2)
        elif tag == "N1":
            in_party_loop = True
            entity = seg.get(1)
            if entity == "PR" and "N1*PR" not in seen:
                seen.add("N1*PR")
                party = header.payer
                header.payer.segment = seg.index
            elif entity == "PE" and "N1*PE" not in seen:
                seen.add("N1*PE")
                party = header.payee
                header.payee.segment = seg.index
            else:
                party = None
                ctx.find("ERA008", f"N1*{entity} is not a 1000A (PR) or 1000B (PE) loop; ignored", seg,
                         element="N101")
                continue
            party.name, party.id_qualifier, party.id = seg.get(2), seg.get(3), seg.get(4)
        elif tag == "N3" and party is not None:
            party.address.lines = tuple(v for v in (seg.get(1), seg.get(2)) if v)
        elif tag == "N4" and party is not None:
            address: Address = party.address
            address.city, address.state, address.postal_code = seg.get(1), seg.get(2), seg.get(3)
            address.country, address.country_subdivision = seg.get(4), seg.get(7)
        elif tag == "PER" and isinstance(party, Payer):
            party.contacts.append(_contact(seg))
        elif tag == "RDM" and isinstance(party, Payee):
            continue  # remittance delivery method: nothing the COB mapping or the analyst needs
        elif party is None and in_party_loop and tag in ("N3", "N4", "PER", "RDM"):
            continue  # belongs to an N1 already reported
        else:
            ctx.find("ERA008", f"{tag} not expected in the 835 header; ignored", seg)
    for needed, what in (("BPR", "BPR (financial information)"), ("TRN", "TRN (reassociation trace number)"),
                         ("N1*PR", "N1*PR (payer, loop 1000A)"), ("N1*PE", "N1*PE (payee, loop 1000B)")):
        if needed not in seen:
            ctx.find("ERA011", f"{what} missing", st)
    return header, end


def _payment(seg: Segment, ctx: _Context) -> Payment:
    credit_debit = seg.get(3)
    if credit_debit not in ("C", "D"):
        ctx.find("ERA013", f"BPR03 {credit_debit or 'empty'!r} is not C or D; read as credit", seg, element="BPR03")
        credit_debit = "C"
    return Payment(
        handling=seg.get(1),
        amount=ctx.number(seg, 2, required=True),
        credit_debit=credit_debit,
        method=seg.get(4),
        format=seg.get(5),
        date=ctx.date(seg, 16),
        segment=seg.index,
        line=seg.line,
    )


# --- Table 2: claims -------------------------------------------------------------------------


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


# --- the remittance --------------------------------------------------------------------------


class Remittance:
    """One 835 transaction set (ST..SE): header now, claims streamed, PLBs and totals at the end.

    `findings` holds every finding of this transaction set (header, claims, lines, PLB, T rule);
    each claim's own findings are also on `claim.findings`.
    """

    __slots__ = ("header", "findings", "plbs", "totals", "path", "number", "_ctx", "_segments",
                 "_after_header", "_stream", "_kept", "_started", "_lx")

    def __init__(self, ts: TransactionSet, path: str, number: int, *, keep_claims: bool = False) -> None:
        self.path = path
        self.number = number  # 1-based position of the transaction set in the file
        self._ctx = _Context(path)
        self.findings = self._ctx.findings
        self.plbs: list[ProviderAdjustment] = []
        self.totals = RemittanceTotals()
        self._segments = iter(ts.segments)
        self.header, self._after_header = _read_header(self._segments, self._ctx, ts)
        self._kept: list[ClaimPayment] | None = [] if keep_claims else None
        self._started = False
        self._lx: str | None = None
        self._stream = self._read_claims()

    def __repr__(self) -> str:
        return f"<Remittance ST02={self.header.control_number!r} {self.path}>"

    @property
    def complete(self) -> bool:
        """Whether every claim has been read (totals, PLBs and the T rule are final)."""
        return self.totals.complete

    def claims(self) -> Iterator[ClaimPayment]:
        """The claims (2100) one at a time, each with its lines. A streamed remittance can be read
        once; one from `parse_remittances` any number of times."""
        if self._kept is not None and self.totals.complete:
            return iter(self._kept)
        if self._started:
            raise RuntimeError("the claims of a streamed remittance can be read once")
        self._started = True
        return self._follow()

    def _follow(self) -> Iterator[ClaimPayment]:
        for claim in self._stream:
            if self._kept is not None:
                self._kept.append(claim)
            yield claim

    def finish(self) -> None:
        """Read whatever claims are left (discarding them unless kept), so totals and PLBs are complete."""
        self._started = True
        for claim in self._stream:
            if self._kept is not None:
                self._kept.append(claim)

    def _read_claims(self) -> Iterator[ClaimPayment]:
        ctx, segments, totals = self._ctx, self._segments, self.totals
        in_orphan_line = False  # after an SVC with no CLP: its 2110 segments are covered by that error
        seg = self._after_header
        while seg is not None:
            tag = seg.tag
            if tag == "CLP":
                in_orphan_line = False
                claim, seg = _read_claim(seg, segments, ctx, self._lx)  # seg: the one after the claim
                self._check(claim)
                totals.claim_count += 1
                totals.line_count += len(claim.lines)
                if claim.charge is not None:
                    totals.charge_total += claim.charge
                if claim.paid is not None:
                    totals.paid_total += claim.paid
                if claim.patient_responsibility is not None:
                    totals.patient_responsibility_total += claim.patient_responsibility
                yield claim
                continue
            if tag == "SVC":
                # an error, not a warning: the line's charge, payment and adjustments are lost, so the
                # file must not pass as clean (exit 0) while money in it was not read
                in_orphan_line = True
                ctx.find("ERA008", "SVC outside a claim (no CLP before it): the service line and its "
                         "adjustments are not read", seg, loop="2110", severity=Severity.ERROR)
            elif in_orphan_line and tag in _LINE_TAGS:
                pass
            else:
                in_orphan_line = False
                if tag == "LX":
                    self._lx = seg.get(1)
                elif tag in ("TS3", "TS2", "SE"):
                    pass  # TS3/TS2: provider summary information, not needed for COB
                elif tag == "PLB":
                    plb = _plb(seg, ctx)
                    self.plbs.append(plb)
                    totals.plb_total += plb.total
                elif tag == "CAS":
                    ctx.find("ERA008", "CAS outside a claim (no CLP before it): its adjustments are not read", seg,
                             severity=Severity.ERROR)  # money not read: an error, as for SVC
                else:
                    ctx.find("ERA008", f"{tag} not expected between claims; ignored", seg)
            seg = next(segments, None)
        for finding in balance.transaction_balance(self.header.payment, totals, path=self.path):
            ctx.attach(finding)
        totals.complete = True

    def _check(self, claim: ClaimPayment) -> None:
        # each line's CAS total serves the line rule (S) and the claim rule (C): summed once
        line_cas_total = ZERO
        for line in claim.lines:
            cas_total = line.adjustment_total
            line_cas_total += cas_total
            for finding in balance.check_line(line, claim_id=claim.claim_id, path=self.path, cas_total=cas_total):
                self._ctx.attach(finding, claim, line)
        for finding in balance.check_claim_level(claim, path=self.path, line_cas_total=line_cas_total):
            self._ctx.attach(finding, claim)


class RemittanceReader:
    """The 835 transaction sets of one file, streamed; iterate it for `Remittance`s.

    `findings` holds the envelope findings (ISA/GS/ST/SE counts, control numbers) and file-level
    ones (ERA001 skipped sets); they are complete once iteration ends. Opening raises EdiError
    when the file cannot be read.
    """

    def __init__(self, reader: X12Reader, *, require_835: bool = True, keep_claims: bool = False) -> None:
        self._reader = reader
        self.path = reader.name
        self.require_835 = require_835
        self.keep_claims = keep_claims
        self._own: list[Finding] = []
        self._consumed = False

    @classmethod
    def open(cls, path: str | Path, *, require_835: bool = True, keep_claims: bool = False) -> "RemittanceReader":
        name = str(path)
        try:
            reader = X12Reader.open(path, name)
        except OSError as exc:
            raise EdiError(f"cannot open: {exc.strerror or exc}", path=name) from exc
        return cls(reader, require_835=require_835, keep_claims=keep_claims)

    @classmethod
    def from_text(cls, text: str, name: str = "<text>", *, require_835: bool = True,
                  keep_claims: bool = False) -> "RemittanceReader":
        return cls(X12Reader.from_text(text, name), require_835=require_835, keep_claims=keep_claims)

    @property
    def findings(self) -> list[Finding]:
        return self._reader.findings + self._own

    @property
    def delimiters(self):
        return self._reader.delimiters

    def __iter__(self) -> Iterator[Remittance]:
        if self._consumed:
            raise RuntimeError("a RemittanceReader can be iterated once")
        self._consumed = True
        count = seen = 0
        # a reader that knows where its sets end (era.clean) hands them over itself
        transactions = getattr(self._reader, "transactions", None)
        for ts in (transactions() if transactions is not None else iter_transactions(self._reader)):
            seen += 1
            if ts.code != "835":
                if self.require_835:
                    raise UnsupportedTransactionError(
                        f"transaction set {ts.code or '(no ST01)'} (ST02 {ts.st.get(2)!r}) is not an 835 "
                        "remittance advice", path=self.path, segment=ts.st.index, line=ts.st.line)
                self._own.append(Finding("ERA001", f"transaction set {ts.code or '(no ST01)'} is not an 835; "
                                         "skipped", Location(self.path, ts.st.index, ts.st.line, "ST", None, "ST01"),
                                         severity_of("ERA001")))
                continue
            count += 1
            remit = Remittance(ts, self.path, count, keep_claims=self.keep_claims)
            yield remit
            # before iter_transactions drains the set: what the caller left still counts (totals, T rule)
            remit.finish()
        if seen == 0:
            raise EdiSyntaxError("no transaction set (ST..SE) in the file", path=self.path)


def read_remittances(path: str | Path, *, require_835: bool = True, keep_claims: bool = False) -> RemittanceReader:
    """Stream the 835s of a file, one Remittance per ST..SE, in constant memory (unless
    `keep_claims`, which lets each remittance's claims() be read again once read through).

    Raises EdiError when the file cannot be opened or is not X12 (EdiSyntaxError, possibly on the
    first iteration), and UnsupportedTransactionError at the first non-835 transaction set when
    `require_835` (the default); with require_835=False such sets are skipped with finding ERA001.
    """
    return RemittanceReader.open(path, require_835=require_835, keep_claims=keep_claims)


def parse_remittances(path: str | Path, *, require_835: bool = True) -> list[Remittance]:
    """Every remittance of a file with its claims kept in memory (small files, tests, explain)."""
    reader = RemittanceReader.open(path, require_835=require_835, keep_claims=True)
    return _all(reader)


def parse_remittance_text(text: str, name: str = "<text>", *, require_835: bool = True) -> list[Remittance]:
    """Like parse_remittances, from X12 text (tests); a bare ST..SE fragment is accepted."""
    return _all(RemittanceReader.from_text(text, name, require_835=require_835, keep_claims=True))


def _all(reader: RemittanceReader) -> list[Remittance]:
    remittances = list(reader)
    for remit in remittances:
        remit.finish()
    return remittances
