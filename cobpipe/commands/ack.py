"""`cobpipe ack FILE...`: apply 999 and 277CA acknowledgments of our secondary 837Ps to the ledger."""
from __future__ import annotations

import json
from pathlib import Path

import click

from edi.errors import EdiError

EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--db", envvar="COBPIPE_DB", default=".cobpipe/ledger.db", show_default=True,
              help="The ledger the secondary claims were issued from: a file or postgresql:// URL "
                   "(default $COBPIPE_DB).")
@click.option("--json", "as_json", is_flag=True, help="Print each file's result as JSON.")
def ack(files, db, as_json):
    """Match 999 (005010X231A1) and 277CA (005010X214) files to the claims we issued.

    \b
    Example:
      cobpipe ack in/clearinghouse.999 in/payer.277 --db /srv/cob/.cobpipe/ledger.db

    Each claim's state becomes accepted, accepted with errors or rejected (with the codes and a
    reason in words); rejected claims join the work queue of `cobpipe status`. Exit 0 when every
    claim was accepted, 1 when some was rejected or some set or claim matches nothing we issued,
    2 when a file is not a 999 or 277CA.
    """
    from ..acks.apply import apply_file
    from ..acks.read import is_ack
    from ..jobs.layout import JobConfigError
    from ..ledger import Ledger
    from ..ledger.dialects import ledger_target

    try:
        db = ledger_target(db)
    except ValueError as exc:
        raise JobConfigError(f"--db: {exc}") from None
    if isinstance(db, Path) and not db.exists():
        raise JobConfigError(f"{db}: no ledger there (give the ledger with --db)")
    results, errors = [], []
    with Ledger.open(db) as ledger:
        for path in files:
            kind = is_ack(path)
            if kind is None:
                errors.append(f"{path}: not a 999 (GS01 FA) or 277CA (GS01 HN, 005010X214)")
                continue
            try:
                results.append(apply_file(path, ledger, kind, str(path)))
            except EdiError as exc:
                errors.append(str(exc) if exc.path else f"{path}: {exc}")
    if as_json:
        click.echo(json.dumps({"files": [r.to_dict() for r in results], "errors": errors}, indent=2))
    else:
        for result in results:
            counts = ", ".join(f"{n} {state}" for state, n in sorted(result.claims.items())) or "no claims"
            line = f"{result.file}: {result.kind} {'already applied' if result.duplicate else counts}"
            if result.unmatched:
                line += f"; {len(result.unmatched)} not issued by us: {', '.join(result.unmatched[:10])}"
            click.echo(line)
            for rejected in result.rejected:
                click.echo(f"  {rejected['claim_id']} (payer {rejected['payer_id']}): {rejected['reason']}")
    for error in errors:
        click.echo(f"cobpipe: {error}", err=True)
    if errors:
        raise SystemExit(EXIT_UNUSABLE)
    if any(r.rejected or r.unmatched for r in results):
        raise SystemExit(EXIT_FINDINGS)


COMMANDS = [ack]
