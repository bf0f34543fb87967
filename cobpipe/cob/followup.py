"""Replacement and void claims: what a payer already billed must hear when the primary changes its
mind after the secondary claim was sent (cob-spec §8).

A replacement (CLM05-3 = 7) or void (CLM05-3 = 8) carries the claim number *that payer* gave the
claim it replaces, in 2300 REF*F8 (005010X222A1: required when CLM05-3 is 7 or 8). Never a second
original (CLM05-3 = 1): that is a duplicate.
"""
from __future__ import annotations

from edi.segment import Segment

from ..claim837.claim import OriginalClaim
from ..claim837.loops import Loop

REPLACEMENT, VOID = "7", "8"
# 2300 REF segments in the guide's order; REF*F8 (payer claim control number) sits after REF*G1.
_REF_ORDER = ("4N", "F5", "EW", "9F", "G1", "F8", "X4", "9A", "9C", "LX", "D9", "EA", "P4", "1J")
_AFTER_REFS = frozenset({"K3", "NTE", "CR1", "CR2", "CRC", "HI", "HCP"})


def as_follow_up(claim: OriginalClaim, frequency: str, payer_claim_number: str) -> OriginalClaim:
    """The claim with CLM05-3 = `frequency` and 2300 REF*F8 = `payer_claim_number`."""
    loop = claim.claim.copy()
    clm = loop.first
    parts = clm.composite(5)
    parts += [""] * (3 - len(parts))
    parts[2] = frequency
    loop.replace(clm, clm.replace_element(5, clm.delimiters.component.join(parts)))
    for ref in loop.segments_of("REF", "F8"):
        loop.remove(ref)
    _insert_ref_f8(loop, Segment.build("REF", "F8", payer_claim_number))
    return OriginalClaim(claim.envelope, claim.header, claim.billing_provider, claim.subscriber, claim.patient,
                         loop)


def _insert_ref_f8(loop: Loop, ref: Segment) -> None:
    later = set(_REF_ORDER[_REF_ORDER.index("F8") + 1:])
    for index, item in enumerate(loop.items):
        if index == 0:
            continue
        if isinstance(item, Loop) or item.tag in _AFTER_REFS or (item.tag == "REF" and item.get(1) in later):
            loop.items.insert(index, ref)
            return
    loop.items.append(ref)
