"""835s and 837Ps for a claim's life across payers (issue 14), built from golden case 12's people.

TERTIARY01 (charge 218, two lines) is billed to ACME (primary, PI 11111), then to BLUE STAR
(secondary, PI 22222), then to NORTHWIND (tertiary, PI 33333). Golden case 12 holds the claim sent
to BLUE STAR and BLUE STAR's 835; this module writes the claim as first billed to ACME, ACME's 835
(and its reversals and corrections), and 835s for denials and altered CLP01s.
"""
from __future__ import annotations

from pathlib import Path

GOLDEN = Path(__file__).parents[2] / "golden"
SECONDARY_CLAIM = GOLDEN / "12-tertiary" / "claims.837"  # the claim sent to BLUE STAR
SECONDARY_ERA = GOLDEN / "12-tertiary" / "era.835"  # BLUE STAR's 835 for it (CLP07 BSI2608401201)

ACME = ("ACME HEALTH PLAN", "1512345678", "ACMEHEALTH")
BLUE_STAR = ("BLUE STAR INSURANCE", "1623456789", "BLUESTARINS")


def primary_claim(claim_id: str = "TERTIARY01") -> str:
    """TERTIARY01 as the practice billed it to ACME: 2320 for BLUE STAR (S) and NORTHWIND (T)."""
    segments = [
        "ISA*00*          *00*          *ZZ*SUNRISEPEDS    *ZZ*CLEARHOUSE     *260302*0930*^*00501*000001212*0*T*:",
        "GS*HC*SUNRISEPEDS*CLEARHOUSE*20260302*0930*1212*X*005010X222A1",
        "ST*837*0001*005010X222A1",
        "BHT*0019*00*LIFE12*20260302*0930*CH",
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
        "SBR*P*18*ACG1200******CI",
        "NM1*IL*1*HAZELTHROPPE*LINUS****MI*PRM1210001",
        "N3*66 KINGFISHER BEND",
        "N4*SPRINGFIELD*IL*627040066",
        "DMG*D8*20050317*M",
        "NM1*PR*2*ACME HEALTH PLAN*****PI*11111",
        f"CLM*{claim_id}*218***11:B:1*Y*A*Y*Y",
        "HI*ABK:D649",
        "NM1*82*1*RIVERA*DANA****XX*1245319599",
        "SBR*S*18*BSG1200******CI",
        "OI***Y*P**Y",
        "NM1*IL*1*HAZELTHROPPE*LINUS****MI*SEC1210002",
        "NM1*PR*2*BLUE STAR INSURANCE*****PI*22222",
        "SBR*T*18*NWG1200******CI",
        "OI***Y*P**Y",
        "NM1*IL*1*HAZELTHROPPE*LINUS****MI*NWM1210003",
        "NM1*PR*2*NORTHWIND MUTUAL*****PI*33333",
        "LX*1",
        "SV1*HC:99214*200*UN*1***1",
        "DTP*472*D8*20260302",
        f"REF*6R*{claim_id}-1",
        "LX*2",
        "SV1*HC:36415*18*UN*1***1",
        "DTP*472*D8*20260302",
        f"REF*6R*{claim_id}-2",
    ]
    return _close(segments, "1212")


def acme_paid(claim_id: str = "TERTIARY01", status: str = "1", sign: int = 1,
              paid99214: str = "75", co99214: str = "55") -> list[str]:
    """ACME's CLP loop for TERTIARY01 (as golden case 12's 2320 P reports it); `sign` -1 negates it
    (a reversal, CLP02 22), other amounts make a correction."""
    def m(text: str) -> str:
        return text if sign > 0 else f"-{text}"

    total = f"{float(paid99214) + 9.6:g}"
    return [
        f"CLP*{claim_id}*{status}*{m('218')}*{m(total)}*{m('72.4')}*12*ACME2606801201",
        "NM1*QC*1*HAZELTHROPPE*LINUS****MI*PRM1210001",
        "DTM*232*20260302",
        f"SVC*HC:99214*{m('200')}*{m(paid99214)}**1",
        "DTM*472*20260302",
        f"CAS*CO*45*{m(co99214)}",
        f"CAS*PR*1*{m('70')}",
        f"REF*6R*{claim_id}-1",
        f"SVC*HC:36415*{m('18')}*{m('9.6')}**1",
        "DTM*472*20260302",
        f"CAS*CO*45*{m('6')}",
        f"CAS*PR*2*{m('2.4')}",
        f"REF*6R*{claim_id}-2",
    ]


def era(claim_loops: list[list[str]], payer=ACME, control: str = "6120", date: str = "20260309") -> str:
    """An 835 from `payer` (name, TRN03, ISA06) holding these CLP loops; BPR02 = ΣCLP04."""
    name, trn03, sender = payer
    total = sum(float(loop[0].split("*")[4]) for loop in claim_loops)
    body = [
        f"BPR*I*{total:.2f}*C*ACH*CCP*01*011000015*DA*123456789*{trn03}**01*021000021*DA*987654321*{date}",
        f"TRN*1*EFT{control}*{trn03}",
        f"DTM*405*{date}",
        f"N1*PR*{name}",
        "N3*1 INSURANCE PLAZA",
        "N4*HARTFORD*CT*061010001",
        "PER*BL*PROVIDER SERVICES*TE*8005550199",
        "N1*PE*SUNRISE PEDIATRICS*XX*1234567893",
        "REF*TJ*371234567",
        "LX*1",
    ]
    for loop in claim_loops:
        body += loop
    head = [f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*SUNRISEPEDS    *260310*0800*^*00501*00000{control}*0*T*:",
            f"GS*HP*{sender}*SUNRISEPEDS*20260310*0800*{control}*X*005010X221A1",
            "ST*835*0001"]
    segments = head + body + [f"SE*{len(body) + 2}*0001", f"GE*1*{control}", f"IEA*1*00000{control}"]
    return "~\n".join(segments) + "~\n"


def _close(segments: list[str], control: str) -> str:
    count = len(segments) - 2 + 1  # ST..SE
    return "~\n".join(segments + [f"SE*{count}*0001", f"GE*1*{control}", f"IEA*1*00000{control}"]) + "~\n"
