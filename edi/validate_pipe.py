"""`python -m edi.validate_pipe NAME`: validate the X12 arriving on standard input, in a process of
its own, and print the error findings as one JSON object.

The COB pipeline pipes the 837P it writes through this, so the guide check runs on the second
core while the first is still converting, or (when no core is spare) gives it the written file
once it is complete; either way neither process holds both jobs' memory.
Output: {"validated": true, "findings": [Finding.to_dict(), ...]} or {"validated": false} when
the fast engine could not finish (the caller then validates the written file itself).
"""
from __future__ import annotations

import io
import json
import os
import sys

from .errors import EdiError
from .findings import Finding, Location, Severity
from .ig import StreamNotValidated, validate_stream


def main(argv: list[str] | None = None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
