"""One home per trading partner under ROOT:

    ROOT/partners/<partner>/inbound/    what the partner uploads (over SFTP, or dropped there)
    ROOT/partners/<partner>/outbound/   what is for that partner: secondary 837Ps, reports, TA1/999

Everything else is shared: archive/, rejected/, the ledger and work folders. A file from a
partner's inbound is processed with a `PartnerRoot`, so its outputs and acknowledgments land in
that partner's outbound; the partner is recorded in the ledger's file record (detail.partner).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..jobs.layout import Root

PARTNERS = "partners"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def valid_partner(name: str) -> bool:
    return bool(NAME.match(name)) and not name.endswith((".tmp", ".part"))


@dataclass(frozen=True, slots=True)
class PartnerRoot(Root):
    partner: str = ""

    @classmethod
    def of(cls, root: Root, partner: str) -> "PartnerRoot":
        if not valid_partner(partner):
            raise ValueError(f"not a partner name: {partner!r}")
        home = cls(root.path, root.ledger_path, partner)
        for folder in (home.inbound, home.uploads, home.outbound):
            folder.mkdir(parents=True, exist_ok=True)
        return home

    @property
    def home(self) -> Path:
        return self.path / PARTNERS / self.partner

    @property
    def inbound(self) -> Path:
        return self.home / "inbound"

    @property
    def outbound(self) -> Path:
        return self.home / "outbound"


def home_of(path: Path, root: Root) -> Root:
    """The partner root when `path` is in ROOT/partners/<partner>/inbound/, else `root` itself."""
    if isinstance(root, PartnerRoot):
        return root
    parent = Path(path).parent
    if parent.name == "inbound" and parent.parent.parent == root.path / PARTNERS and valid_partner(parent.parent.name):
        return PartnerRoot(root.path, root.ledger_path, parent.parent.name)
    return root


def partner_inbound_folders(root: Root) -> list[Path]:
    """Every partner's inbound folder under ROOT (for the drop-folder job's scans)."""
    base = root.path / PARTNERS
    try:
        homes = sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink() and valid_partner(p.name))
    except FileNotFoundError:
        return []
    return [home / "inbound" for home in homes if (home / "inbound").is_dir()]
