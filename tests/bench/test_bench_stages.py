"""bench/stages.py times each stage of a conversion on a generated pair, through the claim index or a ledger."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stages_module():
    spec = importlib.util.spec_from_file_location("bench_stages", REPO / "bench" / "stages.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("ledger, first", [(False, "index the 837P claims as text spans"),
                                           (True, "read the 837P and index it in SQLite")])
def test_every_stage_is_timed_and_the_shares_add_up(stages_module, tmp_path, ledger, first):
    from cobpipe.synth import generate

    generate(40, tmp_path, seed=3)
    rows = stages_module.stages(tmp_path, ledger=ledger)
    names = [name for name, _, _ in rows]
    assert names[1] == first
    assert "  build the secondary claim" in names and names[-2] == "conversion, one process"
    total = rows[-2][1]
    parts = [seconds for name, seconds, share in rows[:-2]]
    assert all(seconds >= 0 for seconds in parts) and sum(parts) == pytest.approx(total)
    assert rows[-1][1] > 0  # the guide check of the output was run
