"""Masking of patient and subscriber names and member ids (PHI) for `cobpipe explain`."""
from __future__ import annotations


def mask_name(name: str) -> str:
    """Each word's first letter and three stars: "DOE JOHN" -> "D*** J***"."""
    return " ".join(f"{word[0]}***" for word in name.split())


def mask_id(value: str) -> str:
    """A member id with only its last digits showing: "123456789" -> "****6789"; short ids fully hidden."""
    value = value.strip()
    if not value:
        return ""
    if len(value) >= 8:
        return "****" + value[-4:]
    if len(value) >= 6:
        return "****" + value[-2:]
    return "****"
