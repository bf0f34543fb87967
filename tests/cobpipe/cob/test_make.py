"""cob._make.maker: the same objects as the dataclasses' own __init__ makes, without it."""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cobpipe.cob._make import maker
from cobpipe.cob.cas import Adjustment
from cobpipe.cob.match import BilledLine, RemittedLine

VALUES = st.one_of(st.none(), st.text(max_size=4), st.integers(), st.decimals(allow_nan=False, places=2),
                   st.dates(min_value=dt.date(2000, 1, 1)), st.tuples(st.text(max_size=2)))


@pytest.mark.parametrize("cls", [Adjustment, RemittedLine, BilledLine])
@given(data=st.data())
def test_maker_makes_what_the_class_makes(cls, data):
    fields = [f.name for f in dataclasses.fields(cls)]
    values = [data.draw(VALUES) for _ in fields]
    made, expected = maker(cls)(*values), cls(*values)
    assert type(made) is cls
    assert made == expected and repr(made) == repr(expected)
    assert [getattr(made, name) for name in fields] == values
    try:
        assert hash(made) == hash(expected)
    except TypeError:  # an unhashable value (none drawn today): both refuse alike
        with pytest.raises(TypeError):
            hash(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.__setattr__(fields[0], values[0])


def test_maker_takes_every_field_by_position_only_in_order():
    make = maker(Adjustment)
    assert make("CO", "45", Decimal("1.50"), None) == Adjustment("CO", "45", Decimal("1.50"))
    with pytest.raises(TypeError):
        make("CO", "45", Decimal(1))  # no defaults: every field is given


def test_maker_refuses_what_it_cannot_make_alike():
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            raise ValueError

    for cls in (NoSlots, Checked, int):
        with pytest.raises(TypeError):
            maker(cls)
