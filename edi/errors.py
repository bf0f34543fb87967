"""Exceptions for input that cannot be used at all (business problems are Findings instead)."""
from __future__ import annotations


class CobpipeError(Exception):
    """Base of every error cobpipe raises on purpose; the CLI turns these into one clear line."""


class EdiError(CobpipeError):
    """An X12 file that cannot be read, with where the problem was found."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        segment: int | None = None,
        line: int | None = None,
        claim: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.segment = segment
        self.line = line
        self.claim = claim

    def __str__(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.segment is not None:
            where.append(f"seg {self.segment}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.claim:
            where.append(f"claim {self.claim}")
        return f"{' '.join(where)}: {self.message}" if where else self.message


class EdiSyntaxError(EdiError):
    """Not X12 or too damaged to read: empty, binary, no usable ISA, truncated ISA."""


class UnsupportedTransactionError(EdiError):
    """Readable X12, but not the transaction set the command needs (e.g. an 837I given as 837P)."""
