"""format_amount's Decimal path (str() of the digits, format 'f' only for exponent notation) held to
the general one: format 'f' with needless zeros stripped, 0 for any zero; refusals unchanged."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edi.writer import format_amount


def reference(value: Decimal) -> str:
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


decimals = st.builds(lambda sign, digits, exponent: Decimal((sign, tuple(digits), exponent)),
                     st.integers(0, 1), st.lists(st.integers(0, 9), min_size=1, max_size=12),
                     st.integers(-12, 6))


@given(st.one_of(decimals, st.decimals(allow_nan=False, allow_infinity=False)))
def test_any_finite_decimal_writes_as_the_general_path(value):
    assert format_amount(value) == reference(value)


@given(st.integers(-10**12, 10**12))
def test_ints_write_as_before(value):
    assert format_amount(value) == reference(Decimal(value))


@pytest.mark.parametrize("value, text", [
    ("156.40", "156.4"), ("156.00", "156"), ("100", "100"), ("1E+1", "10"), ("1E-7", "0.0000001"),
    ("-0.00", "0"), ("0E+2", "0"), ("-2.50", "-2.5"), ("0.25", "0.25"), ("123456789.10", "123456789.1")])
def test_examples(value, text):
    assert format_amount(Decimal(value)) == text


@pytest.mark.parametrize("value, error", [(10.5, TypeError), ("10", TypeError), (Decimal("NaN"), ValueError),
                                          (Decimal("sNaN"), ValueError), (Decimal("-Infinity"), ValueError)])
def test_refusals(value, error):
    with pytest.raises(error):
        format_amount(value)
