"""Synthetic claims and their primary adjudication, as plain data (no X12 yet).

Every claim is a pure function of (seed, claim number, options): each claim draws from its own
`random.Random`, so claim 7 is the same whether 10 or 100,000 claims are generated, and the two
files can be written in separate passes without keeping claims in memory. All people, ids and
addresses are obviously fake (DOE, ZZ member ids, ANYTOWN); money is Decimal throughout.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")

# -- fake reference data ---------------------------------------------------------------------------

LAST_NAMES = ("DOE", "ROE", "POE", "MOE", "TESTCASE", "SAMPLE", "SYNTHETIC", "FAKERSON", "NOTREAL",
              "PLACEHOLDER", "DUMMY", "MOCKINGTON")
FIRST_NAMES = ("JANE", "JOHN", "ALEX", "SAM", "PAT", "CHRIS", "JORDAN", "TAYLOR", "CASEY", "RILEY",
               "MORGAN", "JAMIE", "DREW", "QUINN")
STREETS = ("TEST STREET", "SAMPLE AVENUE", "FAKE ROAD", "EXAMPLE LANE", "PLACEHOLDER COURT")
# (city, state, 5-digit zip prefix); the cities do not exist at these zips
CITIES = (("ANYTOWN", "IL", "62701"), ("SOMEWHERE", "WI", "53701"), ("NOWHERE", "IN", "46201"),
          ("TESTVILLE", "MO", "63101"))

# procedure code -> (usual charge per unit, is evaluation & management, max units)
PROCEDURES: dict[str, tuple[Decimal, bool, int]] = {
    "99212": (Decimal(85), True, 1), "99213": (Decimal(125), True, 1), "99214": (Decimal(185), True, 1),
    "99203": (Decimal(165), True, 1), "99204": (Decimal(245), True, 1), "99395": (Decimal(220), True, 1),
    "87880": (Decimal(42), False, 1), "85025": (Decimal(28), False, 1), "80053": (Decimal(45), False, 1),
    "36415": (Decimal(12), False, 1), "81002": (Decimal(11), False, 1), "90471": (Decimal(30), False, 2),
    "90686": (Decimal(38), False, 1), "94640": (Decimal(48), False, 2), "J7613": (Decimal(6), False, 4),
    "71046": (Decimal(95), False, 1), "93000": (Decimal(60), False, 1), "97110": (Decimal(55), False, 4),
    "20610": (Decimal(140), False, 1), "12001": (Decimal(180), False, 1),
}
PROCEDURE_CODES = tuple(PROCEDURES)
EM_CODES = tuple(code for code, (_, em, _) in PROCEDURES.items() if em)
OTHER_CODES = tuple(code for code, (_, em, _) in PROCEDURES.items() if not em)
MODIFIERS = ("59", "76", "LT", "RT", "XU", "QW")  # on procedures; an E/M line only ever gets 25
DIAGNOSES = ("J069", "J029", "R509", "I10", "E119", "M545", "Z0000", "Z23", "J45909", "R051", "K219",
             "E785", "F419", "N390", "L309", "H6690", "R109", "M25561", "S93401A", "Z1231")

RENDERING = (("NOTAREALDOC", "ROBIN"), ("FAKEMD", "LEE"), ("TESTDOC", "KIM"))


def npi(base9: str) -> str:
    """A 10-digit NPI with a valid Luhn check digit over the 80840 prefix (as CMS defines it)."""
    digits = "80840" + base9
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # rightmost of the payload is doubled (the check digit is appended after it)
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return base9 + str((10 - total % 10) % 10)


@dataclass(frozen=True, slots=True)
class PayerInfo:
    """A payer: 2010BB / 2330B NM103 and NM109 (PI), SBR09, and the 835's CLP06 for its plan."""

    name: str
    id: str
    filing: str  # 837 SBR09
    plan: str  # 835 CLP06 (its list lacks CI/BL, so a commercial plan is 12 PPO or HM)


PRIMARY = PayerInfo("ZZ PRIMARY HEALTH PLAN", "99901", "12", "12")
SECONDARIES = (
    PayerInfo("ZZ SECONDARY MUTUAL", "99902", "CI", "12"),
    PayerInfo("ZZ TEST BENEFIT PLAN", "99903", "HM", "HM"),
    PayerInfo("ZZ SAMPLE CARE BCBS", "99904", "BL", "12"),
)
BILLING_NPI = npi("123456789")  # 1234567893, the usual test NPI
BILLING_NAME = "ZZ SYNTHETIC MEDICAL GROUP"
BILLING_EIN = "990000001"
RENDERING_NPIS = tuple(npi(f"99{k:07d}") for k in range(1, len(RENDERING) + 1))


# -- options ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SynthOptions:
    """Knobs of the generator. Fractions are per claim unless said otherwise."""

    secondary_absent_fraction: float = 0.1  # no 2320 for the next payer: it comes from coverage.csv
    patient_fraction: float = 0.25  # patient is not the subscriber (2000C with PAT)
    denial_fraction: float = 0.05  # CLP02 = 4
    crossover_fraction: float = 0.03  # CLP02 = 19 + NM1*TT naming the secondary (only with a 2320)
    reversal_fraction: float = 0.02  # CLP02 = 22 reversal of an earlier payment, then its correction
    claim_cas_fraction: float = 0.1  # paid claims with a claim-level CAS (2100)
    oa23_fraction: float = 0.02  # lines with an OA-23 adjustment
    bundled_fraction: float = 0.03  # extra lines denied CO-97 (bundled, paid 0)
    rendering_fraction: float = 0.3  # claims with a 2310B rendering provider
    plb_fraction: float = 0.3  # 835 transactions with a PLB
    unbalanced_fraction: float = 0.0  # claims whose 835 breaks the S (line) or C (claim) rule
    max_lines: int = 6  # 1..max_lines service lines per claim
    claims_per_837: int = 5000  # claims per 837 ST (the TR3's recommended ceiling)
    claims_per_835: int = 1000  # claims per 835 ST; each ST is one payment (BPR)
    claim_offset: int = 0  # numbering starts at claim_offset + 1 (distinct CLM01s across a batch)
    paid_date: dt.date = dt.date(2026, 3, 20)  # BPR16 / DTM*405; service dates fall before it

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_fraction") and not 0 <= value <= 1:
                raise ValueError(f"{f.name} must be between 0 and 1, got {value!r}")
        status = self.denial_fraction + self.crossover_fraction + self.reversal_fraction
        if status > 1:
            raise ValueError("denial, crossover and reversal fractions add up to more than 1")
        if not 1 <= self.max_lines <= 50:
            raise ValueError("max_lines must be between 1 and 50 (2400 repeats at most 50 times)")
        if self.claims_per_837 < 1 or self.claims_per_835 < 1:
            raise ValueError("claims per transaction must be at least 1")
        if self.claim_offset < 0:
            raise ValueError("claim_offset must not be negative")

    @classmethod
    def knob_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


# -- the original claim ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Person:
    last: str
    first: str
    street: str
    city: str
    state: str
    zip: str
    birth: dt.date
    gender: str


@dataclass(frozen=True, slots=True)
class OtherCoverage:
    """The next payer (2320/2330A/2330B in the original claim, or a coverage.csv row)."""

    payer: PayerInfo
    member_id: str
    group: str
    relationship: str  # patient's relationship to this subscriber (2320 SBR02)
    subscriber: Person


@dataclass(frozen=True, slots=True)
class ServiceLine:
    number: int  # LX01
    code: str
    modifiers: tuple[str, ...]
    charge: Decimal  # SV102
    units: int  # SV104
    date: dt.date  # DTP*472
    pointers: tuple[str, ...]  # SV107
    control: str  # REF*6R


@dataclass(frozen=True, slots=True)
class Claim:
    number: int
    id: str  # CLM01
    subscriber: Person
    member_id: str  # 2010BA NM109 at the primary
    group: str  # 2000B SBR03
    patient: Person | None  # 2000C when the patient is not the subscriber
    patient_relationship: str  # PAT01 (19 child, 01 spouse) or 18
    secondary: OtherCoverage
    secondary_in_claim: bool  # False: no 2320 for it, coverage.csv carries it
    diagnoses: tuple[str, ...]
    lines: tuple[ServiceLine, ...]
    rendering: int | None  # index into RENDERING

    @property
    def charge(self) -> Decimal:  # CLM02 = sum SV102
        return sum((line.charge for line in self.lines), ZERO)

    @property
    def first_date(self) -> dt.date:
        return min(line.date for line in self.lines)


def claim_rng(seed: int, number: int) -> random.Random:
    """The claim's own generator: same seed and number, same claim, whatever N is."""
    return random.Random(seed * 1_000_003 + number)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _person(rng: random.Random, last: str | None = None, street: tuple[str, str, str, str] | None = None,
            adult: bool = True) -> Person:
    if street is None:
        city, state, zip5 = rng.choice(CITIES)
        street = (f"{rng.randint(1, 9999)} {rng.choice(STREETS)}", city, state, f"{zip5}{rng.randint(0, 9999):04d}")
    years = rng.randint(19, 85) if adult else rng.randint(1, 17)
    birth = dt.date(2026 - years, rng.randint(1, 12), rng.randint(1, 28))
    return Person(last or rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES), *street, birth, rng.choice("FM"))


def make_claim(rng: random.Random, number: int, options: SynthOptions) -> Claim:
    """One original 837P claim (as billed to PRIMARY) and the next payer's coverage."""
    claim_id = f"SYN{number:08d}"
    subscriber = _person(rng)
    address = (subscriber.street, subscriber.city, subscriber.state, subscriber.zip)
    member_id = f"ZZP{rng.randint(0, 10**9 - 1):09d}"
    group = f"ZZG{rng.randint(0, 9999):04d}"
    patient: Person | None = None
    relationship = "18"
    if rng.random() < options.patient_fraction:
        relationship = rng.choice(("19", "19", "01"))
        patient = _person(rng, subscriber.last, address, adult=relationship == "01")

    # the next payer: same subscriber (or, for a child, often the other parent's plan)
    payer = rng.choice(SECONDARIES)
    if patient is None:
        if rng.random() < 0.3:
            other, sec_relationship = _person(rng, subscriber.last, address), "01"
        else:
            other, sec_relationship = subscriber, "18"
    elif relationship == "19" and rng.random() < 0.5:
        other, sec_relationship = _person(rng, subscriber.last, address), "19"
    else:
        other, sec_relationship = subscriber, relationship
    secondary = OtherCoverage(payer, f"ZZS{rng.randint(0, 10**9 - 1):09d}", f"ZZH{rng.randint(0, 9999):04d}",
                              sec_relationship, other)
    secondary_in_claim = rng.random() >= options.secondary_absent_fraction

    n_dx = rng.randint(1, 4)
    diagnoses = tuple(rng.sample(DIAGNOSES, n_dx))
    service_date = options.paid_date - dt.timedelta(days=rng.randint(14, 60))
    n_lines = rng.randint(1, options.max_lines)
    lines: list[ServiceLine] = []
    for k in range(1, n_lines + 1):
        code = rng.choice(EM_CODES) if k == 1 and rng.random() < 0.8 else rng.choice(OTHER_CODES)
        fee, em, max_units = PROCEDURES[code]
        modifiers: tuple[str, ...] = ()
        roll = rng.random()
        if em:
            modifiers = ("25",) if n_lines > 1 and roll < 0.3 else ()
        elif roll < 0.03:
            modifiers = tuple(rng.sample(MODIFIERS, 2))
        elif roll < 0.18:
            modifiers = (rng.choice(MODIFIERS),)
        units = rng.randint(1, max_units)
        unit_charge = (fee * Decimal(rng.randint(90, 130)) / 100).quantize(Decimal(1))
        pointers = tuple(str(p) for p in sorted(rng.sample(range(1, n_dx + 1), rng.randint(1, n_dx))))
        lines.append(ServiceLine(k, code, modifiers, unit_charge * units, units, service_date, pointers,
                                 f"{claim_id}-{k}"))
    rendering = rng.randrange(len(RENDERING)) if rng.random() < options.rendering_fraction else None
    return Claim(number, claim_id, subscriber, member_id, group, patient, relationship, secondary,
                 secondary_in_claim, diagnoses, tuple(lines), rendering)


# -- the primary's adjudication (835) --------------------------------------------------------------

Adjustment = tuple[str, str, Decimal]  # CAS group, reason, amount


@dataclass(slots=True)
class RemitLine:
    """One 2110 loop: SVC02 - sum(adjustments) = SVC03 (the S rule) unless made unbalanced."""

    code: str
    modifiers: tuple[str, ...]
    charge: Decimal  # SVC02
    paid: Decimal  # SVC03
    units: int  # SVC05
    date: dt.date
    control: str  # REF*6R echoed
    adjustments: list[Adjustment] = field(default_factory=list)
    allowed: Decimal | None = None  # AMT*B6


@dataclass(slots=True)
class Remit:
    """One 2100 loop: CLP03 - sum(claim + line adjustments) = CLP04 (the C rule)."""

    claim_id: str
    status: str  # CLP02
    charge: Decimal  # CLP03
    paid: Decimal  # CLP04
    patient_responsibility: Decimal  # CLP05 = sum PR
    icn: str  # CLP07
    plan: str  # CLP06
    adjustments: list[Adjustment] = field(default_factory=list)  # claim-level CAS
    lines: list[RemitLine] = field(default_factory=list)
    crossover: PayerInfo | None = None  # NM1*TT
    remarks: tuple[str, ...] = ()  # MOA03..
    original_icn: str | None = None  # REF*F8 on a correction
    unbalanced: str | None = None  # "line" or "claim" when deliberately broken


DENIALS = (("CO", "29"), ("CO", "197"), ("CO", "50"), ("CO", "16"), ("PR", "204"))


def adjudicate(rng: random.Random, claim: Claim, options: SynthOptions) -> list[Remit]:
    """The primary's 835 claims for `claim`: one CLP, or a reversal (22) followed by its correction."""
    roll = rng.random()
    icn = f"ZZ{claim.number:010d}"
    if roll < options.denial_fraction:
        remits = [_deny(rng, claim, icn + "0")]
    elif roll < options.denial_fraction + options.crossover_fraction and claim.secondary_in_claim:
        remit = _pay(rng, claim, icn + "0", options, claim_cas=False)
        remit.status = "19"
        remit.crossover = claim.secondary.payer
        remit.remarks = ("MA18",)
        remits = [remit]
    elif roll < options.denial_fraction + options.crossover_fraction + options.reversal_fraction:
        earlier = _pay(rng, claim, icn + "0", options, claim_cas=False)
        correction = _pay(rng, claim, icn + "1", options, claim_cas=False)
        correction.original_icn = earlier.icn
        remits = [_reverse(earlier), correction]
    else:
        remits = [_pay(rng, claim, icn + "0", options, claim_cas=rng.random() < options.claim_cas_fraction)]
    if rng.random() < options.unbalanced_fraction:
        _unbalance(rng, remits[-1])
    return remits


def _pay(rng: random.Random, claim: Claim, icn: str, options: SynthOptions, claim_cas: bool) -> Remit:
    ratio = Decimal(rng.randint(55, 90)) / 100
    deductible = Decimal(rng.choice((50, 100, 250, 500))) if rng.random() < 0.2 else ZERO
    copay = Decimal(rng.choice((15, 20, 25, 30, 40))) if rng.random() < 0.3 else ZERO
    coinsurance = Decimal(rng.choice((10, 20, 30))) / 100 if rng.random() < 0.5 else ZERO
    lines: list[RemitLine] = []
    for k, line in enumerate(claim.lines):
        remit_line = RemitLine(line.code, line.modifiers, line.charge, ZERO, line.units, line.date, line.control)
        lines.append(remit_line)
        if k > 0 and rng.random() < options.bundled_fraction:
            remit_line.adjustments.append(("CO", "97", line.charge))
            continue
        allowed = _money(line.charge * ratio)
        remit_line.allowed = allowed
        if line.charge > allowed:
            remit_line.adjustments.append(("CO", "45", line.charge - allowed))
        left = allowed
        if deductible and left:
            taken = min(deductible, left)
            deductible -= taken
            left -= taken
            remit_line.adjustments.append(("PR", "1", taken))
        if copay and line.code in EM_CODES and left >= copay:
            left -= copay
            remit_line.adjustments.append(("PR", "3", copay))
            copay = ZERO
        if coinsurance and left:
            share = _money(left * coinsurance)
            if share:
                left -= share
                remit_line.adjustments.append(("PR", "2", share))
        if left and rng.random() < options.oa23_fraction:
            impact = _money(left * Decimal(rng.randint(5, 30)) / 100)
            if impact:
                left -= impact
                remit_line.adjustments.append(("OA", "23", impact))
        remit_line.paid = left
    remit = Remit(claim.id, "1", claim.charge, sum((l.paid for l in lines), ZERO), ZERO, icn, PRIMARY.plan,
                  lines=lines)
    if claim_cas and remit.paid > 0:
        group, reason = rng.choice((("PR", "1"), ("CO", "253"), ("OA", "94")))
        amount = min(remit.paid, Decimal(rng.choice((10, 25, 50)))) if group == "PR" else _money(remit.paid * Decimal("0.02"))
        if amount > 0:
            remit.adjustments.append((group, reason, amount))
            remit.paid -= amount
    remit.patient_responsibility = _patient_share(remit)
    return remit


def _deny(rng: random.Random, claim: Claim, icn: str) -> Remit:
    group, reason = rng.choice(DENIALS)
    remit = Remit(claim.id, "4", claim.charge, ZERO, ZERO, icn, PRIMARY.plan)
    if rng.random() < 0.2:  # denied at claim level, no service lines
        remit.adjustments.append((group, reason, claim.charge))
    else:
        remit.lines = [RemitLine(line.code, line.modifiers, line.charge, ZERO, line.units, line.date, line.control,
                                 [(group, reason, line.charge)]) for line in claim.lines]
    remit.patient_responsibility = _patient_share(remit)
    return remit


def _reverse(remit: Remit) -> Remit:
    """CLP02 = 22: the earlier payment with every amount negated, group codes kept (5010 has no CR)."""
    def neg(adjustments: list[Adjustment]) -> list[Adjustment]:
        return [(group, reason, -amount) for group, reason, amount in adjustments]

    lines = [RemitLine(l.code, l.modifiers, -l.charge, -l.paid, l.units, l.date, l.control, neg(l.adjustments))
             for l in remit.lines]
    return Remit(remit.claim_id, "22", -remit.charge, -remit.paid, -remit.patient_responsibility, remit.icn,
                 remit.plan, neg(remit.adjustments), lines)


def _patient_share(remit: Remit) -> Decimal:
    """CLP05 = sum of PR adjustments at claim and line level."""
    total = sum((a for g, _, a in remit.adjustments if g == "PR"), ZERO)
    for line in remit.lines:
        total += sum((a for g, _, a in line.adjustments if g == "PR"), ZERO)
    return total


def _unbalance(rng: random.Random, remit: Remit) -> None:
    """Break one rule on purpose: a line's SVC03 (S rule) or the claim's CLP04 (C rule)."""
    delta = Decimal(rng.randint(1, 500)) / 100
    if remit.lines and rng.random() < 0.5:
        line = rng.choice(remit.lines)
        line.paid += delta
        remit.unbalanced = "line"
    else:
        remit.paid += delta
        remit.unbalanced = "claim"
