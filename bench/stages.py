"""Where `cobpipe convert` spends its time: each stage timed on its own, in one process, no profiler.

    .venv/bin/python bench/stages.py 10000            # a size run.py has generated (bench/.data)
    .venv/bin/python bench/stages.py 10000 --ledger   # the claims through a SQLite ledger, as with --db

A profiler's per-call cost distorts code made of many small calls, so the stages are timed with
perf_counter around the functions the pipeline calls (wrapped for the run only). The guide check of
the output, which `convert` runs in a process of its own beside the conversion, is timed last on
the same output. Prints a markdown table: seconds and share of the conversion.
"""
from __future__ import annotations

import argparse
import datetime as dt
import functools
import io
import itertools
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DATA = Path(__file__).resolve().parent / ".data"
MAPPING_STEPS = ("claims_for", "billed_lines", "match_lines", "build_secondary",
                 "ClaimView.scan", "check_claim")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ledger", action="store_true",
                        help="read the 837P into a SQLite ledger (convert --db, the jobs) instead of the one-shot claim index")
    args = parser.parse_args(argv)
    import gc

    gc.set_threshold(50_000, 20, 100)  # the pace `cobpipe convert` sets (cobpipe/commands/convert.py)
    folder = next(iter(sorted(DATA.glob(f"n{args.size}-s{args.seed}-v*"))), None)
    if folder is None:
        parser.error(f"no data for {args.size} claims in {DATA}: run bench/run.py --sizes {args.size} first")
    for name, seconds, share in stages(folder, ledger=args.ledger):
        print(f"| {name} | {seconds:.2f} | {share} |")
    return 0


def stages(folder: Path, ledger: bool = False) -> list[tuple[str, float, str]]:
    import contextlib

    import cobpipe.cob.convert as convert
    from cobpipe.claim837.index import ClaimIndex
    from cobpipe.claim837.writer import write_claims_837
    from cobpipe.cob.coverage import CoverageTable
    from cobpipe.decision_log import DecisionLog
    from cobpipe.ledger import Ledger
    from cobpipe.pipeline import ConvertOptions, interchange_for, load_claim_files, scan_era
    from edi import ig

    spent: dict[str, float] = defaultdict(float)

    def timed(name, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return wrapper

    saved = {name: getattr(convert, name) for name in MAPPING_STEPS if hasattr(convert, name)}
    saved["RemitStream"] = convert.RemitStream

    class TimedStream(convert.RemitStream):  # the 835 read into the mapper's RemitClaims
        def __iter__(self):
            remitted = super().__iter__()
            while True:
                start = time.perf_counter()
                item = next(remitted, None)
                spent["remit_claim"] += time.perf_counter() - start
                if item is None:
                    return
                yield item

    view_scan = convert.ClaimView.__dict__["scan"]
    try:
        for name, function in saved.items():
            if name != "RemitStream":
                setattr(convert, name, timed(name, function))
        convert.RemitStream = TimedStream
        convert.ClaimView.scan = staticmethod(timed("ClaimView.scan", convert.ClaimView.scan))
        era, claims = folder / "era.835", folder / "claims.837"
        rows: list[tuple[str, float]] = []
        start = time.perf_counter()
        scan = scan_era(era)
        rows.append(("ERA pre-scan (duplicate CLP01s, refusals)", time.perf_counter() - start))
        with contextlib.ExitStack() as stack:
            start = time.perf_counter()
            source = None if ledger else ClaimIndex.build([claims], frozenset(scan.clp_counts))
            if source is not None:  # what a one-shot `cobpipe convert` reads the claims with
                rows.append(("index the 837P claims as text spans", time.perf_counter() - start))
            else:
                tmp = stack.enter_context(tempfile.TemporaryDirectory())
                source = stack.enter_context(Ledger.open(Path(tmp) / "claims.sqlite"))
                load_claim_files(source, [claims], frozenset(scan.clp_counts))
                rows.append(("read the 837P and index it in SQLite", time.perf_counter() - start))
            source.claims_for = timed("claims_for", source.claims_for)
            coverage = CoverageTable.load(folder / "coverage.csv")
            converter = convert.ClaimConverter(source, options=ConvertOptions(validate_ig=False),
                                               coverage=coverage, path=str(era))
            mapping = 0.0

            def converted():  # the converter's time, apart from the writer's that consumes it
                nonlocal mapping
                claims = converter.run(scan.repeated_only(), DecisionLog())
                while True:
                    start = time.perf_counter()
                    claim = next(claims, None)
                    mapping += time.perf_counter() - start
                    if claim is None:
                        return
                    yield claim

            output = io.StringIO()
            start = time.perf_counter()
            built = converted()
            first = next(built)
            write_claims_837(itertools.chain([first], built), output, interchange_for(first, "P"),
                             _Numbers(), now=dt.datetime(2026, 1, 1))
            writing = time.perf_counter() - start - mapping
            inside = sum(spent.values())
            rows.append(("decide, outside the steps below", mapping - inside))
            labels = {"remit_claim": "read the 835 into RemitClaims",
                      "claims_for": "fetch and parse each original claim",
                      "billed_lines": "billed lines of the original", "match_lines": "line matching",
                      "build_secondary": "build the secondary claim", "ClaimView.scan": "gate: read the built claim",
                      "check_claim": "gate: balancing rules"}
            rows += [(f"  {labels[name]}", spent[name]) for name in ("remit_claim", *MAPPING_STEPS)]
            rows.append(("write the 837P", writing))
        total = sum(seconds for _, seconds in rows)
        start = time.perf_counter()
        ig.validate_text(output.getvalue())
        guide = time.perf_counter() - start
    finally:
        for name, function in saved.items():
            setattr(convert, name, function)
        convert.ClaimView.scan = view_scan
    table = [(name, seconds, f"{100 * seconds / total:.0f}%") for name, seconds in rows]
    table.append(("conversion, one process", total, "100%"))
    table.append(("guide check of the output (its own process, beside the conversion)", guide, ""))
    return table


class _Numbers:
    """Control numbers for the timed write (a ledger's are not what is measured)."""

    def __init__(self) -> None:
        self.last = 0

    def next_number(self, kind: str, sender: str, receiver: str) -> int:
        self.last += 1
        return self.last


if __name__ == "__main__":
    sys.exit(main())
