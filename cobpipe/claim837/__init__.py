"""Lossless 837P (005010X222A1) model: loops, claims in context, streaming reader and writer."""
from .claim import Envelope, OriginalClaim, parse_amount, parse_date8
from .loops import HL_LEVELS, Loop, LoopSpec, LoopTable, loop_table, segment_key
from .parser import (
    ClaimFile,
    is_837p_version,
    iter_claims,
    iter_claims_from_reader,
    parse_claims_text,
    split_segments,
)
from .writer import DEFAULT_VERSION, WriteSummary, write_claims_837

__all__ = [
    "ClaimFile", "DEFAULT_VERSION", "Envelope", "HL_LEVELS", "Loop", "LoopSpec", "LoopTable", "OriginalClaim",
    "is_837p_version", "iter_claims", "iter_claims_from_reader", "loop_table", "parse_amount",
    "parse_claims_text", "parse_date8", "segment_key", "split_segments", "WriteSummary", "write_claims_837",
]
