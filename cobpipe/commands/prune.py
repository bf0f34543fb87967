"""`cobpipe prune ROOT --older-than DAYS`: retention for ROOT/rejected and ROOT/archive.

Deletes files that came into rejected/ or archive/ more than DAYS days ago (by the time they were
moved there: the inode's change time, which a rename or link sets), a rejected input always
together with its `<name>.reason.json`. Never deletes what the ledger still needs: an archived 835
some of whose claims are still unmatched, awaiting their 837P (cobpipe/jobs/process.py converts
them from that archived copy when the 837P arrives). `--dry-run` lists what would go.
Exit 0 (also when nothing is old enough); 2 when ROOT or the ledger cannot be used.
"""
from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from pathlib import Path

import click
from ..fsutil import sha256_of as _sha256

# archived 835s (by sha256) with claims left unmatched and no later decision about them (the
# query of Ledger.unmatched_awaiting, for every claim id)
_AWAITING_ERAS = """SELECT DISTINCT d.source_sha256 FROM decisions d JOIN files f ON f.sha256 = d.source_sha256
    WHERE f.kind = '835' AND d.status = 'unmatched'
      AND NOT EXISTS (SELECT 1 FROM decisions later WHERE later.claim_id = d.claim_id
                      AND later.status <> 'unmatched' AND later.decided_at >= d.decided_at)"""
REASON_SUFFIX = ".reason.json"


def _entered(info: os.stat_result) -> float:
    """When a file came into its folder: renames and links set the change time (never earlier than
    the modification time a copied file may have kept)."""
    return max(info.st_ctime, info.st_mtime)


def _old_files(folder: Path, cutoff: float) -> dict[str, os.stat_result]:
    """Regular files directly in `folder` (never following links; hidden temp files too) that came in
    before `cutoff`."""
    found = {}
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(folder):
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and _entered(info) < cutoff:
                found[entry.name] = info
    return found


def plan(root: Path, ledger, older_than_days: float, now: float | None = None) -> dict:
    """What prune would delete and what it keeps on purpose: {"delete": [...], "kept": [...]} with
    paths relative to ROOT."""
    cutoff = (now if now is not None else time.time()) - older_than_days * 86400
    needed = {row[0] for row in ledger.query(_AWAITING_ERAS)}
    delete: list[dict] = []
    kept: list[dict] = []
    rejected = root / "rejected"
    old = _old_files(rejected, cutoff)
    for name, info in sorted(old.items()):
        if name.endswith(REASON_SUFFIX) and name[:-len(REASON_SUFFIX)] in old:
            continue  # goes with its input below
        if name.endswith(REASON_SUFFIX) and (rejected / name[:-len(REASON_SUFFIX)]).exists():
            continue  # the input beside it is not old enough: the reason stays with it
        paths = [f"rejected/{name}"]
        size = info.st_size
        if f"{name}{REASON_SUFFIX}" in old:
            paths.append(f"rejected/{name}{REASON_SUFFIX}")
            size += old[f"{name}{REASON_SUFFIX}"].st_size
        elif (rejected / f"{name}{REASON_SUFFIX}").exists():
            continue  # its reason file is newer (written again): keep the pair
        delete.append({"paths": paths, "bytes": size})
    for name, info in sorted(_old_files(root / "archive", cutoff).items()):
        path = root / "archive" / name
        try:
            digest = _sha256(path)
        except OSError:
            continue
        if digest in needed:
            kept.append({"path": f"archive/{name}", "sha256": digest,
                         "reason": "an 835 with claims awaiting their 837P (unmatched): needed to convert them"})
            continue
        delete.append({"paths": [f"archive/{name}"], "bytes": info.st_size, "sha256": digest})
    return {"delete": delete, "kept": kept}


def prune(root: Path, ledger, older_than_days: float, *, dry_run: bool = False) -> dict:
    """Delete what `plan` lists (unless dry_run); each folder fsynced once after its deletions."""
    planned = plan(root, ledger, older_than_days)
    deleted: list[str] = []
    touched: set[Path] = set()
    if not dry_run:
        for item in planned["delete"]:
            for relative in item["paths"]:
                path = root / relative
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    deleted.append(relative)
                    touched.add(path.parent)
        from ..fsutil import fsync_dir

        for folder in touched:
            fsync_dir(folder)
    return {"root": str(root), "older_than_days": older_than_days, "dry_run": dry_run,
            "delete" if dry_run else "deleted": [p for item in planned["delete"] for p in item["paths"]]
            if dry_run else deleted,
            "bytes": sum(item["bytes"] for item in planned["delete"]), "kept": planned["kept"]}


@click.command("prune")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--older-than", "days", type=click.FloatRange(min=0), required=True,
              help="Delete files that came into rejected/ or archive/ more than this many days ago.")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@click.option("--db", envvar="COBPIPE_DB",
              help="Ledger file or postgresql:// URL (default $COBPIPE_DB, else ROOT/.cobpipe/ledger.db).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def prune_command(root: Path, days: float, dry_run: bool, db: str | None, as_json: bool) -> None:
    """Retention for ROOT/rejected and ROOT/archive: delete files older than --older-than days.

    \b
    Example:
      cobpipe prune /srv/cob --older-than 90 --dry-run
      cobpipe prune /srv/cob --older-than 90        # e.g. from cron, daily

    A rejected file goes with its .reason.json. An archived 835 whose unmatched claims still wait
    for their 837P is kept, whatever its age (it is converted from the archive when they come).
    """
    from ..jobs.layout import JobConfigError
    from ..ledger import Ledger

    root = Path(root).resolve()
    ledger_path = db if db and "://" in db else Path(db).resolve() if db else root / ".cobpipe" / "ledger.db"
    if isinstance(ledger_path, Path) and not ledger_path.exists():
        raise JobConfigError(f"{ledger_path}: no ledger yet (has a job run on this ROOT?)")
    with Ledger.open(ledger_path, readonly=True) as ledger:
        result = prune(root, ledger, days, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    verb = "would delete" if dry_run else "deleted"
    for path in result["delete" if dry_run else "deleted"]:
        click.echo(f"{verb} {path}")
    for item in result["kept"]:
        click.echo(f"kept {item['path']}: {item['reason']}")
    count = len(result["delete" if dry_run else "deleted"])
    click.echo(f"{verb} {count} file{'s' * (count != 1)} ({result['bytes']:,} bytes); kept {len(result['kept'])}")


COMMANDS = [prune_command]
