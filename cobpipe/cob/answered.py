"""Which claim we hold an 835's claim answers (cob-spec §8): the claims under its CLP01 (exactly, else
ignoring case), the one billed to the 835's payer among them, and the one with its charge. A part
of ClaimConverter (cob/convert.py), which decides the rest.
"""
from __future__ import annotations

from edi.errors import EdiError

from .decide import PAYER_LEVELS, STATUS_LEVEL
from .decision import HELD, REJECTED, SKIPPED, ClaimDecision
from .identity import billed_level, billed_payer, level_word, other_payers, place
from .remit import RemitClaim


class AnsweredClaim:
    """ClaimConverter's look-up of the claim an 835 answers: it uses the converter's `claims`,
    `payers`, `_sender`, `quick`, `_end`, `_stop` and `_open_crossovers`."""

    def _candidates(self, remit: RemitClaim, decision: ClaimDecision) -> list | None:
        """The claims we hold under this CLP01: exactly, else ignoring case when that names one CLM01
        (payers upper-case patient control numbers; the claim is billed with its CLM01 as sent).
        None when the decision is already made (ambiguous)."""
        found = self.claims.claims_for(remit.claim_id)
        if found:
            return found
        try:
            folded = self.claims.claims_for(remit.claim_id, folded=True)
        except TypeError:  # a claim source without case-insensitive look-up
            return []
        ids = sorted({c.id for c in folded})
        if len(ids) > 1:
            narrowed = [c for c in folded if _member_ids(c) & remit.member_ids and _charge(c) == remit.charge]
            ids = sorted({c.id for c in narrowed}) if narrowed else ids
            if len(ids) > 1:
                self._end(decision, HELD, f"CLP01 {remit.claim_id} matches {len(ids)} claims ignoring case "
                          f"(CLM01 {', '.join(ids)}), with the same member and charge: cannot tell which one the "
                          "payer adjudicated")
                return None
            folded = narrowed
        if ids:
            decision.reasons.append(f"CLP01 {remit.claim_id} matched CLM01 {ids[0]} ignoring case; billed as "
                                    f"{ids[0]}")
            decision.claim_id = ids[0]
            remit.claim_id = ids[0]
        return folded

    def _answered_claim(self, candidates: list, remit: RemitClaim, decision: ClaimDecision,
                        billed_refs: list | None = None):
        """The claim the 835 answers: the one billed to the 835's payer. None when decided otherwise.
        `billed_refs`: billed_payer of each candidate, when read already."""
        sender = self._sender
        if billed_refs is None:
            billed_refs = [billed_payer(c) for c in candidates]
        if len(candidates) == 1 and self.quick and self.payers.same(sender, billed_refs[0]):
            # the usual claim: one candidate, billed to the 835's payer (place's first answer), with
            # the charge remitted (_pick_original's answer for it)
            if _charge(candidates[0]) == remit.charge:
                return candidates[0]
            return self._pick_original(candidates, remit, decision)
        placements = [place(self.payers, sender, c, ref) for c, ref in zip(candidates, billed_refs)]
        billed = [p.claim for p in placements if p.billed]
        if billed:
            return self._pick_original(billed, remit, decision)
        known_elsewhere = [p for p in placements if p.other_level]
        first = candidates[0]
        billed_to = f"{billed_refs[0].describe()} ({level_word(billed_level(first))})"
        era_level = STATUS_LEVEL.get(remit.status_code)
        if known_elsewhere:
            where = known_elsewhere[0]
            crossed = self._open_crossovers(remit.claim_id)
            if crossed:
                decision.crossover_answered = True
                later = _later_payers(where.claim, where.other_level)
                if later and (remit.patient_responsibility or 0) > 0:
                    # the next payer after the crossover is billed with both adjudications, and
                    # cobpipe holds the primary's only as the 835 it skipped: a person bills it
                    return self._stop(decision, HELD, f"the {level_word(where.other_level)} payer "
                                     f"{sender.describe()} adjudicated the claim the "
                                     f"{level_word(billed_level(first))} payer crossed over to it, and "
                                     f"{remit.patient_responsibility} is left with a later payer on the claim "
                                     f"(SBR01 {', '.join(later)}): bill it with both payers' adjudications by hand")
                decision.state = "closed"
                return self._stop(decision, SKIPPED, f"the {level_word(where.other_level)} payer "
                                 f"{sender.describe()} adjudicated the claim the {level_word(billed_level(first))} "
                                 "payer crossed over to it: nothing to bill to it again")
            return self._stop(decision, HELD, f"this 835 is from {sender.describe()}, the claim's "
                             f"{level_word(where.other_level)} payer (CLP02 {remit.status_code}: "
                             f"{level_word(era_level)}), but the claim cobpipe holds was billed to {billed_to} and "
                             f"no claim billed to {sender.describe()} is known: give the claim sent to it with "
                             "--claims, or bill the next payer by hand")
        # a payer not recognised as the one billed: continued only when its CLP02 level is the level
        # billed (a denial, CLP02 4, has none), and a "primary" answer that reports a prior payer's
        # impact (OA-23) is no primary's: never billed as if the payer billed had adjudicated it
        unknown = [p.claim for p in placements if p.billed is None]
        if not era_level:
            return self._stop(decision, HELD, f"this 835 is from {sender.describe()}, not recognised as "
                             f"{billed_to}, and CLP02 {remit.status_code} names no level to match the claim by: "
                             "never billed as if the payer billed had adjudicated it; add the payer's 835 ids "
                             "to the payer list's aliases, or bill the next payer by hand")
        pool = [c for c in (unknown or candidates) if billed_level(c) == era_level]
        if not pool:
            return self._stop(decision, HELD, f"this 835 is from {sender.describe()} at "
                             f"{level_word(era_level)} level (CLP02 {remit.status_code}), but the claim was "
                             f"billed to {billed_to}, a different payer: never billed as if that payer had "
                             "adjudicated it; check who sent this 835")
        if era_level == "P" and _prior_payer_impact(remit):
            return self._stop(decision, HELD, f"this 835 is from {sender.describe()}, not recognised as "
                             f"{billed_to}, and reports a prior payer's impact (OA-23) on a claim it calls "
                             f"primary (CLP02 {remit.status_code}): it looks like a later payer's answer, not the "
                             "primary's; check who sent this 835")
        decision.reasons.append(f"note: the 835's payer {sender.describe()} is not recognised as {billed_to}; "
                                "matched by CLP02 level (add the payer's 835 ids to the payer list's aliases)")
        return self._pick_original(pool, remit, decision)

    def _pick_original(self, candidates: list, remit: RemitClaim, decision: ClaimDecision):
        same_charge = [c for c in candidates if _charge(c) == remit.charge]
        if not same_charge:
            charges = ", ".join(sorted({"(no amount)" if _charge(c) is None else str(_charge(c)) for c in candidates}))
            self._end(decision, REJECTED, f"charge mismatch: the 835 says CLP03 {remit.charge}, the original "
                      f"claim says CLM02 {charges}")
            return None
        if len(same_charge) > 1 and len({c.content_key() for c in same_charge}) > 1:
            self._end(decision, REJECTED, f"{len(same_charge)} different original claims share CLM01 "
                      f"{remit.claim_id} and its charge; cannot tell which was adjudicated")
            return None
        return same_charge[0]


def _later_payers(claim, level: str | None) -> list[str]:
    """The SBR01s of the claim's 2320s after `level` (the tertiary after a secondary)."""
    if not level or level not in PAYER_LEVELS:
        return []
    after = PAYER_LEVELS[PAYER_LEVELS.index(level) + 1:]
    return [code for code, _ in other_payers(claim) if code and code in after]


def _prior_payer_impact(remit: RemitClaim) -> bool:
    """The 835 claim carries CARC 23 (the impact of prior payers' adjudication), claim or line level."""
    return any(a.reason == "23" for a in remit.adjustments) or any(
        a.reason == "23" for line in remit.lines for a in line.adjustments)


def _member_ids(claim) -> set[str]:
    ids = set()
    for loop in (claim.subscriber.child("2010BA"), claim.patient.child("2010CA") if claim.patient else None):
        if loop is not None and loop.first is not None and loop.first.get(9):
            ids.add(loop.first.get(9))
    return ids


def _charge(claim):
    """claim.charge, remembered by CLM02's text (claims repeat charges; a Decimal is immutable);
    None when it is no amount."""
    elements = claim.clm.elements
    text = elements[1] if len(elements) > 1 else ""
    value = _CHARGES.get(text)
    if value is None:
        try:
            value = claim.charge
        except EdiError:  # an unreadable CLM02 matches no remitted charge
            return None
        if len(_CHARGES) >= 4096:
            _CHARGES.clear()
        _CHARGES[text] = value
    return value


_CHARGES: dict[str, object] = {}  # CLM02 text -> OriginalClaim.charge
