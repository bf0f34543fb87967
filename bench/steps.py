"""In-process benchmark steps, each run by bench/run.py in a fresh interpreter.

    python bench/steps.py floor era.835 claims.837   # bare str.split tokenization (the floor)
    python bench/steps.py pyx12 claims.837           # pyx12's validating parse (x12n_document)
    python bench/steps.py edi-835-parser era.835     # third-party 835 parsers, for `explain` to beat
    python bench/steps.py x12-edi-tools era.835      # (pip install edi-835-parser x12-edi-tools)

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


def edi_835_parser(paths: list[str]) -> dict:
    """PyPI edi-835-parser (lossy: claims, services, adjustments into its own objects); its claims counted."""
    from edi_835_parser import parse

    claims = 0
    for path in paths:
        for transaction_set in parse(path).transaction_sets:
            claims += len(transaction_set.claims)
    return {"claims": claims}


def x12_edi_tools(paths: list[str]) -> dict:
    """PyPI x12-edi-tools' RemittanceAdviceParser (lossy: claim totals and adjustments); its claims counted."""
    from x12_edi_tools.remittance_advise_parser import RemittanceAdviceParser

    claims = 0
    for path in paths:
        with open(path, encoding="latin-1") as stream:  # it splits on "~" only: no line breaks between segments
            claims += len(RemittanceAdviceParser().parse(stream.read().replace("\r", "").replace("\n", "")).claims)
    return {"claims": claims}


STEPS = {"floor": floor, "pyx12": pyx12, "edi-835-parser": edi_835_parser, "x12-edi-tools": x12_edi_tools}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in STEPS:
        print(f"usage: steps.py {{{'|'.join(STEPS)}}} FILE...", file=sys.stderr)
        return 2
    print(json.dumps(STEPS[argv[0]](argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
