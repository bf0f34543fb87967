"""`cobpipe synth` (synthetic 835/837P pairs) and `cobpipe bench` (the benchmark in bench/run.py)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import click

from edi.errors import CobpipeError

from ..synth import SynthOptions, generate_set

BENCH_SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def parse_knobs(items: tuple[str, ...]) -> dict:
    """NAME=VALUE pairs into SynthOptions fields, converted to each field's type."""
    types = {f.name: f.type for f in dataclasses.fields(SynthOptions)}
    knobs: dict = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in types:
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE with NAME one of {', '.join(types)}",
                                     param_hint="--knob")
        kind = types[name]
        try:
            if "date" in str(kind):
                knobs[name] = dt.date.fromisoformat(text)
            elif "int" in str(kind):
                knobs[name] = int(text)
            else:
                knobs[name] = float(text)
        except ValueError as exc:
            raise click.BadParameter(f"{item!r}: {exc}", param_hint="--knob") from exc
    return knobs


@click.command()
@click.argument("n_claims", type=click.IntRange(min=1))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for era.835, claims.837, coverage.csv and synth.json.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same bytes.")
@click.option("--prefix", default="", help="Prefix of the file names (several pairs in one folder).")
@click.option("--knob", "knobs", multiple=True, metavar="NAME=VALUE",
              help="A generator knob, e.g. unbalanced_fraction=0.05 or claims_per_835=500; repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest (knobs and counts) as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar (there is none unless stderr is a terminal).")
def synth(n_claims, out_dir, seed, prefix, knobs, as_json, quiet):
    """Write a synthetic original 837P and the primary's 835 for N fake claims.

    \b
    Example:
      cobpipe synth 1000 --out /tmp/synth --seed 7 --knob unbalanced_fraction=0.02

    Knobs (fractions are per claim): secondary_absent_fraction, patient_fraction,
    denial_fraction, crossover_fraction, reversal_fraction, claim_cas_fraction, oa23_fraction,
    bundled_fraction, rendering_fraction, plb_fraction (per 835 transaction),
    unbalanced_fraction, max_lines, claims_per_837, claims_per_835, claim_offset, paid_date.

    Prints `N claims: CLAIMS.837 (L service lines), ERA.835 (paid P), COVERAGE.csv (R rows)`.
    On a terminal, a progress bar on stderr (claims written, rate, time left).
    """
    from ..cliutil import check_output_dir, progress_callback, show_progress

    parsed = parse_knobs(knobs)
    check_output_dir(out_dir)
    on_progress, close = progress_callback(show_progress(quiet=quiet, as_json=as_json))
    try:
        result = generate_set(n_claims, out_dir, seed=seed, prefix=prefix, on_progress=on_progress, **parsed)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--knob") from exc
    finally:
        close()
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(f"{result.n_claims} claims: {result.claims} ({result.counts['service_lines']} service lines), "
                   f"{result.era} (paid {result.paid_total}), {result.coverage} "
                   f"({result.counts['secondary_absent']} rows)")


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                 "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args):
    """Run the benchmark (bench/run.py in a source checkout); arguments pass through.

    \b
    Example:
      cobpipe bench --sizes 1000 10000 --runs 5
      cobpipe bench --help
    """
    if not BENCH_SCRIPT.is_file():
        raise CobpipeError(f"the benchmark runs from a source checkout: {BENCH_SCRIPT} not found")
    sys.exit(subprocess.call([sys.executable, str(BENCH_SCRIPT), *args]))


COMMANDS = [synth, bench]
