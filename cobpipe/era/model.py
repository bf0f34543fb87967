"""The 835 (005010X221A1) remittance as plain values: header (Table 1), claims (2100), lines (2110), PLB.

Every object keeps the file position of the segment it came from (`segment` = 1-based segment
number in the file, `line` = 1-based text line) so findings and views can cite it. Money is
Decimal; an amount that is absent is None (an invalid one is None too, plus a finding). Dates are
`datetime.date`; an invalid date is None plus a finding.

Names and member ids (NM1, N1 of people) are PHI: they are kept out of `repr` so an object that
ends up in a log line does not leak them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from edi.findings import CappedFindings, Finding, Location, Severity

ONE = Decimal(1)
ZERO = Decimal(0)


def format_money(value: Decimal | None) -> str:
    """Amounts in messages: at least two decimals ("120.00"), more only when the file had more."""
    if value is None:
        return "none"
    if value.as_tuple().exponent >= -2:  # type: ignore[operator]
        return f"{value:.2f}"
    return f"{value:f}"


@dataclass(frozen=True, slots=True)
class BalanceFinding(Finding):
    """A failed balancing rule (cob-spec §2.2): a Finding that also carries both sides as Decimal."""

    rule: str = ""  # "S", "C", "T", "CAS03", "CLP05"
    stated: Decimal | None = None
    computed: Decimal | None = None

    def to_dict(self) -> dict:
        data = Finding.to_dict(self)
        data["rule"] = self.rule
        data["stated"] = None if self.stated is None else format_money(self.stated)
        data["computed"] = None if self.computed is None else format_money(self.computed)
        return data


# --- shared pieces ---------------------------------------------------------------------------


@dataclass(slots=True)
class Address:
    """N3/N4 of a 1000A/1000B party."""

    lines: tuple[str, ...] = ()  # N301, N302
    city: str = ""  # N401
    state: str = ""  # N402
    postal_code: str = ""  # N403
    country: str = ""  # N404
    country_subdivision: str = ""  # N407


@dataclass(slots=True)
class Contact:
    """PER: contact function (PER01: CX claims, BL technical, IC website), name, (qualifier, number) pairs."""

    function: str
    name: str = ""
    communications: tuple[tuple[str, str], ...] = ()
    segment: int = 0

    def number(self, qualifier: str) -> str:
        """First communication number of a qualifier (TE phone, EM e-mail, UR web address, FX fax)."""
        return next((value for q, value in self.communications if q == qualifier), "")


@dataclass(slots=True)
class Party:
    """An NM1 in 2100 (QC patient, IL insured, 74 corrected insured, 82 rendering provider,
    TT crossover carrier, PR corrected priority payer, GB other subscriber)."""

    entity: str  # NM101
    entity_type: str = ""  # NM102: 1 person, 2 non-person
    last_name: str = field(default="", repr=False)  # NM103 (organisation name when NM102 = 2)
    first_name: str = field(default="", repr=False)  # NM104
    middle_name: str = field(default="", repr=False)  # NM105
    suffix: str = field(default="", repr=False)  # NM107
    id_qualifier: str = ""  # NM108: MI member id, PI payer id, XV CMS plan id, XX NPI ...
    id: str = field(default="", repr=False)  # NM109
    segment: int = 0
    line: int = 0

    @property
    def name(self) -> str:
        """Organisation name, or "LAST, FIRST MIDDLE" for a person (PHI for patients and insureds)."""
        if self.entity_type == "2" or not self.first_name:
            return self.last_name
        rest = " ".join(p for p in (self.first_name, self.middle_name, self.suffix) if p)
        return f"{self.last_name}, {rest}" if self.last_name else rest


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS triplet: group (CAS01), reason (CARC), amount, quantity; `segment`/`triplet` say where."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None
    segment: int = 0
    triplet: int = 1  # 1..6: CAS02-04 is 1, CAS05-07 is 2 ...


@dataclass(slots=True)
class Cas:
    """One CAS segment: one group code and up to 6 reason/amount/quantity triplets."""

    group: str
    adjustments: tuple[Adjustment, ...]
    segment: int = 0
    line: int = 0

    @property
    def total(self) -> Decimal:
        total = ZERO  # a plain loop: read for every CAS by the balance checks, a generator costs more
        for adjustment in self.adjustments:
            total += adjustment.amount
        return total


@dataclass(frozen=True, slots=True)
class Remark:
    """A remark code: LQ*HE (RARC) / LQ*RX (NCPDP) on a line, or MOA/MIA remark codes on a claim."""

    code: str
    source: str  # "LQ*HE", "LQ*RX", "MOA", "MIA"
    segment: int = 0


@dataclass(slots=True)
class Procedure:
    """SVC01 or SVC06 composite: qualifier (HC, AD, ER, IV, N4, NU, WK, ZZ...), code, modifiers, description."""

    qualifier: str = ""
    code: str = ""
    modifiers: tuple[str, ...] = ()
    description: str = ""

    def __bool__(self) -> bool:
        return bool(self.qualifier or self.code)

    def __str__(self) -> str:
        mods = "".join(f"-{m}" for m in self.modifiers)
        return f"{self.qualifier}:{self.code}{mods}" if self.qualifier else f"{self.code}{mods}"


# --- Table 1: header -------------------------------------------------------------------------


@dataclass(slots=True)
class Payment:
    """BPR: financial information."""

    handling: str = ""  # BPR01: I remittance + payment, H notification only, C payment only, D, P, U, X
    amount: Decimal | None = None  # BPR02, always ≥ 0; BPR03 says the direction
    credit_debit: str = ""  # BPR03: C credit to the provider, D debit
    method: str = ""  # BPR04: ACH, BOP, CHK, FWT, NON
    format: str = ""  # BPR05: CCP, CTX
    date: dt.date | None = None  # BPR16: check issue or EFT effective date
    segment: int = 0
    line: int = 0

    @property
    def signed_amount(self) -> Decimal | None:
        """BPR02 as money to the provider: negative when BPR03 = D."""
        if self.amount is None:
            return None
        return -self.amount if self.credit_debit == "D" else self.amount


@dataclass(slots=True)
class Trace:
    """TRN: reassociation trace number (check or EFT number) and the payer's originating company id."""

    type: str = ""  # TRN01: 1 current transaction
    number: str = ""  # TRN02
    payer_id: str = ""  # TRN03: 1 + the payer's EIN, as a rule
    supplemental: str = ""  # TRN04
    segment: int = 0


@dataclass(slots=True)
class Payer:
    """Loop 1000A: N1*PR with N3/N4, REF (2U, EO, HI, NF) and PER contacts."""

    name: str = ""  # N102
    id_qualifier: str = ""  # N103: XV (CMS plan id) when present
    id: str = ""  # N104
    address: Address = field(default_factory=Address)
    refs: dict[str, list[str]] = field(default_factory=dict)
    contacts: list[Contact] = field(default_factory=list)
    segment: int = 0

    def ref(self, qualifier: str) -> str:
        values = self.refs.get(qualifier)
        return values[0] if values else ""


@dataclass(slots=True)
class Payee:
    """Loop 1000B: N1*PE (N103 XX NPI / FI tax id / XV), N3/N4, REF (TJ, PQ, 0B, D3...)."""

    name: str = ""
    id_qualifier: str = ""
    id: str = ""
    address: Address = field(default_factory=Address)
    refs: dict[str, list[str]] = field(default_factory=dict)
    segment: int = 0

    def ref(self, qualifier: str) -> str:
        values = self.refs.get(qualifier)
        return values[0] if values else ""


@dataclass(slots=True)
class Envelope:
    """Who sent the interchange to whom (ISA/GS) and the ST that opened this transaction set."""

    interchange_sender_qualifier: str = ""  # ISA05
    interchange_sender: str = ""  # ISA06, unpadded
    interchange_receiver_qualifier: str = ""  # ISA07
    interchange_receiver: str = ""  # ISA08
    interchange_control_number: str = ""  # ISA13
    usage: str = ""  # ISA15: P production, T test
    group_sender: str = ""  # GS02
    group_receiver: str = ""  # GS03
    group_control_number: str = ""  # GS06
    version: str = ""  # ST03 or GS08
    control_number: str = ""  # ST02
    segment: int = 0  # the ST


@dataclass(slots=True)
class RemittanceHeader:
    """Table 1 of one 835: payment, trace, dates, payer and payee."""

    envelope: Envelope = field(default_factory=Envelope)
    payment: Payment = field(default_factory=Payment)
    trace: Trace = field(default_factory=Trace)
    currency: str = ""  # CUR02 (CUR01 = PR)
    receiver_id: str = ""  # REF*EV
    version_id: str = ""  # REF*F2
    refs: dict[str, list[str]] = field(default_factory=dict)  # every Table 1 REF before N1
    production_date: dt.date | None = None  # DTM*405
    payer: Payer = field(default_factory=Payer)
    payee: Payee = field(default_factory=Payee)

    @property
    def control_number(self) -> str:
        return self.envelope.control_number


# --- Table 2: claims and lines ---------------------------------------------------------------


@dataclass(slots=True)
class Moa:
    """MOA: outpatient adjudication information (MOA03-07 are RARCs, copied to the 837P 2320 MOA)."""

    reimbursement_rate: Decimal | None = None  # MOA01
    payable_amount: Decimal | None = None  # MOA02 HCPCS payable
    remarks: tuple[str, ...] = ()  # MOA03-07
    esrd_amount: Decimal | None = None  # MOA08
    nonpayable_professional: Decimal | None = None  # MOA09
    segment: int = 0


@dataclass(slots=True)
class Mia:
    """MIA: inpatient adjudication information (dropped by the COB mapping; kept for the analyst)."""

    covered_days: Decimal | None = None  # MIA01
    pps_operating_outlier: Decimal | None = None  # MIA02
    lifetime_psychiatric_days: Decimal | None = None  # MIA03
    drg_amount: Decimal | None = None  # MIA04
    remarks: tuple[str, ...] = ()  # MIA05, MIA20-23
    elements: tuple[str, ...] = ()  # all of MIA as sent, for the other amounts
    segment: int = 0


@dataclass(slots=True)
class ServiceLine:
    """Loop 2110: one SVC with its dates, adjustments, references, amounts and remarks."""

    ordinal: int  # 1-based position of the SVC within its claim
    procedure: Procedure  # SVC01, the adjudicated code
    charge: Decimal | None  # SVC02
    paid: Decimal | None  # SVC03
    revenue_code: str = ""  # SVC04 (NUBC)
    units: Decimal | None = None  # SVC05 paid units; absent means 1 (see effective_units)
    original_procedure: Procedure = field(default_factory=Procedure)  # SVC06, when the payer changed the code
    original_units: Decimal | None = None  # SVC07
    dates: dict[str, dt.date | None] = field(default_factory=dict)  # DTM 472 / 150 / 151
    # the claim's statement period (2100 DTM*232/233, see ClaimPayment.statement_period), set by the
    # parser: claim dates apply to every line that has no DTM of its own (X221A1 2100/2110 DTM notes)
    claim_period: tuple[dt.date | None, dt.date | None] = (None, None)
    cas: list[Cas] = field(default_factory=list)
    refs: dict[str, list[str]] = field(default_factory=dict)  # 6R, LU, 0K, 1B, HPI, ...
    amounts: dict[str, Decimal | None] = field(default_factory=dict)  # AMT*B6 allowed, KH, T, T2, ZK...
    quantities: dict[str, Decimal | None] = field(default_factory=dict)  # QTY*ZK ...
    remarks: list[Remark] = field(default_factory=list)  # LQ*HE / LQ*RX
    findings: list[Finding] = field(default_factory=CappedFindings)  # capped per code (hostile input)
    segment: int = 0
    line: int = 0

    # -- element-named shortcuts for the mapper
    @property
    def effective_units(self) -> Decimal:
        """SVC05, or 1 when absent (X221A1: SVC05 is required when units paid differ from 1)."""
        return ONE if self.units is None else self.units

    @property
    def billed_procedure(self) -> Procedure:
        """What was billed: SVC06 when the payer adjudicated another code, else SVC01."""
        return self.original_procedure if self.original_procedure else self.procedure

    @property
    def billed_units(self) -> Decimal:
        """SVC07 when present, else the paid units."""
        return self.original_units if self.original_units is not None else self.effective_units

    @property
    def ref_6r(self) -> str:
        """REF*6R: the line item control number the 837P sent in 2400 REF*6R."""
        return self.ref("6R")

    def ref(self, qualifier: str) -> str:
        values = self.refs.get(qualifier)
        return values[0] if values else ""

    @property
    def has_own_dates(self) -> bool:
        """Whether the line has a DTM*472/150/151 (even an invalid one, reported as ERA004)."""
        dates = self.dates
        return "472" in dates or "150" in dates or "151" in dates

    @property
    def period(self) -> tuple[dt.date | None, dt.date | None]:
        """(first, last) day of service: the line's DTM*472 or DTM*150/151, else the claim's statement period."""
        if self.has_own_dates:
            return (self.dates.get("472") or self.dates.get("150"), self.dates.get("151") or self.dates.get("472"))
        return self.claim_period

    @property
    def service_date(self) -> dt.date | None:
        """DTM*472, else the start of the DTM*150/151 period, else the claim's date when its statement
        period is one day. A multi-day claim period does not say which day the line was (None), so
        line matching does not compare dates it does not have."""
        dates = self.dates
        if "472" in dates or "150" in dates or "151" in dates:  # has_own_dates: the first of `period`
            return dates.get("472") or dates.get("150")
        start, end = self.claim_period
        return start if end in (None, start) else None

    @property
    def service_end(self) -> dt.date | None:
        start, end = self.period
        if self.has_own_dates or start == end:
            return end
        return None

    @property
    def allowed(self) -> Decimal | None:
        """AMT*B6 allowed actual."""
        return self.amounts.get("B6")

    @property
    def adjustments(self) -> list[Adjustment]:
        return [a for cas in self.cas for a in cas.adjustments]

    @property
    def adjustment_total(self) -> Decimal:
        total = ZERO  # a plain loop, as Cas.total
        for cas in self.cas:
            total += cas.total
        return total

    @property
    def remark_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.remarks)

    def label(self) -> str:
        """How findings name the line: its ordinal and REF*6R, never PHI."""
        ref = self.ref_6r
        return f"line {self.ordinal}" + (f" (REF*6R {ref})" if ref else "")


@dataclass(slots=True, weakref_slot=True)
class ClaimPayment:
    """Loop 2100: one CLP with its adjustments, people, dates, references and service lines."""

    claim_id: str  # CLP01, the provider's CLM01
    status: str  # CLP02 (see cobpipe.era.status)
    charge: Decimal | None  # CLP03
    paid: Decimal | None  # CLP04
    patient_responsibility: Decimal | None = None  # CLP05
    filing_indicator: str = ""  # CLP06
    payer_claim_number: str = ""  # CLP07 (-> 837P 2330B REF*F8)
    facility_code: str = ""  # CLP08 (place of service / bill type first two digits)
    frequency: str = ""  # CLP09 claim frequency code
    patient_status: str = ""  # CLP10
    drg: str = ""  # CLP11
    drg_weight: Decimal | None = None  # CLP12
    discharge_fraction: Decimal | None = None  # CLP13
    yes_no: str = ""  # CLP14
    cas: list[Cas] = field(default_factory=list)  # claim-level (2100) CAS only
    patient: Party | None = None  # NM1*QC
    insured: Party | None = None  # NM1*IL
    corrected_insured: Party | None = None  # NM1*74
    rendering_provider: Party | None = None  # NM1*82
    crossover_carrier: Party | None = None  # NM1*TT
    corrected_payer: Party | None = None  # NM1*PR (corrected priority payer)
    other_subscriber: Party | None = None  # NM1*GB
    other_parties: list[Party] = field(default_factory=list)  # any other NM1
    mia: Mia | None = None
    moa: Moa | None = None
    dates: dict[str, dt.date | None] = field(default_factory=dict)  # DTM 050, 232, 233, 036, 037
    refs: dict[str, list[str]] = field(default_factory=dict)  # 1L, 1W, 28, 6P, 9A, 9C, BB, CE, EA, F8, G1, G3, IG, SY, ...
    amounts: dict[str, Decimal | None] = field(default_factory=dict)  # AMT*AU, D8, DY, F5, I, NL, T, T2, ZK ...
    quantities: dict[str, Decimal | None] = field(default_factory=dict)  # QTY*CA, CD, LA, LE, NE, NR, OU, PS, VS, ZK ...
    contacts: list[Contact] = field(default_factory=list)  # 2100 PER
    lines: list[ServiceLine] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=CappedFindings)  # every finding about this claim, lines included (capped per code)
    lx: str | None = None  # LX01 of the 2000 header the claim sat under
    segment: int = 0
    line: int = 0

    def ref(self, qualifier: str) -> str:
        values = self.refs.get(qualifier)
        return values[0] if values else ""

    @property
    def adjustments(self) -> list[Adjustment]:
        """Claim-level (2100) CAS triplets."""
        return [a for cas in self.cas for a in cas.adjustments]

    @property
    def all_adjustments(self) -> list[Adjustment]:
        """Claim-level then line-level triplets."""
        return self.adjustments + [a for line in self.lines for a in line.adjustments]

    @property
    def remark_codes(self) -> tuple[str, ...]:
        """MOA and MIA remark codes, then every line's LQ codes, in file order."""
        codes: list[str] = []
        if self.moa:
            codes.extend(self.moa.remarks)
        if self.mia:
            codes.extend(self.mia.remarks)
        for line in self.lines:
            codes.extend(r.code for r in line.remarks)
        return tuple(codes)

    @property
    def received(self) -> dt.date | None:
        """DTM*050 claim received date."""
        return self.dates.get("050")

    @property
    def statement_from(self) -> dt.date | None:
        return self.dates.get("232")

    @property
    def statement_to(self) -> dt.date | None:
        return self.dates.get("233")

    @property
    def statement_period(self) -> tuple[dt.date | None, dt.date | None]:
        """(DTM*232, DTM*233); a start without an end is a one-day period (X221A1 DTM*232 note)."""
        start, end = self.statement_from, self.statement_to
        return start, (end if end is not None or "233" in self.dates else start)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]


@dataclass(frozen=True, slots=True)
class PlbAdjustment:
    """One PLB reason/amount pair: PLB03/04, 05/06 ... 13/14. Positive amounts reduce the payment."""

    reason: str  # PLB03-1: WO overpayment recovery, FB forwarding balance, L6 interest, ...
    reference: str  # PLB03-2
    amount: Decimal
    pair: int = 1  # 1..6


@dataclass(slots=True)
class ProviderAdjustment:
    """One PLB segment: provider id, fiscal period end and up to 6 adjustments."""

    provider_id: str  # PLB01
    fiscal_period_date: dt.date | None  # PLB02
    adjustments: tuple[PlbAdjustment, ...] = ()
    segment: int = 0
    line: int = 0

    @property
    def total(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), ZERO)


@dataclass(slots=True)
class RemittanceTotals:
    """Sums over the whole transaction set, complete once its claims have been read."""

    claim_count: int = 0
    line_count: int = 0
    charge_total: Decimal = ZERO  # ΣCLP03
    paid_total: Decimal = ZERO  # ΣCLP04
    patient_responsibility_total: Decimal = ZERO  # ΣCLP05
    plb_total: Decimal = ZERO  # ΣPLB amounts
    complete: bool = False

    @property
    def computed_payment(self) -> Decimal:
        """What BPR02 should be: ΣCLP04 − ΣPLB (signed; BPR03 = D when negative)."""
        return self.paid_total - self.plb_total


def location(path: str | None, segment: int, line: int, tag: str, *, loop: str | None = None,
             element: str | None = None, claim: str | None = None) -> Location:
    return Location(path, segment or None, line or None, tag, loop, element, claim)
