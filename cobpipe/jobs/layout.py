"""The drop-folder ROOT: inbound, outbound, archive, rejected, and .cobpipe for the ledger and work files.

    ROOT/inbound/            837P and 835 files dropped by anyone (or uploaded over SFTP)
    ROOT/inbound/.uploads/   SFTP uploads in progress (hidden; moved into inbound when complete)
    ROOT/outbound/           secondary 837Ps for the clearinghouse, and each ERA's report JSON
    ROOT/outbound/paper/     claims printed on CMS-1500 forms (by the jobs and by the console)
    ROOT/archive/            inputs processed (837P stored, 835 converted, exact duplicates)
    ROOT/rejected/           unusable inputs, each with <name>.reason.json
    ROOT/.cobpipe/ledger.db  the ledger (default; --db elsewhere)
    ROOT/.cobpipe/work/      per-input scratch folders (deleted when the input is done)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from edi.errors import CobpipeError

from ..fsutil import mkdir_durable

PAPER_FOLDER = "paper"  # outbound/paper/
IGNORED_SUFFIXES = (".tmp", ".part", ".filepart", "~", ".swp", ".crdownload")


class JobConfigError(CobpipeError):
    """The ROOT (or another job setting) cannot be used; nothing was processed."""


def is_ignored_name(name: str) -> bool:
    """Hidden or temporary names that writers use while a file is being written or uploaded."""
    lower = name.lower()
    return not name or name.startswith(".") or lower.endswith(IGNORED_SUFFIXES)


@dataclass(frozen=True, slots=True)
class Root:
    path: Path
    ledger_path: Path  # or a postgresql:// URL (str): a ledger shared by several hosts

    @classmethod
    def prepare(cls, path: str | Path, ledger_path: str | Path | None = None) -> "Root":
        """Create the folders that are missing; raises JobConfigError when ROOT is unusable."""
        root = Path(path).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise JobConfigError(f"{root}: ROOT is not a folder")
        if isinstance(ledger_path, str) and ledger_path.startswith(("postgresql://", "postgres://")):
            layout = cls(root, ledger_path)  # a PostgreSQL ledger (issue 21): the URL as given
        else:
            layout = cls(root, Path(ledger_path).expanduser().resolve() if ledger_path
                         else root / ".cobpipe" / "ledger.db")
        try:
            for folder in (layout.inbound, layout.outbound, layout.archive, layout.rejected, layout.work,
                           layout.uploads):
                mkdir_durable(folder)  # a new folder's entry in its parent lasts too
        except OSError as exc:
            raise JobConfigError(f"{root}: cannot create the job folders: {exc.strerror or exc}") from exc
        for folder in (layout.inbound, layout.outbound, layout.archive, layout.rejected, layout.work):
            if not os.access(folder, os.W_OK | os.X_OK):
                raise JobConfigError(f"{folder}: not writable")
        return layout

    @property
    def inbound(self) -> Path:
        return self.path / "inbound"

    @property
    def uploads(self) -> Path:
        return self.inbound / ".uploads"

    @property
    def outbound(self) -> Path:
        return self.path / "outbound"

    @property
    def archive(self) -> Path:
        return self.path / "archive"

    @property
    def rejected(self) -> Path:
        return self.path / "rejected"

    @property
    def state(self) -> Path:
        return self.path / ".cobpipe"

    @property
    def work(self) -> Path:
        return self.state / "work"

    def inbound_files(self) -> list[Path]:
        """Regular files directly in inbound/ (and in each partner's, ROOT/partners/<p>/inbound/) whose
        names are not hidden or temporary."""
        folders = [self.inbound]
        if type(self) is Root:  # partner homes: cobpipe.acks.partners (issue 18)
            from ..acks.partners import partner_inbound_folders

            folders += partner_inbound_folders(self)
        entries = []
        for folder in folders:
            try:
                entries += list(os.scandir(folder))
            except FileNotFoundError:
                pass
        return sorted(Path(e.path) for e in entries
                      if not is_ignored_name(e.name) and e.is_file(follow_symlinks=False))
