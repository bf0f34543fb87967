"""The CMS-1500 (02/12) items of a secondary claim, read from the claim as it would be sent
electronically (built by cobpipe.cob.build.build_secondary), as NUCC's 1500 Reference Instruction
Manual asks for a claim to a second payer:

    carrier block  the payer billed now (2010BB name, N3, N4)
    1, 1a, 4, 7, 11, 11a, 11c   that payer's insured (2000B SBR, 2010BA), 1 from SBR09
    2, 3, 5        the patient (2010CA when there is a 2000C, else 2010BA); 6 from PAT01 (self without 2000C)
    9, 9a, 9d      the other (primary) insured and plan: 2330A name, 2320 SBR03 (else 2330A id),
                   2320 SBR04 (else the 2330B payer name); 11d = yes
    10a-c          CLM11 related causes (EM, AA + state, OA)     12, 13  CLM09 / CLM08: signature on file
    14             DTP*431 (or *484)      17, 17b  2310A referring provider (DN)     23  REF*G1
    22             CLM05-3 7 or 8 (replacement, void) with the 2300 REF*F8 claim number; blank for an original
    21             HI: ICD indicator 0 (ABK/ABF) or 9 (BK/BF), codes A-L without a decimal point
    24A-J          each 2400: DTP*472, SV105 (else CLM05-1), SV109, SV101 code and modifiers,
                   SV107 pointers as letters, SV102, SV104, the 2420A (else 2310B) NPI; the shaded
                   line carries the NDC (2410 LIN/CTP)
    25             2010AA REF*EI (EIN) or REF*SY (SSN)     26  CLM01     27  CLM07 (A = yes)
    28             total of the form's own 24F             29  what other payers paid: the 2430 SVD02
                   of the form's lines (AMT*D when the primary reported no lines); left blank when
                   the payer billed now is Medicare, whose instructions want only what the patient paid
    Medicare billed after other payers (MSP, which the converter sends to paper when more than one
    payer is primary to it) follows CMS's instructions instead for 4, 6, 7, 9-9d and 11-11d: see
    _medicare_secondary.
    31             SIGNATURE ON FILE and the date printed  32, 32a  2310C service facility, else 2010AA
    33, 33a        2010AA billing provider, its phone (2010AA PER, else 1000A PER), NPI

A claim with more than 6 lines takes several forms, each with its own lines (6 at most), its own
box 28 total and box 29 amount (NUCC: 28 is the total of the charges in 24F), the claim's other items
repeated, and "PAGE n OF m" at the top. Everything is upper case; names are "LAST, FIRST, M" and
addresses have no punctuation other than the hyphen of a 9-digit ZIP code, as the manual asks.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from edi.segment import Segment
from edi.values import parse_amount, parse_date8

from .grid import SERVICE_LINES_PER_FORM

ZERO = Decimal(0)
MEDICARE = frozenset({"MA", "MB"})
_COVERAGE = {"MA": "1.medicare", "MB": "1.medicare", "MC": "1.medicaid", "CH": "1.tricare", "VA": "1.champva",
             "CI": "1.group", "BL": "1.group", "HM": "1.group", "FI": "1.group", "12": "1.group", "13": "1.group",
             "14": "1.group", "15": "1.group", "16": "1.group", "17": "1.group"}
_RELATIONSHIP = {"18": "6.self", "01": "6.spouse", "19": "6.child"}
_NOT_ALLOWED = re.compile(r"[^A-Z0-9 \-]")  # NUCC: no punctuation in addresses; a hyphen may stay


@dataclass(slots=True)
class ServiceLine:
    """Box 24 for one 2400 line, and what other payers paid on it (for box 29)."""

    values: dict[str, str]
    charge: Decimal
    paid_by_others: Decimal


@dataclass(slots=True)
class FormPage:
    """One printed CMS-1500: item key (see grid.SPOTS / grid.LINE_SPOTS with "@row") -> text."""

    values: dict[str, str] = field(default_factory=dict)
    number: int = 1
    of: int = 1


def forms_for(claim, *, today: dt.date | None = None) -> list[FormPage]:
    """The CMS-1500 forms of one claim (cobpipe.claim837.OriginalClaim): one per 6 service lines."""
    common = claim_items(claim, today=today)
    lines = [service_line(claim, line) for line in claim.lines]
    chunks = [lines[i:i + SERVICE_LINES_PER_FORM] for i in range(0, len(lines), SERVICE_LINES_PER_FORM)] or [[]]
    medicare_now = _code(claim.sbr, 9) in MEDICARE if claim.sbr is not None else False
    claim_paid = _claim_level_paid(claim) if not any(line.paid_by_others for line in lines) else None
    pages: list[FormPage] = []
    for number, chunk in enumerate(chunks, start=1):
        page = FormPage(dict(common), number, len(chunks))
        if len(chunks) > 1:
            page.values["page"] = f"PAGE {number} OF {len(chunks)}"
        for row, line in enumerate(chunk, start=1):
            page.values.update({f"{key}@{row}": text for key, text in line.values.items() if text})
        page.values["28"] = money(sum((line.charge for line in chunk), ZERO))
        if not medicare_now:
            paid = sum((line.paid_by_others for line in chunk), ZERO)
            if claim_paid is not None and number == 1:
                paid = claim_paid  # the primary reported the claim without lines: its AMT*D
            page.values["29"] = money(paid)
        pages.append(page)
    return pages


def claim_items(claim, *, today: dt.date | None = None) -> dict[str, str]:
    """Every item except box 24, 28 and 29 (which depend on the form's lines)."""
    v: dict[str, str] = {}
    payer = claim.loop_2010bb
    if payer is not None:
        nm1 = payer.first
        address = _address(payer)
        v["carrier.1"] = _upper(nm1.get(3)) if nm1 is not None else ""
        for n, text in enumerate(address, start=2):
            v[f"carrier.{n}"] = text
    sbr = claim.sbr
    filing = _code(sbr, 9) if sbr is not None else ""
    v[_COVERAGE.get(filing, "1.other")] = "X"
    insured = claim.loop_2010ba
    insured_nm1 = insured.first if insured is not None else None
    if insured_nm1 is not None:
        v["1a"] = _upper(insured_nm1.get(9))
        v["4"] = person_name(insured_nm1)
    if insured is not None:
        _put_address(v, "7", insured)
        _put_birth(v, "11a", insured.segment("DMG"), year="yyyy")
    if sbr is not None:
        v["11"] = _upper(sbr.get(3))
        v["11c"] = _upper(sbr.get(4)) or v.get("carrier.1", "")
    patient_loop = claim.loop_2010ca if claim.patient is not None else insured
    if patient_loop is not None and patient_loop.first is not None:
        v["2"] = person_name(patient_loop.first)
        _put_address(v, "5", patient_loop)
        _put_birth(v, "3", patient_loop.segment("DMG"), year="yyyy")
    if claim.patient is not None:
        pat = claim.patient.segment("PAT")
        relationship = _code(pat, 1) if pat is not None else ""
    else:
        relationship = "18"
    v[_RELATIONSHIP.get(relationship, "6.other")] = "X"

    primary = _prior_payer(claim)
    if primary is not None:
        other_sbr = primary.first
        other_insured = primary.child("2330A")
        other_payer = primary.child("2330B")
        other_nm1 = other_insured.first if other_insured is not None else None
        if other_nm1 is not None:
            v["9"] = person_name(other_nm1)
        v["9a"] = _upper(other_sbr.get(3)) or (_upper(other_nm1.get(9)) if other_nm1 is not None else "")
        payer_name = other_payer.first.get(3) if other_payer is not None and other_payer.first is not None else ""
        v["9d"] = _upper(other_sbr.get(4)) or _upper(payer_name)
        v["11d.yes"] = "X"
    else:
        v["11d.no"] = "X"

    clm = claim.clm
    causes = {c.upper() for c in clm.composite(11) if c}
    v["10a.yes" if "EM" in causes else "10a.no"] = "X"
    v["10b.yes" if "AA" in causes else "10b.no"] = "X"
    if "AA" in causes:
        v["10b.state"] = clm.component(11, 4).upper()
    v["10c.yes" if "OA" in causes else "10c.no"] = "X"
    if clm.get(9).upper() in ("Y", "I"):
        v["12"] = "SIGNATURE ON FILE"
    if clm.get(8).upper() in ("Y", "W"):
        v["13"] = "SIGNATURE ON FILE"

    for qualifier in ("431", "484"):
        dtp = claim.claim.segment("DTP", qualifier)
        when = parse_date8(dtp.get(3)) if dtp is not None and dtp.get(2) == "D8" else None
        if when is not None:
            v["14.mm"], v["14.dd"], v["14.yyyy"] = f"{when:%m}", f"{when:%d}", f"{when:%Y}"
            v["14.qual"] = qualifier
            break
    referring = claim.claim.child("2310A")
    if referring is not None and referring.first is not None:
        nm1 = referring.first
        v["17.qual"] = "DN" if nm1.get(1) in ("DN", "P3") else nm1.get(1)
        v["17"] = provider_name(nm1, first_name_first=True)
        if nm1.get(8) == "XX":
            v["17b"] = nm1.get(9)
    prior_auth = claim.claim.segment("REF", "G1")
    if prior_auth is not None:
        v["23"] = _upper(prior_auth.get(2))
    _put_diagnoses(v, claim)

    billing = claim.loop_2010aa
    if billing is not None and billing.first is not None:
        nm1 = billing.first
        ein, ssn = billing.segment("REF", "EI"), billing.segment("REF", "SY")
        if ein is not None:
            v["25"], v["25.ein"] = ein.get(2), "X"
        elif ssn is not None:
            v["25"], v["25.ssn"] = ssn.get(2), "X"
        v["33.1"] = provider_name(nm1)
        for n, text in enumerate(_address(billing)[:2], start=2):
            v[f"33.{n}"] = text
        if nm1.get(8) == "XX":
            v["33a"] = nm1.get(9)
        phone = _phone(billing) or (_phone(claim.submitter) if claim.submitter is not None else "")
        if len(phone) == 10:
            v["33.area"], v["33.phone"] = phone[:3], phone[3:]
    v["26"] = _upper(claim.id)
    v["27.yes" if clm.get(7).upper() == "A" else "27.no"] = "X"
    v["31"] = "SIGNATURE ON FILE"
    v["31.date"] = f"{today or dt.date.today():%m %d %y}"
    # where the services were rendered: the 2310C service facility, else (the 837 leaves 2310C out
    # when it is the billing provider's address) the billing provider
    facility = claim.claim.child("2310C") or billing
    if facility is not None and facility.first is not None:
        nm1 = facility.first
        v["32.1"] = provider_name(nm1)
        for n, text in enumerate(_address(facility)[:2], start=2):
            v[f"32.{n}"] = text
        if nm1.get(8) == "XX":
            v["32a"] = nm1.get(9)
    frequency = clm.component(5, 3)
    if frequency in ("7", "8"):  # a replacement or void: box 22 with the payer's claim number (2300 REF*F8)
        v["22.code"] = frequency
        original = claim.claim.segment("REF", "F8")
        v["22.ref"] = _upper(original.get(2)) if original is not None else ""
    if filing in MEDICARE and primary is not None:
        _medicare_secondary(v, claim, primary)
    return {key: printable(text) for key, text in v.items() if text}


def _medicare_secondary(v: dict[str, str], claim, primary) -> None:
    """Medicare billed after other payers (MSP) reads items 4, 6, 7 and 11-11c as the insurance
    primary to Medicare (CMS Claims Processing Manual ch. 26): 4 the primary's insured, or SAME when
    that is the patient; 6 the patient's relationship to that insured; 7 its address; 11 its policy
    or group number; 11a its birth date and sex only when not the patient; 11c the primary payer;
    9-9d are for Medigap only and 11d is left blank."""
    for key in [k for k in v if k.split(".")[0] in ("4", "6", "7", "9", "9a", "9d", "11", "11a", "11c", "11d")]:
        del v[key]
    sbr = primary.first
    insured = primary.child("2330A")
    payer = primary.child("2330B")
    nm1 = insured.first if insured is not None else None
    relationship = _code(sbr, 2)
    v["4"] = "SAME" if relationship == "18" else (person_name(nm1) if nm1 is not None else "")
    v[_RELATIONSHIP.get(relationship, "6.other")] = "X"
    if insured is not None:
        _put_address(v, "7", insured)
    v["11"] = _upper(sbr.get(3)) or (_upper(nm1.get(9)) if nm1 is not None else "")
    v["11c"] = _upper(payer.first.get(3)) if payer is not None and payer.first is not None else ""


def service_line(claim, line) -> ServiceLine:
    """Box 24 of one 2400 loop."""
    v: dict[str, str] = {}
    sv1 = line.segment("SV1")
    charge = (parse_amount(sv1.get(2)) if sv1 is not None else None) or ZERO
    if sv1 is not None:
        procedure = sv1.composite(1)
        v["24d.code"] = procedure[1].upper() if len(procedure) > 1 else ""
        for n, modifier in enumerate(procedure[2:6], start=1):
            v[f"24d.mod{n}"] = modifier.upper()
        v["24b"] = sv1.get(5) or claim.clm.component(5, 1)
        v["24c"] = "Y" if sv1.get(9).upper() == "Y" else ""
        v["24e"] = "".join(_pointer_letter(p) for p in sv1.composite(7)[:4] if p)
        v["24g"] = _number(sv1.get(4))
        v["24f"] = money(charge)
    dtp = line.segment("DTP", "472")
    start, end = _period(dtp)
    if start is not None:
        v["24a.from.mm"], v["24a.from.dd"], v["24a.from.yy"] = f"{start:%m}", f"{start:%d}", f"{start:%y}"
        end = end or start
        v["24a.to.mm"], v["24a.to.dd"], v["24a.to.yy"] = f"{end:%m}", f"{end:%d}", f"{end:%y}"
    rendering = line.child("2420A") or claim.claim.child("2310B")
    if rendering is not None and rendering.first is not None and rendering.first.get(8) == "XX":
        v["24j"] = rendering.first.get(9)
    drug = line.child("2410")
    if drug is not None and drug.first is not None and drug.first.get(2) == "N4":
        ctp = drug.segment("CTP")
        unit = f"{ctp.component(5, 1)}{_number(ctp.get(4))}" if ctp is not None else ""
        v["24.supplemental"] = f"N4{drug.first.get(3)} {unit}".strip()
    paid = ZERO
    for adjudication in line.children_of("2430"):
        svd = adjudication.first
        amount = parse_amount(svd.get(2)) if svd is not None else None
        paid += amount or ZERO
    return ServiceLine({k: printable(t) for k, t in v.items() if t}, charge, paid)


# --- helpers ---------------------------------------------------------------------------------------

def money(amount: Decimal) -> str:
    """NUCC money: dollars right-aligned, a space where the decimal point would be, two cents digits,
    no dollar sign or commas: 33.00 -> '   33 00' (8 characters, as 24F's dollar/cent areas; longer
    for $100,000 or more, which the renderer lets grow to the left rather than cut)."""
    cents = int((amount.copy_abs() * 100).to_integral_value())
    return f"{cents // 100:>5} {cents % 100:02d}"


def person_name(nm1: Segment) -> str:
    """NUCC name: LAST, FIRST, M (suffix after the last name), commas between, no periods."""
    if nm1.get(2) == "2":
        return _upper(nm1.get(3))
    last = " ".join(p for p in (_clean_name(nm1.get(3)), _clean_name(nm1.get(7))) if p)
    parts = [last, _clean_name(nm1.get(4))]
    middle = _clean_name(nm1.get(5))
    if middle:
        parts.append(middle[0])
    return ", ".join(p for p in parts if p)


def provider_name(nm1: Segment, *, first_name_first: bool = False) -> str:
    """An organisation's name, or a person: "LAST, FIRST" (or "FIRST M LAST" for box 17)."""
    if nm1.get(2) == "2":
        return _upper(nm1.get(3))
    last, first, middle = _clean_name(nm1.get(3)), _clean_name(nm1.get(4)), _clean_name(nm1.get(5))
    if first_name_first:
        return " ".join(p for p in (first, middle[:1], last, _clean_name(nm1.get(7))) if p)
    return ", ".join(p for p in (last, first) if p)


def printable(text: str) -> str:
    """What a form (and OCR) can take: accents folded (MUÑOZ -> MUNOZ), anything else that is not
    printable ASCII dropped."""
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded if " " <= ch <= "~")


def _clean_name(text: str) -> str:
    return re.sub(r"[^A-Z0-9 \-']", "", printable(text).upper()).strip()


def _upper(text: str) -> str:
    return (text or "").strip().upper()


def _code(segment: Segment | None, position: int) -> str:
    return segment.get(position).strip().upper() if segment is not None else ""


def _address(loop) -> list[str]:
    """Street line(s) and "CITY ST ZIP" of a loop's N3/N4, punctuation removed."""
    out: list[str] = []
    n3 = loop.segment("N3")
    if n3 is not None:
        out += [_street(n3.get(1))] + ([_street(n3.get(2))] if n3.get(2) else [])
    n4 = loop.segment("N4")
    if n4 is not None:
        out.append(" ".join(p for p in (_street(n4.get(1)), _upper(n4.get(2)), zip_code(n4.get(3))) if p))
    return [line for line in out if line]


def _street(text: str) -> str:
    return " ".join(_NOT_ALLOWED.sub(" ", printable(text).upper()).split())


def zip_code(text: str) -> str:
    """A 9-digit ZIP code with its hyphen (NUCC), 5 digits as they are."""
    digits = (text or "").strip()
    return f"{digits[:5]}-{digits[5:]}" if len(digits) == 9 and digits.isdigit() else digits


def _put_address(v: dict[str, str], box: str, loop) -> None:
    n3, n4 = loop.segment("N3"), loop.segment("N4")
    if n3 is not None:
        v[f"{box}.street"] = " ".join(p for p in (_street(n3.get(1)), _street(n3.get(2))) if p)
    if n4 is not None:
        v[f"{box}.city"] = _street(n4.get(1))
        v[f"{box}.state"] = _upper(n4.get(2))
        v[f"{box}.zip"] = zip_code(n4.get(3))


def _put_birth(v: dict[str, str], box: str, dmg: Segment | None, *, year: str) -> None:
    if dmg is None or dmg.get(1) != "D8":
        return
    born = parse_date8(dmg.get(2))
    if born is not None:
        v[f"{box}.mm"], v[f"{box}.dd"], v[f"{box}.{year}"] = f"{born:%m}", f"{born:%d}", f"{born:%Y}"
    sex = dmg.get(3).upper()
    if sex in ("M", "F"):
        v[f"{box}.{sex.lower()}"] = "X"


def _put_diagnoses(v: dict[str, str], claim) -> None:
    codes: list[str] = []
    indicator = ""
    for hi in claim.claim.segments_of("HI"):
        for element in hi.elements:
            parts = element.split(hi.delimiters.component) if element else []
            if len(parts) < 2 or parts[0] not in ("ABK", "ABF", "BK", "BF"):
                continue
            indicator = indicator or ("0" if parts[0].startswith("AB") else "9")
            codes.append(parts[1].replace(".", "").upper())
    if codes:
        v["21.ind"] = indicator
    for letter, code in zip("ABCDEFGHIJKL", codes):
        v[f"21.{letter}"] = code


def _pointer_letter(pointer: str) -> str:
    return "ABCDEFGHIJKL"[int(pointer) - 1] if pointer.isdigit() and 1 <= int(pointer) <= 12 else ""


def _number(text: str) -> str:
    value = parse_amount(text)
    if value is None:
        return ""
    return format(value.normalize(), "f") if value != value.to_integral_value() else str(int(value))


def _period(dtp: Segment | None) -> tuple[dt.date | None, dt.date | None]:
    if dtp is None:
        return None, None
    if dtp.get(2) == "RD8" and "-" in dtp.get(3):
        first, _, last = dtp.get(3).partition("-")
        return parse_date8(first), parse_date8(last)
    return parse_date8(dtp.get(3)), None


def _phone(loop) -> str:
    for per in loop.segments_of("PER"):
        for position in (3, 5, 7):
            if per.get(position) == "TE":
                digits = "".join(ch for ch in per.get(position + 1) if ch.isdigit())
                return digits[-10:] if len(digits) >= 10 else digits
    return ""


def _prior_payer(claim):
    """The 2320 of the payer that adjudicated before this one: the primary (SBR01 P) when there is
    one, else the first 2320."""
    loops = claim.other_payers
    for loop in loops:
        if loop.first is not None and _code(loop.first, 1) == "P":
            return loop
    return loops[0] if loops else None


def _claim_level_paid(claim) -> Decimal:
    """AMT*D of every prior payer's 2320: what other payers paid when they reported no lines."""
    total = ZERO
    for loop in claim.other_payers:
        amt = loop.segment("AMT", "D")
        total += (parse_amount(amt.get(2)) if amt is not None else None) or ZERO
    return total
