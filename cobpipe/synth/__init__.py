"""Deterministic synthetic inputs for tests and benchmarks: original 837P claims and the primary's 835.

    from cobpipe.synth import generate
    era, claims = generate(1000, "out/", seed=7, unbalanced_fraction=0.01)

writes out/era.835 (005010X221A1), out/claims.837 (005010X222A1), out/coverage.csv (the next payer
of claims sent without a 2320) and out/synth.json (seed, knobs, counts). Same seed and knobs give
byte-identical files. Both files are written claim by claim (the 835 one payment at a time, at most
`claims_per_835` claims held), so memory stays flat at any N. Every name and id is fake.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from edi.segment import Segment
from edi.writer import InterchangeSettings, InterchangeWriter, Party, SequentialControlNumbers

from . import x12
from .model import ZERO, SynthOptions, adjudicate, claim_rng, make_claim

__all__ = ["GENERATOR_VERSION", "SynthOptions", "SynthSet", "generate", "generate_set"]

GENERATOR_VERSION = 1  # bump when the same seed would produce different files

PROVIDER = Party("ZZ", x12.SUBMITTER_ETIN)
CLEARINGHOUSE = Party("ZZ", x12.RECEIVER_ID)
PRIMARY_PAYER = Party("ZZ", "ZZPRIMARYPLAN")
BUFFER = 1 << 20


@dataclass(slots=True)
class SynthSet:
    """What one `generate_set` call wrote, with counts for tests and the benchmark."""

    era: Path
    claims: Path
    coverage: Path
    manifest: Path
    n_claims: int
    seed: int
    options: SynthOptions
    counts: Counter = field(default_factory=Counter)
    paid_total: Decimal = ZERO

    def to_dict(self) -> dict:
        options = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(self.options).items()}
        return {
            "generator_version": GENERATOR_VERSION,
            "n_claims": self.n_claims,
            "seed": self.seed,
            "options": options,
            "files": {"era": self.era.name, "claims": self.claims.name, "coverage": self.coverage.name},
            "counts": dict(sorted(self.counts.items())),
            "paid_total": str(self.paid_total),
        }


def generate(n_claims: int, out_dir: str | Path, seed: int = 0, **knobs) -> tuple[Path, Path]:
    """Write a synthetic 835/837P pair for `n_claims` claims; returns (path_835, path_837).

    Knobs are the fields of SynthOptions (e.g. unbalanced_fraction=0.05), plus `prefix` for the
    file names (<prefix>era.835, ...), handy when several pairs share a folder.
    """
    result = generate_set(n_claims, out_dir, seed=seed, **knobs)
    return result.era, result.claims


def generate_set(n_claims: int, out_dir: str | Path, seed: int = 0, prefix: str = "",
                 options: SynthOptions | None = None, on_progress=None, **knobs) -> SynthSet:
    """Like `generate`, returning every path and the counts (also written to <prefix>synth.json).

    `on_progress(file name, claims written, n_claims)` is called as each file is written (for a
    progress bar). Files are created with mode 0600 (cobpipe.cliutil.OUTPUT_MODE), like every file
    cobpipe writes."""
    if n_claims < 1:
        raise ValueError("n_claims must be at least 1 (an 837 needs a claim)")
    unknown = set(knobs) - set(SynthOptions.knob_names())
    if unknown:
        raise TypeError(f"unknown generator knobs: {', '.join(sorted(unknown))}")
    if options is None:
        options = SynthOptions(**knobs)
    elif knobs:
        raise TypeError("give either options or knobs, not both")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = SynthSet(out / f"{prefix}era.835", out / f"{prefix}claims.837", out / f"{prefix}coverage.csv",
                      out / f"{prefix}synth.json", n_claims, seed, options)
    numbers = range(options.claim_offset + 1, options.claim_offset + n_claims + 1)
    tick = on_progress or (lambda name, done, total: None)
    _write_837(result, numbers, tick)
    _write_835(result, numbers, tick)
    with _open(result.manifest, "utf-8") as stream:
        stream.write(json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def _open(path: Path, encoding: str = "ascii"):
    from ..cliutil import open_output

    return open_output(path, encoding=encoding, buffering=BUFFER)


PROGRESS_EVERY = 500  # claims between two progress calls


def _write_837(result: SynthSet, numbers: range, tick) -> None:
    """The original claims, billed to the primary, plus coverage.csv rows for claims without a 2320."""
    options, seed = result.options, result.seed
    created = dt.datetime.combine(options.paid_date - dt.timedelta(days=10), dt.time(9, 30))
    settings = InterchangeSettings(PROVIDER, CLEARINGHOUSE, usage="T")
    per_st = options.claims_per_837
    with _open(result.claims) as stream, _open(result.coverage, "utf-8") as cov_stream:
        coverage = csv.writer(cov_stream, lineterminator="\n")
        coverage.writerow(x12.COVERAGE_COLUMNS)
        with InterchangeWriter(stream, settings, SequentialControlNumbers(), now=created) as ix:
            with ix.group("HC", "005010X222A1") as group:
                for start in range(0, len(numbers), per_st):
                    chunk = numbers[start:start + per_st]
                    with group.transaction("837") as ts:
                        ts.write_all(x12.header_837(f"ZZ{seed}-{start // per_st + 1}", created))
                        hl = 2
                        for number in chunk:
                            claim = make_claim(claim_rng(seed, number), number, options)
                            segments, hl = x12.claim_837(claim, hl)
                            ts.write_all(segments)
                            result.counts["claims"] += 1
                            result.counts["service_lines"] += len(claim.lines)
                            if claim.patient is not None:
                                result.counts["patient_not_subscriber"] += 1
                            if not claim.secondary_in_claim:
                                result.counts["secondary_absent"] += 1
                                coverage.writerow(x12.coverage_row(claim))
                            if result.counts["claims"] % PROGRESS_EVERY == 0:
                                tick(result.claims.name, result.counts["claims"], len(numbers))
                    result.counts["837_transactions"] += 1
    tick(result.claims.name, len(numbers), len(numbers))


def _write_835(result: SynthSet, numbers: range, tick) -> None:
    """The primary's remittance, one payment (ST/BPR) per `claims_per_835` claims."""
    options, seed = result.options, result.seed
    paid = options.paid_date
    received = paid - dt.timedelta(days=8)
    settings = InterchangeSettings(PRIMARY_PAYER, PROVIDER, usage="T")
    per_st = options.claims_per_835
    now = dt.datetime.combine(paid, dt.time(6, 0))
    with _open(result.era) as stream:
        with InterchangeWriter(stream, settings, SequentialControlNumbers(), now=now) as ix:
            with ix.group("HP", "005010X221A1") as group:
                for start in range(0, len(numbers), per_st):
                    chunk = numbers[start:start + per_st]
                    body: list[Segment] = []
                    total = ZERO
                    for number in chunk:
                        rng = claim_rng(seed, number)
                        claim = make_claim(rng, number, options)
                        for remit in adjudicate(rng, claim, options):
                            body += x12.claim_835(remit, claim, received)
                            total += remit.paid
                            result.counts[f"clp02_{remit.status}"] += 1
                            if remit.unbalanced:
                                result.counts[f"unbalanced_{remit.unbalanced}"] += 1
                            if remit.adjustments:
                                result.counts["claim_level_cas"] += 1
                    index = start // per_st + 1
                    plb_rng = claim_rng(seed, -index)  # negative numbers never name a claim
                    plb = x12.plb_adjustments(plb_rng, total, plb_rng.random() < options.plb_fraction)
                    payment = total - sum((v for _, _, v in plb), ZERO)
                    trace = f"ZZ{paid:%Y%m%d}{seed % 100000:05d}{options.claim_offset + start + 1:09d}"
                    with group.transaction("835", "") as ts:
                        ts.write_all(x12.header_835(payment, paid, trace))
                        ts.write_all(body)
                        ts.write_all(x12.plb_segments(plb, paid))
                    result.counts["835_transactions"] += 1
                    result.counts["plb_adjustments"] += len(plb)
                    result.paid_total += payment
                    tick(result.era.name, min(start + per_st, len(numbers)), len(numbers))
