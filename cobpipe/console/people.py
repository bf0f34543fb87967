"""The patient, the insured and the other insured of an original claim as the CMS-1500 boxes show
them (boxes 1a, 2, 4, 9, 9a, 9d, 11), masked unless the user revealed that claim."""
from __future__ import annotations

from ..claim837.claim import OriginalClaim
from ..cob.build import code
from ..explain.mask import mask_id, mask_name


def _name(nm1, reveal: bool) -> str:
    if nm1 is None:
        return ""
    if nm1.get(2) == "2":  # an organisation
        return nm1.get(3)
    parts = [nm1.get(3), nm1.get(4)]
    text = " ".join(p for p in parts if p)
    if reveal:
        return ", ".join(p for p in parts if p)
    return mask_name(text)


def _id(nm1, reveal: bool) -> str:
    if nm1 is None:
        return ""
    return nm1.get(9) if reveal else mask_id(nm1.get(9))


def boxes(original: OriginalClaim, reveal: bool) -> dict:
    """Box values of the claim as billed to the payer that adjudicated it."""
    subscriber = original.loop_2010ba
    sub_nm1 = subscriber.first if subscriber is not None else None
    patient_loop = original.loop_2010ca
    patient_nm1 = patient_loop.first if patient_loop is not None else sub_nm1
    dmg = (patient_loop or subscriber).segment("DMG") if (patient_loop or subscriber) is not None else None
    payer = original.loop_2010bb
    payer_nm1 = payer.first if payer is not None else None
    sbr = original.sbr
    others = []
    for loop in original.other_payers:
        sub = loop.child("2330A")
        pay = loop.child("2330B")
        others.append({
            "level": code(loop.first, 1) if loop.first is not None else "",
            "relationship": code(loop.first, 2) if loop.first is not None else "",
            "group": loop.first.get(3) if loop.first is not None else "",
            "filing": code(loop.first, 9) if loop.first is not None else "",
            "name": _name(sub.first if sub is not None else None, reveal),
            "member_id": _id(sub.first if sub is not None else None, reveal),
            "payer_name": pay.first.get(3) if pay is not None and pay.first is not None else "",
            "payer_id": pay.first.get(9) if pay is not None and pay.first is not None else "",
        })
    birth = dmg.get(2) if dmg is not None else ""
    return {
        "payer_name": payer_nm1.get(3) if payer_nm1 is not None else "",
        "payer_id": payer_nm1.get(9) if payer_nm1 is not None else "",
        "level": code(sbr, 1) if sbr is not None else "",
        "group": sbr.get(3) if sbr is not None else "",
        "filing": code(sbr, 9) if sbr is not None else "",
        "insured_id": _id(sub_nm1, reveal),
        "insured_name": _name(sub_nm1, reveal),
        "patient_name": _name(patient_nm1, reveal),
        "birth_date": (f"{birth[:4]}-{birth[4:6]}-{birth[6:8]}" if reveal and len(birth) == 8 else
                       ("****-**-**" if birth else "")),
        "sex": (dmg.get(3) if dmg is not None and reveal else ("*" if dmg is not None else "")),
        "relationship": "self" if original.patient is None else "other",
        "others": others,
        "revealed": reveal,
    }
