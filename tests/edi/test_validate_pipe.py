"""The validator process (edi.validate_pipe): fed through a pipe while a file is written, or given the
written file; any failure of it means "not validated" (None), never an error of the caller."""
from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

from edi import ig
from edi.findings import Severity
from edi.validate_pipe import PipedValidator, Tee, validate_in_child, validator_answer, validator_command

REPO = Path(__file__).resolve().parents[2]
CLEAN = REPO / "samples" / "cob" / "claims.837"
BAD = REPO / "samples" / "bad" / "837p-missing-hi-bad-pos.837"


def errors_in_process(path: Path):
    return [f for f in ig.validate_file(path, name=path.name, capped=False) if f.severity is Severity.ERROR]


def test_answers_are_read_strictly():
    good = json.dumps({"validated": True, "findings": []}).encode()
    assert validator_answer(0, good) == []
    assert validator_answer(1, good) is None  # a process that failed answers nothing
    assert validator_answer(None, good) is None
    assert validator_answer(0, b"not json") is None
    assert validator_answer(0, b"") is None
    assert validator_answer(0, json.dumps({"validated": False}).encode()) is None
    assert validator_answer(0, b"[1, 2]") is None
    assert validator_command("x.837")[1:] == ["-m", "edi.validate_pipe", "x.837"]


def test_the_written_file_checked_in_a_child_finds_what_this_process_finds():
    assert validate_in_child(CLEAN) == []
    found = validate_in_child(BAD)
    assert found and found == errors_in_process(BAD)


def test_a_file_piped_while_written_through_the_tee():
    text = BAD.read_text()
    validator = PipedValidator(BAD.name)
    try:
        out = io.StringIO()
        tee = Tee(out, validator)
        for start in range(0, len(text), 97):  # small writes, gathered into blocks for the pipe
            tee.write(text[start:start + 97])
        tee.flush_block()
        found = validator.finish()
    finally:
        validator.kill()
    assert out.getvalue() == text
    assert found == errors_in_process(BAD)


def test_a_validator_that_cannot_start_means_not_validated(monkeypatch):
    monkeypatch.setattr(sys, "executable", shutil.which("false"))
    assert validate_in_child(CLEAN) is None
    validator = PipedValidator("x.837")
    try:
        validator.write(CLEAN.read_text())  # a dead reader: the writer carries on
        assert validator.finish() is None
    finally:
        validator.kill()


def test_the_collector_is_paused_only_while_a_file_is_checked(tmp_path, monkeypatch):
    import gc

    from edi import validate_pipe

    states = []
    validate = ig.validate_file

    def watching(*args, **kwargs):
        states.append(gc.isenabled())
        return validate(*args, **kwargs)

    monkeypatch.setattr(ig, "validate_file", watching)
    path = tmp_path / "warm.837"
    path.write_text(validate_pipe.warm_text())
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{path}\n{path}\n"))
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert gc.isenabled()
    validate_pipe.serve_files()
    assert states == [False, False] and gc.isenabled()  # as it was after each file
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [{"validated": True, "findings": []}] * 2
    gc.disable()
    try:
        with validate_pipe.collector_paused():
            pass
        assert not gc.isenabled()  # a collector that was off stays off
    finally:
        gc.enable()


_OWN_PROCESS = """
import gc, io, json, sys, weakref
from edi import ig, validate_pipe

real, seen, made = ig.validate_file, [], []


class Cycle:
    pass


def checking(path, **options):  # each file leaves a cycle; is the last file's still there?
    seen.append([ref() is not None for ref in made])
    cycle = Cycle()
    cycle.me = cycle
    made.append(weakref.ref(cycle))
    return real(path, **options)


ig.validate_file = checking
sys.stdin = io.StringIO("".join(path + "\\n" for path in sys.argv[1:]))
out, sys.stdout = sys.stdout, io.StringIO()
validate_pipe.main(["--files"], own_process=True)
answers, sys.stdout = sys.stdout.getvalue().splitlines(), out
print(json.dumps({"answers": [json.loads(a) for a in answers], "seen": seen, "enabled": gc.isenabled(),
                  "frozen": gc.get_freeze_count() > 0}))
"""


def test_a_validator_process_of_its_own_collects_a_files_cycles_before_the_next(tmp_path):
    """`python -m edi.validate_pipe` leaves the collector off (edi.validate_pipe.own_collector): no
    collection walks what a check made, and a file's cycles are collected when the next path comes (its
    survivors, the tables, frozen); the answers are the ones a caller's process gives."""
    import os
    import subprocess

    env = {**os.environ, "COBPIPE_IG_CACHE": "0", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", _OWN_PROCESS, str(CLEAN), str(BAD), str(CLEAN)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=True)
    result = json.loads(done.stdout)
    expected = [{"validated": True, "findings": [f.to_dict() for f in errors_in_process(path)]}
                for path in (CLEAN, BAD, CLEAN)]
    assert result["answers"] == expected and expected[1]["findings"]
    assert result["seen"] == [[], [False], [False, False]]  # each file's cycle gone before the next
    assert not result["enabled"] and result["frozen"]


def test_the_validator_process_imports_neither_the_reference_engine_nor_the_callers_tools(tmp_path):
    """The validator process checks with the fast engine only: edi.ig_pyx12 (and logging with it) and the
    caller's subprocess are imported when first needed, not by it (~33M instructions a process)."""
    import os
    import subprocess

    code = ("import io, sys; sys.stdin = io.StringIO(sys.argv[1] + '\\n'); from edi.validate_pipe import serve_files; "
            "serve_files(); print(sorted(m for m in ('logging', 'subprocess', 'edi.ig_pyx12') if m in sys.modules))")
    env = {**os.environ, "COBPIPE_IG_CACHE": "0", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code, str(CLEAN)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300, check=True)
    answer, imported = done.stdout.splitlines()[-2:]
    assert json.loads(answer)["validated"] is True
    assert imported == "[]"
    assert ig.run_pyx12.__module__ == "edi.ig_pyx12"  # still importable from edi.ig, as before
