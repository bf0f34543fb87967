"""The primary's adjudication of one claim, as the mapper needs it: split parts combined and a
reversal resolved to its correction, whatever shape the 835 model gives it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from decimal import Decimal

from edi.findings import Finding
from edi.segment import Segment

from .cas import Adjustment
from .match import RemittedLine

ZERO = Decimal(0)


# RemittedLine's fields, which a RemitLine carries itself (the line is its own `match`)
_MATCHED = tuple(f.name for f in fields(RemittedLine))


@dataclass(slots=True, init=False)
class RemitLine:
    """One 2110 service line: what matching compares (RemittedLine's fields, in its order: the line
    is its own `match`) plus what 2430 carries. One object a line instead of a RemitLine holding a
    RemittedLine: the fast 835 read makes one per line of every claim (remits_fast), positionally
    without __init__; `RemitLine(match, paid, ...)` takes a RemittedLine's fields as before."""

    ordinal: int  # 1-based position of the SVC within its claim
    segment: int | None  # file segment number of SVC, for findings
    ref_6r: str
    qualifier: str
    code: str
    modifiers: tuple[str, ...]
    original_code: str  # SVC06-2, when the payer adjudicated another code than billed
    original_modifiers: tuple[str, ...]
    charge: Decimal  # SVC02
    units: Decimal | None  # the billed units
    service_date: dt.date | None
    paid: Decimal  # SVC03 -> SVD02
    paid_units: Decimal | None  # SVC05 -> SVD05
    procedure: tuple[str, ...]  # SVC01 components (qualifier, code, modifiers..., description)
    adjustments: list[Adjustment]
    adjudication_date: dt.date | None = None  # line DTM, if ever needed

    def __init__(self, match: RemittedLine, paid: Decimal, paid_units: Decimal | None, procedure: tuple[str, ...],
                 adjustments: list[Adjustment], adjudication_date: dt.date | None = None) -> None:
        for name in _MATCHED:
            setattr(self, name, getattr(match, name))
        self.paid, self.paid_units, self.procedure = paid, paid_units, procedure
        self.adjustments, self.adjudication_date = adjustments, adjudication_date

    @property
    def match(self) -> RemitLine:
        """What matching reads of the line (RemittedLine's fields): the line itself."""
        return self

    @property
    def billed_code(self) -> str:
        return self.original_code or self.code

    @property
    def billed_modifiers(self) -> tuple[str, ...]:
        return self.original_modifiers if self.original_code else self.modifiers


if tuple(f.name for f in fields(RemitLine))[:len(_MATCHED)] != _MATCHED:
    raise ImportError("cob.match.RemittedLine's fields changed: RemitLine starts with them, in their order")


@dataclass(slots=True)
class RemitClaim:
    """Everything of a remitted claim (CLP01) the secondary claim is built from."""

    claim_id: str
    status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    payer_claim_number: str  # CLP07 -> 2330B REF*F8
    filing_indicator: str  # CLP06
    adjustments: list[Adjustment]
    lines: list[RemitLine]
    segment: int | None  # the (first) CLP's segment number
    adjudication_date: dt.date | None  # BPR16, else DTM*405
    moa: Segment | None = None
    crossover_carrier: str | None = None  # NM1*TT name / id when the payer forwarded it
    remarks: set[str] = field(default_factory=set)  # MOA/LQ remark codes
    corrected_priority_payer: bool = False  # 2100 NM1*PR: the payer says another one is primary
    parts: int = 1
    reversed: bool = False  # a CLP02=22 reversal preceded this correction
    findings: list[Finding] = field(default_factory=list)  # the 835's own balancing findings
    payments: list = field(default_factory=list)  # the 835 claims (era.model.ClaimPayment), for a paper EOB
    member_ids: frozenset[str] = frozenset()  # NM1*QC/IL NM109, to tell apart claims whose CLM01 differs in case
    # True: the fast 835 read found every amount adjudication._whole_cents asks (CLP04, CLP05, CAS,
    # SVC03) in whole cents, by the exponent of their exact sum; None: not known (ask the amounts)
    whole_cents: bool | None = field(default=None, compare=False, repr=False)

    @property
    def has_lines(self) -> bool:
        return bool(self.lines)

    @property
    def patient_adjustments(self) -> Decimal:
        # plain loops: a generator and sum() per line cost more than the additions (asked once a claim)
        total = ZERO
        for a in self.adjustments:
            if a.group == "PR":
                total += a.amount
        for line in self.lines:
            for a in line.adjustments:
                if a.group == "PR":
                    total += a.amount
        return total


class _PaymentsSlot:
    """RemitClaim.payments may be given deferred, as a plain tuple (load, *arguments): read, it becomes
    load(*arguments), the list it stands for (payments is otherwise a list).

    The fast 835 read (cob/remits_fast.py) gives the mapper every field it uses without building the
    835 model, whose ClaimPayment only a paper EOB (and a split claim's combination) ever reads; it
    defers that one field, and whoever reads it gets what the general reader would have given. A
    plain tuple, not an object of a class of its own: one is made for every claim, and a tuple is
    made in C (an instance of a tuple subclass cost ~1.2k instructions more a claim, ~12M at 10k)."""

    def __init__(self, slot) -> None:
        self.slot = slot  # the member descriptor the dataclass made for the `payments` slot

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = self.slot.__get__(obj, owner)
        if type(value) is tuple:  # deferred
            value = value[0](*value[1:])
            self.slot.__set__(obj, value)
        return value

    def __set__(self, obj, value) -> None:
        self.slot.__set__(obj, value)


RemitClaim.payments = _PaymentsSlot(RemitClaim.__dict__["payments"])  # type: ignore[assignment]
