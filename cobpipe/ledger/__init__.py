"""The ledger: what cobpipe has stored, processed and issued, in one SQL database (SQLite by default).

    from cobpipe.ledger import Ledger
    with Ledger.open(root / ".cobpipe" / "ledger.db") as ledger:
        ledger.add_claims(claims, source_hash=sha)   # pipeline.ClaimSource: ledger.claims_for(clm01)
        ledger.was_issued(clm01, payer_id)           # pipeline.IssuedRegistry
        ledger.next_number("ISA", sender, receiver)  # edi.writer.ControlNumberSource
"""
from __future__ import annotations

from .core import (
    MAX_CONTROL_NUMBER,
    ClaimOutcome,
    Dialect,
    FileRecord,
    IssuedClaim,
    Ledger,
    LedgerStats,
    OutputRecord,
    claim_key,
)
from .errors import LedgerError
from .sqlite import SqliteDialect

__all__ = [
    "MAX_CONTROL_NUMBER", "ClaimOutcome", "Dialect", "FileRecord", "IssuedClaim", "Ledger", "LedgerError",
    "LedgerStats", "OutputRecord", "SqliteDialect", "claim_key",
]
