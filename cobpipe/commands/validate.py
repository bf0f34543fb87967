"""`cobpipe validate`: envelope checks and implementation-guide (005010 TR3) validation of X12 files."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from edi import ig
from edi.errors import EdiError
from edi.findings import Finding, Severity
from edi.reader import X12Reader

from ..ig_words import reword

# the exit codes of cobpipe.cli (not imported from there: cli imports the commands)
EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2

DEFAULT_MAX_FINDINGS = 100  # per file; then a count by code

X12_SUFFIXES = {".835", ".837", ".era", ".txt", ".edi", ".x12", ".dat"}

#: pyx12's envelope errors that restate a reader finding at the same segment (reported once, as ENV)
_SAME_AS_READER = {
    "IG-ST-4": "ENV006", "IG-ST-3": "ENV007", "IG-GS-5": "ENV004", "IG-GS-4": "ENV005",
    "IG-ISA-021": "ENV002", "IG-ISA-001": "ENV003",
    "IG-ST-2": "ENV008", "IG-GS-3": "ENV008", "IG-ISA-023": "ENV008",
}


@dataclass(slots=True)
class FileReport:
    """What `validate` found in one file: findings, or the reason the file could not be used."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.error is None

    @property
    def ok(self) -> bool:
        return self.usable and not any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def exit_code(self) -> int:
        if not self.usable:
            return EXIT_UNUSABLE
        return EXIT_CLEAN if self.ok else EXIT_FINDINGS

    def counts(self) -> dict[str, Any]:
        errors = sum(f.severity is Severity.ERROR for f in self.findings)
        by_code: dict[str, int] = {}
        for finding in self.findings:
            by_code[finding.code] = by_code.get(finding.code, 0) + 1
        return {"errors": errors, "warnings": len(self.findings) - errors,
                "by_code": dict(sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0])))}

    def to_dict(self, max_findings: int = 0) -> dict[str, Any]:
        shown = self.findings[:max_findings] if max_findings else self.findings
        out: dict[str, Any] = {"file": self.path, "ok": self.ok, "findings": [_finding_dict(f) for f in shown],
                               "counts": self.counts(), "not_shown": len(self.findings) - len(shown)}
        if self.error is not None:  # the error object every command prints (cobpipe.cliutil)
            from cobpipe.cliutil import error_object

            code = "cannot_read" if "cannot read file" in self.error else "unusable_input"
            out.update(error_object(code, self.error, self.path))
        return out


def _finding_dict(finding: Finding) -> dict[str, Any]:
    loc = finding.location
    return {
        "code": finding.code,
        "severity": str(finding.severity),
        "message": reword(finding.message),
        "segment": loc.segment,
        "tag": loc.tag,
        "line": loc.line,
        "loop": loc.loop,
        "element": loc.element,
    }


def merge_findings(envelope: list[Finding], guide: list[Finding]) -> list[Finding]:
    """Envelope findings plus IG findings in file order; an IG envelope error that restates a reader
    finding at the same segment (e.g. IG-ST-4 and ENV006 for a wrong SE01) is kept once, as ENV."""
    seen = {(f.code, f.location.segment) for f in envelope}
    kept = [f for f in guide
            if (_SAME_AS_READER.get(f.code), f.location.segment) not in seen]
    merged = envelope + kept
    merged.sort(key=lambda f: (f.location.segment is None, f.location.segment or 0))
    return merged


def validate_path(path: Path, engine: str = ig.DEFAULT_ENGINE, name: str | None = None,
                  concurrent: bool = False) -> FileReport:
    """Both checks on one file; an unusable file gives a report with `error` set, never an exception.

    `concurrent` (the command line, on a machine with more than one CPU): the envelope check runs in a
    forked child while this process runs the guide check, the two reading the file side by side; the
    report is the same (should the child fail in any way, the envelope check runs here)."""
    label = name or str(path)
    if path.is_dir():
        return FileReport(label, error=f"{label}: a folder with no X12 files "
                          f"({', '.join(sorted(X12_SUFFIXES))})")
    child = _start_envelope(path, label) if concurrent else None
    guide: list[Finding] | None = None
    guide_error: str | None = None
    if child is not None:
        try:
            guide, guide_error = _guide_check(path, label, engine)
        except BaseException:
            _finish_envelope(child)  # never leave the child behind
            raise
    outcome = _finish_envelope(child) if child is not None else None
    if outcome is None:
        outcome = envelope_outcome(path, label)
    kind, value = outcome
    if kind == "error":  # the envelope check decides first, as when the checks run one after the other
        return FileReport(label, error=value)
    if guide is None and guide_error is None:
        guide, guide_error = _guide_check(path, label, engine)
    if guide_error is not None:
        return FileReport(label, error=guide_error)
    return FileReport(label, merge_findings(value, guide or []))


def _guide_check(path: Path, label: str, engine: str) -> tuple[list[Finding] | None, str | None]:
    """The guide check's findings, or the one line that says why the file could not be checked."""
    try:
        return ig.validate_file(path, name=label, engine=engine), None  # type: ignore[arg-type]
    except EdiError as exc:
        return None, str(exc) if exc.path else f"{label}: {exc}"
    except OSError as exc:
        return None, f"{label}: cannot read file: {exc.strerror or exc}"


def envelope_outcome(path: Path, label: str) -> tuple[str, Any]:
    """The envelope check of one file: ("ok", findings) or ("error", the one line saying why not)."""
    try:
        reader = X12Reader.open(path, label)
        reader.body_tags = frozenset()  # its envelope checks only: body segments counted, never built
        for _ in reader:
            pass
    except EdiError as exc:
        return "error", str(exc) if exc.path else f"{label}: {exc}"
    except OSError as exc:
        return "error", f"{label}: cannot read file: {exc.strerror or exc}"
    return "ok", list(reader.findings)


def _start_envelope(path: Path, label: str) -> tuple[int, int] | None:
    """Fork a child that writes envelope_outcome (pickled) to a pipe: (pid, read end), or None."""
    import os

    if not hasattr(os, "fork"):
        return None
    try:
        read_end, write_end = os.pipe()
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # the child: never returns
        code = 0
        try:
            import pickle

            os.close(read_end)
            data = pickle.dumps(envelope_outcome(path, label))
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
        except BaseException:  # noqa: BLE001 - the parent sees a short answer and checks itself
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


def _finish_envelope(child: tuple[int, int]) -> tuple[str, Any] | None:
    """The child's answer, or None when it gave none (then the parent runs the check itself)."""
    import os
    import pickle

    pid, read_end = child
    chunks = []
    try:
        with os.fdopen(read_end, "rb") as stream:
            while True:
                chunk = stream.read(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
    except OSError:
        chunks = []
    try:
        _pid, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = 1
    if status != 0 or not chunks:
        return None
    try:
        answer = pickle.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001 - a cut answer: check here
        return None
    return answer if isinstance(answer, tuple) and len(answer) == 2 else None


def expand(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given; a folder contributes its X12-looking files (by suffix), sorted by name, or
    itself when it has none (reported as unusable rather than silently passing)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in X12_SUFFIXES and not p.name.startswith("."))
            files += found or [path]
        else:
            files.append(path)
    return files


def format_report(report: FileReport, max_findings: int = DEFAULT_MAX_FINDINGS) -> list[str]:
    """Human-readable lines for one file: `file: OK`, or a summary line (errors, warnings) and one
    line per finding, at most `max_findings` (0: all), then how many more and of which codes."""
    if not report.usable:
        return []
    if not report.findings:
        return [f"{report.path}: OK"]
    counts = report.counts()
    errors, warnings = counts["errors"], counts["warnings"]
    head = "OK" if errors == 0 else f"{errors:,} error{'s' * (errors != 1)}"
    if warnings:
        head += f", {warnings:,} warning{'s' * (warnings != 1)}"
    lines = [f"{report.path}: {head}"]
    shown = report.findings[:max_findings] if max_findings else report.findings
    for finding in shown:
        prefix = "" if finding.severity is Severity.ERROR else f"{finding.severity}: "
        lines.append(f"  {prefix}{reword(str(finding))}")
    rest = len(report.findings) - len(shown)
    if rest:
        by_code = ", ".join(f"{code} {n:,}" for code, n in counts["by_code"].items())
        lines.append(f"  ... {rest:,} more finding{'s' * (rest != 1)} not shown (--max-findings 0 shows all); "
                     f"all {len(report.findings):,} by code: {by_code}")
    return lines


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {file, ok, findings} for machines.")
@click.option("--engine", type=click.Choice(list(ig.ENGINES)), default=ig.DEFAULT_ENGINE, show_default=True,
              help="Implementation-guide validator: 'fast' (compiled tables) or 'pyx12' (the reference).")
@click.option("--max-findings", type=click.IntRange(min=0), default=DEFAULT_MAX_FINDINGS, show_default=True,
              metavar="N", help="Findings listed per file (then how many more, by code); 0 lists all.")
def validate(files: tuple[Path, ...], as_json: bool, engine: str, max_findings: int = DEFAULT_MAX_FINDINGS) -> None:
    """Check X12 files (835, 837P): envelope counts and control numbers, then the 005010
    implementation guide chosen by GS08 (segments, loops, element usage, lengths, code lists).

    \b
    Example:
      cobpipe validate samples/cob/claims.837 samples/cob/era.835
      cobpipe validate --json out/*.837

    Findings are listed as `FILE seg N (TAG) line L loop LOOP ELEMENT: CODE message`; codes are
    ENV* (envelope) and IG-* (implementation guide), listed in the README; each file starts with
    a summary line (errors, warnings) and lists at most --max-findings of them. Element values are not
    printed (they may be PHI), except bad code values outside name/address/id segments.
    Exit 0: every file clean (warnings allowed); 1: findings; 2: a file is unusable (empty,
    binary, not X12, truncated ISA); the other files are still checked and reported.
    """
    import os

    concurrent = (os.cpu_count() or 1) > 1  # the envelope check beside the guide check
    reports = [validate_path(path, engine, concurrent=concurrent) for path in expand(files)]
    if as_json:
        click.echo(json.dumps([r.to_dict(max_findings) for r in reports], indent=2))
    for report in reports:
        if not report.usable:
            click.echo(f"cobpipe: {report.error}", err=True)
        elif not as_json:
            for line in format_report(report, max_findings):
                click.echo(line)
    raise SystemExit(max((r.exit_code for r in reports), default=EXIT_CLEAN))


COMMANDS = [validate]
