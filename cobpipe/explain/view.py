"""What `cobpipe explain` shows, as plain values: built from the 835 model, rendered as text, JSON or HTML.

The renderers see only these classes, so they do not depend on how the 835 is parsed. Names and
member ids are masked when the view is built (see `mask`), so no renderer can leak them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(slots=True)
class FindingView:
    """A problem the 835 model found (balancing, structure), with the segment number it cites."""

    code: str
    message: str
    severity: str = "error"
    segment: int | None = None
    stated: Decimal | None = None
    computed: Decimal | None = None
    rule: str = ""  # the balancing rule of a balance finding: S (line), C (claim), T (transaction) ...

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def is_balance_failure(self) -> bool:
        """An error of the 835's own balancing rules S, C or T (cob-spec 2.2)."""
        return self.is_error and self.rule in BALANCE_RULES


BALANCE_RULES = frozenset({"S", "C", "T"})


@dataclass(slots=True)
class AdjustmentView:
    """One CAS triplet: group (CAS01), reason (CARC), amount, quantity, with our words for both codes."""

    group: str
    group_text: str
    reason: str
    reason_text: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(slots=True)
class RemarkView:
    """A remark code (RARC) from LQ*HE, MOA or MIA, with our words for it."""

    code: str
    text: str
    source: str  # "LQ", "MOA" or "MIA"


@dataclass(slots=True)
class PersonView:
    """A patient or subscriber as the 835 names them (NM1*QC/IL/74/GB); masked unless --show-phi."""

    role: str  # "patient", "subscriber", "corrected insured", "other subscriber"
    name: str
    id_qualifier: str = ""
    id: str = ""


class _Verdict:
    """`balanced` and `errors` of anything holding its own balancing `findings` (a line: the S rule,
    a transaction set: the T rule), as far as the model's findings say."""

    __slots__ = ()
    findings: list[FindingView]

    @property
    def balanced(self) -> bool:
        return not any(f.is_balance_failure for f in self.findings)

    @property
    def errors(self) -> list[FindingView]:
        return [f for f in self.findings if f.is_error]


@dataclass(slots=True)
class LineView(_Verdict):
    """One 2110 service line (SVC)."""

    number: int
    procedure: str  # SVC01-2, the adjudicated code
    qualifier: str = ""  # SVC01-1, e.g. HC
    modifiers: tuple[str, ...] = ()
    billed_procedure: str = ""  # SVC06 when the payer changed the code
    charge: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    units: Decimal | None = None  # SVC05 paid units (empty in the 835 means 1)
    billed_units: Decimal | None = None  # SVC07
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    allowed: Decimal | None = None  # AMT*B6
    ref_6r: str = ""
    adjustments: list[AdjustmentView] = field(default_factory=list)
    remarks: list[RemarkView] = field(default_factory=list)
    findings: list[FindingView] = field(default_factory=list)
    segment: int | None = None


@dataclass(slots=True)
class ClaimView:
    """One 2100 claim payment (CLP) with its adjustments, lines and balancing findings."""

    id: str  # CLP01
    status_code: str  # CLP02
    status: str  # our words for CLP02
    status_word: str = ""  # primary, denied, reversal, crossover, ...
    charge: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    patient_responsibility: Decimal | None = None
    filing_indicator: str = ""  # CLP06
    filing_indicator_text: str = ""
    payer_claim_number: str = ""  # CLP07
    people: list[PersonView] = field(default_factory=list)
    crossover_to: str = ""  # NM1*TT name: the payer the claim was forwarded to
    corrected_payer: str = ""  # 2100 NM1*PR name
    service_from: dt.date | None = None
    service_to: dt.date | None = None
    received: dt.date | None = None  # DTM*050
    adjustments: list[AdjustmentView] = field(default_factory=list)
    remarks: list[RemarkView] = field(default_factory=list)
    lines: list[LineView] = field(default_factory=list)
    findings: list[FindingView] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the status means for COB, split claims ...
    segment: int | None = None
    #: CLP03 and CLP04 both given: without them the claim's balance cannot be checked at all, and it
    #: must not be shown as balanced (charge and paid then read 0 only to fill the columns)
    amounts_given: bool = True

    @property
    def all_findings(self) -> list[tuple[LineView | None, FindingView]]:
        """Claim-level findings, then each line's, with the line they belong to."""
        return [(None, f) for f in self.findings] + [(line, f) for line in self.lines for f in line.findings]

    @property
    def balanced(self) -> bool:
        """Claim (C rule) and every line (S rule) balance, as far as the model's findings say."""
        return not any(f.is_balance_failure for _, f in self.all_findings)

    @property
    def errors(self) -> list[FindingView]:
        return [f for _, f in self.all_findings if f.is_error]

    @property
    def verdict(self) -> str:
        """BALANCED, BALANCED, FINDINGS (other errors), DOES NOT BALANCE, or NOT CHECKED (no CLP03/CLP04)."""
        if not self.balanced:
            return "DOES NOT BALANCE"
        if not self.amounts_given:
            return "NOT CHECKED"
        return "BALANCED, FINDINGS" if self.errors else "BALANCED"

    @property
    def ok(self) -> bool:
        """Shown as good (green): balanced, checked, no errors."""
        return self.amounts_given and not self.errors


#: why a claim without CLP03 or CLP04 gets no balance verdict, in every format
NOT_CHECKED = "not checked: CLP03 (charge) or CLP04 (paid) is empty, so the claim's balance cannot be checked"


@dataclass(slots=True)
class PlbView:
    """One provider-level adjustment (PLB03/04 pair): positive amounts reduce the payment."""

    provider: str  # PLB01
    fiscal_date: dt.date | None  # PLB02
    reason: str  # PLB03-1
    reason_text: str
    reference: str  # PLB03-2
    amount: Decimal
    segment: int | None = None


@dataclass(slots=True)
class HeaderView:
    """Table 1 of the 835: who paid whom, how much, how and when."""

    payer: str = ""
    payer_id: str = ""
    payee: str = ""
    payee_id_qualifier: str = ""
    payee_id: str = ""
    amount: Decimal | None = None  # BPR02
    credit_debit: str = ""  # BPR03 C/D
    method: str = ""  # BPR04
    method_text: str = ""
    handling: str = ""  # BPR01
    handling_text: str = ""
    trace_number: str = ""  # TRN02 check or EFT number
    trace_payer_id: str = ""  # TRN03
    payment_date: dt.date | None = None  # BPR16
    production_date: dt.date | None = None  # DTM*405
    control_number: str = ""  # ST02
    version: str = ""


@dataclass(slots=True)
class SectionView(_Verdict):
    """One 835 transaction set (ST..SE): one payment and its claims."""

    number: int
    header: HeaderView
    claims: list[ClaimView] = field(default_factory=list)
    plbs: list[PlbView] = field(default_factory=list)
    findings: list[FindingView] = field(default_factory=list)  # transaction level (e.g. the T rule)
    claims_total: int = 0  # claims in the transaction before any filter
    paid_total: Decimal | None = None  # sum of CLP04 of all claims
    plb_total: Decimal | None = None

    @property
    def stated_payment(self) -> Decimal | None:
        """BPR02 signed like computed_payment: negative when BPR03 = D (the payee pays the payer), so
        the two compare as the T rule does."""
        amount = self.header.amount
        if amount is None:
            return None
        return -amount if self.header.credit_debit == "D" else amount

    @property
    def computed_payment(self) -> Decimal | None:
        """BPR02 as the claims say it should be: sum CLP04 - sum PLB."""
        if self.paid_total is None:
            return None
        return self.paid_total - (self.plb_total or Decimal(0))


@dataclass(slots=True)
class ExplainView:
    """A whole 835 file: its transaction sets and the envelope findings."""

    path: str
    sections: list[SectionView] = field(default_factory=list)
    findings: list[FindingView] = field(default_factory=list)  # envelope (ISA/GS/ST/SE counts ...)
    filtered: bool = False  # --claim or --status was given
    phi_shown: bool = False
    #: --claim ids that no shown claim has: (id, why), why says whether the file has it at all
    missing_claims: list[tuple[str, str]] = field(default_factory=list)

    @property
    def claims(self) -> list[ClaimView]:
        return [claim for section in self.sections for claim in section.claims]

    @property
    def has_errors(self) -> bool:
        """Exit-code verdict: a --claim that is not shown, or any error (see has_findings)."""
        return bool(self.missing_claims) or self.has_findings

    @property
    def has_findings(self) -> bool:
        """Any error in a shown claim; transaction and envelope errors unless filtered."""
        if any(claim.errors for claim in self.claims):
            return True
        if self.filtered:
            return False
        return any(f.is_error for f in self.findings) or any(s.errors for s in self.sections)
