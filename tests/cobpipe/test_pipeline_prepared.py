"""The end of a conversion made while its output is checked by a validator process (report.Prepared):
the report's claim entries encoded early and the ERA's SHA-256 give the same report and ledger
records as when made at the end (then, the decisions read once for the entries, the counts and the
billed rows); a decision changed afterwards (a guide rejection: see test_convert_cli's
rejected-claim cases) makes the end encode its entries again.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from cobpipe.cob.decision import STATUSES, ConvertOptions
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


# --- a split conversion's process encodes the entries of the blocks handed to it while it waits -------

def _made_at_once(decisions_list):
    """The reference: the entries, statuses and billed rows of write_claim_entries over every decision."""
    import io

    from cobpipe.report import write_claim_entries

    stream = io.StringIO()
    statuses, billed = write_claim_entries(decisions_list, stream)
    return stream.getvalue(), statuses, billed


@pytest.mark.parametrize("copies, block, catch_ups", [(1, 3, [0, 1, 5]), (3, 2, [1, 1, 1, 9]), (2, 1000, [4]),
                                                       (4, 4, []), (0, 3, [2])])
def test_entries_caught_up_block_by_block_are_the_entries_made_at_once(tmp_path, copies, block, catch_ups):
    """Blocks packed elsewhere (as the converting processes send them) encoded between appends,
    some at a time, then the rest at the end: the same text, counts and billed rows as all at once."""
    from cobpipe.decision_log import DecisionLog, packed
    from cobpipe.report import Prepared
    from tests.cobpipe.test_decision_log import _assorted

    made = _assorted() * copies
    log = DecisionLog(block=block)
    ready = Prepared(tmp_path / "era.835", log)
    (tmp_path / "era.835").write_text("ISA")
    parts = [made[k:k + block] for k in range(0, len(made), block)]
    for k, part in enumerate(parts):
        log.append_packed(packed(part), len(part))
        for _ in range(catch_ups[k % len(catch_ups)] if catch_ups else 0):
            ready.catch_up()
    ready.prepare()
    text, statuses, billed = _made_at_once(made)
    ready.entries.seek(0)
    assert ready.entries.read() == text
    assert ready.billed == billed
    assert ready.counts == {status: statuses.count(status) for status in STATUSES}
    assert not ready.catch_up()  # every block encoded once


def test_entries_are_caught_up_in_a_split_conversion(tmp_path, monkeypatch):
    """The split conversion's process calls catch_up while it waits (the report is the reference's
    byte for byte: tests/cobpipe/test_split.py)."""
    from cobpipe import report, split

    monkeypatch.setattr(split, "MIN_CLAIMS", 1)
    monkeypatch.setattr(split, "DECISIONS", 5)  # small blocks: several a window
    caught = []
    catch_up = report.Prepared.catch_up

    def counted(self):
        done = catch_up(self)
        caught.append(done)
        return done

    monkeypatch.setattr(report.Prepared, "catch_up", counted)
    made = generate_set(120, tmp_path / "in", seed=5, denial_fraction=0.2)
    run_batch([made.era], [made.claims], tmp_path / "out", options=OPTIONS, coverage_path=made.coverage, workers=2,
              numbers_path=tmp_path / "numbers.sqlite")
    assert any(caught)


# --- one converting process: each block's entries encoded as the log writes it out --------------------

@pytest.mark.parametrize("copies, block", [(1, 3), (3, 2), (2, 1000), (4, 1), (0, 3)])
def test_entries_encoded_as_blocks_are_written_are_the_entries_made_at_once(tmp_path, copies, block):
    """DecisionLog.on_block hands Prepared each block as `append` writes it out, its rows made from
    the decisions in memory: the same text, counts and billed rows as all at once, and no block read
    back from the log's file."""
    from cobpipe.decision_log import DecisionLog
    from cobpipe.report import Prepared
    from tests.cobpipe.test_decision_log import _assorted

    made = _assorted() * copies
    log = DecisionLog(block=block)
    ready = Prepared(tmp_path / "era.835", log)
    (tmp_path / "era.835").write_text("ISA")
    told = []

    def block_written(number, rows):
        told.append(number)
        ready.block_written(number, rows)

    def not_read(number, position):
        raise AssertionError(f"block {number} read back although it was encoded as it was written")

    log.on_block = block_written
    log.block_rows = not_read
    for decision in made:
        log.append(decision)
    ready.prepare()
    assert told == list(range(log.blocks)) and (log.blocks > 0) == (len(made) >= 2 * block)
    text, statuses, billed = _made_at_once(made)
    ready.entries.seek(0)
    assert ready.entries.read() == text
    assert ready.billed == billed
    assert ready.counts == {status: statuses.count(status) for status in STATUSES}


def test_one_converting_process_reads_no_block_back_for_the_report(tmp_path, monkeypatch):
    """A conversion in one process encodes the report's entries of every block as its decision log
    writes it out (the report is the reference's: test_the_report_made_while_checking_is_the_report_made_after)."""
    from cobpipe import decision_log
    from cobpipe.decision_log import DecisionLog

    monkeypatch.setattr(decision_log, "BLOCK", 7)  # several blocks written out
    read_back = []
    block_rows = DecisionLog.block_rows

    def counted_rows(self, number, position):
        read_back.append(number)
        return block_rows(self, number, position)

    monkeypatch.setattr(DecisionLog, "block_rows", counted_rows)
    made = generate_set(120, tmp_path / "in", seed=5, denial_fraction=0.2)
    [result] = run_batch([made.era], [made.claims], tmp_path / "out", options=OPTIONS, coverage_path=made.coverage,
                         workers=1, numbers_path=tmp_path / "numbers.sqlite")
    assert result.decisions.blocks > 5
    assert read_back == []
