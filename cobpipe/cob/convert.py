"""Per-claim conversion: each remitted claim (CLP01) to a decision and, when converted, the
secondary claim. Streams the ERA; holds back only CLP01s that occur more than once (split claims,
reversals) until their last part has been read."""
from __future__ import annotations

from collections.abc import Iterator

from edi.errors import EdiError
from edi.findings import Finding, Severity

from ..decision_log import DecisionLog
from ..pipeline import CONVERTED, REJECTED, SKIPPED, UNMATCHED, ClaimDecision, ConvertOptions, EraScan
from .build import BuildError, NextPayer, Patient, build_secondary, code
from .cas import CasDoesNotFit
from .coverage import CoverageTable
from .decide import STATUS_LEVEL, next_level, resolve_parts, skip_reason
from .from_era import billed_lines, remit_claim
from .gate import ClaimView, check_claim
from .match import LineMatch, match_lines
from .remit import RemitClaim


class ClaimConverter:
    def __init__(self, claims, *, options: ConvertOptions, issued=None, coverage: CoverageTable | None = None,
                 path: str | None = None) -> None:
        self.claims = claims
        self.options = options
        self.issued = issued
        self.coverage = coverage
        self.path = path
        self.era_findings: list[Finding] = []

    def run(self, scan: EraScan, decisions: DecisionLog) -> Iterator:
        """Yields built secondary claims (OriginalClaim) in ERA order; appends every decision."""
        from ..era import read_remittances

        pending: dict[str, list[RemitClaim]] = {}
        only = self.options.only_claims
        for remittance in read_remittances(scan.path):
            header = remittance.header
            for payment in remittance.claims():
                if only is not None and payment.claim_id not in only:
                    continue
                part = remit_claim(payment, header, self.options.as_of)
                expected = scan.clp_counts.get(part.claim_id, 1)
                if expected <= 1:
                    yield from self._convert([part], decisions)
                    continue
                parts = pending.setdefault(part.claim_id, [])
                parts.append(part)
                if len(parts) == expected:
                    yield from self._convert(pending.pop(part.claim_id), decisions)
            self.era_findings += [f for f in remittance.findings if f.location.claim is None]
        for parts in pending.values():  # fewer parts than the first pass counted: convert what came
            yield from self._convert(parts, decisions)

    def _convert(self, parts: list[RemitClaim], decisions: DecisionLog) -> Iterator:
        first = parts[0]
        decision = ClaimDecision(first.claim_id, REJECTED, era_segment=first.segment)
        decisions.append(decision)
        built = self._decide(parts, decision)
        if built is not None:
            yield built

    def _decide(self, parts: list[RemitClaim], decision: ClaimDecision):
        resolution = resolve_parts(parts)
        decision.reasons += resolution.notes
        remit = resolution.claim
        if remit is None:
            return self._end(decision, SKIPPED, resolution.skip_reason)
        reason = skip_reason(remit, bill_zero_balance=self.options.bill_zero_balance)
        if reason:
            return self._end(decision, SKIPPED, reason)
        errors = [f for f in remit.findings if f.severity is Severity.ERROR]
        if errors:
            decision.findings += errors
            return self._end(decision, REJECTED, "the 835 does not balance for this claim: " +
                             "; ".join(f.message for f in errors[:3]))
        if remit.corrected_priority_payer:
            return self._end(decision, REJECTED, "manual review: the payer names another payer as primary "
                             "(2100 NM1*PR corrected priority payer)")
        candidates = self.claims.claims_for(remit.claim_id)
        if not candidates:
            return self._end(decision, UNMATCHED, f"no original 837P claim with CLM01 {remit.claim_id}")
        original = self._pick_original(candidates, remit, decision)
        if original is None:
            return None
        level = code(original.sbr, 1) if original.sbr is not None else ""
        expected_level = STATUS_LEVEL.get(remit.status_code)
        if expected_level and level and expected_level != level:
            decision.reasons.append(f"note: CLP02 {remit.status_code} says payer level {expected_level}, the "
                                    f"original claim billed level {level}")
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
        decision.payer_id = next_payer.payer_id
        if self.issued is not None and self.issued.was_issued(remit.claim_id, next_payer.payer_id):
            if remit.reversed:
                return self._end(decision, REJECTED, f"the primary reversed and corrected a claim already billed "
                                 f"to payer {next_payer.payer_id}: send that payer a replacement claim "
                                 "(CLM05-3 7) after review")
            return self._end(decision, SKIPPED, f"already billed to payer {next_payer.payer_id}")
        if remit.adjudication_date is None:
            return self._end(decision, REJECTED, "no adjudication date: the 835 has neither BPR16 nor DTM*405")
        lines = LineMatch([])
        if remit.has_lines:  # a claim-level-only 835 is reported in 2320 and 2330B alone
            lines = match_lines(billed_lines(original), [line.match for line in remit.lines],
                                claim_id=remit.claim_id, path=self.path)
            decision.findings += lines.findings
        line_errors = [f for f in lines.findings if f.severity is Severity.ERROR]
        if line_errors:
            return self._end(decision, REJECTED, "service lines do not match the original claim: " +
                             "; ".join(f.message for f in line_errors[:3]))
        try:
            built = build_secondary(original, remit, next_payer, lines, remit.adjudication_date)
        except CasDoesNotFit as exc:
            return self._end(decision, REJECTED, f"adjustments do not fit the 837P: {exc}")
        except BuildError as exc:
            return self._end(decision, REJECTED, str(exc))
        gate = check_claim(ClaimView.scan(built.claim.iter_segments(), built.sbr), today=self.options.as_of)
        decision.findings += gate
        gate_errors = [f for f in gate if f.severity is Severity.ERROR]
        if gate_errors:
            return self._end(decision, REJECTED, "the secondary claim does not balance: " +
                             "; ".join(f"{f.code} {f.message}" for f in gate_errors[:3]))
        decision.status = CONVERTED
        decision.reasons.append(f"billed to payer {next_payer.payer_id} ({next_payer.source}) as SBR01 "
                                f"{next_payer.level}")
        return built

    def _pick_original(self, candidates: list, remit: RemitClaim, decision: ClaimDecision):
        same_charge = [c for c in candidates if _charge(c) == remit.charge]
        if not same_charge:
            charges = ", ".join(sorted({str(_charge(c)) for c in candidates}))
            self._end(decision, REJECTED, f"charge mismatch: the 835 says CLP03 {remit.charge}, the original "
                      f"claim says CLM02 {charges}")
            return None
        if len(same_charge) > 1 and len({c.content_key() for c in same_charge}) > 1:
            self._end(decision, REJECTED, f"{len(same_charge)} different original claims share CLM01 "
                      f"{remit.claim_id} and its charge; cannot tell which was adjudicated")
            return None
        return same_charge[0]

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
        coverage = self.coverage.lookup(remit.claim_id, member_id)
        if coverage is None:
            if incomplete:
                raise incomplete
            return None
        if coverage.payer_level != level:
            raise BuildError(f"the coverage row ({coverage.source}) is for payer level {coverage.payer_level}, "
                             f"the claim needs level {level}")
        return NextPayer.from_coverage(coverage, level, Patient.of(original).name)

    @staticmethod
    def _end(decision: ClaimDecision, status: str, reason: str | None) -> None:
        decision.status = status
        if reason:
            decision.reasons.append(reason)
        return None


def _charge(claim):
    try:
        return claim.charge
    except EdiError:  # an unreadable CLM02 matches no remitted charge
        return None
