"""Finding codes of the 835 model: stable ids, their default severity and meaning (README table).

ERA0xx are structure problems met while reading; ERA1xx are the balancing rules of cob-spec §2.2;
ERA2xx come from grouping claims by CLP01 (reversals, splits).
"""
from __future__ import annotations

from edi.findings import Severity

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

#: code -> (severity, meaning)
CODES: dict[str, tuple[Severity, str]] = {
    "ERA001": (W, "transaction set is not an 835; skipped (only when read with require_835=False)"),
    "ERA002": (W, "ST03/GS08 is not 005010X221A1; read as a 5010 835 anyway"),
    "ERA003": (E, "amount or quantity is not a number; read as absent"),
    "ERA004": (E, "date is not a valid CCYYMMDD date; read as absent"),
    "ERA005": (E, "required element missing (BPR02, CLP01-04, SVC01-03, PLB01/02, CAS triplet)"),
    "ERA006": (W, "composite uses another component separator than ISA16; split on the one it uses"),
    "ERA007": (E, "malformed SVC: SVC01 has no procedure code, or elements are shifted"),
    "ERA008": (W, "segment not expected here; ignored (or read at claim level when it belongs there)"),
    "ERA009": (E, "CAS malformed: more than 6 triplets (all read), a reason without an amount or the reverse, or no triplet"),
    "ERA010": (W, "CAS01 group code not valid in a 5010 835 (CO, OA, PI, PR); CR is 4010 only"),
    "ERA011": (E, "Table 1 incomplete: BPR, TRN, N1*PR or N1*PE missing"),
    "ERA012": (W, "CLP02 is not a known claim status code"),
    "ERA013": (W, "BPR03 is not C or D; read as credit"),
    "ERA101": (E, "S rule: SVC02 − Σ2110 CAS ≠ SVC03 (line does not balance)"),
    "ERA102": (E, "C rule: CLP03 − Σ(2100 + 2110 CAS) ≠ CLP04 (claim does not balance)"),
    "ERA103": (E, "T rule: BPR02 ≠ ΣCLP04 − ΣPLB (payment does not balance)"),
    "ERA104": (E, "CAS amount is 0 (CAS03/06/... must not be zero)"),
    "ERA105": (W, "CLP05 ≠ ΣPR CAS (claim + line); reversals excepted"),
    "ERA201": (W, "reversal (CLP02 22) without a later correction for the same CLP01"),
    "ERA202": (W, "reversal (CLP02 22) with a positive CLP03 or CLP04: 5010 reversals negate the original amounts"),
    "ERA203": (I, "split claim: several non-reversal CLPs share one CLP01"),
}


def severity_of(code: str) -> Severity:
    return CODES[code][0]


def markdown_table() -> str:
    """The README table of finding codes."""
    rows = ["| code | severity | meaning |", "|---|---|---|"]
    rows += [f"| {code} | {sev} | {text} |" for code, (sev, text) in CODES.items()]
    return "\n".join(rows)
