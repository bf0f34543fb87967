"""`cobpipe explain`: an 835 remittance as an EOB an EDI analyst or billing clerk can read."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from cobpipe.codes import CodeBook, default_codebook
from cobpipe.cliutil import OutputError
from cobpipe.explain import FORMATS
from cobpipe.explain.build import ExplainOptions, resolve_statuses
from cobpipe.explain.stream import Survey, iter_claims, survey_file, write_explain
from cobpipe.fsutil import atomic_writer

#: COBPIPE_EXPLAIN_ENGINE=plain: --format json by the plain path even when the fast one could
#: (the fast path writes the same bytes; see cobpipe.explain.fastjson)
ENGINE_ENV = "COBPIPE_EXPLAIN_ENGINE"
# the exit codes of cobpipe.cli (not imported from there: cli imports the commands)
EXIT_CLEAN, EXIT_FINDINGS = 0, 1


@click.command("explain")
@click.argument("era", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--claim", "claim_ids", multiple=True, metavar="ID",
              help="Show only this claim (CLP01). Repeat for several.")
@click.option("--status", "statuses", multiple=True, metavar="CODE|WORD",
              help="Show only claims with this status: a CLP02 code (1, 4, 22 ...) or a word (primary, secondary, "
                   "tertiary, denied, crossover, reversal, not-ours, predetermination). Repeatable.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text for a terminal, json for programs, html for one page to mail or print.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--show-phi", is_flag=True,
              help="Show patient and subscriber names and member ids (masked by default).")
@click.option("--codes", "code_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="CSV", help="Your full CARC or RARC list (code,description[,start_date,stop_date]); "
                                  "overrides our short descriptions. Repeatable.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (atomically) instead of standard output.")
@click.option("--summary", "summary_only", is_flag=True,
              help="Only the totals: every payment's verdict, claims by status and by adjustment reason, and "
                   "the claims with findings.")
@click.option("--findings-only", is_flag=True,
              help="List only the claims with findings (and those whose balance cannot be checked).")
def explain(era: Path, claim_ids: tuple[str, ...], statuses: tuple[str, ...], output_format: str, as_json: bool,
            show_phi: bool, code_files: tuple[Path, ...], output: Path | None, summary_only: bool = False,
            findings_only: bool = False) -> None:
    """Explain an 835 remittance: payment, claims, adjustments in words, balance verdicts.

    For every transaction set: payer, payee, amount, method, trace number and dates; then each
    claim with its status, charge, paid amount, patient responsibility, every adjustment (group,
    reason and amount) and service line, remark codes, and whether it balances (stated and
    computed amounts where it does not); provider-level adjustments (PLB); the payment check.

    The verdict of every payment comes first. Claims are written one at a time, so memory stays
    flat whatever the size of the file (it is read twice: the totals first, then the claims).
    With --format json a file with nothing unusual in it is read once, by two processes when it
    is 4 MB or more and two cores are usable: with -o the first part's claims go straight into
    the output, the second's to a temporary file beside it, copied in at the end; the bytes are
    the same (COBPIPE_EXPLAIN_ENGINE=plain reads it the plain way).
    Names and member ids are masked unless --show-phi. Exit status: 0 when every shown claim
    balances and no error was found (warnings alone exit 0), 1 when there are errors (a claim or
    payment that does not balance, a malformed segment) or a --claim is not shown, 2 when the file
    is not a usable 835.

    \b
    Examples:
      cobpipe explain samples/cob/era.835
      cobpipe explain era.835 --status denied --status reversal
      cobpipe explain era.835 --claim 12345A --format json
      cobpipe explain era.835 --format html -o remittance.html
      cobpipe explain era.835 --summary
      cobpipe explain era.835 --findings-only --format html -o problems.html
    """
    if output is not None:
        from cobpipe.cliutil import check_output_file

        check_output_file(output)  # before any work: one line and exit 2, nothing written
    codebook: CodeBook = default_codebook()
    for path in code_files:
        codebook = codebook.with_user_codes(path)
    try:
        wanted_statuses = resolve_statuses(statuses, codebook)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--status") from None
    options = ExplainOptions(frozenset(claim_ids), wanted_statuses, show_phi)
    output_format = "json" if as_json else output_format
    fast = output_format == "json" and not summary_only and os.environ.get(ENGINE_ENV, "") != "plain"

    def write(stream) -> Survey:
        if fast:
            from cobpipe.explain.fastjson import write_json
            from cobpipe.explain.fastscan import Ineligible

            try:
                return write_json(str(era), codebook, options, stream, findings_only=findings_only,
                                  spool_dir=str(output.parent) if output is not None else None)
            except Ineligible:
                pass  # nothing written yet: the plain path reads the file
        survey = survey_file(str(era), codebook, options, findings_only=findings_only)
        claims = iter_claims(str(era), codebook, options, survey)
        write_explain(survey, output_format, stream, claims, summary_only=summary_only)
        return survey

    if output is not None:
        try:
            with atomic_writer(output) as stream:
                survey = write(stream)
        except OSError as exc:
            raise OutputError(output, exc.strerror or str(exc)) from exc
    else:
        survey = write(sys.stdout)
    missing = [ident for ident, _ in survey.view.missing_claims]
    if missing:
        click.echo(f"cobpipe explain: no claim {', '.join(missing)} in {era}", err=True)
    click.get_current_context().exit(EXIT_FINDINGS if survey.has_errors else EXIT_CLEAN)


COMMANDS = [explain]
