"""In-process benchmark steps, each run by bench/run.py in a fresh interpreter.

    python bench/steps.py floor era.835 claims.837   # bare str.split tokenization (the floor)
    python bench/steps.py pyx12 claims.837           # pyx12's validating parse (x12n_document)

Prints one JSON line (what was counted) so the runner can check the step did its work.
"""
from __future__ import annotations

import json
import sys


def floor(paths: list[str]) -> dict:
    """Read each file, split on the segment terminator, split each segment on the element separator.

    The delimiters come from the fixed-width ISA (element at offset 3, terminator at 105), which is
    all the X12 knowledge the floor has; no envelope or guide is looked at.
    """
    segments = elements = 0
    for path in paths:
        with open(path, encoding="latin-1") as stream:
            text = stream.read()
        element, terminator = text[3], text[105]
        for segment in text.split(terminator):
            elements += len(segment.split(element))
            segments += 1
    return {"segments": segments, "elements": elements}


def pyx12(paths: list[str]) -> dict:
    """pyx12.x12n_document over each file (no 999/HTML/XML/JSON output), errors counted."""
    import logging

    import pyx12.params
    import pyx12.x12n_document

    class Count(logging.Handler):
        errors = 0

        def emit(self, record: logging.LogRecord) -> None:  # values may be PHI: count, never print
            Count.errors += 1

    logger = logging.getLogger("pyx12")
    logger.addHandler(Count(logging.ERROR))
    logger.propagate = False
    valid = True
    for path in paths:
        with open(path, encoding="latin-1") as stream:
            valid &= bool(pyx12.x12n_document.x12n_document(pyx12.params.params(), stream, None, None))
    return {"valid": valid, "errors": Count.errors}


STEPS = {"floor": floor, "pyx12": pyx12}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in STEPS:
        print(f"usage: steps.py {{{'|'.join(STEPS)}}} FILE...", file=sys.stderr)
        return 2
    print(json.dumps(STEPS[argv[0]](argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
