"""One ERA converted by two processes (cobpipe/split.py) gives what one process gives, byte for byte:
the .837 (HL tree, merges, transaction sets, control numbers), the report (every decision in ERA
order, the ERA's findings) and the paper claims, on generated files whose claims split over several
CLPs fall on both sides of the cut, with slow-read claims, paper claims, small transaction sets and
custom delimiters; a failure in a converting process is raised as one process raises it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from cobpipe import split
from cobpipe.cob.decision import ConvertOptions
from cobpipe.pipeline import run_batch
from cobpipe.synth import generate_set
from edi.errors import EdiError
from edi.segment import Delimiters

OPTIONS = ConvertOptions(today=dt.date(2026, 4, 1), now=dt.datetime(2026, 4, 1, 9, 30), usage="T")


@pytest.fixture(autouse=True)
def split_small_eras(monkeypatch):
    monkeypatch.setattr(split, "MIN_CLAIMS", 1)  # the generated ERAs here are small


def convert(tmp_path: Path, made, workers: int, name: str, options: ConvertOptions = OPTIONS):
    out = tmp_path / name
    results = run_batch([made.era], [made.claims], out, options=options,
                        coverage_path=made.coverage if made.coverage.exists() else None, workers=workers,
                        numbers_path=tmp_path / f"{name}-numbers.sqlite")
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".837", ".json")}
    paper = sorted(out.glob("*.pdf"))
    return files, [(r.exit_code, r.counts, r.control_numbers, r.transactions) for r in results], paper


def one_and_two(tmp_path: Path, made, options: ConvertOptions = OPTIONS):
    started = split.SplitConversion.started
    one = convert(tmp_path, made, 1, "one", options)
    assert split.SplitConversion.started == started  # one process: no split
    two = convert(tmp_path, made, 2, "two", options)
    assert split.SplitConversion.started == started + 1, "the ERA was not split"
    return one, two


KNOBS = [
    dict(seed=1),
    dict(seed=2, reversal_fraction=0.3, claims_per_835=7),  # split claims on both sides of the cut
    dict(seed=3, unbalanced_fraction=0.2, plb_fraction=1.0, denial_fraction=0.2),  # slow reads, findings
    dict(seed=4, crossover_fraction=0.2, secondary_absent_fraction=0.5, patient_fraction=0.7),
    dict(seed=5, claim_cas_fraction=0.5, oa23_fraction=0.3, bundled_fraction=0.3, claims_per_835=3),
]


@pytest.mark.parametrize("knobs", KNOBS, ids=lambda k: f"seed{k['seed']}")
def test_two_processes_write_what_one_writes(tmp_path, knobs):
    knobs = dict(knobs)
    made = generate_set(240, tmp_path / "in", **knobs)
    (files1, results1, _), (files2, results2, _) = one_and_two(tmp_path, made)
    assert files1.keys() == files2.keys() and files1
    for name in files1:
        assert files1[name] == files2[name], name
    assert results1 == results2


def clp_numbers(era: Path) -> dict[str, list[int]]:
    """CLP01 -> the segment numbers of its CLPs (from 1, ISA first), as the fast read numbers them."""
    found: dict[str, list[int]] = {}
    for number, body in enumerate(era.read_text().replace("\n", "").split("~"), 1):
        if body.startswith("CLP*"):
            found.setdefault(body.split("*")[1].strip(), []).append(number)
    return found


def test_cut_anywhere(tmp_path, monkeypatch):
    """Cuts between the parts of a claim split over several CLPs (its last part in the second
    window, the others in the first), before every claim and after every claim."""
    made = generate_set(120, tmp_path / "in", seed=13, reversal_fraction=0.4, claims_per_835=9)
    numbers = clp_numbers(made.era)
    repeated = [parts for parts in numbers.values() if len(parts) > 1]
    assert len(repeated) >= 10
    last = max(n for parts in numbers.values() for n in parts)
    cuts = [repeated[0][-1], repeated[len(repeated) // 2][-1], repeated[-1][-1], repeated[3][0] + 1, 1, last + 1]
    one = convert(tmp_path, made, 1, "one")
    for k, cut in enumerate(cuts):
        monkeypatch.setattr(split.SplitConversion, "cuts", lambda self, cut=cut: (0, cut))
        started = split.SplitConversion.started
        two = convert(tmp_path, made, 2, f"two{k}")
        assert split.SplitConversion.started == started + 1
        assert (two[0], two[1]) == (one[0], one[1]), f"cut at segment {cut}"


@pytest.mark.parametrize("windows, processes", [(2, 2), (4, 2), (20, 2), (3, 3), (10, 4)])
def test_many_windows(tmp_path, monkeypatch, windows, processes):
    """Windows taken in turn by 2 to 4 processes, some with no claim of their own (40 windows of
    about 3 claims, split claims across them)."""
    monkeypatch.setattr(split, "WINDOWS_EACH", windows)
    made = generate_set(120, tmp_path / "in", seed=14, reversal_fraction=0.3, denial_fraction=0.3,
                        claims_per_835=11)
    started = split.SplitConversion.started
    one = convert(tmp_path, made, 1, "one")
    more = convert(tmp_path, made, processes, "more")
    assert split.SplitConversion.started == started + 1
    assert one[0] == more[0] and one[0]
    assert one[1] == more[1]


def test_small_transaction_sets_and_other_delimiters(tmp_path):
    made = generate_set(150, tmp_path / "in", seed=7, reversal_fraction=0.1, patient_fraction=0.5)
    options = dataclasses.replace(OPTIONS, claims_per_transaction=7,
                                  delimiters=Delimiters(element="|", segment="!", component="^", repetition="{"))
    (files1, results1, _), (files2, results2, _) = one_and_two(tmp_path, made, options)
    assert files1 == files2
    assert results1 == results2
    assert len(results1[0][3]) > 5  # several transaction sets, some cut inside a subscriber's claims


def test_paper_claims_from_both_processes(tmp_path):
    from pypdf import PdfReader

    from cobpipe.payers import PayerList

    made = generate_set(200, tmp_path / "in", seed=8)
    payers_csv = tmp_path / "payers.csv"
    payers_csv.write_text("payer_id,name,accepts_electronic_secondary,eaf_level,notes,aliases\n"
                          "99902,ZZ SECONDARY MUTUAL,no,line,,\n")
    options = dataclasses.replace(OPTIONS, payers=PayerList.load(payers_csv))
    (files1, results1, paper1), (files2, results2, paper2) = one_and_two(tmp_path, made, options)
    assert files1 == files2
    assert results1 == results2
    assert results1[0][1]["paper"] > 10
    pages1 = [page.extract_text() for page in PdfReader(paper1[0]).pages]
    pages2 = [page.extract_text() for page in PdfReader(paper2[0]).pages]
    assert pages1 == pages2 and len(pages1) > 10


def test_a_failure_in_a_converting_process_is_raised_here(tmp_path):
    """The 835 changed after its scan: the converting process that reads it says so, and the run
    fails with that error, nothing written, as one process fails."""
    from cobpipe.pipeline import scan_era, stage_era
    from cobpipe.claim837.index import ClaimIndex
    from edi.writer import SequentialControlNumbers

    made = generate_set(120, tmp_path / "in", seed=9)
    errors = []
    for processes in (1, 2):
        scan = scan_era(made.era).repeated_only()
        index = ClaimIndex.build([made.claims], None)
        text = made.era.read_bytes()
        made.era.write_bytes(text.replace(b"~CLP*", b"~CLP*X", 1))  # one more byte, after the scan
        out = tmp_path / f"out{processes}"
        with pytest.raises(EdiError) as caught:
            stage_era(made.era, index, out, options=dataclasses.replace(OPTIONS, processes=processes),
                      numbers=SequentialControlNumbers(), scan=scan)
        made.era.write_bytes(text)
        errors.append((type(caught.value), str(caught.value)))
        assert not list(out.glob("*.837")) and not list(out.glob(".*"))
    assert errors[0] == errors[1]


def test_no_split_where_it_cannot_be_the_same(tmp_path):
    """A ledger of issued claims, the plain read or one process: converted here alone."""
    from cobpipe.claim837.index import ClaimIndex
    from cobpipe.pipeline import scan_era

    made = generate_set(50, tmp_path / "in", seed=10)
    scan = scan_era(made.era).repeated_only()
    index = ClaimIndex.build([made.claims], None)
    two = dataclasses.replace(OPTIONS, processes=2)
    assert split.split_for(scan, index, None, two, None, str(made.era)) is not None
    assert split.split_for(scan, index, object(), two, None, str(made.era)) is None  # issued claims (--db)
    assert split.split_for(scan, index, None, OPTIONS, None, str(made.era)) is None
    assert split.split_for(scan, index, None, dataclasses.replace(two, plain=True), None, str(made.era)) is None
    assert split.split_for(scan, object(), None, two, None, str(made.era)) is None  # a ledger's claims


def test_no_process_is_left_behind(tmp_path):
    import multiprocessing

    made = generate_set(100, tmp_path / "in", seed=12)
    started = split.SplitConversion.started
    convert(tmp_path, made, 2, "two")
    assert split.SplitConversion.started == started + 1
    assert not multiprocessing.active_children()


def test_no_temporary_folder_converts_here_alone(tmp_path, monkeypatch):
    """Without a temporary folder to share the work through, the ERA is converted in this process
    (the same bytes), not refused."""
    import tempfile

    from cobpipe.claim837.index import ClaimIndex
    from cobpipe.pipeline import stage_era
    from edi.writer import SequentialControlNumbers

    made = generate_set(150, tmp_path / "in", seed=15)
    outputs = []
    for processes in (1, 2):
        if processes == 2:
            monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))
        index = ClaimIndex.build([made.claims], None)
        out = tmp_path / f"out{processes}"
        started = split.SplitConversion.started
        stage_era(made.era, index, out, options=dataclasses.replace(OPTIONS, processes=processes),
                  numbers=SequentialControlNumbers()).finish()
        assert split.SplitConversion.started == started + (processes - 1)
        outputs.append([p.read_bytes() for p in sorted(out.iterdir())])
    assert outputs[0] == outputs[1] and len(outputs[0]) == 2


def test_a_full_temporary_folder_is_one_clear_error(tmp_path, monkeypatch):
    """A converting process that cannot write its windows (here: a file size limit, as a full disk
    would) makes the run fail with that OSError, which the CLI words in one line; nothing is
    written and no temporary file is left."""
    import errno
    import resource
    import signal
    import tempfile

    made = generate_set(150, tmp_path / "in", seed=16)
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    convert_window = split.SplitConversion._convert

    def limited(self, share, paths, notices):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        convert_window(self, share, paths, notices)

    monkeypatch.setattr(split.SplitConversion, "_convert", limited)
    with pytest.raises(OSError) as caught:
        convert(tmp_path, made, 2, "two")
    assert caught.value.errno == errno.EFBIG
    assert "temporary folder" in str(caught.value) or caught.value.filename is None
    assert not list((tmp_path / "two").glob("*.837")) and not list((tmp_path / "two").glob(".*"))
    assert not list(folder.iterdir())
