"""The end of a conversion made while its output is checked by a validator process (report.Prepared):
the report's claim entries encoded early and the ERA's SHA-256 give the same report and ledger
records as when made at the end (then, the decisions read once for the entries, the counts and the
billed rows); a decision changed afterwards (a guide rejection: see test_convert_cli's
rejected-claim cases) makes the end encode its entries again.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from cobpipe.cob.decision import ConvertOptions
from cobpipe.fsutil import sha256_of
from cobpipe.pipeline import run_batch
from cobpipe.record import issued_claims
from cobpipe.synth import generate_set

OPTIONS = ConvertOptions(today=dt.date(2026, 4, 1), now=dt.datetime(2026, 4, 1, 9, 30), usage="T")


def test_the_report_made_while_checking_is_the_report_made_after(tmp_path):
    from cobpipe.payers import PayerList

    made = generate_set(150, tmp_path / "in", seed=3, denial_fraction=0.2, reversal_fraction=0.1)
    payers_csv = tmp_path / "payers.csv"  # one payer's claims on paper: issued claims of the paper channel
    payers_csv.write_text("payer_id,name,accepts_electronic_secondary,eaf_level,notes,aliases\n"
                          "99902,ZZ SECONDARY MUTUAL,no,line,,\n")
    reports = []
    for name, from_ in (("at-end", 10**9), ("alongside", 0)):
        options = dataclasses.replace(OPTIONS, pipe_validation_from=from_, payers=PayerList.load(payers_csv))
        [result] = run_batch([made.era], [made.claims], tmp_path / name, options=options,
                             coverage_path=made.coverage, workers=2, numbers_path=tmp_path / f"{name}.sqlite")
        issued = [(i.claim_id, i.payer_id, i.output, i.isa13, i.gs06, i.st02, i.payer_level, i.frequency, i.channel)
                  for i in issued_claims(result)]
        reports.append((result.report.read_bytes(), result.output.read_bytes(), issued))
        assert result.era_sha256 == (sha256_of(made.era) if from_ == 0 else None)
        assert result.billed is not None  # read with the entries, ahead or at the end
        assert result.claim_entries is None  # (a temporary file: gone once the report is written)
    assert reports[0] == reports[1]
    assert len(reports[0][2]) > 50 and sum(i[-1] == "paper" for i in reports[0][2]) > 5
