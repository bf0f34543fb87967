"""The guide check's process a converting process keeps for its ERAs (edi.validate_pipe's
validate_in_child: `python -m edi.validate_pipe --files`, started once, given file after file):
the findings of a fresh process each time, one process per converting process (never shared with
a forked one), a failed one replaced, and ended with the batch."""
from __future__ import annotations

import multiprocessing
import shutil
import sys
from pathlib import Path

from edi import ig, validate_pipe
from edi.findings import Severity
from edi.validate_pipe import close_kept, validate_in_child, validate_once

from cobpipe.batch import run_batch
from cobpipe.pipeline import ConvertOptions

REPO = Path(__file__).resolve().parents[2]
CLEAN = REPO / "samples" / "cob" / "claims.837"
BAD = REPO / "samples" / "bad" / "837p-missing-hi-bad-pos.837"
ERA = REPO / "samples" / "cob" / "era.835"


def errors_in_process(path: Path):
    return [f for f in ig.validate_file(path, name=path.name, capped=False) if f.severity is Severity.ERROR]


def kept_pid():
    proc = validate_pipe._kept.proc
    return proc.pid if proc is not None and proc.poll() is None else None


def test_one_kept_process_checks_file_after_file():
    close_kept()
    expected = errors_in_process(BAD)
    assert expected  # the sample must hold errors, or the comparison proves little
    assert validate_in_child(BAD) == expected
    first = kept_pid()
    assert first is not None
    assert validate_in_child(CLEAN) == []
    assert validate_in_child(BAD) == expected == validate_once(BAD)
    assert kept_pid() == first
    close_kept()
    assert kept_pid() is None and validate_pipe._kept.proc is None


def test_a_dead_or_failing_kept_process_is_replaced(monkeypatch):
    close_kept()
    assert validate_in_child(CLEAN) == []
    validate_pipe._kept.proc.kill()
    validate_pipe._kept.proc.wait()
    assert validate_in_child(BAD) == errors_in_process(BAD)  # a fresh one
    monkeypatch.setattr(sys, "executable", shutil.which("false"))
    assert validate_in_child(CLEAN) is None  # cannot answer: not validated (the caller checks itself)
    monkeypatch.undo()
    assert validate_in_child(CLEAN) == []
    close_kept()


def test_a_path_that_is_not_one_line_goes_to_a_process_of_its_own(tmp_path):
    odd = tmp_path / "two\nlines.837"
    shutil.copyfile(BAD, odd)
    close_kept()
    assert validate_in_child(odd) == errors_in_process(odd)
    assert validate_pipe._kept.proc is None


def _child_check(queue) -> None:
    queue.put((validate_in_child(BAD) == errors_in_process(BAD), kept_pid()))
    close_kept()


def test_a_forked_process_keeps_its_own():
    close_kept()
    assert validate_in_child(CLEAN) == []
    mine = kept_pid()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_check, args=(queue,))
    child.start()
    same, theirs = queue.get(timeout=300)
    child.join(timeout=300)
    assert same and theirs is not None and theirs != mine
    assert kept_pid() == mine and validate_in_child(BAD) == errors_in_process(BAD)  # still ours, still answering
    close_kept()


def test_a_batch_checked_by_a_kept_process_writes_what_an_in_process_check_writes(tmp_path, monkeypatch):
    checked = []
    check = validate_pipe._kept.check

    def counting(path):
        checked.append(path)
        return check(path)

    monkeypatch.setattr(validate_pipe._kept, "check", counting)
    outs = {}
    for name, from_ in (("kept", 1), ("here", 10**9)):
        # pipe_validation_from 1: every ERA checked by the kept process, after it is written (one
        # worker: no spare process to check alongside)
        options = ConvertOptions(pipe_validation_from=from_, now=__import__("datetime").datetime(2026, 1, 2, 3, 4))
        out = tmp_path / name
        run_batch([ERA], [CLEAN], out, options=options, workers=1, numbers_path=tmp_path / f"{name}.sqlite")
        outs[name] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        assert validate_pipe._kept.proc is None  # ended with the batch
    assert len(checked) == 1  # the kept process checked the first run's 837P, the second checked it here
    assert outs["kept"] == outs["here"] and any(name.endswith(".837") for name in outs["kept"])
