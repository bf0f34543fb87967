"""Claim status category and status codes of a 277CA STC01, in words (our own wording).

The list in mappings/claim_status_category.csv holds the categories A0-A8 and E0-E4 (with whether
each means the front end accepted or rejected the claim) and a few common status codes; a code not
listed is named by its number.
"""
from __future__ import annotations

import csv
import functools
import io
from importlib import resources

ACCEPTED, REJECTED = "accepted", "rejected"


@functools.lru_cache(maxsize=1)
def _table() -> dict[tuple[str, str], tuple[str, str]]:
    text = resources.files("mappings").joinpath("claim_status_category.csv").read_text(encoding="utf-8")
    return {(row["kind"], row["code"]): (row["outcome"], row["description"])
            for row in csv.DictReader(io.StringIO(text))}


def category_outcome(category: str) -> str | None:
    """'accepted', 'rejected' or None (a category we do not know: treated as not a rejection)."""
    outcome = _table().get(("category", category.strip().upper()))
    return (outcome[0] or None) if outcome else None


def category_words(category: str) -> str:
    found = _table().get(("category", category.strip().upper()))
    return found[1] if found else f"claim status category {category}"


def status_words(code: str) -> str:
    found = _table().get(("status", code.strip()))
    return found[1] if found else f"status code {code}"


def describe(category: str, status: str = "", entity: str = "") -> str:
    """'A7 rejected for invalid information: 562 the entity's National Provider Identifier (NPI)'."""
    words = f"{category} {category_words(category)}"
    if status:
        words += f": {status} {status_words(status)}"
    if entity:
        words += f" (entity {entity})"
    return words
