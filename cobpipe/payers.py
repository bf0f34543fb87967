"""The payer list, as a billing office keeps it, and payer identity across 835s and 837Ps.

A payer appears under different ids in different places: the 837's 2010BB NM109 is usually the
clearinghouse's payer id, the 835 names its payer by N1*PR N104 (often an XV plan id or a tax id),
REF*2U and TRN03 (1 + the payer's EIN). Billing systems keep one row per payer with its aliases;
so does `mappings/payers.csv` (or a user file given with `--payers`):

    payer_id,name,accepts_electronic_secondary,eaf_level,notes,aliases
    22222,Blue Star Insurance,yes,line,,BSI01|1234567890|Blue Star Ins Co

`aliases` lists other ids and names, separated by `|` (or `;`). Names are compared normalised
(case, punctuation, "&", and corporate suffixes such as INC, CO, CORP, LLC do not count).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .codes import CodeListError, _open_data

PAYERS_FILE = "payers.csv"
COLUMNS = ("payer_id", "name", "accepts_electronic_secondary", "eaf_level", "notes")
OPTIONAL_COLUMNS = ("aliases",)

_SUFFIXES = frozenset({"INC", "INCORPORATED", "CO", "COMPANY", "CORP", "CORPORATION", "LLC", "LTD",
                       "LP", "PC", "PLLC", "THE", "OF"})
_NON_WORD = re.compile(r"[^A-Z0-9]+")


def normalize_name(name: str | None) -> str:
    """'Blue Star Ins. Co., Inc.' and 'BLUE STAR INS' compare equal."""
    words = _NON_WORD.sub(" ", (name or "").upper().replace("&", " AND ")).split()
    return " ".join(w for w in words if w not in _SUFFIXES)


def normalize_id(value: str | None) -> str:
    """Ids compare without case, spaces or hyphens ('12-3456789' = '123456789')."""
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


def id_variants(value: str | None) -> set[str]:
    """The normalised id and, for a TRN03-style '1' + nine-digit EIN, the EIN alone."""
    ident = normalize_id(value)
    if not ident:
        return set()
    variants = {ident}
    if len(ident) == 10 and ident.isdigit() and ident[0] == "1":
        variants.add(ident[1:])
    return variants


@dataclass(frozen=True, slots=True)
class PayerRef:
    """A payer as one document names it: its ids (any qualifier) and its name."""

    ids: tuple[str, ...] = ()
    name: str = ""

    @property
    def empty(self) -> bool:
        return not any(normalize_id(i) for i in self.ids) and not normalize_name(self.name)

    def describe(self) -> str:
        """For reasons and logs: a payer's name and id are not PHI."""
        ident = next((i for i in self.ids if i), "")
        if self.name and ident:
            return f"{self.name} ({ident})"
        return self.name or ident or "an unnamed payer"

    def id_set(self) -> set[str]:
        out: set[str] = set()
        for ident in self.ids:
            out |= id_variants(ident)
        return out


@dataclass(frozen=True, slots=True)
class Payer:
    payer_id: str
    name: str
    accepts_electronic_secondary: bool = True
    eaf_level: str = "line"  # where AMT*EAF goes when the claim has lines: "claim" or "line"
    notes: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(slots=True)
class PayerList:
    payers: list[Payer] = field(default_factory=list)
    source: str = ""
    _by_id: dict[str, int] = field(default_factory=dict)
    _by_name: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for index, payer in enumerate(self.payers):
            for ident in (payer.payer_id, *payer.aliases):
                for variant in id_variants(ident):
                    self._by_id.setdefault(variant, index)
            for name in (payer.name, *payer.aliases):
                key = normalize_name(name)
                if key:
                    self._by_name.setdefault(key, index)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "PayerList":
        """The payer list in `path` (default: mappings/payers.csv). A malformed row stops with
        CodeListError naming the file and line."""
        if path is None:
            text, shown = _open_data(PAYERS_FILE)
        else:
            shown = str(path)
            try:
                text = Path(path).read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                raise CodeListError(shown, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
        return cls(parse_rows(text, shown), shown)

    def find(self, ref: PayerRef) -> Payer | None:
        """The row naming this payer by any id, alias id, name or alias name."""
        found = self._find_by_ids(variant for ident in ref.ids for variant in id_variants(ident))
        if found is not None:
            return found
        key = normalize_name(ref.name)
        if key and key in self._by_name:
            return self.payers[self._by_name[key]]
        return None

    def same(self, a: PayerRef, b: PayerRef) -> bool | None:
        """True when `a` and `b` are one payer, False when they are different payers, None when
        either names no payer at all (nothing to compare)."""
        if a.empty or b.empty:
            return None
        if a.id_set() & b.id_set():
            return True
        known_a, known_b = self.find(a), self.find(b)
        if known_a is not None and known_b is not None:
            return known_a is known_b
        name_a, name_b = normalize_name(a.name), normalize_name(b.name)
        return bool(name_a) and name_a == name_b

    def same_in_837(self, a: PayerRef, b: PayerRef) -> bool | None:
        """`same` for two payers one 837P names (its 2010BB, its 2330Bs, a coverage row's payer):
        their NM109s are ids of one kind, the payer ids the claim's receiver routes by, so two
        different ids are two payers whatever their names (two Blue Cross plans, both "BLUE CROSS
        BLUE SHIELD", ids 11111 and 22222), unless the payer list makes them one row. Names decide
        only where one of them has no id. (An 835 names its payer by other ids: `same` compares
        it by name when its ids match none.)"""
        if a.empty or b.empty:
            return None
        ids_a, ids_b = a.id_set(), b.id_set()
        if not ids_a or not ids_b:
            return self.same(a, b)
        if ids_a & ids_b:
            return True
        known_a, known_b = self._find_by_ids(ids_a), self._find_by_ids(ids_b)
        return known_a is not None and known_a is known_b

    def _find_by_ids(self, ids: Iterable[str]) -> Payer | None:
        """The row of the first of these normalised ids the list has."""
        for variant in ids:
            if variant in self._by_id:
                return self.payers[self._by_id[variant]]
        return None

    def accepts_electronic_secondary(self, ref: PayerRef) -> bool:
        """A payer not on the list is assumed to take electronic secondary claims."""
        payer = self.find(ref)
        return payer.accepts_electronic_secondary if payer is not None else True


def parse_rows(text: str, shown: str) -> list[Payer]:
    rows = list(csv.reader(io.StringIO(text)))
    header = tuple(c.strip().lower() for c in rows[0]) if rows else ()
    if header[:len(COLUMNS)] != COLUMNS or any(c not in OPTIONAL_COLUMNS for c in header[len(COLUMNS):]):
        raise CodeListError(shown, f"the header must be {','.join(COLUMNS)}[,aliases]", 1)
    payers: list[Payer] = []
    seen: set[str] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise CodeListError(shown, f"{len(row)} fields, the header has {len(header)}", number)
        values = dict(zip(header, (cell.strip() for cell in row)))
        payer_id = values.get("payer_id", "")
        if not payer_id or payer_id in seen:
            raise CodeListError(shown, f"empty or repeated payer_id {payer_id!r}", number)
        seen.add(payer_id)
        electronic = (values.get("accepts_electronic_secondary") or "yes").lower()
        if electronic not in ("yes", "no", "y", "n", "true", "false", "1", "0"):
            raise CodeListError(shown, f"accepts_electronic_secondary must be yes or no, not {electronic!r}", number)
        level = values.get("eaf_level") or "line"
        if level not in ("claim", "line"):
            raise CodeListError(shown, f"eaf_level must be claim or line, not {level!r}", number)
        aliases = tuple(a.strip() for a in re.split(r"[|;]", values.get("aliases", "")) if a.strip())
        payers.append(Payer(payer_id, values.get("name", ""), electronic in ("yes", "y", "true", "1"),
                            level, values.get("notes", ""), aliases))
    return payers
