"""The next payer's coverage: from the original claim's 2320/2330A/2330B, or from a coverage file.

Coverage file (`--coverage FILE`): CSV with a header row, UTF-8, one row per coverage, matched by
`claim_id` (CLM01) first, else by `primary_member_id` (the member id billed to the primary,
2010BA NM109). Columns:

  claim_id, primary_member_id    at least one of the two
  payer_name, payer_id           the next payer (2010BB NM103 / NM109), required
  payer_id_qualifier             2010BB NM108: PI (default) or XV
  member_id                      the subscriber's id at that payer (2010BA NM109), required
  member_id_qualifier            MI (default) or II
  subscriber_last_name, subscriber_first_name, subscriber_middle_name
                                 required unless relationship is 18 (the patient's own name is used)
  relationship                   patient's relationship to this subscriber (SBR02/PAT01): 18 self (default),
                                 01 spouse, 19 child, 20 employee, 21 unknown, 39, 40, 53, G8
  group_number, group_name       SBR03 / SBR04
  filing_indicator               SBR09 (default CI)
  insurance_type                 SBR05, only when this payer is Medicare and not primary (12-16, 41-43, 47)
  payer_level                    S (default) or T: the SBR01 this coverage is billed at
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from edi.errors import CobpipeError

RELATIONSHIP_CODES = frozenset({"01", "18", "19", "20", "21", "39", "40", "53", "G8"})
SBR05_CODES = frozenset({"12", "13", "14", "15", "16", "41", "42", "43", "47"})
SBR09_CODES = frozenset({"11", "12", "13", "14", "15", "16", "17", "AM", "BL", "CH", "CI", "DS", "FI", "HM",
                         "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ"})


class CoverageFileError(CobpipeError):
    def __init__(self, path: Path, row: int | None, message: str) -> None:
        where = f"{path} row {row}" if row else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class Coverage:
    """A payer that has not yet adjudicated the claim, and the subscriber it covers."""

    payer_name: str
    payer_id: str
    member_id: str
    payer_id_qualifier: str = "PI"
    member_id_qualifier: str = "MI"
    subscriber_last_name: str = ""
    subscriber_first_name: str = ""
    subscriber_middle_name: str = ""
    relationship: str = "18"
    group_number: str = ""
    group_name: str = ""
    filing_indicator: str = "CI"
    insurance_type: str = ""
    payer_level: str = "S"
    source: str = "coverage file"

    @property
    def subscriber_is_patient(self) -> bool:
        return self.relationship == "18"


class CoverageConflict(ValueError):
    """The coverage file cannot say which coverage a claim's next payer is: the claim is not billed."""


class CoverageTable:
    """Coverage rows indexed by claim id and by primary member id, every row in file order;
    `by_claim`/`by_member` answer each key's last row (as a file read row by row into a dict)."""

    def __init__(self, rows_by_claim: dict[str, list[Coverage]], rows_by_member: dict[str, list[Coverage]]) -> None:
        self.rows_by_claim = rows_by_claim
        self.rows_by_member = rows_by_member

    @property
    def by_claim(self) -> dict[str, Coverage]:
        return {key: rows[-1] for key, rows in self.rows_by_claim.items()}

    @property
    def by_member(self) -> dict[str, Coverage]:
        return {key: rows[-1] for key, rows in self.rows_by_member.items()}

    def lookup(self, claim_id: str, primary_member_id: str) -> Coverage | None:
        """The last row for this claim id, else for this primary member id (`find` is what convert asks)."""
        rows = self.rows_by_claim.get(claim_id) or (self.rows_by_member.get(primary_member_id) if primary_member_id
                                                     else None)
        return rows[-1] if rows else None

    def find(self, claim_id: str, primary_member_id: str, level: str, *, patient_is_subscriber: bool) -> Coverage | None:
        """The coverage of the payer at `level` (SBR01 S or T) for this claim: its claim_id's rows,
        else those of its primary member id that describe this patient (a row of relationship 18 is
        the subscriber's own coverage: never a dependant's, whose claims share the subscriber's member
        id; a dependant's row is never the subscriber's). A row at another level only is returned for
        the caller to refuse; CoverageConflict when two different rows fit (a file listing a claim's
        secondary and tertiary payers gives each its payer_level).

        A primary member id is the primary subscriber's, shared by the claims of the dependants that
        subscriber covers: a row of relationship 18 (the patient is this coverage's subscriber) found
        by it describes the subscriber, never a dependant's claim (a 2000C patient), for which only a
        row of another relationship (the dependant under this coverage) or its claim_id's row speaks;
        for the subscriber's own claim, a row of relationship 18 comes before the dependants'."""
        rows = self.rows_by_claim.get(claim_id)
        if rows:
            return _one(rows, level, f"claim_id {claim_id}")
        rows = self.rows_by_member.get(primary_member_id) if primary_member_id else None
        if not rows:
            return None
        if patient_is_subscriber:  # the subscriber's own row first; else the patient as, e.g., a spouse there
            fitting = [c for c in rows if c.subscriber_is_patient] or rows
        else:
            fitting = [c for c in rows if not c.subscriber_is_patient]
        if not fitting:
            raise CoverageConflict(f"the coverage file's rows for the claim's primary member id "
                                   f"({', '.join(c.source for c in rows)}) describe the subscriber's own coverage "
                                   "(relationship 18), but the patient is a dependant: add a row with this "
                                   "claim's claim_id")
        return _one(fitting, level, "the claim's primary member id")

    @classmethod
    def load(cls, path: Path) -> "CoverageTable":
        path = Path(path)
        try:
            with open(path, newline="", encoding="utf-8-sig") as stream:
                reader = csv.reader(stream, delimiter=_delimiter(stream))
                header = next(reader, None)
                if not header:
                    raise CoverageFileError(path, None, "empty coverage file (a header row is required)")
                fields = {_column(name) for name in header if name}
                missing = {"payer_name", "payer_id", "member_id"} - fields
                if missing:
                    raise CoverageFileError(path, None, f"missing columns: {', '.join(sorted(missing))}")
                if not fields & {"claim_id", "primary_member_id"}:
                    raise CoverageFileError(path, None, "needs a claim_id or primary_member_id column")
                rows_by_claim: dict[str, list[Coverage]] = {}
                rows_by_member: dict[str, list[Coverage]] = {}
                positions = _positions(header)
                width = len(header)
                number = 1
                for cells in reader:
                    if not cells:  # a blank line is no row (nor a row number)
                        continue
                    number += 1
                    if len(cells) > width:
                        raise CoverageFileError(path, number, f"{len(cells)} fields, the header has {width}")
                    if len(cells) < width:  # the missing cells read as empty
                        cells += [""] * (width - len(cells))
                    row = {column: cells[at].strip() for column, at in positions}
                    coverage = _coverage_from_row(path, number, row)
                    claim_id, member = row.get("claim_id"), row.get("primary_member_id")
                    if claim_id:
                        rows_by_claim.setdefault(claim_id, []).append(coverage)
                    if member:
                        rows_by_member.setdefault(member, []).append(coverage)
                    if not claim_id and not member:
                        raise CoverageFileError(path, number, "neither claim_id nor primary_member_id given")
        except OSError as exc:
            raise CoverageFileError(path, None, f"cannot read: {exc.strerror or exc}") from exc
        except (UnicodeDecodeError, csv.Error) as exc:
            raise CoverageFileError(path, None, f"not a UTF-8 CSV file ({type(exc).__name__})") from exc
        return cls(rows_by_claim, rows_by_member)


def _positions(header: list[str]) -> list[tuple[str, int]]:
    """(column name, the cell read for it) of a header, as a row read by header name gives them:
    of a header repeated, its last cell; of two headers naming one column ("Payer ID", "payer_id"),
    the one whose header comes later in the order the headers first appear."""
    cell_of = {}
    for at, name in enumerate(header):
        cell_of[name] = at
    columns: dict[str, int] = {}
    for name, at in cell_of.items():
        columns[_column(name)] = at
    return list(columns.items())


def _column(header: str) -> str:
    """A header as the documented column name: spreadsheets export "Payer Name" or "payer-id"."""
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


def _delimiter(stream) -> str:
    """The field separator of the header line: a comma, or what a spreadsheet set to another locale
    writes instead (semicolon, tab, pipe); the stream is left at its start."""
    header = stream.readline()
    stream.seek(0)
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def _coverage_from_row(path: Path, number: int, row: dict[str, str]) -> Coverage:
    get = row.get
    for required in ("payer_name", "payer_id", "member_id"):
        if not get(required):
            raise CoverageFileError(path, number, f"{required} is empty")
    relationship = get("relationship") or "18"
    if relationship.isdigit():
        relationship = relationship.zfill(2)
    if relationship not in RELATIONSHIP_CODES:
        raise CoverageFileError(path, number, f"relationship {relationship!r} is not an SBR02 code")
    last_name = get("subscriber_last_name") or ""
    if relationship != "18" and not last_name:
        raise CoverageFileError(path, number, "subscriber_last_name is required when relationship is not 18")
    qualifier = (get("payer_id_qualifier") or "PI").upper()
    if qualifier not in ("PI", "XV"):
        raise CoverageFileError(path, number, f"payer_id_qualifier {qualifier!r} must be PI or XV")
    member_qualifier = (get("member_id_qualifier") or "MI").upper()
    if member_qualifier not in ("MI", "II"):
        raise CoverageFileError(path, number, f"member_id_qualifier {member_qualifier!r} must be MI or II")
    filing = (get("filing_indicator") or "CI").upper()
    if filing not in SBR09_CODES:
        raise CoverageFileError(path, number, f"filing_indicator {filing!r} is not an SBR09 code")
    insurance_type = get("insurance_type") or ""
    if insurance_type and insurance_type not in SBR05_CODES:
        raise CoverageFileError(path, number, f"insurance_type {insurance_type!r} is not an SBR05 code")
    level = (get("payer_level") or "S").upper()
    if level not in ("S", "T"):
        raise CoverageFileError(path, number, f"payer_level {level!r} must be S or T")
    # Coverage's fields in order, without its frozen __init__'s setattr calls (one a row of the file)
    return _COVERAGE(get("payer_name"), get("payer_id"), get("member_id"), qualifier, member_qualifier, last_name,
                     get("subscriber_first_name") or "", get("subscriber_middle_name") or "", relationship,
                     get("group_number") or "", get("group_name") or "", filing, insurance_type, level,
                     f"{path.name} row {number}")


def _coverage_maker():
    from .from_era import _unfrozen_maker

    return _unfrozen_maker(Coverage)


_COVERAGE = _coverage_maker()


def _one(rows: list[Coverage], level: str, key: str) -> Coverage:
    at_level = [c for c in rows if c.payer_level == level]
    if len(at_level) > 1 and len({_content(c) for c in at_level}) > 1:
        raise CoverageConflict(f"the coverage file has {len(at_level)} different rows for {key} at payer level "
                               f"{level} ({', '.join(c.source for c in at_level)}): cannot tell which payer is next")
    return at_level[0] if at_level else rows[-1]


def _content(coverage: Coverage) -> tuple:
    """A row's coverage, whatever row it was read from."""
    return tuple(getattr(coverage, name) for name in Coverage.__slots__ if name != "source")
