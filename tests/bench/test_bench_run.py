"""The benchmark harness runs end to end at a tiny size and reports what it could not run (no timing asserts)."""
from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "bench" / "run.py"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return load("run")


def table_rows(text: str, section: str = "") -> list[list[str]]:
    """The rows of the first table after `section` (a heading's text; the steps table by default)."""
    lines = text.splitlines()
    if section:
        lines = lines[next(n for n, line in enumerate(lines) if line.startswith("#") and section in line):]
    start = next(n for n, line in enumerate(lines) if line.startswith("| "))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    rows = [line.split("|")[1:-1] for line in table if "---" not in line]
    return [[cell.strip() for cell in row] for row in rows[1:]]  # without the header


def test_runs_end_to_end_and_prints_the_table(tmp_path):
    out = tmp_path / "latest.md"
    cmd = [sys.executable, str(RUN), "--sizes", "20", "--runs", "1", "--batch-files", "2",
           "--data-dir", str(tmp_path / "data"), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "| claims | step | median s |" in done.stdout
    assert "Command: `python bench/run.py --sizes 20 --runs 1" in done.stdout
    assert re.search(r"Machine: .*, \d+ CPUs .*Python 3\.\d+", done.stdout)
    assert out.read_text() == done.stdout.rstrip("\n") + "\n"
    rows = table_rows(done.stdout)
    labels = [row[1] for row in rows]
    assert labels[0].startswith("floor")
    floor = rows[0]
    assert floor[0] == "20" and float(floor[2]) > 0 and floor[6] == "1.0" and float(floor[7]) > 0
    for step in ("pyx12", "convert", "validate", "batch"):
        assert any(step in label for label in labels), step
    # every row either has a time or says why not
    assert all(row[2] != "–" or row[8] for row in rows)
    # a second run uses the cached pair
    again = subprocess.run(cmd[:2] + ["--sizes", "20", "--runs", "1", "--steps", "floor",
                                      "--data-dir", str(tmp_path / "data"), "--out", str(out)],
                           capture_output=True, text=True, timeout=600, cwd=REPO)
    assert again.returncode == 0, again.stderr
    assert "20 claims: claims.837" in again.stdout and "; cached" in again.stdout
    assert [row[1] for row in table_rows(again.stdout)] == [labels[0]]
    # issue 17's targets: each listed, measured ones with the command that produced them
    targets = {row[0]: row for row in table_rows(done.stdout, "Issue 17's targets")}
    assert set(targets) == {name for name, _ in bench_targets()}
    assert targets["convert, wall"][3] in ("yes", "**no**") and "cobpipe convert --era era.835" in targets["convert, wall"][4]
    assert targets["start-up of `cobpipe convert` (--help)"][2].endswith(" s")
    floor_only = {row[0]: row[3] for row in table_rows(again.stdout, "Issue 17's targets")}
    assert floor_only.pop("start-up of `cobpipe convert` (--help)") in ("yes", "**no**")  # measured every run
    assert set(floor_only.values()) == {"–"}  # only the floor ran: nothing else to judge


def bench_targets():
    return load("run").TARGETS


def _result(bench, size, key, label, walls, cpu=1.0, rss=50.0, command=("cobpipe", "x")):
    step = bench.Step(key, label, size, list(command))
    runs = [bench.Run(w, cpu, rss, 0, "", "") for w in walls]
    return bench.Result(size, step, runs)


def test_targets_read_the_largest_size_and_judge_each_limit(bench):
    results = [
        _result(bench, 10, "floor", "floor: str.split of 835 + 837", [1.0]),
        _result(bench, 10, "convert", "cobpipe convert, end to end", [100.0]),  # a smaller size: ignored
        _result(bench, 100, "floor", "floor: str.split of 835 + 837", [2.0], cpu=2.0),
        _result(bench, 100, "convert", "cobpipe convert, end to end", [11.0, 12.0, 13.0], cpu=21.0, rss=151),
        _result(bench, 100, "floor837", "floor: str.split of 837", [1.0]),
        _result(bench, 100, "validate", "cobpipe validate --engine fast, 837", [5.0]),
        _result(bench, 100, "floor835", "floor: str.split of 835", [1.0]),
        _result(bench, 100, "explain", "cobpipe explain --format json, 835", [6.5]),
        _result(bench, 100, "explain", "x12-edi-tools (PyPI), 835", [7.0]),
        _result(bench, 100, "batch", "batch: 8 ERAs, convert, 1 worker", [10.0],
                command=("cobpipe", "convert", "--era", "a", "--claims", "b", "--workers", "1", "--out", "o")),
        _result(bench, 100, "batch", "batch: 8 ERAs, convert, 2 workers", [5.6],
                command=("cobpipe", "convert", "--era", "a", "--claims", "b", "--workers", "2", "--out", "o")),
    ]
    rows = {row[0]: row for row in table_rows("\n".join(bench.target_lines(results, {bench.STARTUP_CONVERT: 0.2})),
                                              "Issue 17's targets")}
    assert rows["convert, wall"][2:4] == ["6.0× at 100", "yes"]  # median 12 / floor 2
    assert rows["convert, CPU"][2:4] == ["10.5× at 100", "**no**"]
    assert rows["convert, peak RSS"][2:4] == ["151 MB at 100", "**no**"]
    assert rows["validate --engine fast"][2:4] == ["5.0× at 100", "yes"]
    assert rows["explain --format json"][2:4] == ["6.5× at 100", "**no**"]
    assert rows["explain --format json vs the PyPI 835 parsers"][3] == "yes"  # 7.0 > 6.5
    assert rows["start-up of `cobpipe convert` (--help)"][2:4] == ["0.200 s", "**no**"]
    assert rows["batch, 2 workers vs 1"][2:4] == ["1.79× at 100", "**no**"]


def test_pyx12_max_skips_with_a_note(bench, tmp_path):
    args = bench.parse_args(["--sizes", "30", "--pyx12-max", "10", "--steps", "pyx12", "validate",
                             "--data-dir", str(tmp_path)])
    tools = bench.Tools(["cobpipe"], {"validate"}, set(), {"--engine"}, {"fast", "pyx12"})
    files = {"era": tmp_path / "e", "claims": tmp_path / "c", "coverage": tmp_path / "v"}
    steps = {s.label: s for s in bench.plan(30, files, tools, args, tmp_path)}
    assert steps["pyx12 x12n_document, 837"].command is None
    assert "--pyx12-max 10" in steps["pyx12 x12n_document, 837"].note
    assert steps["cobpipe validate --engine pyx12, 837"].command is None
    assert steps["cobpipe validate --engine fast, 837"].command[-1] == str(tmp_path / "c")


def test_missing_commands_are_skipped_not_failed(bench, tmp_path):
    args = bench.parse_args(["--sizes", "8", "--batch-files", "2", "--data-dir", str(tmp_path)])
    tools = bench.Tools(["cobpipe"], set(), set(), set(), set())
    files = {"era": tmp_path / "e", "claims": tmp_path / "c", "coverage": tmp_path / "v"}
    steps = bench.plan(8, files, tools, args, tmp_path)
    by_key = {}
    for step in steps:
        by_key.setdefault(step.key, []).append(step)
    assert by_key["floor"][0].command is not None
    for key in ("convert", "validate", "batch"):
        assert all(s.command is None and "not available yet" in s.note for s in by_key[key]), key
    result = bench.Result(8, by_key["convert"][0])
    bench.measure(result, args)
    assert result.runs == [] and not result.failed and "not available" in result.note


def test_workers_option_gives_two_batch_rows(bench, tmp_path):
    args = bench.parse_args(["--sizes", "8", "--batch-files", "2", "--data-dir", str(tmp_path)])
    tools = bench.Tools(["cobpipe"], {"convert"}, {"--coverage", "--workers"}, set(), set())
    steps = bench.batch_steps(8, tools, args, tmp_path)
    assert [s.command[s.command.index("--workers") + 1] for s in steps] == ["1", "2"]
    assert sum(1 for a in steps[0].command if a == "--era") == 2


def test_discover_reads_commands_and_options(bench):
    tools = bench.discover(bench.cobpipe_command())
    assert "synth" in tools.commands and "bench" in tools.commands
    if "convert" in tools.commands:
        assert "--era" in tools.convert_options


def test_run_process_reports_peak_rss_exit_code_and_timeout(bench):
    grow = bench.run_process([sys.executable, "-c", "x = bytearray(80 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])"])
    assert grow.code == 0 and grow.rss_mb >= 80
    small = bench.run_process([sys.executable, "-c", "pass"])
    assert small.rss_mb < 60 < 80 <= grow.rss_mb
    failed = bench.run_process([sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"])
    assert failed.code == 3 and "boom" in failed.stderr
    slow = bench.run_process([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert slow.timed_out and slow.wall < 20


PARENT_MB = 300
# the same measurements, made by a process that has first grown to PARENT_MB: a child forked from
# it would be charged for that memory (issue 16: the test failed in a full suite run, passed alone)
BIG_PARENT = f"""
import importlib.util, json, sys
ballast = bytearray({PARENT_MB} * 1024 * 1024)
ballast[::4096] = b"1" * len(ballast[::4096])
spec = importlib.util.spec_from_file_location("bench_run", sys.argv[1])
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench
spec.loader.exec_module(bench)
with open("/proc/self/status") as status:
    own = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
small = bench.run_process([sys.executable, "-c", "pass"])
grow = bench.run_process([sys.executable, "-c", "x = bytearray(80 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])"])
print(json.dumps({{"own": own, "small": small.rss_mb, "grow": grow.rss_mb}}))
"""


def test_peak_rss_does_not_include_the_measuring_process():
    done = subprocess.run([sys.executable, "-c", BIG_PARENT, str(RUN)], capture_output=True, text=True,
                          timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    figures = __import__("json").loads(done.stdout)
    assert figures["own"] >= PARENT_MB  # the ballast is resident in the measuring process
    assert figures["small"] < 60, figures  # `python -c pass` alone, not the 300 MB it was started from
    assert 80 <= figures["grow"] < PARENT_MB, figures


def test_failed_step_is_reported_with_its_message(bench, tmp_path):
    args = argparse.Namespace(runs=3, timeout=0, budget=0)
    step = bench.Step("convert", "x", 1, [sys.executable, "-c", "import sys; sys.exit('cobpipe: bad input')"])
    result = bench.Result(1, step)
    bench.measure(result, args)
    assert result.failed and result.median is None and "exit 1: cobpipe: bad input" in result.note


def test_floor_step_counts_segments(tmp_path):
    steps = load("steps")
    from cobpipe.synth import generate_set

    result = generate_set(3, tmp_path, seed=1)
    counted = steps.floor([str(result.claims)])
    text = result.claims.read_text()
    assert counted["segments"] == text.count("~") + 1  # the piece after the last terminator counts too
    assert counted["elements"] > counted["segments"]


def test_cobpipe_bench_passes_arguments_through(tmp_path):
    from click.testing import CliRunner

    from cobpipe.cli import main

    out = tmp_path / "latest.md"
    result = CliRunner().invoke(main, ["bench", "--sizes", "5", "--runs", "1", "--steps", "floor",
                                       "--data-dir", str(tmp_path / "data"), "--out", str(out)])
    assert result.exit_code == 0
    assert out.read_text().startswith("# cobpipe benchmark")
