"""Instances of frozen slotted dataclasses made without their `__init__`, for the mapper's hot paths.

A frozen dataclass's generated `__init__` sets each field through `object.__setattr__`; the mapper
makes an `Adjustment` per CAS triplet and a `RemittedLine` / `BilledLine` per service line of every
claim. `maker(cls)` answers a function taking every field positionally, in declaration order, that
sets the slots directly: the same object `cls(...)` makes (equal, same hash), for classes with no
`__post_init__` (refused) and every field given.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any


def maker(cls: type) -> Callable[..., Any]:
    if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__ or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: a slotted dataclass without __post_init__ is needed")
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    setters = [cls.__dict__[name].__set__ for name in names]
    new = object.__new__
    namespace: dict[str, Any] = {"new": new, "cls": cls, **{f"set_{i}": s for i, s in enumerate(setters)}}
    args = ", ".join(names)
    body = "\n".join(f"    set_{i}(obj, {name})" for i, name in enumerate(names))
    exec(f"def make({args}):\n    obj = new(cls)\n{body}\n    return obj\n", namespace)  # noqa: S102 - field names only
    make = namespace["make"]
    make.__doc__ = f"{cls.__name__}({args}) without its __init__"
    return make
