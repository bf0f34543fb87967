"""Code lists and the 835 -> 837P COB mapping, read from the data files in mappings/.

Our lists (group codes, claim status CLP02, CARC, RARC, SBR09, SBR05, SBR02, PLB03-1) are short and
written in our own words; the official CARC/RARC tables are X12's licensed material, so a user who
has them supplies them as CSV (`load_user_codes(path)` or the directory in COBPIPE_CODES_DIR) and
they override ours code by code. Nothing here mutates shared state: a `CodeBook` is immutable and
`with_user_codes` returns a new one.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from edi.errors import CobpipeError

CODES_DIR_ENV = "COBPIPE_CODES_DIR"

#: list name -> file in mappings/
LIST_FILES = {
    "group": "group_codes.csv",
    "claim_status": "claim_status.csv",
    "carc": "carc.csv",
    "rarc": "rarc.csv",
    "claim_filing_indicator": "claim_filing_indicator.csv",
    "insurance_type": "insurance_type.csv",
    "relationship": "relationship.csv",
    "plb_reason": "plb_reasons.csv",
    "payment_method": "payment_method.csv",
    "handling": "handling.csv",
    "id_qualifier": "id_qualifier.csv",
}
#: the lists a user may replace or extend with a full CSV of their own
USER_LISTS = ("carc", "rarc")
MAPPING_FILE = "cob_835_to_837p.xml"
PAYERS_FILE = "payers.csv"

_RARC_SHAPE = re.compile(r"(?:M|MA|N)\d+\Z")
_BOOL = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False, "false": False, "0": False}


class CodeListError(CobpipeError):
    """A code list, mapping or payer file that cannot be used, with the file and line."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(f"{path}{f' line {line}' if line else ''}: {message}")


# --- code lists ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Code:
    """One code with our (or the user's) description; `extra` holds any further columns."""

    code: str
    description: str
    start_date: dt.date | None = None
    stop_date: dt.date | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def active_on(self, day: dt.date) -> bool:
        """Whether the code was in force on `day` (stop-dated CARCs stay valid on secondary claims)."""
        return (self.start_date is None or self.start_date <= day) and (
            self.stop_date is None or day < self.stop_date)


class CodeList:
    """An immutable code -> Code table; `describe` never fails ("unknown code X")."""

    __slots__ = ("name", "_codes")

    def __init__(self, name: str, codes: Iterable[Code]) -> None:
        self.name = name
        self._codes: Mapping[str, Code] = MappingProxyType({c.code: c for c in codes})

    def get(self, code: str) -> Code | None:
        return self._codes.get(code.strip())

    def describe(self, code: str) -> str:
        found = self.get(code)
        return found.description if found else f"unknown code {code}"

    def updated(self, other: Iterable[Code]) -> "CodeList":
        """A new list where the codes of `other` replace ours and add to them."""
        merged = dict(self._codes)
        merged.update((c.code, c) for c in other)
        return CodeList(self.name, merged.values())

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code.strip() in self._codes

    def __iter__(self) -> Iterator[Code]:
        return iter(self._codes.values())

    def __len__(self) -> int:
        return len(self._codes)

    def __repr__(self) -> str:
        return f"CodeList({self.name!r}, {len(self)} codes)"


@dataclass(frozen=True, slots=True)
class ClaimStatus:
    """CLP02 with what it means for COB (mappings/claim_status.csv)."""

    code: str
    description: str
    word: str
    payer_level: str | None  # P, S or T: the payer's level when it adjudicated, where CLP02 says it
    crossover: bool
    reversal: bool
    denial: bool
    cob_input: bool  # can drive a secondary claim as it stands
    notes: str = ""

    @classmethod
    def from_code(cls, code: Code) -> "ClaimStatus":
        x = code.extra
        return cls(code.code, code.description, x["word"], x["payer_level"] or None,
                   _flag(x["crossover"]), _flag(x["reversal"]), _flag(x["denial"]), _flag(x["cob_input"]),
                   x.get("notes", ""))


def _flag(text: str) -> bool:
    try:
        return _BOOL[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not yes or no") from None


class CodeBook:
    """Every code list cobpipe knows; build with `default_codebook()` and `with_user_codes(path)`."""

    __slots__ = ("_lists", "_statuses")

    def __init__(self, lists: Mapping[str, CodeList]) -> None:
        self._lists = MappingProxyType(dict(lists))
        self._statuses = MappingProxyType({c.code: ClaimStatus.from_code(c) for c in lists["claim_status"]})

    def list(self, name: str) -> CodeList:
        try:
            return self._lists[name]
        except KeyError:
            raise KeyError(f"no code list {name!r}; known: {', '.join(self._lists)}") from None

    def describe(self, name: str, code: str) -> str:
        return self.list(name).describe(code)

    @property
    def carc(self) -> CodeList:
        return self._lists["carc"]

    @property
    def rarc(self) -> CodeList:
        return self._lists["rarc"]

    @property
    def group(self) -> CodeList:
        return self._lists["group"]

    def claim_status(self, code: str) -> ClaimStatus | None:
        return self._statuses.get(code.strip())

    @property
    def claim_statuses(self) -> Mapping[str, ClaimStatus]:
        return self._statuses

    def with_user_codes(self, path: str | Path, kind: str | None = None) -> "CodeBook":
        """A new book where a user's CARC/RARC CSV (code,description[,start_date,stop_date]) overrides ours.

        `kind` is "carc" or "rarc"; without it the file name decides (carc/reason, rarc/remark) and
        otherwise each code's shape does (M12, MA04, N130 are remark codes).
        """
        codes = read_user_codes(path)
        by_list: dict[str, list[Code]] = {"carc": [], "rarc": []}
        if kind is None:
            kind = _kind_from_name(Path(path).name)
        if kind is not None and kind not in USER_LISTS:
            raise CodeListError(str(path), f"user code lists are {' or '.join(USER_LISTS)}, not {kind!r}")
        for code in codes:
            by_list[kind or ("rarc" if _RARC_SHAPE.match(code.code) else "carc")].append(code)
        lists = dict(self._lists)
        for name, extra in by_list.items():
            if extra:
                lists[name] = lists[name].updated(extra)
        return CodeBook(lists)


def _kind_from_name(name: str) -> str | None:
    lower = name.lower()
    if "rarc" in lower or "remark" in lower:
        return "rarc"
    if "carc" in lower or "reason" in lower:
        return "carc"
    return None


def _open_data(name: str) -> tuple[str, str]:
    """Text and display path of a file shipped in mappings/."""
    ref = resources.files("mappings").joinpath(name)
    try:
        return ref.read_text(encoding="utf-8"), f"mappings/{name}"
    except OSError as exc:
        raise CodeListError(f"mappings/{name}", f"cannot read: {exc.strerror or exc}") from exc


def _read_our_list(name: str) -> CodeList:
    filename = LIST_FILES[name]
    text, shown = _open_data(filename)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or rows[0][:2] != ["code", "description"]:
        raise CodeListError(shown, "the header must start with code,description", 1)
    header = rows[0]
    codes = []
    seen: set[str] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise CodeListError(shown, f"{len(row)} columns, the header has {len(header)}", number)
        values = dict(zip(header, (cell.strip() for cell in row)))
        code = values.pop("code")
        if not code or code in seen:
            raise CodeListError(shown, f"empty or repeated code {code!r}", number)
        seen.add(code)
        description = values.pop("description")
        try:
            start = _parse_date(values.pop("start_date", ""))
            stop = _parse_date(values.pop("stop_date", ""))
        except ValueError as exc:
            raise CodeListError(shown, str(exc), number) from None
        codes.append(Code(code, description, start, stop, MappingProxyType(values)))
    result = CodeList(name, codes)
    if name == "claim_status":
        try:
            for code in result:
                ClaimStatus.from_code(code)
        except (KeyError, ValueError) as exc:
            raise CodeListError(shown, f"claim status flags: {exc}") from None
    return result


def _parse_date(text: str) -> dt.date | None:
    """YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY (as published code lists write them); blank is None."""
    text = text.strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY)")


#: what a CARC (45, A1, B23, P12, W1) or RARC (M12, MA04, N130) looks like
_USER_CODE_SHAPE = re.compile(r"[A-Za-z]{0,2}[0-9]{1,4}")

_HEADER_WORDS = {
    "code": ("code",),
    "description": ("desc", "text", "meaning"),
    "start_date": ("start", "effective", "begin"),
    "stop_date": ("stop", "deactiv", "end", "expir"),
}


def read_user_codes(path: str | Path) -> list[Code]:
    """A user's code CSV: code,description[,start_date,stop_date], with or without a header row.

    A header is recognized by its names (Code, Description, Start/Effective, Stop/Deactivation...),
    so the table as published can be used without editing.
    """
    shown = str(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as exc:
        raise CodeListError(shown, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise CodeListError(shown, f"cannot read: {exc.strerror or exc}") from None
    except csv.Error as exc:
        raise CodeListError(shown, f"not a CSV file: {exc}") from None
    columns = {"code": 0, "description": 1, "start_date": 2, "stop_date": 3}
    first = 0
    if rows and rows[0] and rows[0][0].strip().lower().startswith("code"):
        header = [cell.strip().lower() for cell in rows[0]]
        columns = {}
        for key, words in _HEADER_WORDS.items():
            for index, name in enumerate(header):
                if index not in columns.values() and any(w in name for w in words):
                    columns[key] = index
                    break
        if "description" not in columns:
            raise CodeListError(shown, "the header has no description column", 1)
        first = 1
    codes: list[Code] = []
    for number, row in enumerate(rows[first:], start=first + 1):
        if not any(cell.strip() for cell in row):
            continue

        def cell(key: str) -> str:
            index = columns.get(key)
            return row[index].strip() if index is not None and index < len(row) else ""

        code, description = cell("code"), cell("description")
        if not code or not description:
            raise CodeListError(shown, "each row needs a code and a description", number)
        if not _USER_CODE_SHAPE.fullmatch(code):
            if not first and not codes:  # most often a header we cannot read (e.g. reason,text)
                raise CodeListError(shown, f"the first row {','.join(c.strip() for c in row)!r} is neither a "
                                    "header (Code,Description[,Start Date,Stop Date]) nor a code", number)
            raise CodeListError(shown, f"{code!r} is not a CARC or RARC code", number)
        try:
            start, stop = _parse_date(cell("start_date")), _parse_date(cell("stop_date"))
        except ValueError as exc:
            raise CodeListError(shown, str(exc), number) from None
        codes.append(Code(code, description, start, stop))
    if not codes:
        raise CodeListError(shown, "no codes in the file")
    return codes


@lru_cache(maxsize=1)
def _our_codebook() -> CodeBook:
    return CodeBook({name: _read_our_list(name) for name in LIST_FILES})


@lru_cache(maxsize=8)
def _codebook_for_dir(directory: str) -> CodeBook:
    book = _our_codebook()
    folder = Path(directory)
    if not folder.is_dir():
        raise CodeListError(directory, f"{CODES_DIR_ENV} is not a directory")
    for name in USER_LISTS:
        candidate = folder / f"{name}.csv"
        if candidate.is_file():
            book = book.with_user_codes(candidate, name)
    return book


def default_codebook() -> CodeBook:
    """Our lists, overridden by carc.csv / rarc.csv in the directory named by COBPIPE_CODES_DIR."""
    directory = os.environ.get(CODES_DIR_ENV, "").strip()
    return _codebook_for_dir(directory) if directory else _our_codebook()


def load_user_codes(path: str | Path, kind: str | None = None, base: CodeBook | None = None) -> CodeBook:
    """`base` (default: `default_codebook()`) with a user's full CARC or RARC list laid over it."""
    return (base or default_codebook()).with_user_codes(path, kind)


def describe(name: str, code: str) -> str:
    """Our words for `code` in list `name` (e.g. describe("carc", "45")); "unknown code X" otherwise."""
    return default_codebook().describe(name, code)


def claim_status(code: str) -> ClaimStatus | None:
    return default_codebook().claim_status(code)


# --- the COB mapping -------------------------------------------------------------------------

MAPPING_ACTIONS = ("match", "copy", "verbatim", "derive", "drop", "skip")
_PATH = re.compile(r"(?P<loop>HEADER|SUMMARY|[0-9]{4}[A-Z]{0,2})/(?P<segment>[A-Z][A-Z0-9]{1,2})"
                   r"(?:\[(?P<qualifier>[A-Z0-9*]+)\])?/(?P<element>\*|\d{2}(?:-\d{1,2})?)\Z")
_WHEN = re.compile(r"lines|no-lines|split|2100-NM1\*PR|CLP\d{2}=[0-9A-Z]+(?:,[0-9A-Z]+)*\Z")


@dataclass(frozen=True, slots=True)
class MappingPath:
    """loop/SEG[qualifier]/element, e.g. 2320/AMT[D]/02 or 2110/SVC/01-2 or 2100/CAS/* (whole segment).

    For a segment with a qualifier, it is the first element's value (AMT01, REF01, DTP01, NM101, CAS01).
    """

    loop: str
    segment: str
    qualifier: str | None
    element: int | None  # None: the whole segment
    component: int | None = None

    @classmethod
    def parse(cls, text: str) -> "MappingPath":
        match = _PATH.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a mapping path (loop/SEG[qualifier]/NN)")
        element = match["element"]
        number, _, component = element.partition("-")
        return cls(match["loop"], match["segment"], match["qualifier"],
                   None if element == "*" else int(number), int(component) if component else None)

    def __str__(self) -> str:
        qualifier = f"[{self.qualifier}]" if self.qualifier else ""
        element = "*" if self.element is None else f"{self.element:02d}"
        if self.component:
            element += f"-{self.component}"
        return f"{self.loop}/{self.segment}{qualifier}/{element}"


@dataclass(frozen=True, slots=True)
class MappingRow:
    """One row of mappings/cob_835_to_837p.xml.

    `source` and `target` are path strings ("2100/CLP/04", "2320/AMT[D]/02"; target "" for drop and
    skip); `source_doc` says whether the source is the 835 or the original 837P claim.
    """

    id: str
    action: str
    source_doc: str
    source: str
    target: str
    rule: str
    when: str = ""
    value: str | None = None
    refs: tuple[str, ...] = ()

    @property
    def source_path(self) -> MappingPath:
        return MappingPath.parse(self.source)

    @property
    def target_path(self) -> MappingPath | None:
        return MappingPath.parse(self.target) if self.target else None


@lru_cache(maxsize=1)
def cob_mapping_rows() -> tuple[MappingRow, ...]:
    """The 835 -> 837P COB mapping, row by row, as mappings/cob_835_to_837p.xml states it."""
    text, shown = _open_data(MAPPING_FILE)
    return parse_mapping(text.encode("utf-8"), shown)


def parse_mapping(data: bytes, shown: str = "<mapping>") -> tuple[MappingRow, ...]:
    """Rows of a COB mapping XML document; every row is checked (ids, actions, paths, conditions)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise CodeListError(shown, f"not well-formed XML: {exc.msg}", exc.lineno) from None
    if root.tag != "cob-mapping":
        raise CodeListError(shown, f"the root element must be cob-mapping, not {root.tag}", root.sourceline)
    rows: list[MappingRow] = []
    seen: set[str] = set()
    for node in root.iterchildren("row"):
        line = node.sourceline

        def child(tag: str, required: bool = True) -> str:
            found = node.find(tag)
            value = (found.text or "").strip() if found is not None else ""
            if required and not value:
                raise CodeListError(shown, f"row {node.get('id')!r} has no <{tag}>", line)
            return " ".join(value.split())

        row_id, action = (node.get("id") or "").strip(), (node.get("action") or "").strip()
        if not row_id or row_id in seen:
            raise CodeListError(shown, f"row id {row_id!r} is empty or repeated", line)
        seen.add(row_id)
        if action not in MAPPING_ACTIONS:
            raise CodeListError(shown, f"row {row_id!r}: action {action!r} is not one of "
                                f"{', '.join(MAPPING_ACTIONS)}", line)
        source_node = node.find("source")
        source_doc = source_node.get("doc", "835") if source_node is not None else "835"
        if source_doc not in ("835", "837"):
            raise CodeListError(shown, f"row {row_id!r}: source doc must be 835 or 837", line)
        source, target = child("source"), child("target", required=False)
        when = (node.get("when") or "").strip()
        try:
            MappingPath.parse(source)
            if target:
                MappingPath.parse(target)
        except ValueError as exc:
            raise CodeListError(shown, f"row {row_id!r}: {exc}", line) from None
        if (action in ("drop", "skip")) == bool(target):
            raise CodeListError(shown, f"row {row_id!r}: a {action} row "
                                f"{'has no' if action in ('drop', 'skip') else 'needs a'} target", line)
        if when and not _WHEN.match(when):
            raise CodeListError(shown, f"row {row_id!r}: condition {when!r} is not understood", line)
        refs = tuple(" ".join((r.text or "").split()) for r in node.iterchildren("ref") if (r.text or "").strip())
        rows.append(MappingRow(row_id, action, source_doc, source, target, child("rule"), when,
                               node.get("value"), refs))
    if not rows:
        raise CodeListError(shown, "no <row> elements")
    return tuple(rows)


# --- per-payer settings ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayerSettings:
    """How one destination payer wants secondary claims (mappings/payers.csv)."""

    payer_id: str
    name: str
    accepts_electronic_secondary: bool = True
    eaf_level: str = "line"  # "claim" or "line": where AMT*EAF goes when the claim has lines
    notes: str = ""


def load_payer_settings(path: str | Path | None = None) -> dict[str, PayerSettings]:
    """Payer id -> settings from a payers CSV (default: the placeholder mappings/payers.csv); the
    payer list itself (with its aliases) is cobpipe.payers.PayerList, which reads and checks it."""
    from .payers import PayerList

    return {p.payer_id: PayerSettings(p.payer_id, p.name, p.accepts_electronic_secondary, p.eaf_level, p.notes)
            for p in PayerList.load(path).payers}
