"""Small synthetic 837P + 835 pairs for mapper edge cases: one claim, ACME (11111) primary.

`original(...)` and `remittance(...)` wrap segment lines (one per line, no terminators) in
envelopes; `convert(...)` runs the real batch and returns the decision and the written claim.
"""
from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

from cobpipe.claim837.parser import ClaimFile
from cobpipe.pipeline import ConvertOptions, run_batch

OPTIONS = ConvertOptions(today=dt.date(2026, 4, 1), now=dt.datetime(2026, 4, 1, 9, 30))

BILLING = """
HL*1**20*1
PRV*BI*PXC*208000000X
NM1*85*2*SUNRISE PEDIATRICS*****XX*1234567893
N3*100 MAIN STREET
N4*SPRINGFIELD*IL*627010001
REF*EI*371234567
"""

SELF_SUBSCRIBER = """
HL*2*1*22*0
SBR*P*18*ACG0300******CI
NM1*IL*1*FERNSPINDLE*PIPPA****MI*PRM0330001
N3*9 LANTERN HILL DRIVE
N4*ROCHESTER*IL*625630009
DMG*D8*19800807*F
NM1*PR*2*ACME HEALTH PLAN*****PI*11111
"""

SECONDARY_2320 = """
SBR*S*18*BSG0300******CI
OI***Y*P**Y
NM1*IL*1*FERNSPINDLE*PIPPA****MI*SEC0330002
NM1*PR*2*BLUE STAR INSURANCE*****PI*22222
"""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in textwrap.dedent(text).strip().splitlines() if line.strip()]


def original(body: str, terminator: str = "~\n") -> str:
    """An 837P interchange around `body` (2000A onwards)."""
    segments = ["ST*837*0001*005010X222A1", "BHT*0019*00*PROBE*20260305*0930*CH",
                "NM1*41*2*SUNRISE PEDIATRICS*****46*SUN123", "PER*IC*BILLING OFFICE*TE*5555550100",
                "NM1*40*2*CLEARHOUSE INC*****46*CLEARHOUSE", *_lines(body)]
    segments.append(f"SE*{len(segments) + 1}*0001")
    return terminator.join([
        "ISA*00*          *00*          *ZZ*SUNRISEPEDS    *ZZ*CLEARHOUSE     *260305*0930*^*00501*000001103*0*T*:",
        "GS*HC*SUNRISEPEDS*CLEARHOUSE*20260305*0930*1103*X*005010X222A1", *segments, "GE*1*1103",
        "IEA*1*000001103"]) + terminator


def remittance(body: str, paid: str, payment_date: str = "20260318", production_date: str | None = None) -> str:
    """An ACME 835 interchange around the 2100 loops in `body`."""
    segments = ["ST*835*0001",
                f"BPR*I*{paid}*C*ACH*CCP*01*011000015*DA*123456789*1512345678**01*021000021*DA*987654321*"
                f"{payment_date}",
                "TRN*1*EFT20260318003*1512345678", f"DTM*405*{production_date or payment_date}",
                "N1*PR*ACME HEALTH PLAN", "N3*1 INSURANCE PLAZA", "N4*HARTFORD*CT*061010001",
                "PER*BL*PROVIDER SERVICES*TE*8005550199", "N1*PE*SUNRISE PEDIATRICS*XX*1234567893",
                "REF*TJ*371234567", "LX*1", *_lines(body)]
    segments.append(f"SE*{len(segments) + 1}*0001")
    return "~\n".join([
        "ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*SUNRISEPEDS    *260319*0800*^*00501*000005103*0*T*:",
        "GS*HP*ACMEHEALTH*SUNRISEPEDS*20260319*0800*5103*X*005010X221A1", *segments, "GE*1*5103",
        "IEA*1*000005103"]) + "~\n"


class Outcome:
    def __init__(self, decision: dict, output: Path | None) -> None:
        self.decision = decision
        self.status = decision["status"]
        self.reasons = " ".join(decision.get("reasons", []))
        self.text = output.read_text() if output else ""
        self.claim = next(iter(ClaimFile.open(output)), None) if output else None

    @property
    def segments(self) -> list[str]:
        return [s.strip() for s in self.text.split("~") if s.strip()]


def convert(tmp_path: Path, claims_837: str, era_835: str) -> Outcome:
    (tmp_path / "claims.837").write_text(claims_837, newline="")
    (tmp_path / "era.835").write_text(era_835)
    [result] = run_batch([tmp_path / "era.835"], [tmp_path / "claims.837"], tmp_path / "out", options=OPTIONS)
    [decision] = json.loads(result.report.read_text())["claims"]
    return Outcome(decision, result.output)
