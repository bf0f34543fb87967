"""`cobpipe validate` runs the envelope check in a forked child beside the guide check (concurrent=True,
what the command line does on a machine with more than one CPU): the report must be the one the two
checks give one after the other, for clean files, files with findings and files that are not usable,
and a child that fails in any way must change nothing (the parent checks the envelope itself)."""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from cobpipe.commands import validate as validate_cmd
from cobpipe.commands.validate import validate_path

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.name != "README.md") if CORPUS.is_dir() else []
SAMPLE_FILES = sorted(p for p in (REPO / "samples").rglob("*") if p.suffix in (".835", ".837"))
GOLDEN_FILES = sorted(p for p in (REPO / "tests").glob("golden*/**/*") if p.suffix in (".835", ".837"))


def report(path: Path, concurrent: bool):
    found = validate_path(path, concurrent=concurrent)
    return found.path, found.error, [(f.code, f.message, f.location, f.severity) for f in found.findings]


def same(path: Path):
    plain = report(path, False)
    assert report(path, True) == plain
    return plain


@pytest.mark.parametrize("path", CORPUS_FILES + SAMPLE_FILES + GOLDEN_FILES,
                         ids=lambda p: str(p.relative_to(p.parents[1])))
def test_real_files(path):
    same(path)


def test_unusable_inputs(tmp_path):
    (tmp_path / "empty.837").write_text("")
    (tmp_path / "binary.837").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "fragment.837").write_text("ST*837*0001*005010X222A1~SE*2*0001~")
    (tmp_path / "not-x12.837").write_text("hello, world\n")
    (tmp_path / "truncated.837").write_text("ISA*00*          *00*  ")
    for name in ("empty.837", "binary.837", "fragment.837", "not-x12.837", "truncated.837", "missing.837"):
        same(tmp_path / name)
    assert same(tmp_path)[1]  # a folder


def test_synthetic_files_and_mutants(tmp_path):
    from cobpipe.synth import generate

    era, claims = generate(120, tmp_path, seed=9, unbalanced_fraction=0.2)
    same(Path(era))
    same(Path(claims))
    text = Path(claims).read_text()
    rnd = random.Random(5)
    segs = text.split("~")
    for n in range(8):
        changed = list(segs)
        for _ in range(3):
            i = rnd.randrange(1, len(changed) - 1)
            changed[i] = rnd.choice(["\nSE*9*0001", "\nXX*1", "", "\nIEA*1*000000001", changed[i] + "*"])
        path = tmp_path / f"m{n}.837"
        path.write_text("~".join(changed))
        assert same(path)[2] or same(path)[1]  # findings or not usable: both paths agree on it


def test_a_failing_child_changes_nothing(tmp_path, monkeypatch):
    """The child exits without an answer: the parent checks the envelope itself, same report."""
    def dead_child(path, label):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os._exit(3)
        os.close(write_end)
        return pid, read_end

    bad = REPO / "samples" / "bad" / "837p-missing-hi-bad-pos.837"
    expected = report(bad, False)
    monkeypatch.setattr(validate_cmd, "_start_envelope", dead_child)
    assert report(bad, True) == expected
    assert expected[2]
