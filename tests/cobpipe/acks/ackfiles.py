"""Hand-written 999 and 277CA files, as a clearinghouse and a payer would send them back."""
from __future__ import annotations

from jobfiles import PHI


def envelope(functional: str, version: str, code: str, body: list[str], control: int = 901,
             sender: str = "CLEARHOUSE", receiver: str = "SUNRISEPEDS") -> str:
    segments = [
        f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{receiver:<15}*260401*1200*^*00501*{control:09d}*0*T*:",
        f"GS*{functional}*{sender}*{receiver}*20260401*1200*{control}*X*{version}",
        f"ST*{code}*0001*{version}", *body, f"SE*{len(body) + 2}*0001", f"GE*1*{control}",
        f"IEA*1*{control:09d}",
    ]
    return "~\n".join(segments) + "~\n"


def ack_999(gs06: int, sets: list[tuple[int, str, list[str]]], group_verdict: str, control: int = 901) -> str:
    """sets: (ST02, IK501 verdict, IK3/IK4/IK5-code lines) per set we sent in group gs06."""
    body = [f"AK1*HC*{gs06}*005010X222A1"]
    accepted = 0
    for st02, verdict, extra in sets:
        body.append(f"AK2*837*{st02:04d}*005010X222A1")
        body += [line for line in extra if not line.startswith("IK5")]
        ik5 = next((line for line in extra if line.startswith("IK5")), f"IK5*{verdict}")
        body.append(ik5)
        accepted += verdict in ("A", "E")
    body.append(f"AK9*{group_verdict}*{len(sets)}*{len(sets)}*{accepted}")
    return envelope("FA", "005010X231A1", "999", body, control)


def ack_277ca(claims: list[tuple[str, str, str]], control: int = 902, payer: str = "22222") -> str:
    """claims: (CLM01, STC01 composite, REF*1K payer claim number or '')."""
    body = [
        "BHT*0085*08*277CA0001*20260401*1200*TH",
        "HL*1**20*1", f"NM1*PR*2*BLUE STAR INSURANCE*****PI*{payer}", "TRN*1*TRACE0001",
        "DTP*050*D8*20260401", "DTP*009*D8*20260401",
        "HL*2*1*21*1", "NM1*41*2*SUNRISE PEDIATRICS*****46*SUN123", "TRN*2*BATCH0001",
        "STC*A1:19:PR*20260401*WQ*99",
        "HL*3*2*19*1", "NM1*85*2*SUNRISE PEDIATRICS*****XX*1234567893", "TRN*1*0", "STC*A1:19:PR**WQ*99",
    ]
    for n, (claim_id, stc, number) in enumerate(claims, 4):
        body += [f"HL*{n}*3*PT", f"NM1*QC*1*{PHI['last_name']}*{PHI['first_name']}****MI*{PHI['member_secondary']}",
                 f"TRN*2*{claim_id}", f"STC*{stc}*20260401*{'WQ' if stc.startswith(('A1', 'A2')) else 'U'}*33"]
        if number:
            body.append(f"REF*1K*{number}")
        body.append("DTP*472*D8*20260310")
    return envelope("HN", "005010X214", "277", body, control, sender="CLEARHOUSE")
