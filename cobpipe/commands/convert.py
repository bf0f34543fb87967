"""`cobpipe convert`: the primary's 835s plus the original 837Ps in, secondary 837Ps and reports out."""
from __future__ import annotations

import atexit
import datetime as dt
import gc
import json
import os
import sys
from pathlib import Path

import click

from edi.segment import Delimiters, output_delimiters

from ..ledger.dialects import ledger_target

ERA_SUFFIXES = {".835", ".era", ".txt", ".edi", ".x12"}
CLAIM_SUFFIXES = {".837", ".txt", ".edi", ".x12"}


def expand(paths: tuple[Path, ...], suffixes: set[str]) -> list[Path]:
    """Files as given, and a folder's files with an X12-ish suffix, sorted by name."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes
                            and not p.name.startswith("."))
        else:
            files.append(path)
    return files


def parse_delimiters(text: str) -> Delimiters:
    """Four characters: element, component, repetition, segment terminator (e.g. '*:^~' or '|>!~')."""
    try:
        return output_delimiters(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command()
@click.option("--era", "eras", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="The primary payer's 835 (a file or a folder of them); repeat for a batch.")
@click.option("--claims", "claims", multiple=True, required=True,
              type=click.Path(exists=True, path_type=Path),
              help="The original 837P claims sent to the primary (file or folder); repeatable.")
@click.option("--coverage", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV of next-payer coverage for claims without a 2320 for it (columns in the README).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for <era>.837 and <era>.report.json.")
@click.option("--db", type=ledger_target, envvar="COBPIPE_DB",
              help="Ledger file or postgresql:// URL (default $COBPIPE_DB): keeps claims, issued secondary "
                   "claims and control numbers across runs.")
@click.option("--bill-zero-balance", is_flag=True,
              help="Also bill claims that leave nothing for the patient (CLP05 = 0, no PR).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]),
              help="Treat this as today when checking adjudication dates (default: today).")
@click.option("--usage", type=click.Choice(["P", "T"]), default=None,
              help="ISA15: P production, T test (default: T when the 835 or the original claims are test data, "
                   "else P).")
@click.option("--payers", "payers_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The payer list (CSV: payer_id,name,accepts_electronic_secondary,eaf_level,notes,aliases); "
                   "default: mappings/payers.csv.")
@click.option("--paper-layout", type=click.Choice(["data", "full"]), default="data", show_default=True,
              help="Paper claims (payers that take no electronic secondary): data only for pre-printed red "
                   "CMS-1500 forms, or the full form drawn.")
@click.option("--delimiters", "delimiters", default="*:^~", show_default=True,
              help="Output delimiters: element, component, repetition, segment terminator.")
@click.option("--workers", type=click.IntRange(1, 64), default=os.cpu_count() or 1, show_default="CPU count",
              help="Processes kept busy at once: ERAs converted side by side, each in its own process; "
                   "a single large ERA is converted by that many processes (the same output); with fewer ERAs "
                   "than workers, a spare one checks the output against the guide as it is written.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option("--report-format", type=click.Choice(["json", "csv"]), default="json", show_default=True,
              help="csv: also OUT/<era stem>.report.csv, one row per claim (id, status, payer_id, segment, "
                   "reasons), for a spreadsheet; the JSON report is always written.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar (there is none unless stderr is a terminal).")
def convert(eras, claims, coverage, out_dir, db, bill_zero_balance, as_of, usage, delimiters, workers, as_json,
            report_format="json", quiet=False, payers_file=None, paper_layout="data"):
    """Build secondary 837P claims from the primary's 835 and the original 837P.

    \b
    Example:
      cobpipe convert --era samples/cob/era.835 --claims samples/cob/claims.837 \\
          --coverage samples/cob/coverage.csv --out out/

    Writes OUT/<era stem>.837 when any claim converted and always OUT/<era stem>.report.json.
    Exit 0: every claim converted or skipped; 1: some rejected or unmatched (the good ones are
    still written); 2: an input is unusable (nothing is written).
    """
    # a conversion makes millions of small objects, few of them in cycles: the cyclic collector's
    # default pace (every 700 allocations) costs ~7% of the run for nothing. A one-shot process.
    # A young collection walks every object made since the last one and still alive (the
    # converter's remembered segments, CAS and placements, which it forgets in turn): at 100k
    # claims, one process, every 50k such objects took 0.70 s CPU in collections that found ~370
    # objects, every 200k 0.33 s (what is forgotten meanwhile is never walked); cyclic garbage
    # waits at most that many objects
    gc.set_threshold(200_000, 20, 100)
    # the converter loads when it runs, not for `--help` (start-up: issue 17)
    from ..payers import PayerList
    from ..pipeline import ConvertOptions, run_batch
    from ..state import user_ledger_path

    options = ConvertOptions(
        bill_zero_balance=bill_zero_balance,
        today=as_of.date() if as_of else dt.date.today(),
        delimiters=parse_delimiters(delimiters),
        usage=usage,
        payers=PayerList.load(payers_file) if payers_file else None,
        paper_layout=paper_layout,
    )
    era_files = expand(eras, ERA_SUFFIXES)
    claim_files = expand(claims, CLAIM_SUFFIXES)
    if not era_files:
        raise click.UsageError("no 835 files found in --era")
    if not claim_files:
        raise click.UsageError("no 837P files found in --claims")
    stems: dict[str, Path] = {}
    for era in era_files:
        if era.stem in stems and stems[era.stem].resolve() != era.resolve():
            raise click.UsageError(f"{stems[era.stem]} and {era} would both write {era.stem}.837 in --out; "
                                   "convert them in separate runs or rename one")
        stems[era.stem] = era
    era_files = list(stems.values())
    from ..cliutil import check_output_dir, progress_callback, show_progress, write_report_csv

    check_output_dir(out_dir)  # one line and exit 2 before any work, not an error after it
    bar = show_progress(quiet=quiet, as_json=as_json)
    on_progress, close = progress_callback(bar)
    try:
        numbers = None if db else user_ledger_path()  # control numbers never repeat between runs
        results = run_batch(era_files, claim_files, out_dir, options=options, coverage_path=coverage, db_path=db,
                            progress=bar, workers=workers, on_progress=on_progress, numbers_path=numbers)
    finally:
        close()
    if report_format == "csv":
        for result in results:
            write_report_csv(result)
    summary = [result.summary() for result in results]
    if numbers is not None:  # say where the control numbers are kept
        for item in summary:
            item["control_numbers_ledger"] = str(numbers)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        for item in summary:
            counts = ", ".join(f"{n} {status}" for status, n in item["counts"].items() if n)
            target = item["output"] or "no 837 written"
            paper = f"; paper {item['paper']}" if item.get("paper") else ""
            click.echo(f"{item['era']}: {counts or 'no claims'} -> {target}{paper}; report {item['report']}")
        if numbers is not None and not quiet:
            click.echo(f"control numbers kept in {numbers} (use --db to keep a ledger of your own)", err=True)
    # at exit, the interpreter's last full collection would walk every object the run left (the claim
    # index, the decisions...) only to free them: frozen first, it skips them (~0.03 s CPU at 10k claims,
    # serial at the very end); at exit only, so a caller in the same process collects as before
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    sys.exit(max((result.exit_code for result in results), default=0))


COMMANDS = [convert]
