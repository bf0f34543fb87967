"""Golden tests: each synthetic 835 in samples/era/ parses to exactly the model in golden/<name>.json.

The JSON files were generated once and then checked by hand against the arithmetic in
samples/era/README.md; regenerate with COBPIPE_UPDATE_GOLDEN=1 and review the diff.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from cobpipe.era import group_claims, is_cob_input, is_crossover, is_denial, is_reversal, payer_level, read_remittances
from edi.findings import Finding

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
SAMPLES = HERE.parents[2] / "samples" / "era"
CASES = sorted(p.stem for p in SAMPLES.glob("*.835"))


def plain(value):
    """The model as JSON values: Decimal as text, dates ISO, empty fields left out."""
    if isinstance(value, Finding):
        return value.to_dict()
    if dataclasses.is_dataclass(value):
        out = {}
        for f in dataclasses.fields(value):
            item = plain(getattr(value, f.name))
            if item not in (None, "", [], {}, ()):
                out[f.name] = item
        return out
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def dump(path: Path) -> dict:
    reader = read_remittances(path)
    remittances = []
    for remit in reader:
        claims = []
        for claim in remit.claims():
            data = plain(claim)
            data["semantics"] = {"payer_level": payer_level(claim), "crossover": is_crossover(claim),
                                 "reversal": is_reversal(claim), "denial": is_denial(claim),
                                 "cob_input": is_cob_input(claim)}
            claims.append((claim, data))
        groups = group_claims([c for c, _ in claims], path=remit.path)
        remittances.append({
            "header": plain(remit.header),
            "claims": [data for _, data in claims],
            "plbs": plain(remit.plbs),
            "totals": {**plain(remit.totals), "computed_payment": str(remit.totals.computed_payment)},
            "findings": plain(remit.findings),
            "groups": [{"claim_id": g.claim_id, "claims": [c.segment for c in g.claims],
                        "current": [c.segment for c in g.current], "split": g.is_split,
                        "reversals": [{"reversal": p.reversal.segment,
                                       "correction": p.correction.segment if p.correction else None,
                                       "original": p.original.segment if p.original else None}
                                      for p in g.reversals],
                        "findings": plain(g.findings)} for g in groups],
        })
    return {"remittances": remittances, "file_findings": plain(reader.findings)}


def normalise(data: dict) -> dict:
    """Paths differ between machines: findings cite the sample by file name only."""
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False)
    return json.loads(text.replace(str(SAMPLES) + os.sep, ""))


@pytest.mark.parametrize("case", CASES)
def test_sample_parses_to_golden_model(case):
    actual = normalise(dump(SAMPLES / f"{case}.835"))
    golden = GOLDEN / f"{case}.json"
    if os.environ.get("COBPIPE_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(actual, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert actual == expected


def test_every_sample_has_a_golden_file():
    assert CASES, "samples/era has no .835 files"
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == CASES
