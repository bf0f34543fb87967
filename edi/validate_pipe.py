"""`python -m edi.validate_pipe NAME`: validate the X12 arriving on standard input, in a process of
its own, and print the error findings as one JSON object.

The COB pipeline pipes the 837P it writes through this, so the guide check runs on the second
core while the first is still converting, or (when no core is spare) gives it the written file
once it is complete; either way neither process holds both jobs' memory.
Output: {"validated": true, "findings": [Finding.to_dict(), ...]} or {"validated": false} when
the fast engine could not finish (the caller then validates the written file itself).

The caller's side lives here too: `PipedValidator` (the process fed through a widened pipe), `Tee`
(the output file and the pipe in blocks), `validate_in_child` (the process given the written file),
`validator_command` and `validator_answer`. Any failure of the process means "not validated" (None),
never an error of the conversion.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from .errors import EdiError
from .findings import Finding, Location, Severity


def main(argv: list[str] | None = None) -> int:
    from .ig import StreamNotValidated, validate_stream  # here: the pipeline imports this module at start-up

    args = sys.argv[1:] if argv is None else argv
    name = args[0] if args else "<stdin>"
    fd = sys.stdin.fileno()
    raw = os.fdopen(fd, "rb", closefd=False)  # the validator closes its stream; fd 0 stays for draining
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
    try:
        findings = validate_stream(stream, name=name, capped=False)  # the pipeline's own output
        result = {"validated": True,
                  "findings": [f.to_dict() for f in findings if f.severity is Severity.ERROR]}
    except (StreamNotValidated, EdiError):
        result = {"validated": False}
    # read what is left so the writer never blocks on a full pipe, then answer
    while os.read(fd, 1 << 16):
        pass
    json.dump(result, sys.stdout)
    sys.stdout.flush()
    return 0


def finding_from_dict(data: dict) -> Finding:
    """A Finding back from Finding.to_dict()."""
    return Finding(data["code"], data["message"], Location(**data.get("location", {})),
                   Severity(data.get("severity", "error")))


# --- the caller's side (edi.validate_pipe as a process of the COB pipeline) ---------------------


def validate_in_child(path: Path) -> list[Finding] | None:
    """The error findings of `python -m edi.validate_pipe` run on the written file; None when it
    fails (the caller then validates in-process)."""
    try:
        with open(path, "rb") as source:
            done = subprocess.run(validator_command(path.name), stdin=source, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, timeout=3600, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return validator_answer(done.returncode, done.stdout)


def validator_command(name: str) -> list[str]:
    return [sys.executable, "-m", "edi.validate_pipe", name]


def validator_answer(returncode: int | None, answer: bytes) -> list[Finding] | None:
    """The findings a validator process printed; None unless it exited 0 having validated."""
    try:
        result = json.loads(answer or b"{}")
    except ValueError:
        return None
    if returncode != 0 or not isinstance(result, dict) or not result.get("validated"):
        return None
    return [finding_from_dict(f) for f in result["findings"]]


class PipedValidator:
    """`python -m edi.validate_pipe` fed through a pipe; any failure of it means "not validated"
    (finish() returns None) and the caller validates the written file itself."""

    def __init__(self, name: str) -> None:
        self.proc = subprocess.Popen(validator_command(name), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        widen_pipe(self.proc.stdin.fileno())
        self.stdin = io.TextIOWrapper(self.proc.stdin, encoding="utf-8", errors="surrogateescape", newline="")
        self.alive = True

    def write(self, text: str) -> None:
        if not self.alive:
            return
        try:
            self.stdin.write(text)
        except (BrokenPipeError, OSError, ValueError):
            self.alive = False

    def finish(self) -> list[Finding] | None:
        try:
            self.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            self.alive = False
        try:
            answer = self.proc.stdout.read()
            self.proc.wait(timeout=60)
        except (subprocess.TimeoutExpired, OSError):
            return None
        return validator_answer(self.proc.returncode, answer)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            self.stdin.close()
        with contextlib.suppress(OSError, ValueError):
            self.proc.stdout.close()


def widen_pipe(fd: int) -> None:
    """Give the pipe room for a whole reader chunk (Linux; 1 MB is the default unprivileged maximum).
    With the default 64 KB the writer blocks while the validator works through its last chunk, and
    the two processes take turns instead of running side by side (measured: 2.6 s of 3 s blocked)."""
    try:
        import fcntl
    except ImportError:  # not on this platform: correct, only slower
        return
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)


class Tee:
    """A text stream writing to the output file and, in blocks of about 256 KB, to the validator
    (one pipe write per block: writing each small segment to the pipe would cost as much as the
    validation)."""

    BLOCK = 1 << 18

    def __init__(self, stream, validator: PipedValidator) -> None:
        self.stream = stream
        self.validator = validator
        self.pending: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.pending.append(text)
        self.size += len(text)
        if self.size >= self.BLOCK:
            self.flush_block()
        return self.stream.write(text)

    def flush_block(self) -> None:
        if self.pending:
            self.validator.write("".join(self.pending))
            self.pending.clear()
            self.size = 0


if __name__ == "__main__":
    sys.exit(main())
