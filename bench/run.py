"""cobpipe benchmark: synthetic 835/837P pairs of several sizes, each step timed in a fresh process.

    .venv/bin/python bench/run.py --sizes 1000 10000 100000 --runs 5

For each size the pair is generated once (cached in bench/.data, gitignored), then every step runs
--runs times in a fresh subprocess: median wall time, claims/second, ratio to the floor (a bare
str.split tokenization of both files, measured in the same run) and the step's peak RSS (the
largest process of the step, from wait4's rusage
as reported by bench/launch.py, so the benchmark's own size never counts). Prints a markdown table and writes it to
bench/latest.md with the command line and the machine. Steps whose tool does not exist yet are
listed as skipped with the reason. See bench/README.md.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

STEPS_SCRIPT = Path(__file__).resolve().parent / "steps.py"
DEFAULT_DATA = Path(__file__).resolve().parent / ".data"
DEFAULT_OUT = Path(__file__).resolve().parent / "latest.md"
ALL_STEPS = ("floor", "pyx12", "convert", "validate", "explain", "batch")
STARTUP_CONVERT = "`cobpipe convert --help`"
STARTUP_RUNS = 7
# the lossy third-party 835 parsers `explain` is measured against (bench/steps.py step -> module)
THIRD_PARTY_835 = {"edi-835-parser": "edi_835_parser", "x12-edi-tools": "x12_edi_tools"}


# -- measuring one process -------------------------------------------------------------------------

@dataclass(slots=True)
class Run:
    wall: float  # seconds, fork to reap
    cpu: float  # user + system seconds of the process and its reaped children
    rss_mb: float  # peak resident set of the largest process in the tree
    code: int
    stdout: str
    stderr: str
    timed_out: bool = False


LAUNCHER = Path(__file__).resolve().parent / "launch.py"


def run_process(cmd: list[str], timeout: float | None = None) -> Run:
    """Run `cmd` to completion in its own session: wall clock, CPU and peak RSS of the command alone.

    The command is started by `bench/launch.py` in a fresh, bare interpreter, which reports what
    wait4 says about the command: a process forked straight from this one would be charged for this
    process's memory too (Linux counts the parent's address space in a forked child's ru_maxrss),
    so figures would grow with whatever ran here before (see launch.py)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        report = Path(tmp) / "usage.json"
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-S", "-I", str(LAUNCHER), str(report), *cmd],
                                stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        try:
            child = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # killed before it could report: no figures of the command's own
            child = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": 0}
        out.seek(0)
        err.seek(0)
        return Run(child["wall"], child["cpu"], child["maxrss_kb"] / 1024, proc.returncode,
                   out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"), killed.is_set())


# -- steps -----------------------------------------------------------------------------------------

@dataclass(slots=True)
class Step:
    key: str  # floor, floor837, pyx12, convert, validate, batch
    label: str
    claims: int
    command: list[str] | None  # None: skipped
    ok_codes: tuple[int, ...] = (0,)
    note: str = ""
    out_dir: Path | None = None  # emptied before each run
    check: object = None  # callable(Run) -> note


@dataclass(slots=True)
class Result:
    size: int
    step: Step
    runs: list[Run] = field(default_factory=list)
    note: str = ""
    failed: bool = False

    @property
    def median(self) -> float | None:
        return statistics.median(r.wall for r in self.runs) if self.runs and not self.failed else None


def cobpipe_command() -> list[str]:
    """The `cobpipe` console script of this interpreter's environment, else `python -m cobpipe.cli`."""
    script = Path(sys.executable).with_name("cobpipe")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cobpipe.cli"]


@dataclass(slots=True)
class Tools:
    """What the cobpipe in this checkout offers today (commands and options come and go)."""

    cobpipe: list[str]
    commands: set[str]
    convert_options: set[str]
    validate_options: set[str]
    validate_engines: set[str]

    @property
    def workers_option(self) -> str | None:
        return next((o for o in ("--workers", "--jobs") if o in self.convert_options), None)


def _options(help_text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", help_text))


def discover(cobpipe: list[str]) -> Tools:
    def help_of(*args: str) -> str:
        run = run_process([*cobpipe, *args, "--help"], timeout=120)
        return run.stdout if run.code == 0 else ""

    main_help = help_of()
    commands: set[str] = set()
    in_commands = False
    for line in main_help.splitlines():
        if line.strip().lower() == "commands:":
            in_commands = True
        elif in_commands and line.startswith("  ") and line.strip():
            commands.add(line.split()[0])
    convert_help = help_of("convert") if "convert" in commands else ""
    validate_help = help_of("validate") if "validate" in commands else ""
    engines = set()
    match = re.search(r"--engine\s+\[([^\]]+)\]", validate_help)
    if match:
        engines = set(match.group(1).split("|"))
    return Tools(cobpipe, commands, _options(convert_help), _options(validate_help), engines)


def python_floor_command(*files: Path) -> list[str]:
    return [sys.executable, str(STEPS_SCRIPT), "floor", *map(str, files)]


def floor_check(run: Run) -> str:
    data = json.loads(run.stdout.strip().splitlines()[-1])
    return "" if data["segments"] > 0 else "no segments read"


def pyx12_check(run: Run) -> str:
    data = json.loads(run.stdout.strip().splitlines()[-1])
    return "" if data["valid"] else f"pyx12: not valid ({data['errors']} errors)"


def exit_note(run: Run) -> str:
    return "findings (exit 1)" if run.code == 1 else ""


# -- data ------------------------------------------------------------------------------------------

def dataset(data_dir: Path, size: int, seed: int) -> tuple[dict, float | None]:
    """The cached pair for `size` (generated when missing or stale); its files and generation time."""
    from cobpipe.synth import GENERATOR_VERSION, generate_set

    folder = data_dir / f"n{size}-s{seed}-v{GENERATOR_VERSION}"
    files = {"era": folder / "era.835", "claims": folder / "claims.837", "coverage": folder / "coverage.csv"}
    manifest = folder / "synth.json"
    if manifest.is_file() and all(p.is_file() for p in files.values()):
        data = json.loads(manifest.read_text())
        if data.get("n_claims") == size and data.get("generator_version") == GENERATOR_VERSION:
            return files, None
    if folder.exists():
        shutil.rmtree(folder)
    start = time.perf_counter()
    generate_set(size, folder, seed=seed)
    return files, time.perf_counter() - start


def batch_dataset(data_dir: Path, size: int, seed: int, n_files: int) -> tuple[dict, int]:
    """`n_files` pairs of size // n_files claims (distinct CLM01s), the ERAs and 837s in two folders."""
    from cobpipe.synth import GENERATOR_VERSION, generate_set

    per_file = max(1, size // n_files)
    folder = data_dir / f"batch-n{size}-k{n_files}-s{seed}-v{GENERATOR_VERSION}"
    files = {"era": folder / "era", "claims": folder / "claims", "coverage": folder / "coverage.csv"}
    done = folder / "done.json"
    if not done.is_file():
        if folder.exists():
            shutil.rmtree(folder)
        parts = folder / "parts"
        rows: list[list[str]] = []
        for k in range(n_files):
            prefix = f"part{k + 1:03d}-"
            result = generate_set(per_file, parts, seed=seed + k, prefix=prefix, claim_offset=k * per_file)
            files["era"].mkdir(parents=True, exist_ok=True)
            files["claims"].mkdir(parents=True, exist_ok=True)
            result.era.rename(files["era"] / f"{prefix}era.835")
            result.claims.rename(files["claims"] / f"{prefix}claims.837")
            with open(result.coverage, newline="") as stream:
                reader = csv.reader(stream)
                header = next(reader)
                rows += list(reader)
        with open(files["coverage"], "w", newline="") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        shutil.rmtree(parts)
        done.write_text(json.dumps({"files": n_files, "claims_per_file": per_file}) + "\n")
    return files, per_file * n_files


# -- the plan --------------------------------------------------------------------------------------

def plan(size: int, files: dict, tools: Tools, args, scratch: Path) -> list[Step]:
    """The steps at one size, in table order; a step that cannot run carries its reason."""
    wanted = set(args.steps)
    steps: list[Step] = []
    era, claims, coverage = files["era"], files["claims"], files["coverage"]
    steps.append(Step("floor", "floor: str.split of 835 + 837", size, python_floor_command(era, claims),
                      check=floor_check))
    over = size > args.pyx12_max
    if "pyx12" in wanted:
        steps.append(Step("pyx12", "pyx12 x12n_document, 837", size,
                          None if over else [sys.executable, str(STEPS_SCRIPT), "pyx12", str(claims)],
                          note=f"skipped above --pyx12-max {args.pyx12_max}" if over else "", check=pyx12_check))
    if "convert" in wanted:
        out = scratch / f"convert-{size}"
        if "convert" in tools.commands:
            cmd = [*tools.cobpipe, "convert", "--era", str(era), "--claims", str(claims), "--out", str(out)]
            if "--coverage" in tools.convert_options:
                cmd[-2:-2] = ["--coverage", str(coverage)]
            steps.append(Step("convert", "cobpipe convert, end to end", size, cmd, (0, 1), out_dir=out,
                              check=exit_note))
        else:
            steps.append(Step("convert", "cobpipe convert, end to end", size, None,
                              note="`cobpipe convert` not available yet"))
    if "validate" in wanted:
        # the guide check reads the 837 only: its ratio is taken against that file's own floor
        steps.append(Step("floor837", "floor: str.split of 837", size, python_floor_command(claims),
                          check=floor_check))
        if "validate" not in tools.commands:
            steps.append(Step("validate", "cobpipe validate, 837", size, None,
                              note="`cobpipe validate` not available yet"))
        elif not tools.validate_engines:
            steps.append(Step("validate", "cobpipe validate, 837", size,
                              [*tools.cobpipe, "validate", str(claims)], (0, 1), check=exit_note))
        else:
            for engine in sorted(tools.validate_engines, key=lambda e: (e == "pyx12", e)):
                skip = engine == "pyx12" and over
                steps.append(Step("validate", f"cobpipe validate --engine {engine}, 837", size,
                                  None if skip else [*tools.cobpipe, "validate", "--engine", engine, str(claims)],
                                  (0, 1), note=f"skipped above --pyx12-max {args.pyx12_max}" if skip else "",
                                  check=exit_note))
    if "explain" in wanted:
        steps += explain_steps(size, era, tools, scratch)
    if "batch" in wanted:
        steps += batch_steps(size, tools, args, scratch)
    return steps


def explain_steps(size: int, era: Path, tools: Tools, scratch: Path) -> list[Step]:
    """`cobpipe explain --format json` against the 835's own floor and the lossy third-party 835
    parsers (issue 17's target: ahead of them), each run only where it is installed."""
    import importlib.util

    steps = [Step("floor835", "floor: str.split of 835", size, python_floor_command(era), check=floor_check)]
    out = scratch / f"explain-{size}"
    steps.append(Step("explain", "cobpipe explain --format json, 835", size,
                      [*tools.cobpipe, "explain", str(era), "--format", "json", "-o", str(out / "era.json")]
                      if "explain" in tools.commands else None, (0, 1), out_dir=out,
                      note="" if "explain" in tools.commands else "`cobpipe explain` not available"))
    for name, module in THIRD_PARTY_835.items():
        installed = importlib.util.find_spec(module) is not None
        steps.append(Step("explain", f"{name} (PyPI), 835", size,
                          [sys.executable, str(STEPS_SCRIPT), name, str(era)] if installed else None,
                          note="" if installed else f"not installed (pip install {name})", check=claims_check))
    return steps


def claims_check(run: Run) -> str:
    data = json.loads(run.stdout.strip().splitlines()[-1])
    return "" if data["claims"] > 0 else "no claims read"


def batch_steps(size: int, tools: Tools, args, scratch: Path) -> list[Step]:
    label = f"batch: {args.batch_files} ERAs, convert"
    if "convert" not in tools.commands:
        return [Step("batch", label, size, None, note="`cobpipe convert` not available yet")]
    if args.batch_files < 2 or size < args.batch_files:
        return [Step("batch", label, size, None, note=f"needs at least {args.batch_files} claims and files")]
    files, total = batch_dataset(args.data_dir, size, args.seed, args.batch_files)
    eras = sorted(files["era"].iterdir())
    claim_files = sorted(files["claims"].iterdir())
    base = [*tools.cobpipe, "convert"]
    for path in eras:
        base += ["--era", str(path)]
    for path in claim_files:
        base += ["--claims", str(path)]
    if "--coverage" in tools.convert_options:
        base += ["--coverage", str(files["coverage"])]
    option = tools.workers_option
    steps = []
    for workers in (1, 2):
        out = scratch / f"batch-{size}-{workers}"
        if option:
            steps.append(Step("batch", f"{label}, {workers} worker{'s' if workers > 1 else ''}", total,
                              [*base, option, str(workers), "--out", str(out)], (0, 1), out_dir=out,
                              check=exit_note))
        elif workers == 1:
            steps.append(Step("batch", f"{label}, 1 process", total, [*base, "--out", str(out)], (0, 1),
                              out_dir=out, check=exit_note))
        else:
            steps.append(Step("batch", f"{label}, 2 workers", total, None,
                              note="`cobpipe convert` has no --workers option yet"))
    return steps


def measure(result: Result, args) -> None:
    """Run the step --runs times (fewer once --budget seconds are spent; always at least once)."""
    step = result.step
    if step.command is None:
        result.note = step.note
        return
    spent = 0.0
    notes: list[str] = [step.note] if step.note else []
    for _ in range(args.runs):
        if step.out_dir is not None:
            shutil.rmtree(step.out_dir, ignore_errors=True)
        run = run_process(step.command, args.timeout or None)
        if run.timed_out:
            result.failed = True
            notes.append(f"timed out after {args.timeout:g} s")
            break
        if run.code not in step.ok_codes:
            result.failed = True
            last = (run.stderr.strip().splitlines() or ["(no message)"])[-1]
            notes.append(f"failed: exit {run.code}: {last[:160]}")
            break
        result.runs.append(run)
        if step.check is not None:
            note = step.check(run)
            if note and note not in notes:
                notes.append(note)
        spent += run.wall
        if args.budget and spent >= args.budget:
            break
    if step.out_dir is not None:
        shutil.rmtree(step.out_dir, ignore_errors=True)
    if result.runs and len(result.runs) < args.runs and not result.failed:
        notes.append(f"{len(result.runs)} of {args.runs} runs (--budget {args.budget:g} s)")
    result.note = "; ".join(notes)


# -- issue 17's targets ----------------------------------------------------------------------------

# (what, limit, how the measured value compares): each read off the rows of the largest size measured
TARGETS = (
    ("convert, wall", "≤ 6× the floor of its two inputs"),
    ("convert, CPU", "≤ 10× the floor's CPU time"),
    ("convert, peak RSS", "≤ 150 MB"),
    ("validate --engine fast", "≤ 5× the floor of the 837"),
    ("explain --format json", "≤ 6× the floor of the 835"),
    ("explain --format json, peak RSS", "≤ 150 MB"),
    ("explain --format json vs the PyPI 835 parsers", "faster than each, same run"),
    ("start-up of `cobpipe convert` (--help)", "≤ 0.15 s"),
    ("batch, 2 workers vs 1", "≥ 1.8× faster"),
)


def _row(results: list["Result"], size: int, key: str, label_part: str = "") -> "Result | None":
    return next((r for r in results if r.size == size and r.step.key == key and label_part in r.step.label
                 and r.median is not None), None)


def _cpu(result: "Result") -> float:
    return statistics.median(x.cpu for x in result.runs)


def _rss(result: "Result") -> float:
    return max(x.rss_mb for x in result.runs)


def _shown(command: list[str] | None) -> str:
    """A step's command with its paths cut to their file names (the data files are named in the header)."""
    if not command:
        return "–"
    words = [Path(a).name if "/" in a else a for a in command]
    return "`" + " ".join(words) + "`"


def target_lines(results: list["Result"], startup: dict) -> list[str]:
    """Issue 17's targets against this run: the value, met or not, and the rows it was read from
    (the largest size at which the step ran). A target whose rows did not run says so."""
    sizes = sorted({r.size for r in results if r.median is not None})
    verdicts: dict[str, tuple[str, bool | None, str]] = {}

    def at_largest(key: str, label_part: str = "") -> "tuple[int, Result] | None":
        for size in reversed(sizes):
            row = _row(results, size, key, label_part)
            if row is not None:
                return size, row
        return None

    def floor_at(size: int, key: str) -> "Result | None":
        return _row(results, size, key)

    found = at_largest("convert")
    if found and floor_at(found[0], "floor"):
        size, row = found
        floor = floor_at(size, "floor")
        wall, cpu = row.median / floor.median, _cpu(row) / _cpu(floor)
        verdicts["convert, wall"] = (f"{wall:.1f}× at {size:,}", wall <= 6, _shown(row.step.command))
        verdicts["convert, CPU"] = (f"{cpu:.1f}× at {size:,}", cpu <= 10, _shown(row.step.command))
        verdicts["convert, peak RSS"] = (f"{_rss(row):.0f} MB at {size:,}", _rss(row) <= 150, _shown(row.step.command))
    found = at_largest("validate", "--engine fast") or at_largest("validate")
    if found and floor_at(found[0], "floor837"):
        size, row = found
        ratio = row.median / floor_at(size, "floor837").median
        verdicts["validate --engine fast"] = (f"{ratio:.1f}× at {size:,}", ratio <= 5, _shown(row.step.command))
    found = at_largest("explain", "cobpipe explain")
    if found and floor_at(found[0], "floor835"):
        size, row = found
        ratio = row.median / floor_at(size, "floor835").median
        verdicts["explain --format json"] = (f"{ratio:.1f}× at {size:,}", ratio <= 6, _shown(row.step.command))
        verdicts["explain --format json, peak RSS"] = (f"{_rss(row):.0f} MB at {size:,}", _rss(row) <= 150,
                                                       _shown(row.step.command))
        others = [r for r in results if r.size == size and r.step.key == "explain" and "PyPI" in r.step.label
                  and r.median is not None]
        if others:
            slowest_margin = min(o.median / row.median for o in others)
            verdicts["explain --format json vs the PyPI 835 parsers"] = (
                ", ".join(f"{o.step.label.split(' (')[0]} {o.median / row.median:.2f}× our time" for o in others)
                + f" at {size:,}", slowest_margin > 1, "; ".join(_shown(o.step.command) for o in others))
    convert_start = startup.get(STARTUP_CONVERT)
    if convert_start is not None:
        verdicts["start-up of `cobpipe convert` (--help)"] = (f"{convert_start:.3f} s", convert_start <= 0.15,
                                                              f"`cobpipe convert --help`, median of {STARTUP_RUNS} runs")
    one, two = at_largest("batch", "1 worker"), at_largest("batch", "2 workers")
    if one and two and one[0] == two[0]:
        speedup = one[1].median / two[1].median
        cmd = one[1].step.command
        shown = (f"`cobpipe convert` with {cmd.count('--era')} `--era` and {cmd.count('--claims')} `--claims`, "
                 f"`{cmd[-4]} 1` and `{cmd[-4]} 2`")
        verdicts["batch, 2 workers vs 1"] = (f"{speedup:.2f}× at {two[0]:,}", speedup >= 1.8, shown)
    lines = ["", "## Issue 17's targets", "",
             "Read off the rows above at the largest size each step ran; `command` is the row's command "
             "(paths cut to file names).", "",
             "| target | limit | measured | met | command |", "|---|---|---|---|---|"]
    for name, limit in TARGETS:
        value, met, source = verdicts.get(name, ("not measured in this run", None, "–"))
        mark = {True: "yes", False: "**no**", None: "–"}[met]
        lines.append(f"| {name} | {limit} | {value} | {mark} | {source} |")
    return lines


def compile_bytecode() -> str:
    """Byte-compile cobpipe's packages, as `pip install` leaves an installed package: with
    PYTHONDONTWRITEBYTECODE set (as on some machines) every fresh process would otherwise compile
    every module it imports, ~0.1 s counted into every step. Returns what was done, for the header."""
    import importlib.util

    dirs = []
    for name in ("cobpipe", "edi"):
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            dirs += list(spec.submodule_search_locations)
    if not dirs:
        return "byte code: packages not found"
    run = subprocess.run([sys.executable, "-m", "compileall", "-q", *dirs], capture_output=True)
    return "byte code compiled first (as pip install leaves a package)" if run.returncode == 0 else \
        "byte code: compileall failed; start-up includes compiling"


# -- report ----------------------------------------------------------------------------------------

def git_revision() -> str:
    """`git describe --always` of the checkout, plus `-dirty@<digest>` of uncommitted changes to the
    code (an edited README or report does not change what is measured)."""
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                                  timeout=30).stdout
        revision = git("describe", "--always").strip()
        code = git("diff", "HEAD", "--", "edi", "cobpipe", "mappings", "pyproject.toml")
        if code:
            revision += "-dirty@" + hashlib.sha1(code.encode()).hexdigest()[:7]
        return revision
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    revision = git_revision()
    try:
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "?"
    return {"nproc": usable, "cpu": cpu, "memory": memory, "python": platform.python_version(),
            "implementation": platform.python_implementation(), "system": f"{platform.system()} {platform.machine()}",
            "revision": revision or "?", "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M")}


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def fmt_rate(claims: int, seconds: float | None) -> str:
    if not seconds:
        return "–"
    rate = claims / seconds
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.1f}"


def render(results: list[Result], command: str, info: dict, startup: dict, sizes_info: dict, runs: int) -> str:
    lines = [
        "# cobpipe benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {info['system']}, {info['nproc']} CPUs ({info['cpu']}), {info['memory']}, "
        f"{info['implementation']} {info['python']}; cobpipe {info['revision']}; {info['date']}.",
        "",
        f"Each step runs in a fresh process, {runs} run{'s' if runs != 1 else ''} (median wall time; fastest "
        "in the min column; fewer runs when a note says so). "
        "`× floor` compares with the bare `str.split` tokenization of the same 835 + 837 pair in the "
        "same run (for `validate`, which reads the 837 only, with that of the 837: the row says so). "
        "CPU s is the median user + system time of the step's processes (steadier than wall time "
        "when other work shares the CPUs). Peak RSS is the largest process of the step (wait4 rusage, "
        "taken by a bare launcher so that the benchmark's own memory is never counted). "
        "Wall times include "
        "interpreter start-up: "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in startup.items()) + ".",
        "",
    ]
    for size, text in sizes_info.items():
        lines.append(f"- {size:,} claims: {text}" if isinstance(size, int) else f"- {text}")
    lines += ["", "| claims | step | median s | min s | CPU s | claims/s | × floor | peak RSS MB | note |",
              "|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    floors = {r.size: r.median for r in results if r.step.key == "floor"}
    file_floors = {r.size: r.median for r in results if r.step.key == "floor837"}
    era_floors = {r.size: r.median for r in results if r.step.key == "floor835"}
    for r in results:
        median = r.median
        floor = floors.get(r.size)
        note = r.note
        if r.step.key == "validate" and file_floors.get(r.size) and median is not None:  # it reads the 837 only
            floor = file_floors[r.size]
            note = "; ".join(filter(None, [note, "× floor of the 837"]))
        if r.step.key == "explain" and era_floors.get(r.size) and median is not None:  # the 835 only
            floor = era_floors[r.size]
            note = "; ".join(filter(None, [note, "× floor of the 835"]))
        ratio = f"{median / floor:.1f}" if median is not None and floor else "–"
        best = fmt_seconds(min(x.wall for x in r.runs)) if median is not None else "–"
        rss = f"{max(x.rss_mb for x in r.runs):.0f}" if median is not None else "–"
        cpu = fmt_seconds(statistics.median(x.cpu for x in r.runs)) if median is not None else "–"
        note = note.replace("|", "\\|")
        lines.append(f"| {r.step.claims:,} | {r.step.label} | {fmt_seconds(median)} | {best} | {cpu} | "
                     f"{fmt_rate(r.step.claims, median)} | {ratio} | {rss} | {note} |")
    return "\n".join(lines) + "\n"


def file_sizes(files: dict) -> str:
    def mb(path: Path) -> str:
        return f"{path.stat().st_size / 1e6:.1f} MB"
    return f"claims.837 {mb(files['claims'])}, era.835 {mb(files['era'])}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="claims per pair")
    parser.add_argument("--runs", type=int, default=5, help="runs of each step (median reported)")
    parser.add_argument("--pyx12-max", type=int, default=10000,
                        help="skip pyx12 (and validate --engine pyx12) above this many claims (default 10000)")
    parser.add_argument("--steps", nargs="+", choices=ALL_STEPS, default=list(ALL_STEPS),
                        help="which steps to run (the floor always runs)")
    parser.add_argument("--batch-files", type=int, default=8, help="ERA files in the batch step")
    parser.add_argument("--budget", type=float, default=600.0,
                        help="stop repeating a step once its runs took this many seconds (0: no limit)")
    parser.add_argument("--timeout", type=float, default=0.0, help="kill one run after this many seconds (0: none)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="cache of generated pairs")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report (default bench/latest.md)")
    args = parser.parse_args(argv)
    if args.runs < 1 or any(s < 1 for s in args.sizes):
        parser.error("--runs and --sizes must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python bench/run.py " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    args.data_dir.mkdir(parents=True, exist_ok=True)
    revision_at_start = git_revision() or "?"
    bytecode = compile_bytecode()
    tools = discover(cobpipe_command())
    startup = {
        "`python -c pass`": statistics.median(run_process([sys.executable, "-c", "pass"]).wall for _ in range(3)),
        "`cobpipe --help`": statistics.median(run_process([*tools.cobpipe, "--help"]).wall for _ in range(3)),
        STARTUP_CONVERT: statistics.median(run_process([*tools.cobpipe, "convert", "--help"]).wall
                                           for _ in range(STARTUP_RUNS)),
    }
    results: list[Result] = []
    sizes_info: dict[int | str, str] = {}
    with tempfile.TemporaryDirectory(prefix="cobpipe-bench-") as scratch:
        for size in args.sizes:
            files, generated = dataset(args.data_dir, size, args.seed)
            sizes_info[size] = file_sizes(files) + (f"; generated in {generated:.1f} s" if generated else "; cached")
            print(f"{size:,} claims: {sizes_info[size]}", file=sys.stderr, flush=True)
            for step in plan(size, files, tools, args, Path(scratch)):
                result = Result(size, step)
                measure(result, args)
                results.append(result)
                print(f"  {step.label}: {fmt_seconds(result.median)} s {result.note}".rstrip(),
                      file=sys.stderr, flush=True)
    info = machine()
    if info["revision"] != revision_at_start:
        sizes_info["changed"] = (f"**the code changed during the run** ({revision_at_start} → {info['revision']}): "
                                 "rows measured different code; run again on a quiet checkout")
    sizes_info["bytecode"] = bytecode
    report = render(results, command, info, startup, sizes_info, args.runs)
    report += "\n".join(target_lines(results, startup)) + "\n"
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
