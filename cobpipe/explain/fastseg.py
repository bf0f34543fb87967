"""The 835 segments the fast `explain` reads (fastscan.scan), each as the plain reader
(cobpipe.era.parser) reads it without a finding, and what they are read into: Table 1 (Header),
a claim (Claim, its Lines and CasInfos), PLBs and a transaction set's totals (SectionEnd), where a
second process resumes (Resume). Whatever the plain reader would read otherwise or report raises
Ineligible.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .fasttext import (_FOREIGN_SEPARATOR, _FOREIGN_SEPARATOR_PLB, ZERO, Ineligible, _decimals, composite, date,
                       number, optional_number, pad, procedure)

#: the CLP02 codes cobpipe.era.status.CLAIM_STATUS knows (the plain reader reports any other);
#: written out, not imported: cobpipe.era costs ~13 ms of start-up (tests hold the two equal)
CLAIM_STATUS_CODES = frozenset({"1", "2", "3", "4", "19", "20", "21", "22", "23", "25"})
GROUP_CODES = frozenset({"CO", "OA", "PI", "PR"})


# --- what the scanner yields -------------------------------------------------------------------

class Header:
    """Table 1 of one 835 and its envelope: what HeaderView shows."""

    __slots__ = ("number", "st02", "version", "bpr", "bpr_index", "amount", "credit_debit", "payment_date",
                 "trn", "production_date", "payer", "payee")

    def __init__(self) -> None:
        self.bpr: list[str] | None = None
        self.trn: list[str] | None = None
        self.production_date: dt.date | None = None
        self.payer: list[str] | None = None  # N102, N103, N104
        self.payee: list[str] | None = None


class Plb:
    __slots__ = ("provider", "fiscal_date", "pairs", "index")

    def __init__(self, provider: str, fiscal_date: dt.date | None, pairs: list, index: int) -> None:
        self.provider, self.fiscal_date, self.pairs, self.index = provider, fiscal_date, pairs, index


class SectionEnd:
    __slots__ = ("plbs", "paid_total", "plb_total")

    def __init__(self, plbs: list[Plb], paid_total: Decimal, plb_total: Decimal) -> None:
        self.plbs, self.paid_total, self.plb_total = plbs, paid_total, plb_total


# --- the structure -----------------------------------------------------------------------------

class CasInfo:
    """One CAS: group, triplets (reason, amount, amount text, quantity text, triplet number), the
    total of its amounts, of its PR amounts (None for another group), whether one is 0, its text
    (a line's CAS; None for a claim's), its segment number; and, for a line's CAS, the JSON of its
    adjustments as the line's list holds them once the writer has written it (fastclaim: a scan
    shares one CasInfo among the lines whose CAS has the same text). Made by cas_info."""

    __slots__ = ("group", "triplets", "total", "pr_total", "zero", "text", "index", "json")


def cas_info(group: str, triplets: tuple, total: Decimal, pr_total: Decimal | None, zero: bool, text: str | None,
             index: int) -> CasInfo:
    """A CasInfo (`text`: the segment's text for a line's CAS, None for a claim's). A function, not
    an __init__: a class's __init__ is called through the type (~1.5k instructions more each, and
    one is made for ~40% of a file's line CAS)."""
    cas = CasInfo()
    cas.group, cas.triplets, cas.total, cas.pr_total, cas.zero = group, triplets, total, pr_total, zero
    cas.text, cas.index, cas.json = text, index, None
    return cas


# One 2110 (a service line): a list, not an object (a line is made for each SVC and read twice: making
# a slotted object and reading its attributes cost ~3k instructions a line more, ~2.5% of a pass).
# Its items, in this order (new_line makes one; fastscan fills in the last five as it reads on):
#   ORDINAL, INDEX (the SVC's segment number), PROCEDURE_TEXT (SVC01), CHARGE, PAID (Decimals),
#   BILLED (SVC06 as "HC:99213-25" or ""), CHARGE_TEXT, PAID_TEXT, UNITS_TEXT (SVC05), BILLED_UNITS_TEXT
#   (SVC07), DATES (qualifier -> the date as JSON, the first of each), CAS (its CasInfos), REF_6R (the
#   first REF*6R's value, None without), ALLOWED (the first AMT*B6's text, None without), REMARKS (LQ02
#   codes, None without)
(ORDINAL, INDEX, PROCEDURE_TEXT, CHARGE, PAID, BILLED, CHARGE_TEXT, PAID_TEXT, UNITS_TEXT, BILLED_UNITS_TEXT,
 DATES, CAS, REF_6R, ALLOWED, REMARKS) = range(15)
Line = list  # (the type of a line, for annotations)


def new_line(ordinal: int, index: int, procedure_text: str, charge: Decimal, paid: Decimal, billed: str,
             charge_text: str, paid_text: str, units_text: str, billed_units_text: str) -> Line:
    """A line as its SVC reads (no dates, CAS, REF*6R, AMT*B6 or LQ yet)."""
    return [ordinal, index, procedure_text, charge, paid, billed, charge_text, paid_text, units_text,
            billed_units_text, {}, [], None, None, None]


class Claim:
    """One 2100: its CLP (CLP01..CLP14, the amounts read), its first NM1 of each NM101 (NM101..NM109),
    its DTMs (qualifier -> the date as JSON), CAS, MOA and MIA remark codes, and its lines. Made by
    _clp, which sets every slot (no __init__: see cas_info)."""

    __slots__ = ("index", "clp", "charge", "paid", "patient_responsibility", "parties", "dates", "cas",
                 "moa_remarks", "mia_remarks", "lines")


class Resume:
    """Where a scan of the second part of a file starts: at the CLP at byte `offset`, segment number
    `index`, inside transaction set `number` whose ST is segment `st_index` with ST02 `st02`,
    after the file's ISA and GS."""

    __slots__ = ("offset", "index", "number", "st_index", "st02", "isa", "gs")

    def __init__(self, offset: int, index: int, number: int, st_index: int, st02: str, isa: list[str],
                 gs: list[str]) -> None:
        self.offset, self.index, self.number, self.st_index, self.st02 = offset, index, number, st_index, st02
        self.isa, self.gs = isa, gs


def _dtm(els: list[str]) -> tuple[str, str | None]:
    """(qualifier, the date as JSON or None when empty)."""
    value = date(els[2] if len(els) > 2 else "")
    return (els[1] if len(els) > 1 else "", None if value is None else '"' + value.isoformat() + '"')


def _header_segment(header: Header, els: list[str], index: int, party: str | None) -> str | None:
    """One Table 1 segment as cobpipe.era.parser._read_header reads it without a finding; the
    party loop (PR, PE) it leaves open."""
    tag = els[0]
    if tag == "BPR" and header.bpr is None:
        bpr = header.bpr = pad(els, 16)
        header.bpr_index = index
        if bpr[2] not in ("C", "D"):
            raise Ineligible("BPR03 not C or D")
        if not bpr[1]:
            raise Ineligible("BPR02 empty")
        header.amount = number(bpr[1])
        header.credit_debit = bpr[2]
        header.payment_date = date(bpr[15])
    elif tag == "TRN" and header.trn is None:
        header.trn = pad(els, 4)
    elif tag == "CUR" or tag == "REF":
        pass  # currency, Table 1 and party references: not shown
    elif tag == "DTM" and len(els) > 1 and els[1] == "405":
        header.production_date = date(els[2] if len(els) > 2 else "")
    elif tag == "N1":
        entity = els[1] if len(els) > 1 else ""
        if entity == "PR" and header.payer is None:
            header.payer = pad(els, 4)[1:]
        elif entity == "PE" and header.payee is None:
            header.payee = pad(els, 4)[1:]
        else:
            raise Ineligible("an N1 that is not 1000A or 1000B")
        return entity
    elif (tag == "N3" or tag == "N4") and party is not None:
        pass
    elif (tag == "PER" and party == "PR") or (tag == "RDM" and party == "PE"):
        pass
    else:
        raise Ineligible("a segment not expected in Table 1")
    return party


def _clp(els: list[str], index: int) -> Claim:
    clp = pad(els, 14)
    if not clp[0] or not clp[1] or clp[1] not in CLAIM_STATUS_CODES:
        raise Ineligible("CLP01/CLP02 empty or CLP02 unknown")
    if not clp[2] or not clp[3]:
        raise Ineligible("CLP03/CLP04 empty")
    claim = Claim()
    claim.index, claim.clp, claim.parties, claim.dates, claim.cas, claim.lines = index, clp, {}, {}, [], []
    claim.moa_remarks = claim.mia_remarks = ()
    # (the amounts read before are looked up here, not by a call of number: a 0 is falsy and calls it)
    claim.charge = _decimals.get(clp[2]) or number(clp[2])
    claim.paid = _decimals.get(clp[3]) or number(clp[3])
    claim.patient_responsibility = (_decimals.get(clp[4]) or number(clp[4])) if clp[4] else None
    if clp[11]:
        number(clp[11])
    if clp[12]:
        number(clp[12])
    return claim


def _claim_segment(claim: Claim, els: list[str], index: int) -> None:
    """A 2100 segment before the first SVC, as cobpipe.era.parser._claim_segment reads it without a
    finding; NM1 and DTM are read by fastscan.scan itself (once per text)."""
    tag = els[0]
    if tag == "CAS":
        claim.cas.append(_cas(els, index))
    elif tag == "REF" or tag == "PER":
        pass
    elif tag == "AMT" or tag == "QTY":
        if len(els) > 2 and els[2]:
            number(els[2])
    elif tag == "MOA":
        moa = pad(els, 9)
        for position in (0, 1, 7, 8):
            if moa[position]:
                number(moa[position])
        claim.moa_remarks = tuple(c for c in moa[2:7] if c)
    elif tag == "MIA":
        mia = pad(els, 23)
        for position in (0, 1, 2, 3):
            if mia[position]:
                number(mia[position])
        claim.mia_remarks = tuple(c for c in (mia[4], mia[19], mia[20], mia[21], mia[22]) if c)
    else:
        raise Ineligible("a segment not expected in a claim")


def _cas(els: list[str], index: int) -> CasInfo:
    """CAS as cobpipe.era.parser._cas reads it without a finding."""
    count = len(els) - 1
    group = els[1] if count else ""
    if group not in GROUP_CODES:
        raise Ineligible("a CAS group code missing or not 5010")
    padded = els[1:] + ["", "", "", ""]
    triplets = []
    triplet = 0
    total = ZERO
    zero = False
    for base in range(2, max(count + 1, 3), 3):
        triplet += 1
        reason, amount_text, quantity_text = padded[base - 1:base + 2]
        if not reason and not amount_text and not quantity_text:
            continue
        if not reason or not amount_text:
            raise Ineligible("a CAS triplet without reason or amount")
        amount = number(amount_text)
        if quantity_text:
            number(quantity_text)
        total += amount
        zero = zero or amount == 0
        triplets.append((reason, amount, amount_text, quantity_text, triplet))
    if triplet > 6 or not triplets:
        raise Ineligible("a CAS with more than 6 triplets or none")
    return cas_info(group, tuple(triplets), total, total if group == "PR" else None, zero, None, index)


def _svc(els: list[str], component: str, procedures: dict, ordinal: int, index: int) -> Line:
    """SVC as cobpipe.era.parser._read_svc reads it without a finding."""
    if len(els) > 8:
        raise Ineligible("an SVC with more than 7 elements")
    svc = pad(els, 7)
    text = svc[0]
    if text not in procedures:
        if not text:
            raise Ineligible("SVC01 empty")
        if not procedure(composite(text, component, _FOREIGN_SEPARATOR))[1]:
            raise Ineligible("SVC01 without a procedure code")
        procedures.put(text, True)
    if not svc[1] or not svc[2]:
        raise Ineligible("SVC02/SVC03 empty")
    if svc[3] and not svc[3].isdigit():
        raise Ineligible("SVC04 not a revenue code")
    billed = ""
    if svc[5]:
        original = procedure(composite(svc[5], component, _FOREIGN_SEPARATOR))
        if original[0] or original[1]:
            if not original[1]:
                raise Ineligible("SVC06 without a procedure code")
            mods = "".join(f"-{m}" for m in original[2])
            billed = f"{original[0]}:{original[1]}{mods}" if original[0] else f"{original[1]}{mods}"
    if svc[4]:
        number(svc[4])
    if svc[6]:
        number(svc[6])
    return new_line(ordinal, index, text, number(svc[1]), number(svc[2]), billed, svc[1], svc[2], svc[4], svc[6])


def _plb(els: list[str], component: str, index: int) -> Plb:
    if len(els) < 2 or not els[1]:
        raise Ineligible("PLB01 empty")
    fiscal = date(els[2] if len(els) > 2 else "")
    if fiscal is None:
        raise Ineligible("PLB02 empty")
    pairs = []
    values = els[1:]
    for base in range(3, max(len(values) + 1, 4), 2):
        parts = composite(values[base - 1] if base <= len(values) else "", component, _FOREIGN_SEPARATOR_PLB)
        amount_text = values[base] if base < len(values) else ""
        if not parts and not amount_text:
            continue
        if not parts or not parts[0] or not amount_text:
            raise Ineligible("a PLB pair without reason or amount")
        pairs.append((parts[0], parts[1] if len(parts) > 1 else "", number(amount_text)))
    return Plb(els[1], fiscal, pairs, index)
