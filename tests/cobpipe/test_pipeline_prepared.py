"""The end of a conversion made while its output is checked by a validator process (pipeline._Prepared):
the report's claim entries encoded early and the ERA's SHA-256 give the same report and ledger
records as when made at the end; a decision changed afterwards (a guide rejection: see
test_convert_cli's rejected-claim cases) makes the report encode its entries again.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from cobpipe.cob.decision import ConvertOptions
from cobpipe.fsutil import sha256_of
from cobpipe.pipeline import run_batch
from cobpipe.synth import generate_set

OPTIONS = ConvertOptions(today=dt.date(2026, 4, 1), now=dt.datetime(2026, 4, 1, 9, 30), usage="T")


def test_the_report_made_while_checking_is_the_report_made_after(tmp_path):
    made = generate_set(150, tmp_path / "in", seed=3, denial_fraction=0.2, reversal_fraction=0.1)
    reports = []
    for name, from_ in (("at-end", 10**9), ("alongside", 0)):
        options = dataclasses.replace(OPTIONS, pipe_validation_from=from_)
        [result] = run_batch([made.era], [made.claims], tmp_path / name, options=options,
                             coverage_path=made.coverage, workers=2, numbers_path=tmp_path / f"{name}.sqlite")
        reports.append((result.report.read_bytes(), result.output.read_bytes()))
        assert result.era_sha256 == (sha256_of(made.era) if from_ == 0 else None)
        assert result.claim_entries is None  # (a temporary file: gone once the report is written)
    assert reports[0] == reports[1]
