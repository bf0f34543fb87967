"""Ledger errors: a ledger that cannot be used at all (the CLI prints one line and exits 2)."""
from __future__ import annotations

from edi.errors import CobpipeError


class LedgerError(CobpipeError):
    """The ledger database cannot be opened, is not a ledger, or has a newer schema."""
