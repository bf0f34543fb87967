"""One large ERA scanned by a process of its own while the batch's process indexes every claim of
the 837P (batch._indexed_while_scanned) converts as the scan first and an index of the remitted
claims after it do (the reference): the same bytes, the same results, the same refusals."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cobpipe import batch, split
from cobpipe.claim837.index import ClaimIndex
from cobpipe.pipeline import ConvertOptions, run_batch
from cobpipe.synth import generate_set
from edi.errors import EdiError

OPTIONS = ConvertOptions(today=dt.date(2026, 4, 1), now=dt.datetime(2026, 4, 1, 9, 30), usage="T")


@pytest.fixture(autouse=True)
def small_files(monkeypatch):
    monkeypatch.setattr(split, "MIN_CLAIMS", 1)  # the generated ERAs here are small: split them too


def convert(tmp_path: Path, era: Path, claims: Path, coverage: Path, name: str, *, beside: bool, workers: int = 2,
            monkeypatch) -> tuple:
    """run_batch's files and results, with the ERA scanned beside the index or (the reference) before it."""
    monkeypatch.setattr(batch, "SCAN_BESIDE_FROM", 0 if beside else 1 << 62)
    monkeypatch.setattr(batch, "CLAIMS_PER_ERA_BYTES", 1 << 20)
    before = batch.scanned_beside
    out = tmp_path / name
    results = run_batch([era], [claims], out, options=OPTIONS, coverage_path=coverage, workers=workers,
                        numbers_path=tmp_path / f"{name}-numbers.sqlite")
    assert batch.scanned_beside == before + (beside and workers > 1), "not the path asked for"
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    return files, [(r.exit_code, r.counts, r.control_numbers, r.transactions,
                    [d.to_dict() for d in r.decisions]) for r in results]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple[Path, Path, Path]:
    """An ERA and one 837P holding its claims (some CLM01s in lower case, which the payer echoed in
    upper case) and as many that it does not remit (another interchange)."""
    folder = tmp_path_factory.mktemp("mixed")
    remitted = generate_set(40, folder / "a", seed=7, reversal_fraction=0.2, claims_per_835=3)
    others = generate_set(40, folder / "b", seed=8, claim_offset=1000)
    text = remitted.claims.read_text()
    claims = folder / "claims.837"
    claims.write_text(text.replace("CLM*SYN0000001", "CLM*syn0000001") + others.claims.read_text())
    return remitted.era, claims, remitted.coverage


def test_an_era_scanned_beside_the_index_of_every_claim_converts_as_the_reference(tmp_path, mixed, monkeypatch):
    era, claims, coverage = mixed
    reference = convert(tmp_path, era, claims, coverage, "reference", beside=False, monkeypatch=monkeypatch)
    assert convert(tmp_path, era, claims, coverage, "beside", beside=True, monkeypatch=monkeypatch) == reference
    one = convert(tmp_path, era, claims, coverage, "one", beside=True, workers=1, monkeypatch=monkeypatch)
    assert one[1] == reference[1]
    counts = reference[1][0][1]
    assert counts["converted"] > 20 and counts["unmatched"] == 0  # the lower-case CLM01s matched too


def test_claims_only_the_plain_reader_reads_are_read_so_after_the_scan(tmp_path, mixed, monkeypatch):
    era, claims, coverage = mixed
    odd = tmp_path / "odd.837"  # a segment ending in a space before its terminator: not indexed
    text = claims.read_text()
    odd.write_text(text.replace("~\nHL*2*", " ~\nHL*2*", 1))
    assert odd.read_text() != text and ClaimIndex.build([odd]) is None
    assert convert(tmp_path, era, odd, coverage, "beside", beside=True, monkeypatch=monkeypatch) == convert(
        tmp_path, era, odd, coverage, "reference", beside=False, monkeypatch=monkeypatch)


def test_an_unusable_era_is_refused_as_the_scan_before_the_index_refuses_it(tmp_path, mixed, monkeypatch):
    era, claims, coverage = mixed
    cut = tmp_path / "cut.835"
    cut.write_text(era.read_text()[:-40])
    messages = []
    for beside in (False, True):
        with pytest.raises(EdiError) as refused:
            convert(tmp_path, cut, claims, coverage, "out", beside=beside, monkeypatch=monkeypatch)
        messages.append(str(refused.value))
        assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    assert messages[0] == messages[1] and messages[0].startswith(f"{cut} seg ") and "truncated file" in messages[0]
