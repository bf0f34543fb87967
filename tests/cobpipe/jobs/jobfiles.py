"""Synthetic 837P/835 pairs full of distinctive PHI, and small helpers for the jobs tests.

The PHI values below are made up and distinctive so a test can assert none of them ever reaches
a log line, a reason file or the status output.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

PHI = {
    "last_name": "QUIXBLATTER",
    "first_name": "ZEPHYRINE",
    "member_primary": "MBRQX771234",
    "member_secondary": "SECQX884567",
    "birth_date": "19311231",
    "street": "77 WISTERIAVALE LANE",
}
TODAY = dt.date(2026, 3, 25)


def claims_837(claim_ids: list[str], control: int = 101) -> str:
    """An 837P from SUNRISEPEDS to CLEARHOUSE: one subscriber, one $33 office visit per claim,
    billed to payer 11111 with payer 22222 as the secondary (2320)."""
    body = [
        "BHT*0019*00*BATCH{c}*20260312*0930*CH",
        "NM1*41*2*SUNRISE PEDIATRICS*****46*SUN123",
        "PER*IC*BILLING OFFICE*TE*5555550100",
        "NM1*40*2*CLEARHOUSE INC*****46*CLEARHOUSE",
        "HL*1**20*1",
        "PRV*BI*PXC*208000000X",
        "NM1*85*2*SUNRISE PEDIATRICS*****XX*1234567893",
        "N3*100 MAIN STREET",
        "N4*SPRINGFIELD*IL*627010001",
        "REF*EI*371234567",
        "HL*2*1*22*0",
        "SBR*P*18*GRP100******CI",
        f"NM1*IL*1*{PHI['last_name']}*{PHI['first_name']}****MI*{PHI['member_primary']}",
        f"N3*{PHI['street']}",
        "N4*SPRINGFIELD*IL*627020002",
        f"DMG*D8*{PHI['birth_date']}*F",
        "NM1*PR*2*ACME HEALTH PLAN*****PI*11111",
    ]
    for claim_id in claim_ids:
        body += [
            f"CLM*{claim_id}*33***11:B:1*Y*A*Y*Y",
            "HI*ABK:J069",
            "NM1*82*1*RIVERA*DANA****XX*1245319599",
            "SBR*S*18*GRP200******CI",
            "OI***Y*P**Y",
            f"NM1*IL*1*{PHI['last_name']}*{PHI['first_name']}****MI*{PHI['member_secondary']}",
            "NM1*PR*2*BLUE STAR INSURANCE*****PI*22222",
            "LX*1",
            "SV1*HC:99213*33*UN*1***1",
            "DTP*472*D8*20260310",
            f"REF*6R*{claim_id}-1",
        ]
    return _envelope("SUNRISEPEDS", "CLEARHOUSE", "HC", "005010X222A1", "837", control,
                     [s.format(c=control) for s in body])


def era_835(claim_ids: list[str], control: int = 501) -> str:
    """The primary's 835 for those claims: $10 paid, CO-45 $13, PR-1 $10 each."""
    body = [
        f"BPR*I*{10 * len(claim_ids)}*C*ACH*CCP*01*011000015*DA*123456789*1512345678**01*021000021*DA"
        "*987654321*20260320",
        f"TRN*1*EFT{control}*1512345678",
        "DTM*405*20260320",
        "N1*PR*ACME HEALTH PLAN",
        "N3*1 INSURANCE PLAZA",
        "N4*HARTFORD*CT*061010001",
        "PER*BL*PROVIDER SERVICES*TE*8005550199",
        "N1*PE*SUNRISE PEDIATRICS*XX*1234567893",
        "REF*TJ*371234567",
        "LX*1",
    ]
    for n, claim_id in enumerate(claim_ids, 1):
        body += [
            f"CLP*{claim_id}*1*33*10*10*12*ICN{control}{n:05d}",
            f"NM1*QC*1*{PHI['last_name']}*{PHI['first_name']}****MI*{PHI['member_primary']}",
            "DTM*232*20260310",
            "SVC*HC:99213*33*10**1",
            "DTM*472*20260310",
            "CAS*CO*45*13",
            "CAS*PR*1*10",
            f"REF*6R*{claim_id}-1",
            "AMT*B6*20",
        ]
    return _envelope("ACMEHEALTH", "SUNRISEPEDS", "HP", "005010X221A1", "835", control, body)


def _envelope(sender: str, receiver: str, functional: str, version: str, code: str, control: int,
              body: list[str]) -> str:
    st = f"ST*{code}*0001" + (f"*{version}" if code == "837" else "")
    segments = [
        f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{receiver:<15}*260312*0930*^*00501*{control:09d}*0*T*:",
        f"GS*{functional}*{sender}*{receiver}*20260312*0930*{control}*X*{version}",
        st, *body, f"SE*{len(body) + 2}*0001", f"GE*1*{control}", f"IEA*1*{control:09d}",
    ]
    return "~\n".join(segments) + "~\n"


def drop(folder: Path, name: str, text: str, age: float = 60.0) -> Path:
    """Write a file as a finished drop (closed, and `age` seconds old so it counts as settled)."""
    path = folder / name
    path.write_text(text)
    if age:
        past = time.time() - age
        os.utime(path, (past, past))
    return path


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


