"""What the fast `explain --format json` does for speed leaves no trace: the collector is back on
after a run (written, handed over or failed), and the generated 835s the benchmark reads take the
fast path in one and in two processes (a change that made them fall back to the plain path would
pass every identity test and only show as time)."""
from __future__ import annotations

import gc
import io

import pytest

from cobpipe.codes import default_codebook
from cobpipe.explain.build import ExplainOptions
from cobpipe.explain.fastjson import write_json
from cobpipe.explain.fastscan import Ineligible
from cobpipe.synth import generate

from test_explain_fast import same, x12

BOOK = default_codebook()


@pytest.mark.parametrize("split", [False, True])
def test_collector_back_on_after_a_run(tmp_path, split):
    era, _claims = generate(60, tmp_path, seed=21)
    assert gc.isenabled()
    write_json(str(era), BOOK, ExplainOptions(), io.StringIO(), split_at=era.stat().st_size // 2 if split else None,
               parallel=split)
    assert gc.isenabled()


def test_collector_back_on_after_a_hand_over_and_stays_off_when_it_was(tmp_path):
    path = tmp_path / "era.835"
    path.write_bytes(x12(["CLP*C1*1*10*10**12", "XYZ*1"]).encode("ascii"))
    with pytest.raises(Ineligible):
        write_json(str(path), BOOK, ExplainOptions(), io.StringIO())
    assert gc.isenabled()
    gc.disable()
    try:
        era, _claims = generate(20, tmp_path, seed=22)
        write_json(str(era), BOOK, ExplainOptions(), io.StringIO(), parallel=False)
        assert not gc.isenabled()  # the caller's choice is kept
    finally:
        gc.enable()


def test_benchmark_shaped_file_takes_the_fast_path(tmp_path):
    """bench/run.py's 835 (the generator's defaults): read fast, alone and by two processes."""
    era, _claims = generate(400, tmp_path, seed=1)
    size = era.stat().st_size
    for split_at in (None, size // 2):
        assert same(era, ExplainOptions(), split_at=split_at)
