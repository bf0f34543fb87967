"""The README matches the tool (issue 16): its commands run, its JSON examples are what the tool
prints, its tables say what the code requires. A README edit that drifts fails here.

Every fenced ```sh block is taken apart into its commands. `cobpipe` commands are run for real in
a scratch folder that sees the repository's samples (except servers and the ones that need a
prepared folder, whose options are checked against the command's own parser), the quick start's
install commands are checked for what they must say, and the benchmark's arguments are parsed by
the benchmark. Every ```json block must parse; the convert report, the explain JSON and the error
object examples are compared with what the tool writes.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
COBPIPE = [sys.executable, "-m", "cobpipe.cli"]

#: commands that serve until stopped, or need a prepared ROOT or a user database: parsed, not run
NOT_RUN = {"watch", "sftp-serve", "console", "worker", "user"}


def fenced(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.S | re.M)


def commands_of(block: str) -> list[str]:
    """The shell commands of a block: lines joined at a trailing backslash, split at && ; and |."""
    text = re.sub(r"\\\n\s*", " ", block)
    found = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        found += [part.strip() for part in re.split(r"&&|;|\|(?!\|)", line) if part.strip()]
    return found


def cobpipe_args(command: str) -> list[str] | None:
    """The arguments after `cobpipe` (or `.venv/bin/cobpipe`), or None for another program."""
    words = shlex.split(command)
    if words and words[0] in ("cobpipe", ".venv/bin/cobpipe"):
        return words[1:]
    return None


@pytest.fixture()
def scratch(tmp_path):
    """A folder where the README's relative paths (samples/...) resolve, outputs land apart."""
    (tmp_path / "samples").symlink_to(REPO / "samples")
    return tmp_path


def run(args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    # a ledger of control numbers of its own (convert keeps one under the XDG state folder)
    env = dict(os.environ, PYTHONPATH=str(REPO), XDG_STATE_HOME=str(cwd / ".state"))
    return subprocess.run([*COBPIPE, *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env, **kwargs)


def test_the_quick_start_is_install_and_convert_then_install_and_test():
    blocks = fenced("sh")
    first, second = (" ".join(b.split()) for b in blocks[:2])
    assert first.startswith("python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/cobpipe convert ")
    assert second == "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest -q"
    assert re.search(r"^test = \[", (REPO / "pyproject.toml").read_text(), re.M)  # the [test] extra exists


def test_the_quick_start_convert_writes_what_the_readme_says(scratch):
    convert = commands_of(fenced("sh")[0])[-1]
    done = run(cobpipe_args(convert), scratch)
    assert done.returncode == 0, done.stderr
    written = {p.name for p in (scratch / "out").iterdir()}
    for name in re.findall(r"`out/([\w.-]+)`", README):
        assert name in written, name
    assert {"era.report.json", "seed-era.report.json"} <= written  # "and their *.report.json"


def test_every_sh_block_runs_or_its_commands_parse(scratch):
    """Blocks after the quick start run whole in bash (with cobpipe on PATH), unless they start a
    server or need a prepared folder: then each cobpipe command and option must exist."""
    from click.testing import CliRunner

    from cobpipe.cli import main

    (scratch / ".venv").symlink_to(REPO / ".venv")
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(REPO),
               XDG_STATE_HOME=str(scratch / ".state"))
    ran = parsed = 0
    for block in fenced("sh")[2:]:
        if "bench/" in block:
            continue  # benchmarks take minutes to hours: bench/run.py's arguments are parsed below
        invoked = [args for args in map(cobpipe_args, commands_of(block)) if args is not None]
        names = [next((a for a in args if not a.startswith("-")), "") for args in invoked]
        if not set(names) & NOT_RUN:
            done = subprocess.run(["bash", "-ec", block], cwd=scratch, capture_output=True, text=True,
                                  timeout=600, env=env)
            assert done.returncode == 0, (block, done.stderr)
            ran += 1
            continue
        for name, args in zip(names, invoked):
            path = [name]
            rest = args[args.index(name) + 1:]
            if rest and not rest[0].startswith("-"):  # a group's command (`cobpipe user add ...`)?
                deeper = CliRunner().invoke(main, [name, rest[0], "--help"])
                if deeper.exit_code == 0 and f" {name} {rest[0]} " in deeper.output.splitlines()[0]:
                    path.append(rest[0])
            shown = CliRunner().invoke(main, [*path, "--help"])
            assert shown.exit_code == 0, (name, shown.output)
            for option in (a.split("=")[0] for a in args if a.startswith("--")):
                assert option in shown.output, (name, option)
            parsed += 1
    assert ran >= 2  # the completion and the synth example at least


def test_the_completion_command_prints_a_bash_completion_script():
    assert 'eval "$(_COBPIPE_COMPLETE=bash_source cobpipe)"' in README
    env = dict(os.environ, _COBPIPE_COMPLETE="bash_source", PYTHONPATH=str(REPO))
    script = Path(sys.executable).with_name("cobpipe")
    done = subprocess.run([str(script)] if script.exists() else COBPIPE, capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0 and "complete " in done.stdout and "_COBPIPE_COMPLETE" in done.stdout


def test_the_benchmark_command_parses():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run_readme", REPO / "bench" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    commands = [c for block in fenced("sh") for c in commands_of(block) if "bench/run.py" in c]
    assert commands
    for command in commands:
        words = shlex.split(command)
        bench.parse_args(words[words.index(next(w for w in words if w.endswith("bench/run.py"))) + 1:])


def test_every_json_block_parses():
    blocks = fenced("json")
    assert len(blocks) >= 3
    for block in blocks:
        json.loads(block)


def subset(example, actual, where="") -> None:
    """Every key of `example` is in `actual` with the same value (lists: element by element, the
    example may list fewer)."""
    if isinstance(example, dict):
        assert isinstance(actual, dict), where
        for key, value in example.items():
            assert key in actual, f"{where}.{key} is not in the tool's output"
            subset(value, actual[key], f"{where}.{key}")
    elif isinstance(example, list):
        assert isinstance(actual, list) and len(example) <= len(actual), where
        for n, (mine, theirs) in enumerate(zip(example, actual)):
            subset(mine, theirs, f"{where}[{n}]")
    else:
        assert example == actual, f"{where}: README says {example!r}, the tool {actual!r}"


def json_example(key: str) -> dict:
    found = [json.loads(b) for b in fenced("json") if f'"{key}"' in b]
    assert found, key
    return found[0]


def test_the_convert_report_example_is_what_convert_writes(scratch):
    example = json_example("control_numbers")
    done = run(cobpipe_args(commands_of(fenced("sh")[0])[-1]), scratch)
    assert done.returncode == 0, done.stderr
    reports = {p.name: json.loads(p.read_text()) for p in (scratch / "out").glob("*.report.json")}
    report = next(r for r in reports.values() if r["era"] == example["era"])
    top = {k: v for k, v in example.items() if k not in ("claims", "control_numbers")}
    subset(top, report, "report")
    # control numbers depend on the ledger's history: the kinds are what the example shows
    assert [n["kind"] for n in example["control_numbers"]] == [n["kind"] for n in report["control_numbers"]]
    for claim in example["claims"]:  # a claim of any report of the quick start
        actual = next(c for r in reports.values() for c in r["claims"] if c["id"] == claim["id"])
        subset(claim, actual, f"claim {claim['id']}")


def test_the_explain_json_example_is_what_explain_prints(scratch):
    example = json_example("transactions")
    done = run(["explain", example["file"], "--json"], scratch)
    assert done.returncode == 0, done.stderr
    subset(example, json.loads(done.stdout), "explain")


def test_the_error_example_is_the_shape_every_command_prints(scratch):
    example = json_example("error")
    (scratch / "out").write_text("a file, not a folder\n")
    done = run(["synth", "3", "--out", "out/sub", "--json"], scratch)
    assert done.returncode == 2
    assert json.loads(done.stdout) == example


def test_the_coverage_columns_the_readme_calls_required_are_the_ones_the_loader_requires(tmp_path):
    from cobpipe.cob.coverage import CoverageFileError, CoverageTable

    section = README[README.index("#### Coverage file"):]
    section = section[:section.index("\n### ")]
    required = set()
    for row in re.findall(r"^\| (.+?) \| (.+?) \|$", section, re.M):
        names = re.findall(r"`(\w+)`", row[0])
        if re.search(r"\brequired\b(?! unless)", row[1]):
            required |= set(names)
    assert required == {"payer_name", "payer_id", "member_id"}
    header = ["claim_id", "payer_name", "payer_id", "member_id"]
    values = {"claim_id": "C1", "payer_name": "NEXT PLAN", "payer_id": "22222", "member_id": "M1"}
    for column in header:
        path = tmp_path / f"without-{column}.csv"
        path.write_text(",".join(header) + "\n" + ",".join("" if c == column else values[c] for c in header) + "\n")
        if column == "claim_id":
            continue  # a match key, not a required value (primary_member_id would do)
        with pytest.raises(CoverageFileError):
            CoverageTable.load(path)
    ok = tmp_path / "ok.csv"
    ok.write_text(",".join(header) + "\n" + ",".join(values[c] for c in header) + "\n")
    CoverageTable.load(ok)


def test_synth_output_says_service_lines_as_the_readme_does(scratch):
    done = run(["synth", "4", "--out", "s"], scratch)
    assert done.returncode == 0
    assert re.fullmatch(r"4 claims: s/claims\.837 \(\d+ service lines\), s/era\.835 \(paid [\d.]+\), "
                        r"s/coverage\.csv \(\d+ rows\)\n", done.stdout), done.stdout
    assert "(N service lines)" in README
