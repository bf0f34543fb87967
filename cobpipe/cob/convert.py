"""Per-claim conversion: each remitted claim (CLP01) to a decision and, when converted, the claim to
bill next. Streams the ERA; holds back only CLP01s that occur more than once (split claims,
reversals) until their last part has been read.

Every decision knows which payer sent the 835 (cob/identity.py) and what was already billed to
whom: the claim answered is the one billed to that payer (the original 837P claim, or a claim
cobpipe issued to a later payer), a claim already sent to the next payer is never sent again as an
original (a reversal or correction after billing becomes a replacement or void, or is held for a
person), and an 835 from a payer the claim was not billed to is never converted as if it were.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from edi.findings import Finding, Severity
from edi.values import parse_amount

from ..decision_log import DecisionLog
from ..payers import PayerList, PayerRef
from .answered import AnsweredClaim, _charge
from .decision import (CONVERTED, HELD, PAPER, REJECTED, SKIPPED, UNMATCHED, ClaimDecision, ConvertOptions,
                        EraScan, remitted_decision)
from .build import BuildError, NextPayer, Patient, build_secondary, code
from .cas import CasDoesNotFit
from .coverage import CoverageConflict, CoverageTable
from .decide import (REVERSAL, STATUS_LEVEL, is_crossover, next_level, not_cob_input, resolve_parts, standing_parts,
                     unknown_status, zero_balance)
from .followup import REPLACEMENT, VOID, as_follow_up
from .from_era import billed_line_refs, billed_lines
from .gate import ClaimView, check_claim
from .identity import (RememberedPayers, billed_level, billed_payer, billed_to, era_payer, level_word, nm1_payer,
                       other_payers, shared_ref)
from .match import LineMatch, match_by_refs, match_lines
from .remit import RemitClaim
from .remits import RemitStream
from .routes import route

STATE_OF_LEVEL = {"S": "billed_secondary", "T": "billed_tertiary"}
MEDICARE_FILING = frozenset({"MA", "MB"})


@functools.lru_cache(maxsize=1)
def _shipped_payers() -> PayerList:
    return PayerList.load()


@dataclass(slots=True)
class PaperBound:
    """A claim decided `paper`: the built claim and what its EOB page shows."""

    claim: object  # OriginalClaim
    payments: list
    header: object  # era.model.RemittanceHeader
    reason: str


class ClaimConverter(AnsweredClaim):
    # False: every claim the general way (no shortcut for the usual claim), the reference the
    # shortcuts are tested against (tests/cobpipe/cob/test_convert_quick.py)
    quick = True

    def __init__(self, claims, *, options: ConvertOptions, issued=None, coverage: CoverageTable | None = None,
                 path: str | None = None) -> None:
        self.claims = claims
        self.options = options
        self.issued = issued
        self.coverage = coverage
        self.path = path
        self.payers: PayerList = RememberedPayers(options.payers or _shipped_payers())  # type: ignore[assignment]
        self.era_findings: list[Finding] = []
        self.paper: list[PaperBound] = []
        self._header = None
        self._sender = PayerRef()
        self._sender_text = self._sender.describe()  # the sender described once per 835 header
        self._today: object = None  # options.as_of, asked once a run (a property that reads the clock)
        self.at: int | None = None  # (run)

    def run(self, scan: EraScan, decisions: DecisionLog, share=None) -> Iterator:
        """Yields built claims to write (OriginalClaim) in ERA order; appends every decision. Claims
        decided `paper` are kept in `self.paper` instead. `share` (cob.remits_fast.Share): only the
        claims of those windows of the ERA, for cobpipe/split.py: a claim split over several CLPs
        belongs to the window of the CLP that completes it, one left incomplete to the last window;
        `self.at` is the segment of the CLP completing the claim being decided (None: incomplete)."""
        pending: dict[str, list[RemitClaim]] = {}
        self._today = self.options.as_of
        remitted = RemitStream(scan, self.options, share)
        for header, part in remitted:
            if header is not self._header:
                self._header = header
                self._sender = era_payer(header)
                self._sender_text = self._sender.describe()
            self.at = part.segment
            expected = scan.clp_counts.get(part.claim_id, 1)
            if expected <= 1:
                built = self._convert([part], decisions)
                if built:
                    yield from built
                continue
            parts = pending.setdefault(part.claim_id, [])
            parts.append(part)
            if len(parts) == expected:
                parts = pending.pop(part.claim_id)
                if share is None or share.window_of(part.segment) in share.mine:
                    yield from self._convert(parts, decisions)
        if share is None or share.window_of(None) in share.mine:
            self.at = None
            for parts in pending.values():  # fewer parts than the first pass counted: convert what came
                yield from self._convert(parts, decisions)
        self.era_findings += remitted.findings

    def _convert(self, parts: list[RemitClaim], decisions: DecisionLog) -> list:
        """The claims to write for one CLP01 (nearly always none or one); its decision appended, its
        state set (before the claims are handed on: nothing reads it in between)."""
        first, last = parts[0], parts[-1]
        if last.status_code == REVERSAL and len(parts) > 1:  # a correction sent before its reversal
            last = (standing_parts(parts) or parts)[-1]
        status_code = last.status_code
        decision = remitted_decision(first.claim_id, REJECTED, first.segment, self._sender_text,
                                     STATUS_LEVEL.get(status_code), status_code, last.payer_claim_number or None)
        decisions.append(decision)
        built = self._decide(parts, decision)
        if decision.state is None:
            decision.state = _state_of(decision)
        return built

    # --- the decision --------------------------------------------------------------------------

    def _decide(self, parts: list[RemitClaim], decision: ClaimDecision) -> list:
        remit = parts[0]
        if len(parts) == 1 and remit.status_code != REVERSAL and self.quick:
            remit.reversed = False  # resolve_parts of one part that is no reversal, without its Resolution
        else:
            resolution = resolve_parts(parts)
            if resolution.notes:
                decision.reasons += resolution.notes
            remit = resolution.claim
            if remit is None:
                return self._reversal_alone(parts, decision, resolution.skip_reason)
        reason = not_cob_input(remit)
        if reason:
            unknown = unknown_status(remit)
            if unknown:
                return self._end(decision, REJECTED, unknown)
            if is_crossover(remit):
                decision.state = "awaiting_crossover"
                decision.crossover_to = remit.crossover_carrier or "the next payer"
            return self._end(decision, SKIPPED, reason)
        # the lists of findings below are nearly always empty: asked first, no comprehension to call
        errors = [f for f in remit.findings if f.severity is Severity.ERROR] if remit.findings else None
        if errors:  # before every other skip: the patient's share of an unbalanced claim is unknown
            decision.findings += errors
            return self._end(decision, REJECTED, "the 835 does not balance for this claim: " +
                             "; ".join(f.message for f in errors[:3]))
        candidates = self._candidates(remit, decision)
        if candidates is None:
            return []
        if not candidates:
            reason = self._not_billed_onward(remit)
            if reason:
                return self._end(decision, SKIPPED, reason)
            return self._end(decision, UNMATCHED, f"no original 837P claim with CLM01 {remit.claim_id}")
        # each candidate's billed payer and level, read once from its 2000B: placing, the 835 payer's
        # id, the COB order and what was billed already all ask for them (nothing edits an original
        # before the build, which copies it)
        if self.quick and len(candidates) == 1:
            # the usual claim: one candidate, billed to the 835's payer, with the charge remitted, is
            # _answered_claim's first answer (told here without its lists and call); else asked
            original = candidates[0]
            billed_ref, level = billed_to(original)
            billed_refs = [billed_ref]
            if not (self.payers.same(self._sender, billed_ref) and _charge(original) == remit.charge):
                original = self._answered_claim(candidates, remit, decision, billed_refs)
                if original is None:
                    return []
        else:
            billed = [billed_to(c) for c in candidates] if self.quick else None
            billed_refs = [ref for ref, _ in billed] if billed else None
            original = self._answered_claim(candidates, remit, decision, billed_refs)
            if original is None:
                return []
            if billed and original is candidates[0]:
                billed_ref, level = billed[0]
            else:
                billed_ref, level = billed_payer(original), billed_level(original)
        billed_ids = billed_ref.ids
        decision.era_payer_id = billed_ids[0] if billed_ids else None
        expected_level = STATUS_LEVEL.get(remit.status_code)
        if expected_level and level and expected_level != level:
            return self._end(decision, HELD, f"COB order disputed: {self._sender.describe()} processed the claim "
                             f"as {level_word(expected_level)} (CLP02 {remit.status_code}) but it was billed to it as "
                             f"{level_word(level)} (SBR01 {level}); check the coverage order before billing anyone")
        if remit.corrected_priority_payer:
            return self._end(decision, HELD, "COB order disputed: the payer names another payer as primary "
                             "(2100 NM1*PR corrected priority payer); check the coverage order")
        routed = route(remit)
        if routed is not None and routed.action != "convert":
            return self._end(decision, HELD if routed.action == "hold" else SKIPPED, routed.reason)
        reason = zero_balance(remit, bill_zero_balance=self.options.bill_zero_balance)
        if reason:
            return self._end(decision, SKIPPED, reason)
        upcoming = next_level(level)
        if upcoming is None:
            return self._end(decision, REJECTED, f"the original claim's payer level {level!r} has no next payer")
        try:
            next_payer = self._next_payer(original, upcoming, remit)
        except BuildError as exc:
            return self._end(decision, REJECTED, str(exc))
        if next_payer is None:
            return self._end(decision, REJECTED, f"no {'secondary' if upcoming == 'S' else 'next'} coverage: "
                             f"the claim has no 2320 with SBR01 {upcoming} and no coverage-file row")
        payer_id = decision.payer_id = next_payer.payer_id
        decision.level = next_payer.level
        frequency, follow_up_number = "1", None
        target = loop_payer_of(next_payer)  # asked twice below: made once
        listed = self.payers.listed(target)  # its payer list row (eaf_level, paper), or None
        if listed is not None and listed.eaf_level == "claim":
            next_payer.eaf_level = "claim"
        billed_anew = changed = None
        if self._billed_already(remit.claim_id, next_payer, candidates, target, billed_refs):
            if self._voided(remit.claim_id, next_payer.payer_id):
                # the claim sent before was taken back: this adjudication is billed as a new claim
                billed_anew = (f"the claim sent before to payer {next_payer.payer_id} was voided (CLM05-3 8); "
                               "billed again from this adjudication")
            else:
                changed = "reversed and corrected" if remit.reversed else self._readjudicated(
                    remit, decision, candidates, target, level)
                if not changed:
                    decision.state = ""  # unchanged: this 835 only confirms what was billed
                    return self._end(decision, SKIPPED, f"already billed to payer {next_payer.payer_id}")
                follow_up_number = self._payer_claim_number(remit.claim_id, next_payer.payer_id)
                if follow_up_number is None:
                    return self._end(decision, HELD, f"the primary {changed} its payment after the claim "
                                     f"was billed to payer {next_payer.payer_id}: send that payer a replacement claim "
                                     f"(CLM05-3 7) with 2300 REF*F8 = its claim number for the claim, which cobpipe "
                                     f"does not know yet (it comes with that payer's 835 or 277CA)")
                frequency = REPLACEMENT
        if remit.adjudication_date is None:
            return self._end(decision, REJECTED, "no adjudication date: the 835's BPR16 and DTM*405 are missing or "
                             "no valid dates")
        number = remit.payer_claim_number
        if number and not number.isalnum():  # nearly every CLP07 is letters and digits: nothing to look for
            clash = self._delimiter_clash("CLP07 (the payer's claim number, 2330B REF*F8)", number)
            if clash:
                return self._end(decision, REJECTED, clash)
        if remit.lines:  # has_lines, without the property call
            remitted = remit.lines  # a RemitLine is its own `match` (what matching reads of it)
            # the usual claim: its lines named back one to one by REF*6R, told from the billed
            # lines' REFs alone (match_lines' own first answer), the rest of each line not read
            lines = match_by_refs(billed_line_refs(original), remitted) if self.quick else None
            if lines is None:
                lines = match_lines(billed_lines(original), remitted, claim_id=remit.claim_id, path=self.path)
            if lines.findings:  # CappedFindings' += is Python code, for nothing when empty
                decision.findings += lines.findings
        else:  # a claim-level-only 835 is reported in 2320 and 2330B alone
            lines = LineMatch([])
        line_errors = [f for f in lines.findings if f.severity is Severity.ERROR] if lines.findings else None
        if line_errors:
            return self._end(decision, REJECTED, "service lines do not match the original claim: " +
                             "; ".join(f.message for f in line_errors[:3]))
        try:
            built = build_secondary(original, remit, next_payer, lines, remit.adjudication_date)
        except CasDoesNotFit as exc:
            return self._end(decision, REJECTED, f"adjustments do not fit the 837P: {exc}")
        except BuildError as exc:
            return self._end(decision, REJECTED, str(exc))
        gate = check_claim(ClaimView.scan(built.claim, built.sbr), today=self._today)
        gate_errors = None
        if gate:
            decision.findings += gate
            gate_errors = [f for f in gate if f.severity is Severity.ERROR]
        if gate_errors:
            return self._end(decision, REJECTED, "the secondary claim does not balance: " +
                             "; ".join(f"{f.code} {f.message}" for f in gate_errors[:3]))
        if follow_up_number is not None:
            built = as_follow_up(built, frequency, follow_up_number)
            decision.frequency = frequency
            decision.reasons.append(f"replacement (CLM05-3 7) of the claim sent to payer {next_payer.payer_id}, "
                                    f"its claim number {follow_up_number} in REF*F8: the primary {changed} its payment")
        elif billed_anew:
            decision.reasons.append(billed_anew)
        paper = self._paper_reason(next_payer, built, listed)
        if paper:
            decision.status = PAPER
            decision.reasons.append(f"billed on paper to payer {payer_id} as SBR01 {next_payer.level}: {paper}")
            self.paper.append(PaperBound(built, remit.payments, self._header, paper))
            return []
        decision.status = CONVERTED
        decision.reasons.append(_billed_reason(payer_id, next_payer.source, next_payer.level))
        return [built]

    # --- what was billed already ------------------------------------------------------------

    def _billed_already(self, claim_id: str, next_payer: NextPayer, candidates: list,
                        target: PayerRef | None = None, billed_refs: list | None = None) -> bool:
        if self.issued is not None and self.issued.was_issued(claim_id, next_payer.payer_id):
            return True
        target = target if target is not None else loop_payer_of(next_payer)
        if billed_refs is None:
            billed_refs = [billed_payer(c) for c in candidates]
        same = self.payers.same_in_837  # both named by the 837P (2010BB, 2330B or coverage row)
        for ref in billed_refs:
            if same(ref, target):
                return True
        return False

    def _delimiter_clash(self, name: str, value: str) -> str | None:
        """Why `value`, read from an 835 written with other delimiters, cannot go into the claim: it
        holds one of the output's delimiters (X12 has no escape). The claim is refused alone; the
        writer would refuse the whole file."""
        delimiters = self.options.delimiters
        for what, char in (("element separator", delimiters.element), ("component separator", delimiters.component),
                           ("repetition separator", delimiters.repetition), ("segment terminator", delimiters.segment)):
            if char and char in value:
                return (f"{name} holds {char!r}, the output's {what}: the secondary claim cannot carry it (X12 "
                        "has no escape); choose other --delimiters, or bill this claim by hand")
        return None

    def _voided(self, claim_id: str, payer_id: str) -> bool:
        """The last claim cobpipe sent this payer for this CLP01 was a void (CLM05-3 8): nothing
        stands billed there any more, and a replacement of a voided claim is refused."""
        voided = getattr(self.issued, "voided", None)
        return voided is not None and voided(claim_id, payer_id)

    def _readjudicated(self, remit: RemitClaim, decision: ClaimDecision, candidates: list,
                       target: PayerRef | None, level: str) -> str | None:
        """How the 835's payer changed the adjudication the claim billed onward reports, when this
        835 adjudicates it again under another claim number than the one recorded (a correction sent
        without its reversal, or in a later 835 than it) to another payment than the claim sent
        reports (its 2320 AMT*D for this payer, when cobpipe holds that claim), else None: the same
        number, or the same payment, leaves what was billed standing."""
        number = (remit.payer_claim_number or "").strip().upper()
        if not number or not decision.era_payer_id:
            return None
        earlier = self._payer_claim_number(remit.claim_id, decision.era_payer_id)
        if earlier is None or earlier.strip().upper() == number:
            return None
        if target is not None and self._reported_paid(candidates, target, level) == remit.paid:
            return None
        return f"adjudicated the claim again (CLP07 {remit.payer_claim_number}, was {earlier}), correcting"

    def _reported_paid(self, candidates: list, target: PayerRef, level: str) -> Decimal | None:
        """What the claim sent to `target` (a candidate billed to it: cobpipe's own, stored) reports
        as paid by the payer at `level` (its 2320 AMT*D), or None."""
        for claim in candidates:
            if not self.payers.same_in_837(billed_payer(claim), target):
                continue
            for loop in claim.other_payers:
                sbr = loop.first
                if sbr is not None and code(sbr, 1) == level:
                    amount = loop.segment("AMT", "D")
                    return parse_amount(amount.get(2)) if amount is not None else None
        return None

    def _payer_claim_number(self, claim_id: str, payer_id: str) -> str | None:
        for source in (self.issued, self.claims):
            lookup = getattr(source, "payer_claim_number", None)
            if lookup is not None:
                number = lookup(claim_id, payer_id)
                if number:
                    return number
        return None

    def _open_crossovers(self, claim_id: str) -> list:
        for source in (self.issued, self.claims):
            lookup = getattr(source, "open_crossovers", None)
            if lookup is not None:
                return lookup(claim_id)
        return []

    def _not_billed_onward(self, remit: RemitClaim) -> str | None:
        """For a claim we hold no original of: a reason not to call it unmatched."""
        routed = route(remit)
        if routed is not None and routed.action == "skip":
            return routed.reason
        return zero_balance(remit, bill_zero_balance=self.options.bill_zero_balance)

    def _reversal_alone(self, parts: list[RemitClaim], decision: ClaimDecision, reason: str | None) -> list:
        """The payer took its adjudication back with no correction: the claims sent onward that
        report it are voided (CLM05-3 8) where their payer's claim number is known, else held."""
        claim_id = parts[0].claim_id
        candidates = self.claims.claims_for(claim_id) or []
        sender = self._sender
        onward = [c for c in candidates
                  if any(self.payers.same(sender, ref) for _, ref in other_payers(c))
                  and not self.payers.same(sender, billed_payer(c))]
        if not onward and self.issued is not None and hasattr(self.issued, "issued_for"):
            issued = self.issued.issued_for(claim_id)
            if issued:
                payers = ", ".join(sorted({i.payer_id for i in issued}))
                return self._end(decision, HELD, f"the primary reversed its payment (CLP02 22) with no correction "
                                 f"after the claim was billed to payer {payers}: void that claim (CLM05-3 8, "
                                 f"REF*F8 = that payer's claim number) or wait for the correction and replace it")
        if not onward:
            if self.issued is not None:
                decision.state = "awaiting_primary"
                return self._end(decision, SKIPPED, f"{reason}; nothing was billed onward, waiting for the "
                                 "correction")
            return self._end(decision, HELD, f"{reason}: the primary took its payment back. If a claim was already "
                             "sent to the next payer, void it (CLM05-3 8) or replace it when the correction comes; "
                             "cobpipe keeps track of what was sent only with a ledger (--db)")
        built = []
        for claim in onward:
            payer_id = billed_payer(claim).ids[0] if billed_payer(claim).ids else ""
            number = self._payer_claim_number(claim_id, payer_id)
            if number is None:
                decision.reasons.clear()
                built.clear()
                return self._end(decision, HELD, f"the primary reversed its payment (CLP02 22) with no correction "
                                 f"after the claim was billed to payer {payer_id}: send that payer a void "
                                 f"(CLM05-3 8) with 2300 REF*F8 = its claim number, which cobpipe does not know yet")
            built.append(as_follow_up(claim, VOID, number))
            decision.payer_id, decision.level, decision.frequency = payer_id, billed_level(claim), VOID
            decision.reasons.append(f"void (CLM05-3 8) of the claim sent to payer {payer_id}, its claim number "
                                    f"{number} in REF*F8: the primary reversed its payment")
        decision.status = CONVERTED
        return built

    # --- the next payer -----------------------------------------------------------------------

    def _next_payer(self, original, level: str, remit: RemitClaim) -> NextPayer | None:
        incomplete: BuildError | None = None
        for loop in original.other_payers:
            sbr = loop.first
            if sbr is not None and code(sbr, 1) == level:
                try:
                    return NextPayer.from_2320(loop)
                except BuildError as exc:  # e.g. no 2330B: a coverage-file row may still say who it is
                    incomplete = exc
        if self.coverage is None:
            if incomplete:
                raise incomplete
            return None
        subscriber = original.subscriber.child("2010BA")
        member_id = subscriber.first.get(9) if subscriber is not None and subscriber.first is not None else ""
        try:
            coverage = self.coverage.find(remit.claim_id, member_id, level,
                                          patient_is_subscriber=original.patient is None)
        except CoverageConflict as exc:
            raise BuildError(str(exc)) from None
        if coverage is None:
            if incomplete:
                raise incomplete
            return None
        if coverage.payer_level != level:
            raise BuildError(f"the coverage row ({coverage.source}) is for payer level {coverage.payer_level}, "
                             f"the claim needs level {level}")
        return NextPayer.from_coverage(coverage, level, Patient.of(original).name)

    def _paper_reason(self, next_payer: NextPayer, built, listed) -> str | None:
        """Why this claim goes on a CMS-1500, or None for an electronic claim. `listed`: the payer
        list's row for the next payer (RememberedPayers.listed), None when it is not listed."""
        if listed is not None and not listed.accepts_electronic_secondary:  # a payer not listed takes them
            return "the payer list says this payer takes no electronic secondary claims"
        if next_payer.filing_indicator.upper() in MEDICARE_FILING:  # the 2320s counted only for Medicare
            priors = len(built.other_payers)
            if priors > 1:
                return (f"Medicare as a later payer with {priors} payers primary to it: such MSP claims go on "
                        "paper with the other payers' EOBs")
        return None

    @classmethod
    def _stop(cls, decision: ClaimDecision, status: str, reason: str | None) -> None:
        """`_end` for the steps that return the claim to continue from: None, decided."""
        cls._end(decision, status, reason)
        return None

    @staticmethod
    def _end(decision: ClaimDecision, status: str, reason: str | None) -> list:
        decision.status = status
        if reason:
            decision.reasons.append(reason)
        return []


def loop_payer_of(next_payer: NextPayer) -> PayerRef:
    """The next payer as a PayerRef: the one shared ref for its ids and name (identity.shared_ref),
    so the payer list's remembered answers find it by identity."""
    payer = next_payer.payer
    if len(payer) == 1:  # NM1 alone (N3/N4 and REFs are rare in a 2330B)
        return nm1_payer(payer[0])
    ids = [next_payer.payer_id] + [s.get(2) for s in payer[1:] if s.tag == "REF"]
    return shared_ref(tuple(filter(None, ids)), payer[0].get(3))  # the ids given (no generator)


def _billed_reason(payer_id: str, source: str, level: str) -> str:
    """The reason of a converted claim: one string object per payer, source and level, so the
    decision log pickles it once a block (pickle's memo goes by identity) instead of once a claim."""
    key = (payer_id, source, level)
    reason = _BILLED_REASONS.get(key)
    if reason is None:
        if len(_BILLED_REASONS) >= _BILLED_REASONS_LIMIT:
            _BILLED_REASONS.clear()
        reason = _BILLED_REASONS[key] = f"billed to payer {payer_id} ({source}) as SBR01 {level}"
    return reason


_BILLED_REASONS: dict[tuple[str, str, str], str] = {}
_BILLED_REASONS_LIMIT = 1024


def _state_of(decision: ClaimDecision) -> str:
    if decision.status in (CONVERTED, PAPER):
        if decision.frequency == VOID:
            return "needs_review"  # the primary's payment is gone: a person follows the claim from here
        return STATE_OF_LEVEL.get(decision.level or "", "billed_next")
    if decision.status == SKIPPED:
        return "closed"
    return "needs_review"
