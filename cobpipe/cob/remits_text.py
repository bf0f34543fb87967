"""The segments of a claim whose values the fast 835 read (remits_fast) takes as they are, each read
once per distinct text, and None wherever era.claims / era.context would report anything.

Whole segments that repeat (a CAS*CO*45 of the same amount, one date of service for many lines,
the same procedure code) are read once: the values are immutable (a frozen Adjustment, Decimal,
date, tuples of text), so sharing them between claims is safe, and the caches are bounded so the
read stays in constant memory.
"""
from __future__ import annotations

import functools
import re
from decimal import Decimal

from ..era.claims import GROUP_CODES
from ..era.context import _FOREIGN_SEPARATOR, _d8, _decimal
from ..era.model import ZERO
from .from_era import _adjustment

# an amount as the parser reads it (era.context._NUMBER) with at most 13 digits before the point and
# 6 after: below 10^13, at most 6 decimals
_PLAIN = re.compile(r"-?[0-9]{1,13}(?:\.[0-9]{0,6})?\Z")


@functools.lru_cache(maxsize=16384)
def _amount(text: str) -> Decimal | None:
    """An amount as the parser converts it (era.context._decimal); None also for one with more than 6
    decimals or of 10^13 or more: the balancing sums are added here in another order than the
    parser's, which is the same result only while no sum needs more than Decimal's 28 digits."""
    if _PLAIN.match(text):  # the usual text, within the guard by its shape: no second cache, no checks
        return Decimal(text)
    value = _decimal(text)
    if value is None:
        return None
    return value if value.as_tuple().exponent >= -6 and value.adjusted() < 13 else None


@functools.lru_cache(maxsize=16384)
def _cas(body: str) -> tuple[str, tuple, Decimal] | None:
    """(group, the triplets as Adjustments, their total) of a CAS, None when era.claims._cas or the
    rule CAS amount != 0 would report anything (or it would read no triplet), or for another tag."""
    parts = body.split("*")
    size = len(parts)
    if size < 4 or size > 20 or parts[0] != "CAS":  # no amount, or more than 6 triplets (ERA009)
        return None
    group = parts[1]
    if group not in GROUP_CODES:  # ERA005, ERA010
        return None
    if size == 4 and parts[2] and parts[3]:  # one triplet, no quantity: most CAS, and most are distinct
        amount = _amount(parts[3])
        # the loop's ZERO + amount is amount itself: an amount read here has no exponent above 0
        return (group, (_adjustment(group, parts[2], amount, None),), amount) if amount else None
    made, total = [], ZERO
    for b in range(2, size, 3):
        reason = parts[b]
        text = parts[b + 1] if b + 1 < size else ""
        quantity = parts[b + 2] if b + 2 < size else ""
        if not reason and not text and not quantity:
            continue
        amount = _amount(text) if reason and text else None
        if not amount:  # missing (ERA009), not a number (ERA003) or 0 (ERA104)
            return None
        if quantity:
            quantity = _amount(quantity)
            if quantity is None:
                return None
        else:
            quantity = None
        made.append(_adjustment(group, reason, amount, quantity))
        total += amount
    return (group, tuple(made), total) if made else None


@functools.lru_cache(maxsize=4096)
def _dtm(body: str) -> tuple[str, object] | None:
    """(DTM01, the date or None when empty) of a DTM; None when the date is not valid (ERA004), or for
    another tag."""
    parts = body.split("*")
    if parts[0] != "DTM":
        return None
    qualifier = parts[1] if len(parts) > 1 else ""
    text = parts[2] if len(parts) > 2 else ""
    day = _d8(text)
    if day is None and text.strip():
        return None
    return qualifier, day


@functools.lru_cache(maxsize=8192)
def _amount_ok(body: str) -> bool:
    """Whether an AMT or QTY reads without a finding (its 02 empty or a number); False for another tag."""
    parts = body.split("*")
    if parts[0] != "AMT" and parts[0] != "QTY":
        return False
    return len(parts) <= 2 or not parts[2] or _amount(parts[2]) is not None


@functools.lru_cache(maxsize=4096)
def _procedure(text: str) -> tuple[tuple[str, ...], str, tuple[str, ...]] | None:
    """SVC01 as (RemitLine.procedure, code, modifiers) as era.claims._procedure and
    from_era._procedure_components make them; None when the parser would report it (ERA006/7)."""
    procedure = _composite(text)
    if procedure is None or len(procedure) < 2 or not procedure[1]:
        return None
    code = procedure[1]
    if len(procedure) == 2:
        return tuple(procedure), code, ()
    modifiers = tuple(m for m in procedure[2:6] if m)
    parts = (procedure[0], code, *modifiers)
    if len(procedure) > 6 and procedure[6]:  # the description, after 4 modifier places
        parts += ("",) * (6 - len(parts)) + (procedure[6],)
    return parts, code, modifiers


def _composite(text: str) -> list[str] | None:
    """SVC01/SVC06 components; None when the parser would split on another separator (ERA006)."""
    if ":" in text:  # era.clean vouched ISA16 is ":"
        return text.split(":")
    if len(text) > 3 and _FOREIGN_SEPARATOR.match(text):
        return None
    return [text]
