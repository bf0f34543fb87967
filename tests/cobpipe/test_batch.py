"""The batch around the converter (cobpipe.batch): what several worker processes do gives what one does."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from cobpipe.batch import _merged_index
from cobpipe.claim837.index import ClaimIndex
from cobpipe.pipeline import ConvertOptions, run_batch
from cobpipe.synth import generate_set

ROOT = Path(__file__).parents[2]
SAMPLES = ROOT / "samples" / "cob"
OPTIONS = ConvertOptions(today=dt.date(2026, 4, 1), now=dt.datetime(2026, 4, 2, 9, 30))


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> tuple[list[Path], list[Path], Path]:
    """Three generated ERA/837P pairs (distinct claim ids) and the samples' two, with one coverage file."""
    folder = tmp_path_factory.mktemp("pairs")
    eras, claims, rows = [], [], []
    for k in range(3):
        made = generate_set(40 + 30 * k, folder / "made", seed=11 + k, prefix=f"p{k}-", claim_offset=1000 * k)
        eras.append(made.era)
        claims.append(made.claims)
        lines = made.coverage.read_text().splitlines()
        rows += lines[1:]
        header = lines[0]
    for name in ("era.835", "seed-era.835"):
        eras.append(shutil.copy(SAMPLES / name, folder / name))
    # an ERA whose claims fail (rejected, unmatched): a report and little or no 837P
    eras.append(shutil.copy(SAMPLES / "problems" / "era.835", folder / "problems.835"))
    claims += [SAMPLES / "claims.837", SAMPLES / "seed-claims.837"]
    # a claim the guide check rejects once written (a place of service that is no code): the file
    # is written again without it, with the control numbers already taken
    seed_claims, seed_era = (SAMPLES / "seed-claims.837").read_text(), (SAMPLES / "seed-era.835").read_text()
    clm = seed_claims[seed_claims.index("CLM*SEED001"):seed_claims.index("\nSE*") + 1]
    bad = clm.replace("SEED001", "GUIDE02").replace("*11:B:1*", "*X9:B:1*")
    good = clm.replace("SEED001", "GUIDE01")
    (folder / "guide.837").write_text(seed_claims.replace(clm, good + bad).replace(
        "SE*30*0001~", f"SE*{30 + bad.count('~')}*0001~"))
    clp = seed_era[seed_era.index("CLP*SEED001"):seed_era.index("\nSE*") + 1]
    (folder / "guide.835").write_text(seed_era.replace(clp, clp.replace("SEED001", "GUIDE01") + clp.replace(
        "SEED001", "GUIDE02")).replace("SE*21*0001~", f"SE*{21 + clp.count('~')}*0001~").replace("BPR*I*10*", "BPR*I*20*"))
    eras.append(folder / "guide.835")
    claims.append(folder / "guide.837")
    coverage = folder / "coverage.csv"
    samples = (SAMPLES / "coverage.csv").read_text().splitlines()[1:]
    guide = [row.replace("SEED001", claim_id) for row in samples if row.startswith("SEED001,") for claim_id in
             ("GUIDE01", "GUIDE02")]
    coverage.write_text("\n".join([header, *rows, *samples, *guide]) + "\n")
    return [Path(e) for e in eras], claims, coverage


def test_an_index_merged_from_one_part_per_file_is_the_index_of_all_the_files(pairs, tmp_path):
    _, claims, _ = pairs
    # a claim in two files (fixed and exported again): the later file's comes after, as in one index
    seed = (SAMPLES / "seed-claims.837").read_text()
    fixed = tmp_path / "fixed.837"
    fixed.write_text(seed.replace("NM1*85*2*SUNRISE PEDIATRICS*", "NM1*85*2*SUNRISE PEDIATRICS GROUP*"))
    files = [*claims, fixed]
    for only in (None, frozenset({"SEED001", "1001", "2005"})):
        whole = ClaimIndex.build(files, only)
        merged = _merged_index(ClaimIndex.build([path], only) for path in files)
        assert whole is not None and merged is not None
        assert merged.__getstate__() == whole.__getstate__()
        for claim_id in list(whole.by_id)[:50]:
            assert [c.id for c in merged.claims_for(claim_id)] == [c.id for c in whole.claims_for(claim_id)]
            assert ([str(s) for c in merged.claims_for(claim_id) for s in c.iter_segments()]
                    == [str(s) for c in whole.claims_for(claim_id) for s in c.iter_segments()])
        merged.close()
        whole.close()


def test_a_part_the_index_cannot_read_makes_the_merged_index_none(pairs):
    _, claims, _ = pairs
    assert _merged_index([ClaimIndex.build(claims[:1]), None]) is None
    assert _merged_index([]).claims_for("anything") == []


def _outputs(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def _run_both(tmp_path: Path, pairs, workers: int, **kwargs) -> tuple[list, list]:
    eras, claims, coverage = pairs
    results = []
    for name, n in (("one", 1), ("many", workers)):
        extra = {key: value(name) if callable(value) else value for key, value in kwargs.items()}
        options = extra.pop("options", OPTIONS)
        results.append(run_batch(eras, claims, tmp_path / name, options=options, coverage_path=coverage,
                                 workers=n, **extra))
    return results[0], results[1]


def _same(tmp_path: Path, one: list, many: list, outputs: int = 6) -> None:
    """Every file, byte for byte (`outputs` 837Ps of them), and the results the caller gets."""
    written = _outputs(tmp_path / "one")
    assert written == _outputs(tmp_path / "many")
    assert sum(name.endswith(".837") for name in written) == outputs and not any(n.startswith(".") for n in written)
    assert [r.control_numbers for r in one] == [r.control_numbers for r in many]
    assert [r.transactions for r in one] == [r.transactions for r in many]
    assert [r.counts for r in one] == [r.counts for r in many]
    assert [[d.to_dict() for d in r.decisions] for r in one] == [[d.to_dict() for d in r.decisions] for r in many]


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("per_set", [None, 1, 7], ids=["one-set", "a-set-per-claim", "sets-of-7"])
def test_workers_write_the_bytes_one_process_writes(pairs, tmp_path, workers, per_set):
    """Whichever ERA a worker finishes first, the control numbers are those one process gives,
    also when sets written are dropped again (the claim the guide rejects) and leave a gap."""
    options = dataclasses.replace(OPTIONS, claims_per_transaction=per_set)
    one, many = _run_both(tmp_path, pairs, workers, options=options)
    _same(tmp_path, one, many)
    guide = json.loads((tmp_path / "many" / "guide.report.json").read_text())
    assert {c["id"]: c["status"] for c in guide["claims"]} == {"GUIDE01": "converted", "GUIDE02": "rejected"}
    # the generated ERAs share one sender/receiver pair: numbered in command-line order
    assert [number for r in many[:3] for kind, number in r.control_numbers if kind == "ISA"] == [1, 2, 3]


def test_workers_hand_the_decisions_back_as_files(pairs, tmp_path, monkeypatch):
    """Each ERA's decisions come back from its worker as a file (DecisionLog.hand_over), never
    pickled one by one through the pool's pipe (and packed out again here): a log pickled fails
    the batch. The bytes and the results stay one process's."""
    from cobpipe.decision_log import DecisionLog

    def refuse(log):
        raise AssertionError("a decision log pickled on its way back from a worker")

    monkeypatch.setattr(DecisionLog, "__reduce__", refuse)
    one, many = _run_both(tmp_path, pairs, 2)
    _same(tmp_path, one, many)
    assert all(type(r.decisions) is DecisionLog for r in many)
    assert not any(path.name.startswith(".") for path in (tmp_path / "many").iterdir())  # no file left


@pytest.mark.parametrize("ledger", ["numbers", "db"])
def test_workers_take_the_numbers_a_ledger_continues_from_as_one_process_does(pairs, tmp_path, ledger):
    """The user's control numbers ledger (a one-shot convert) or --db: two runs each, the second
    continuing from the first's numbers (--db: refusing the claims the first issued), and what the
    ledger records is the same."""
    from cobpipe.ledger import Ledger

    key = "numbers_path" if ledger == "numbers" else "db_path"
    for run in ("first", "second"):
        one, many = _run_both(tmp_path / run, pairs, 2, **{key: lambda name: tmp_path / f"{name}.db"})
        _same(tmp_path / run, one, many, 0 if run == "second" and ledger == "db" else 6)
    for result in many:
        assert all(number > 3 for kind, number in result.control_numbers if kind == "ISA")
    with Ledger.open(tmp_path / "one.db") as a, Ledger.open(tmp_path / "many.db") as b:
        assert a.control_numbers() == b.control_numbers()
        for claim_id in ("SEED001", "GUIDE01", "SYN00000001", "SYN00002002", "MULTILINE01"):
            issued = [[dataclasses.replace(c, issued_at="") for c in x.issued_for(claim_id)] for x in (a, b)]
            assert issued[0] == issued[1] and issued[0]


def test_an_unusable_era_stops_a_batch_of_workers_before_anything_is_written(pairs, tmp_path):
    eras, claims, coverage = pairs
    cut = tmp_path / "cut.835"
    cut.write_text(eras[0].read_text()[:-40])
    from edi.errors import EdiError

    with pytest.raises(EdiError, match="cut.835"):
        run_batch([*eras, cut], claims, tmp_path / "out", options=OPTIONS, coverage_path=coverage, workers=2)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("chunk", [1 << 20, 37])
def test_renumbering_gives_the_file_written_with_those_numbers(pairs, tmp_path, monkeypatch, chunk):
    """A file written with provisional numbers, renumbered, is the file written with the real ones:
    several sets, other delimiters, numbers of every width, read in chunks of any size (a segment
    longer than a chunk too)."""
    monkeypatch.setattr("cobpipe.renumber._CHUNK", chunk)
    from cobpipe.claim837.parser import ClaimFile
    from cobpipe.claim837.writer import write_claims_837
    from cobpipe.pipeline import interchange_for
    from cobpipe.renumber import ProvisionalNumbers, renumber, take_numbers
    from edi.segment import Delimiters
    from edi.writer import SequentialControlNumbers

    _, claims, _ = pairs
    originals = list(ClaimFile.open(claims[1]))
    settings = interchange_for(originals[0], "T")
    for delimiters, start in ((Delimiters(), 1), (Delimiters("|", ">", "!", "~", ""), 999_999_980),
                              (Delimiters("*", ":", "^", "~", "\n"), 4321)):
        def write(path: Path, numbers) -> None:
            with open(path, "w", encoding="utf-8", newline="") as stream:
                write_claims_837(iter(originals), stream, settings, numbers, delimiters=delimiters,
                                 now=OPTIONS.now, claims_per_transaction=6)

        provisional = ProvisionalNumbers()
        write(tmp_path / "provisional.837", provisional)
        write(tmp_path / "direct.837", SequentialControlNumbers(start))
        mapping = take_numbers(provisional.calls, SequentialControlNumbers(start))
        renumber(tmp_path / "provisional.837", tmp_path / "renumbered.837", mapping, delimiters)
        direct = (tmp_path / "direct.837").read_bytes()
        assert (tmp_path / "renumbered.837").read_bytes() == direct
        assert direct.count(b"ST" + delimiters.element.encode() + b"837") > 2


@pytest.mark.parametrize("sizes, count", [([5, 5, 5, 5], 2), ([100, 1, 1, 1], 2), ([1, 1, 1, 100], 2),
                                          ([3, 1, 4, 1, 5, 9, 2, 6], 3), ([7], 4), ([2, 2], 5)])
def test_the_837p_files_are_cut_into_runs_in_order_one_per_worker(tmp_path, sizes, count):
    from cobpipe.batch import _runs

    files = []
    for k, size in enumerate(sizes):
        files.append(tmp_path / f"{k}.837")
        files[-1].write_bytes(b"x" * size)
    runs = _runs(files, count)
    assert [path for run in runs for path in run] == files and all(runs) and len(runs) <= count
    if len(sizes) >= count and len(set(sizes)) == 1:
        assert len(runs) == count and {len(run) for run in runs} == {len(sizes) // count}


def test_an_era_that_cannot_be_finished_leaves_what_one_process_leaves(pairs, tmp_path):
    """An ERA fails part way (its report cannot be written: a folder has its name): the ERAs before
    it are in place, it and the later ones are as one process leaves them (which never converts
    the later ones), and no hidden staged file stays behind."""
    eras, claims, coverage = pairs
    for name, workers in (("one", 1), ("many", 2)):
        (tmp_path / name / "p1-era.report.json").mkdir(parents=True)
        with pytest.raises(OSError):
            run_batch(eras, claims, tmp_path / name, options=OPTIONS, coverage_path=coverage, workers=workers)
    left = {path.name: path.read_bytes() if path.is_file() else None for path in (tmp_path / "one").iterdir()}
    assert left == {path.name: path.read_bytes() if path.is_file() else None
                    for path in (tmp_path / "many").iterdir()}
    assert set(left) == {"p0-era.837", "p0-era.report.json", "p1-era.837", "p1-era.report.json"}


@pytest.mark.parametrize("sizes, order", [([1250] * 8, list(range(8))), ([1250, 1249, 1251, 1260], [0, 1, 2, 3]),
                                          ([10, 5000, 40, 4000, 0], [1, 3, 2, 0, 4]), ([3, 900, 3], [1, 0, 2])])
def test_eras_go_to_the_workers_largest_first_by_size_class(sizes, order):
    from cobpipe.batch import _largest_first

    assert _largest_first(sizes) == order
