"""The command group: every command is found by name, from the module that defines it, loaded on use."""
import importlib
import subprocess
import sys

from click.testing import CliRunner

from cobpipe.cli import COMMAND_MODULES, main

MODULES = sorted(set(COMMAND_MODULES.values()))


def test_each_command_is_listed_under_the_module_that_defines_it():
    defined = {command.name: module for module in MODULES
               for command in importlib.import_module(f"cobpipe.commands.{module}").COMMANDS}
    assert defined == COMMAND_MODULES


def test_help_lists_every_command_and_each_one_runs_its_help():
    runner = CliRunner()
    listing = runner.invoke(main, ["--help"])
    assert listing.exit_code == 0
    for name in COMMAND_MODULES:
        assert f"  {name} " in listing.output
        if name == "bench":  # passes --help on to bench/run.py, in a process of its own
            continue
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output
    assert runner.invoke(main, ["no-such-command"]).exit_code == 2


def test_a_command_loads_only_its_own_module():
    code = ("import sys; from cobpipe.cli import main\n"
            "try:\n    main(['convert', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('cobpipe.commands.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "['cobpipe.commands.convert']"


# -- errors: one line naming the path and the reason, exit 2, nothing written (issue 16) -----------

import contextlib  # noqa: E402
import shlex  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "cob"
COBPIPE = [sys.executable, "-m", "cobpipe.cli"]


def cobpipe(*args, user: int | None = None, cwd=None, env=None):
    """The CLI in a process of its own; as another `user` (root ignores permission bits) by setpriv."""
    prefix = []
    if user is not None:
        prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    return subprocess.run([*prefix, *COBPIPE, *map(str, args)], capture_output=True, text=True, cwd=cwd or REPO,
                          env=env, timeout=300)


def can_run_as(user: int) -> bool:
    if shutil.which("setpriv") is None:
        return False
    return cobpipe("--version", user=user).returncode == 0


def output_commands(target: Path) -> dict[str, list]:
    """Every command that writes into `target` (a folder that should not be writable)."""
    return {
        "convert": ["convert", "--era", SAMPLES / "era.835", "--claims", SAMPLES / "claims.837",
                    "--coverage", SAMPLES / "coverage.csv", "--out", target / "out"],
        "synth": ["synth", "3", "--out", target / "synth"],
        "explain -o": ["explain", SAMPLES / "era.835", "-o", target / "page.html", "--format", "html"],
        "explain json -o": ["explain", SAMPLES / "era.835", "--json", "-o", target / "era.json"],
    }


def snapshot(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.is_dir() else []


@contextlib.contextmanager
def unwritable(kind: str):
    """(folder, reason words, user) for each way a folder cannot be written."""
    base = Path(tempfile.mkdtemp(prefix="cobpipe-cli-"))
    os.chmod(base, 0o755)
    try:
        if kind == "under a file":
            (base / "file").write_text("x")
            yield base / "file", "not a folder", None
        elif kind == "permission":
            target = base / "locked"
            target.mkdir(mode=0o555)
            os.chmod(target, 0o555)
            if os.geteuid() == 0:  # root ignores the mode: run the command as nobody
                if not can_run_as(65534):
                    pytest.skip("running as root without setpriv to become another user: root is never "
                                "refused by permission bits")
                yield target, "Permission denied", 65534
            else:
                yield target, "Permission denied", None
        elif kind == "immutable":
            target = base / "immutable"
            target.mkdir()
            if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(target)]).returncode:
                pytest.skip("chattr +i is not available here (needs root and a filesystem with flags)")
            try:
                yield target, "Operation not permitted", None
            finally:
                subprocess.run(["chattr", "-i", str(target)])
        elif kind == "read-only filesystem":
            target = base / "ro"
            target.mkdir()
            if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(target)],
                              capture_output=True).returncode:
                pytest.skip("cannot mount a read-only tmpfs here (needs root)")
            try:
                yield target, "Read-only file system", None
            finally:
                subprocess.run(["umount", str(target)])
        else:
            raise AssertionError(kind)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("kind", ["under a file", "permission", "immutable", "read-only filesystem"])
def test_an_output_that_cannot_be_written_is_one_line_exit_2_and_nothing_written(kind):
    with unwritable(kind) as (target, reason, user):
        before = snapshot(target if target.is_dir() else target.parent)
        for name, args in output_commands(target).items():
            done = cobpipe(*args, user=user)
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 2, (name, done.stderr)
            assert len(lines) == 1 and reason in lines[0] and str(target) in lines[0], (name, done.stderr)
            assert "internal error" not in done.stderr and (done.stdout == "" or "--json" in args), name
            assert snapshot(target if target.is_dir() else target.parent) == before, name
            as_json = cobpipe(*args, *(["--json"] if "--json" not in args else []), user=user)
            assert as_json.returncode == 2
            error = json.loads(as_json.stdout)["error"]
            assert error["code"] == "cannot_write" and reason in error["message"], (name, error)
            assert str(target) in error["path"], (name, error)


def test_one_json_error_shape_for_every_command(tmp_path):
    junk = tmp_path / "junk.835"
    junk.write_text("this is not X12\n")
    cases = {
        "convert": ["convert", "--era", junk, "--claims", SAMPLES / "claims.837", "--out", tmp_path / "o", "--json"],
        "explain": ["explain", junk, "--json"],
        "explain --format json": ["explain", junk, "--format", "json"],
        "validate": ["validate", junk, "--json"],
        "synth": ["synth", "0", "--out", tmp_path / "s", "--json"],  # a usage error
        "status": ["status", tmp_path, "--json"],
        "run": ["run", tmp_path / "missing", "--json"],
    }
    for name, args in cases.items():
        done = cobpipe(*args)
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        data = json.loads(done.stdout)
        if isinstance(data, list):  # validate: one report per file, each with the same error object
            data = data[0]
        error = data["error"]
        assert set(error) == {"code", "message", "path"}, name
        assert error["code"] in ("unusable_input", "usage", "cannot_read"), (name, error)
        assert error["message"] and "Traceback" not in done.stderr, name
    assert not (tmp_path / "o").exists()


def test_debug_before_or_after_the_command_and_h_everywhere():
    runner = CliRunner()
    for args in (["--debug", "validate", "--help"], ["validate", "--help", "--debug"], ["validate", "--debug", "-h"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0 and "Usage:" in result.output and "FILES..." in result.output, args
    assert runner.invoke(main, ["-h"]).exit_code == 0
    for name in COMMAND_MODULES:
        if name == "bench":
            continue
        result = runner.invoke(main, [name, "-h"])
        assert result.exit_code == 0 and "Usage:" in result.output, name
    # --debug after the command is the group's flag (tracebacks), not an unknown option of the command
    result = runner.invoke(main, ["status", "/nonexistent-root", "--debug"])
    assert "No such option" not in result.output and result.exit_code == 2


def test_an_internal_error_is_one_line_exit_3_and_debug_after_the_command_shows_the_traceback():
    import click

    @click.command("boom-for-test")
    @click.option("--json", "as_json", is_flag=True)
    def boom(as_json):
        raise ZeroDivisionError("a bug")

    main.add_command(boom)
    try:
        runner = CliRunner()
        plain = runner.invoke(main, ["boom-for-test"])
        assert plain.exit_code == 3 and "Traceback" not in plain.output
        assert plain.output.strip() == "cobpipe: internal error (ZeroDivisionError); run with --debug for details"
        for args in (["--debug", "boom-for-test"], ["boom-for-test", "--debug"]):
            debug = runner.invoke(main, args)
            assert debug.exit_code == 3 and "Traceback" in debug.output and "a bug" in debug.output, args
        as_json = runner.invoke(main, ["boom-for-test", "--json"])
        first = as_json.output.splitlines()[0]
        assert json.loads(first)["error"]["code"] == "internal" and as_json.exit_code == 3
    finally:
        main.commands.pop("boom-for-test", None)


# -- progress on a terminal (issue 16) ------------------------------------------------------------

def on_a_terminal(*args, timeout=600, size=(40, 120)) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal: (exit code, stdout, what the terminal showed)."""
    import pty
    import threading

    master, slave = pty.openpty()
    if size:  # rows, columns, as a terminal window says
        import fcntl
        import struct
        import termios

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    proc = subprocess.Popen([*COBPIPE, *map(str, args)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave, cwd=REPO)
    os.close(slave)
    shown = bytearray()

    def drain():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout, _ = proc.communicate(timeout=timeout)
    reader.join(timeout=60)
    os.close(master)
    return proc.returncode, stdout.decode(), shown.decode("utf-8", "replace")


def has_bar(text: str, name: str) -> bool:
    """A tqdm bar of `name`: done/total, a rate and the time left ([elapsed<left, rate])."""
    import re

    return bool(re.search(re.escape(name) + r".*\d+/\d+ \[\d\d:\d\d<\d\d:\d\d, +[\d.?]+ ?\w*(claim|/s)", text))


def test_synth_and_convert_show_progress_on_a_terminal_only(tmp_path):
    code, stdout, shown = on_a_terminal("synth", "1500", "--out", tmp_path / "s")
    assert code == 0 and "1500 claims" in stdout
    assert has_bar(shown, "claims.837") and has_bar(shown, "era.835"), shown
    assert "1500/1500" in shown
    for quiet in (["--quiet"], ["--json"]):
        code, stdout, shown = on_a_terminal("synth", "20", "--out", tmp_path / "q", *quiet)
        assert code == 0 and "%|" not in shown and "claim/s" not in shown, quiet
    piped = cobpipe("synth", "20", "--out", tmp_path / "p")
    assert piped.returncode == 0 and piped.stderr == ""
    era = tmp_path / "s" / "era.835"
    args = ["convert", "--era", era, "--claims", tmp_path / "s" / "claims.837", "--coverage",
            tmp_path / "s" / "coverage.csv", "--workers", "1"]
    code, stdout, shown = on_a_terminal(*args, "--out", tmp_path / "o1")
    assert code in (0, 1) and "era.835" in stdout
    assert has_bar(shown, "era.835"), shown
    code, stdout, shown = on_a_terminal(*args, "--out", tmp_path / "o2", "--json")
    assert code in (0, 1) and "%|" not in shown and json.loads(stdout)[0]["counts"]
    code, stdout, shown = on_a_terminal(*args, "--out", tmp_path / "o3", "--quiet")
    assert code in (0, 1) and "%|" not in shown and "claim/s" not in shown
    piped = cobpipe(*args, "--out", tmp_path / "o4")
    assert piped.returncode in (0, 1) and "%|" not in piped.stderr and "claim/s" not in piped.stderr


# -- run: logs as JSON off a terminal, short lines on one, never inside the progress bar (issue 16) --

def drop_folder(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "inbound").mkdir(parents=True)
    for name in ("claims.837", "era.835"):
        (root / "inbound" / name).write_bytes((SAMPLES / name).read_bytes())
    past = 1_600_000_000  # long settled: processed at once whatever the settle rule
    for path in (root / "inbound").iterdir():
        os.utime(path, (past, past))
    return root


def test_run_logs_json_when_piped_and_text_lines_apart_from_the_bar_on_a_terminal(tmp_path):
    piped = cobpipe("run", drop_folder(tmp_path / "a"), "--settle", "0")
    events = [json.loads(line) for line in piped.stderr.splitlines()]
    assert events and all("event" in e and "ts" in e for e in events), piped.stderr
    text = cobpipe("run", drop_folder(tmp_path / "b"), "--settle", "0", "--log-format", "text")
    assert text.stderr and not any(line.startswith("{") for line in text.stderr.splitlines())
    assert any(" file.converted " in f" {line} " or "converted" in line for line in text.stderr.splitlines())
    code, stdout, shown = on_a_terminal("run", drop_folder(tmp_path / "c"), "--settle", "0")
    assert code in (0, 1) and stdout
    pieces = [piece.strip() for line in shown.split("\n") for piece in line.split("\r") if piece.strip()]
    logs = [p for p in pieces if p[:2].isdigit() and p[2] == ":"]  # 12:04:05 event ...
    assert logs and not any(p.startswith("{") for p in pieces), shown
    bars = [p for p in pieces if "%|" in p]
    assert bars, shown  # the bar over the inbound files was drawn
    assert not any("%|" in p for p in logs) and not any(p in bars for p in logs)
    code, stdout, shown = on_a_terminal("run", drop_folder(tmp_path / "d"), "--settle", "0", "--log-format", "json")
    lines = [piece.strip() for line in shown.split("\n") for piece in line.split("\r") if piece.strip()]
    assert any(p.startswith("{") for p in lines) and all(json.loads(p) for p in lines if p.startswith("{"))


# -- file modes and the CSV report (issue 16) ------------------------------------------------------

def test_every_file_cobpipe_writes_is_0600_whatever_the_umask(tmp_path):
    import stat

    env = dict(os.environ)
    script = ("import os, sys; os.umask(int(sys.argv[1], 8)); from cobpipe.cli import main; "
              "sys.argv = ['cobpipe'] + sys.argv[2:]; main()")

    def as_umask(umask: str, *args) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", script, umask, *map(str, args)], capture_output=True,
                              text=True, cwd=REPO, env=env, timeout=300)

    for umask in ("000", "022", "077"):
        out = tmp_path / umask
        assert as_umask(umask, "synth", "5", "--out", out / "synth").returncode == 0
        done = as_umask(umask, "convert", "--era", SAMPLES / "era.835", "--claims", SAMPLES / "claims.837",
                        "--coverage", SAMPLES / "coverage.csv", "--out", out / "convert", "--report-format", "csv")
        assert done.returncode == 0, done.stderr
        page = as_umask(umask, "explain", SAMPLES / "era.835", "-o", out / "era.html", "--format", "html")
        assert page.returncode == 0
        files = [p for p in out.rglob("*") if p.is_file()]
        assert {p.name for p in files} >= {"era.835", "claims.837", "coverage.csv", "synth.json", "era.837",
                                           "era.report.json", "era.report.csv", "era.html"}
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, (umask, path, oct(path.stat().st_mode))


def test_report_format_csv_has_one_row_per_claim_like_the_json(tmp_path):
    import csv

    done = cobpipe("convert", "--era", SAMPLES / "problems" / "era.835", "--claims", SAMPLES / "claims.837",
                   "--out", tmp_path, "--report-format", "csv")
    assert done.returncode == 1, done.stderr
    report = json.loads((tmp_path / "era.report.json").read_text())
    with open(tmp_path / "era.report.csv", newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == ["id", "status", "payer_id", "segment", "reasons"]
    assert [(r["id"], r["status"], r["payer_id"], r["segment"]) for r in rows] == [
        (c["id"], c["status"], c.get("payer_id", ""), str(c.get("segment", ""))) for c in report["claims"]]
    assert [r["reasons"] for r in rows] == [" | ".join(c["reasons"]) for c in report["claims"]]
    assert not (tmp_path / "samples").exists()
    plain = cobpipe("convert", "--era", SAMPLES / "era.835", "--claims", SAMPLES / "claims.837",
                    "--out", tmp_path / "j")
    assert plain.returncode in (0, 1) and not list((tmp_path / "j").glob("*.csv"))  # JSON only by default


def test_a_reader_that_stops_early_is_no_internal_error(tmp_path):
    from cobpipe.synth import generate_set

    era = generate_set(400, tmp_path, seed=2).era
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(f"{shlex.quote(sys.executable)} -m cobpipe.cli explain {shlex.quote(str(era))} | head -1; "
                          "echo \"exit=${PIPESTATUS[0]}\"", shell=True, executable="/bin/bash", cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.stdout.startswith("Verdict") and "exit=141" in done.stdout
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


def test_run_with_an_outbound_that_cannot_be_written_is_one_line_exit_2_nothing_taken(tmp_path):
    root = drop_folder(tmp_path)
    (root / "outbound").write_text("a file where the folder should be\n")
    done = cobpipe("run", root, "--settle", "0")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert str(root) in done.stderr and "internal error" not in done.stderr
    assert sorted(p.name for p in (root / "inbound").iterdir()) == ["claims.837", "era.835"]  # nothing taken
    as_json = cobpipe("run", root, "--settle", "0", "--json")
    assert json.loads(as_json.stdout)["error"]["code"] == "unusable_input" and as_json.returncode == 2
    with unwritable("read-only filesystem") as (target, reason, _user):
        done = cobpipe("run", target, "--settle", "0")
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert str(target) in done.stderr and reason in done.stderr
