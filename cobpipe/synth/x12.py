"""Segments of the synthetic original 837P (005010X222A1) and the primary's 835 (005010X221A1)."""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from decimal import Decimal

from edi.segment import Segment
from edi.writer import format_amount

from .model import (BILLING_EIN, BILLING_NAME, BILLING_NPI, PRIMARY, RENDERING, RENDERING_NPIS, ZERO,
                    Adjustment, Claim, Person, Remit)

S = Segment.build
CAS_TRIPLETS = 6  # reason/amount/quantity triplets per CAS segment

SUBMITTER_ETIN = "ZZSYNTHGROUP"
RECEIVER_ID = "ZZCLEARINGHSE"
PAYER_EIN_ID = "1990000001"  # TRN03 / BPR10: "1" + the payer's (fake) EIN


def d8(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def amount(value: Decimal) -> str:
    return format_amount(value)


# -- 837P ------------------------------------------------------------------------------------------

def header_837(reference: str, created: dt.datetime) -> list[Segment]:
    """BHT, 1000A submitter (with PER), 1000B receiver, 2000A/2010AA billing provider (NPI, EIN)."""
    return [
        S("BHT", "0019", "00", reference, created.strftime("%Y%m%d"), created.strftime("%H%M"), "CH"),
        S("NM1", "41", "2", BILLING_NAME, None, None, None, None, "46", SUBMITTER_ETIN),
        S("PER", "IC", "BILLING OFFICE", "TE", "5555550100"),
        S("NM1", "40", "2", "ZZ CLEARINGHOUSE", None, None, None, None, "46", RECEIVER_ID),
        S("HL", "1", None, "20", "1"),
        S("PRV", "BI", "PXC", "207Q00000X"),
        S("NM1", "85", "2", BILLING_NAME, None, None, None, None, "XX", BILLING_NPI),
        S("N3", "100 SYNTHETIC PLAZA"),
        S("N4", "ANYTOWN", "IL", "627010001"),
        S("REF", "EI", BILLING_EIN),
    ]


def _address(person: Person) -> list[Segment]:
    return [S("N3", person.street), S("N4", person.city, person.state, person.zip)]


def _dmg(person: Person) -> Segment:
    return S("DMG", "D8", d8(person.birth), person.gender)


def claim_837(claim: Claim, hl: int) -> tuple[list[Segment], int]:
    """2000B (and 2000C) through the last 2400 of one claim; returns the segments and the next HL id."""
    sub = claim.subscriber
    has_patient = claim.patient is not None
    segments = [
        S("HL", str(hl), "1", "22", "1" if has_patient else "0"),
        S("SBR", "P", None if has_patient else "18", claim.group, None, None, None, None, None, PRIMARY.filing),
        S("NM1", "IL", "1", sub.last, sub.first, None, None, None, "MI", claim.member_id),
        *_address(sub),
    ]
    if not has_patient:
        segments.append(_dmg(sub))
    segments.append(S("NM1", "PR", "2", PRIMARY.name, None, None, None, None, "PI", PRIMARY.id))
    next_hl = hl + 1
    if claim.patient is not None:
        pat = claim.patient
        segments += [
            S("HL", str(next_hl), str(hl), "23", "0"),
            S("PAT", claim.patient_relationship),
            S("NM1", "QC", "1", pat.last, pat.first),
            *_address(pat),
            _dmg(pat),
        ]
        next_hl += 1
    segments.append(S("CLM", claim.id, amount(claim.charge), None, None, ("11", "B", "1"), "Y", "A", "Y", "Y"))
    segments.append(S("HI", *[("ABK" if i == 0 else "ABF", code) for i, code in enumerate(claim.diagnoses)]))
    if claim.rendering is not None:
        last, first = RENDERING[claim.rendering]
        segments += [
            S("NM1", "82", "1", last, first, None, None, None, "XX", RENDERING_NPIS[claim.rendering]),
            S("PRV", "PE", "PXC", "207Q00000X"),
        ]
    if claim.secondary_in_claim:
        cov = claim.secondary
        segments += [
            S("SBR", "S", cov.relationship, cov.group, None, None, None, None, None, cov.payer.filing),
            S("OI", None, None, "Y", "P", None, "Y"),
            S("NM1", "IL", "1", cov.subscriber.last, cov.subscriber.first, None, None, None, "MI", cov.member_id),
            S("NM1", "PR", "2", cov.payer.name, None, None, None, None, "PI", cov.payer.id),
        ]
    for line in claim.lines:
        segments += [
            S("LX", str(line.number)),
            S("SV1", ("HC", line.code, *line.modifiers), amount(line.charge), "UN", str(line.units), None, None,
              tuple(line.pointers)),
            S("DTP", "472", "D8", d8(line.date)),
            S("REF", "6R", line.control),
        ]
    return segments, next_hl


COVERAGE_COLUMNS = ("claim_id", "primary_member_id", "payer_name", "payer_id", "payer_id_qualifier", "member_id",
                    "member_id_qualifier", "subscriber_last_name", "subscriber_first_name",
                    "subscriber_middle_name", "relationship", "group_number", "group_name", "filing_indicator",
                    "insurance_type", "payer_level")


def coverage_row(claim: Claim) -> tuple[str, ...]:
    """The coverage.csv row (cobpipe.cob.coverage columns) for a claim billed without its 2320."""
    cov = claim.secondary
    self_ = cov.relationship == "18"
    return (claim.id, claim.member_id, cov.payer.name, cov.payer.id, "PI", cov.member_id, "MI",
            "" if self_ else cov.subscriber.last, "" if self_ else cov.subscriber.first, "",
            cov.relationship, cov.group, "", cov.payer.filing, "", "S")


# -- 835 -------------------------------------------------------------------------------------------

def cas_segments(adjustments: Iterable[Adjustment]) -> list[Segment]:
    """One CAS per group code, at most 6 triplets each (further ones go in another CAS of that group)."""
    groups: dict[str, list[tuple[str, Decimal]]] = {}
    for group, reason, value in adjustments:
        groups.setdefault(group, []).append((reason, value))
    segments = []
    for group, items in groups.items():
        for start in range(0, len(items), CAS_TRIPLETS):
            elements: list[str | None] = [group]
            for k, (reason, value) in enumerate(items[start:start + CAS_TRIPLETS]):
                if k:
                    elements.append(None)  # the quantity of the previous triplet
                elements += [reason, amount(value)]
            segments.append(S("CAS", *elements))
    return segments


def claim_835(remit: Remit, claim: Claim, received: dt.date) -> list[Segment]:
    """One 2100 loop and its 2110 loops."""
    segments = [S("CLP", remit.claim_id, remit.status, amount(remit.charge), amount(remit.paid),
                  amount(remit.patient_responsibility), remit.plan, remit.icn, "11", "1")]
    segments += cas_segments(remit.adjustments)
    if claim.patient is None:
        sub = claim.subscriber
        segments.append(S("NM1", "QC", "1", sub.last, sub.first, None, None, None, "MI", claim.member_id))
    else:
        pat, sub = claim.patient, claim.subscriber
        segments.append(S("NM1", "QC", "1", pat.last, pat.first))
        segments.append(S("NM1", "IL", "1", sub.last, sub.first, None, None, None, "MI", claim.member_id))
    if claim.rendering is not None:
        last, first = RENDERING[claim.rendering]
        segments.append(S("NM1", "82", "1", last, first, None, None, None, "XX", RENDERING_NPIS[claim.rendering]))
    if remit.crossover is not None:
        payer = remit.crossover
        segments.append(S("NM1", "TT", "2", payer.name, None, None, None, None, "PI", payer.id))
    if remit.remarks:
        segments.append(S("MOA", None, None, *remit.remarks))
    if remit.original_icn:
        segments.append(S("REF", "F8", remit.original_icn))
    segments.append(S("DTM", "050", d8(received)))
    for line in remit.lines:
        segments += [
            S("SVC", ("HC", line.code, *line.modifiers), amount(line.charge), amount(line.paid), None,
              str(line.units)),
            S("DTM", "472", d8(line.date)),
            *cas_segments(line.adjustments),
            S("REF", "6R", line.control),
        ]
        if line.allowed is not None:
            segments.append(S("AMT", "B6", amount(line.allowed)))
    return segments


def header_835(total: Decimal, paid: dt.date, trace: str) -> list[Segment]:
    """BPR (BPR02 = sum CLP04 - sum PLB), TRN, DTM*405, 1000A payer, 1000B payee, LX."""
    if total > 0:
        bpr = S("BPR", "I", amount(total), "C", "ACH", "CCP", "01", "011000015", "DA", "123456789", PAYER_EIN_ID,
                None, "01", "021000021", "DA", "987654321", d8(paid))
    else:  # nothing to pay: a notification without money (BPR01 = H)
        bpr = S("BPR", "H", "0", "C", "NON", *([None] * 11), d8(paid))
    return [
        bpr,
        S("TRN", "1", trace, PAYER_EIN_ID),
        S("DTM", "405", d8(paid)),
        S("N1", "PR", PRIMARY.name),
        S("N3", "1 TEST INSURANCE PLAZA"),
        S("N4", "ANYTOWN", "CT", "061010001"),
        S("REF", "2U", PRIMARY.id),
        S("PER", "BL", "PROVIDER SERVICES", "TE", "8005550199"),
        S("N1", "PE", BILLING_NAME, "XX", BILLING_NPI),
        S("N3", "100 SYNTHETIC PLAZA"),
        S("N4", "ANYTOWN", "IL", "627010001"),
        S("REF", "TJ", BILLING_EIN),
        S("LX", "1"),
    ]


PLB_CHOICES = ("L6", "WO", "72", "CS")


def plb_adjustments(rng: random.Random, paid_total: Decimal, wanted: bool) -> list[tuple[str, str, Decimal]]:
    """Provider-level adjustments (reason, reference, amount) keeping BPR02 = sum CLP04 - sum PLB >= 0.

    Positive amounts reduce the payment (a recovered overpayment), negative ones add to it (interest).
    A negative claim total (reversals) is carried forward with FB so the payment is never negative.
    """
    items: list[tuple[str, str, Decimal]] = []
    if wanted:
        for _ in range(rng.randint(1, 2)):
            reason = rng.choice(PLB_CHOICES)
            if reason == "L6":
                value = -Decimal(rng.randint(50, 2500)) / 100
            else:
                room = paid_total - sum((v for _, _, v in items), ZERO)
                value = min(Decimal(rng.randint(1000, 20000)) / 100, room)
                if value <= 0:
                    continue
            items.append((reason, f"ZZADJ{rng.randint(0, 10**8 - 1):08d}", value))
    left = paid_total - sum((v for _, _, v in items), ZERO)
    if left < 0:
        items.append(("FB", f"ZZFB{rng.randint(0, 10**8 - 1):08d}", left))
    return items


def plb_segments(items: list[tuple[str, str, Decimal]], paid: dt.date) -> list[Segment]:
    """PLB with at most six adjustments each; PLB02 is the end of the payee's fiscal year."""
    segments = []
    for start in range(0, len(items), 6):
        elements: list = [BILLING_NPI, f"{paid.year}1231"]
        for reason, reference, value in items[start:start + 6]:
            elements += [(reason, reference), amount(value)]
        segments.append(S("PLB", *elements))
    return segments
