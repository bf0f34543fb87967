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

import atexit
import contextlib
import gc
import io
import json
import os
import sys
import threading
from pathlib import Path

from .errors import EdiError
from .findings import Finding, Location, Severity


def main(argv: list[str] | None = None, *, own_process: bool = False) -> int:
    """`own_process`: this is the validator process's own run (`python -m`), not a caller's; its
    collector is then left off (see `own_collector`)."""
    if own_process:
        own_collector()
    from .ig import StreamNotValidated, validate_stream  # here: the pipeline imports this module at start-up

    args = sys.argv[1:] if argv is None else argv
    if args == ["--files"]:
        return serve_files(own_process=own_process)
    name = args[0] if args else "<stdin>"
    fd = sys.stdin.fileno()
    raw = os.fdopen(fd, "rb", closefd=False)  # the validator closes its stream; fd 0 stays for draining
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
    try:
        with collector_paused():
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


def serve_files(*, own_process: bool = False) -> int:
    """`python -m edi.validate_pipe --files`: a file's path a line on standard input, each answered
    with one line of JSON as `main` answers (its error findings, checked as the converting process
    would check the file), until standard input ends. One process checks the files a converting
    process writes one after another: its tables (map, expressions) are made for the first only.
    `own_process`: the collector is off (`own_collector`); the last file's cycles are collected when
    the next path comes, and what is left then (the tables) frozen, never walked again."""
    from .ig import validate_file

    checked = False
    for line in sys.stdin:
        if own_process and checked:
            gc.collect()
            gc.freeze()
        checked = True
        path = line.rstrip("\n")
        try:
            with collector_paused():
                findings = validate_file(path, name=os.path.basename(path), capped=False)  # our own output
            result = {"validated": True,
                      "findings": [f.to_dict() for f in findings if f.severity is Severity.ERROR]}
        except Exception:  # noqa: BLE001 - any trouble: "not validated", the caller checks the file itself
            result = {"validated": False}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


@contextlib.contextmanager
def collector_paused():
    """No cyclic garbage collection while this validator process checks a file, as before after it.

    The check makes few cycles (~9k objects a 10k-claim file, freed when the collector runs again
    after the file) but allocates many containers, and each collection the allocations trigger
    walks the compiled maps and learned shapes: ~3% of the process's instructions on convert's 10k
    output. Only here, in a process of its own that checks cobpipe's output: a library call leaves
    the collector alone."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def own_collector() -> None:
    """The collector of a validator process of its own: off from its start (its imports), so that no
    collection walks all a check made (the first one after `collector_paused` did, at its next
    allocation), and what is left at exit frozen (the interpreter's last collections skip it, as
    cobpipe.commands.convert does). A file's cycles are few (see `collector_paused`) and the process
    ends after its file, or collects them before the next (`serve_files`). ~54M instructions of the
    process checking convert's 10k output (2,469M)."""
    gc.disable()
    atexit.register(gc.freeze)


def finding_from_dict(data: dict) -> Finding:
    """A Finding back from Finding.to_dict()."""
    return Finding(data["code"], data["message"], Location(**data.get("location", {})),
                   Severity(data.get("severity", "error")))


# --- the caller's side (edi.validate_pipe as a process of the COB pipeline) ---------------------


def validate_in_child(path: Path) -> list[Finding] | None:
    """The error findings of a validator process given the written file; None when it fails (the
    caller then validates in-process). The process is kept for this process's next file (a batch
    worker's next ERA: ~0.25 s CPU a file for a fresh interpreter, its imports and its tables)."""
    path = Path(path)
    if "\n" in str(path) or "\r" in str(path):  # not a line of the kept process's input
        return validate_once(path)
    return _kept.check(path)


def validate_once(path: Path) -> list[Finding] | None:
    """`validate_in_child` in a process of its own, started for this file."""
    import subprocess  # (the caller's side only: the validator process never imports it)

    try:
        with open(path, "rb") as source:
            done = subprocess.run(validator_command(path.name), stdin=source, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, timeout=3600, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return validator_answer(done.returncode, done.stdout)


class _KeptValidator:
    """`python -m edi.validate_pipe --files`, started at the first file and kept for the next ones.
    Used only by the process that started it (a process forked from this one starts its own: two
    writers on one pipe would mix their files), and by a command still naming the same
    interpreter; any failure drops it (that file: None; the next file: a fresh process)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.owner = 0
        self.command: list[str] = []
        self.lock = threading.Lock()  # one file at a time on the pipe

    def check(self, path: Path) -> list[Finding] | None:
        with self.lock:
            return self._check(path)

    def _check(self, path: Path) -> list[Finding] | None:
        import select
        import subprocess

        command = validator_command("--files")
        if self.proc is None or self.owner != os.getpid() or self.command != command or self.proc.poll() is not None:
            if self.owner == os.getpid():
                self.close()
            try:
                self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL)
            except OSError:
                self.proc = None
                return None
            self.owner, self.command = os.getpid(), command
            if "multiprocessing" in sys.modules:  # a pool's worker ends without atexit: at its end, then
                from multiprocessing.util import Finalize

                Finalize(None, close_kept, exitpriority=0)
        try:
            self.proc.stdin.write(os.fsencode(os.path.abspath(path)) + b"\n")
            self.proc.stdin.flush()
            # as long as validate_once waits for its process (the answer is one line, flushed whole)
            ready, _, _ = select.select([self.proc.stdout], [], [], 3600)
            answer = self.proc.stdout.readline() if ready else b""
        except (OSError, ValueError):
            answer = b""
        found = validator_answer(0 if answer.endswith(b"\n") else None, answer)
        if found is None:
            self.close()
        return found

    def close(self) -> None:
        """Standard input closed (the process ends at its end), the process waited for."""
        proc, self.proc = self.proc, None
        if proc is None or self.owner != os.getpid():
            return  # another process's: left to it
        import subprocess

        with contextlib.suppress(OSError, ValueError):
            proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # (also one that never answered)
            proc.kill()
            proc.wait()
        with contextlib.suppress(OSError, ValueError):
            proc.stdout.close()


_kept = _KeptValidator()
_inherited: list[_KeptValidator] = []  # a forked process's copy of its parent's: never used, never closed


def _forked() -> None:
    global _kept
    _inherited.append(_kept)
    _kept = _KeptValidator()  # (its lock may have been held by another thread of the parent)


def close_kept() -> None:
    """The kept validator process of `validate_in_child` ended (cobpipe.batch, at a batch's end)."""
    _kept.close()


os.register_at_fork(after_in_child=_forked)
atexit.register(close_kept)  # (a pool worker ends without it: the kept process then reads the end of its input)


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
        import subprocess

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
        import subprocess

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


# --- a warm-up for processes forked to convert (cobpipe.batch) ------------------------------------


def warm(delimiters=None) -> None:
    """Make the guide check's per-process tables now (the 837P map compiled, the segment
    expressions and learned shapes of what cobpipe writes): check a synthetic secondary 837P of two
    claims written in `delimiters` (edi.segment.Delimiters, default *:^~). A batch calls this
    before it forks its converting processes, which inherit the tables copy-on-write instead of
    each making them on its first ERA (~0.13 s CPU a process, measured at 10k claims in 8 ERAs).
    Only a warm-up: any failure is ignored (each process then makes what it needs itself)."""
    from .ig import validate_text

    try:
        validate_text(warm_text(delimiters), name="warm-up", capped=False)
    except Exception:  # noqa: BLE001 - see the docstring
        pass


def warm_text(delimiters=None) -> str:
    """The warm-up's 837P, written in `delimiters` (the output's: the expressions are compiled per
    delimiter set)."""
    if delimiters is None:
        return _WARM_837P
    return _WARM_837P.translate(str.maketrans({
        "*": delimiters.element, ":": delimiters.component, "^": delimiters.repetition or "^",
        "~": delimiters.segment, "\n": delimiters.suffix or ""}))


# two transaction sets as cobpipe writes them (a subscriber who is the patient, a child patient);
# no finding in *:^~ (tests/cobpipe/test_batch_warm.py)
_WARM_837P = """\
ISA*00*          *00*          *ZZ*SUNRISEPEDS    *ZZ*CLEARHOUSE     *260101*1200*^*00501*000000001*0*T*:~
GS*HC*SUNRISEPEDS*CLEARHOUSE*20260101*1200*1*X*005010X222A1~
ST*837*0001*005010X222A1~
BHT*0019*00*0000000010001*20260101*1200*CH~
NM1*41*2*SUNRISE PEDIATRICS*****46*SUN123~
PER*IC*BILLING OFFICE*TE*5555550100~
NM1*40*2*CLEARHOUSE INC*****46*CLEARHOUSE~
HL*1**20*1~
PRV*BI*PXC*208000000X~
NM1*85*2*SUNRISE PEDIATRICS*****XX*1234567893~
N3*100 MAIN STREET~
N4*SPRINGFIELD*IL*627010001~
REF*EI*371234567~
HL*2*1*22*0~
SBR*S*18*BSG0100******CI~
NM1*IL*1*SAMPLE*ONE****MI*SEC0110002~
N3*1 SAMPLE ROAD~
N4*SPRINGFIELD*IL*627040114~
DMG*D8*20050614*F~
NM1*PR*2*BLUE STAR INSURANCE*****PI*22222~
CLM*MULTILINE01*291***11:B:1*Y*A*Y*Y~
HI*ABK:J029*ABF:R509~
NM1*82*1*RIVERA*DANA****XX*1245319599~
SBR*P*18*ACG0100******CI~
CAS*CO*253*3.01~
AMT*D*147.27~
OI***Y*P**Y~
MOA***MA01~
NM1*IL*1*SAMPLE*ONE****MI*PRM0110001~
N3*1 SAMPLE ROAD~
N4*SPRINGFIELD*IL*627040114~
NM1*PR*2*ACME HEALTH PLAN*****PI*11111~
REF*F8*ACME2607500101~
LX*1~
SV1*HC:99214*185*UN*1***1:2~
DTP*472*D8*20260302~
REF*6R*MULTILINE01-1~
SVD*11111*115*HC:99214**1~
CAS*CO*45*45~
CAS*PR*3*25*1~
DTP*573*D8*20260316~
AMT*EAF*25~
LX*2~
SV1*HC:87880*42*UN*1***1~
DTP*472*D8*20260302~
REF*6R*MULTILINE01-2~
SVD*11111*10*HC:87880**1~
CAS*CO*45*12~
CAS*PR*1*20~
DTP*573*D8*20260316~
AMT*EAF*20~
LX*3~
SV1*HC:85025*64*UN*1***2~
DTP*472*D8*20260302~
REF*6R*MULTILINE01-3~
SVD*11111*25.28*HC:85025**1~
CAS*CO*45*22.4~
CAS*PR*1*10**2*6.32~
DTP*573*D8*20260316~
AMT*EAF*16.32~
SE*59*0001~
ST*837*0002*005010X222A1~
BHT*0019*00*0000000020002*20260101*1200*CH~
NM1*41*2*SUNRISE PEDIATRICS*****46*SUN123~
PER*IC*BILLING OFFICE*TE*5555550100~
NM1*40*2*CLEARHOUSE INC*****46*CLEARHOUSE~
HL*1**20*1~
PRV*BI*PXC*208000000X~
NM1*85*2*SUNRISE PEDIATRICS*****XX*1234567893~
N3*100 MAIN STREET~
N4*SPRINGFIELD*IL*627010001~
REF*EI*371234567~
HL*2*1*22*1~
SBR*S**BSG0300******CI~
NM1*IL*1*SAMPLE*TWO****MI*SEC0330002~
N3*2 SAMPLE ROAD~
N4*ROCHESTER*IL*625630009~
NM1*PR*2*BLUE STAR INSURANCE*****PI*22222~
HL*3*2*23*0~
PAT*19~
NM1*QC*1*SAMPLE*CHILD~
N3*2 SAMPLE ROAD~
N4*ROCHESTER*IL*625630009~
DMG*D8*20190807*F~
CLM*CHILDPAT01*178***11:B:1*Y*A*Y*Y~
HI*ABK:J029~
NM1*82*1*RIVERA*DANA****XX*1245319599~
SBR*P*19*ACG0300******CI~
AMT*D*82~
OI***Y*P**Y~
NM1*IL*1*SAMPLE*PARENT****MI*PRM0330001~
N3*2 SAMPLE ROAD~
N4*ROCHESTER*IL*625630009~
NM1*PR*2*ACME HEALTH PLAN*****PI*11111~
REF*F8*ACME2607700301~
LX*1~
SV1*HC:99213*140*UN*1***1~
DTP*472*D8*20260304~
REF*6R*CHILDPAT01-1~
SVD*11111*82*HC:99213**1~
CAS*CO*45*38~
CAS*PR*3*20~
DTP*573*D8*20260318~
AMT*EAF*20~
LX*2~
SV1*HC:87880*38*UN*1***1~
DTP*472*D8*20260304~
REF*6R*CHILDPAT01-2~
SVD*11111*0*HC:87880**1~
CAS*CO*45*9.5~
CAS*PR*1*28.5~
DTP*573*D8*20260318~
AMT*EAF*28.5~
SE*53*0002~
GE*2*1~
IEA*1*000000001~
"""


if __name__ == "__main__":
    sys.exit(main(own_process=True))
