"""X12 simple data types read from element text: R (decimal number) and DT (CCYYMMDD date)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation


def parse_amount(text: str) -> Decimal | None:
    """An X12 R-type amount as Decimal; None when empty or not a finite number."""
    if not text:
        return None
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def parse_date8(text: str) -> dt.date | None:
    """CCYYMMDD as a date; None when not a real date."""
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
