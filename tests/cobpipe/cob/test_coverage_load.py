"""CoverageTable.load reads a file as the loader it replaced did (csv.DictReader, a dict a row, the
frozen Coverage made by keywords): the same coverages or the same refusal, on files made of the
documented columns in spreadsheet spellings, repeated headers, short and long rows, blank lines,
codes good and bad, and other field separators (hypothesis)."""
from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cobpipe.cob import coverage as module
from cobpipe.cob.coverage import Coverage, CoverageFileError, CoverageTable


def reference_load(path: Path) -> tuple[dict, dict]:
    """The loader as it was (the reference): DictReader rows, each value asked of the row by name."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.DictReader(stream, delimiter=module._delimiter(stream))
            if not reader.fieldnames:
                raise CoverageFileError(path, None, "empty coverage file (a header row is required)")
            fields = {module._column(name) for name in reader.fieldnames if name}
            missing = {"payer_name", "payer_id", "member_id"} - fields
            if missing:
                raise CoverageFileError(path, None, f"missing columns: {', '.join(sorted(missing))}")
            if not fields & {"claim_id", "primary_member_id"}:
                raise CoverageFileError(path, None, "needs a claim_id or primary_member_id column")
            by_claim, by_member = {}, {}
            columns = {name: module._column(name or "") for name in reader.fieldnames}
            for number, raw in enumerate(reader, start=2):
                if None in raw:
                    raise CoverageFileError(path, number, f"{len(reader.fieldnames) + len(raw[None])} fields, "
                                            f"the header has {len(reader.fieldnames)}")
                row = {columns[k]: (v or "").strip() for k, v in raw.items()}
                coverage = _reference_row(path, number, row)
                if row.get("claim_id"):
                    by_claim[row["claim_id"]] = coverage
                if row.get("primary_member_id"):
                    by_member[row["primary_member_id"]] = coverage
                if not row.get("claim_id") and not row.get("primary_member_id"):
                    raise CoverageFileError(path, number, "neither claim_id nor primary_member_id given")
    except OSError as exc:
        raise CoverageFileError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CoverageFileError(path, None, f"not a UTF-8 CSV file ({type(exc).__name__})") from exc
    return by_claim, by_member


def _reference_row(path: Path, number: int, row: dict[str, str]) -> Coverage:
    def value(name: str, default: str = "") -> str:
        return row.get(name) or default

    for required in ("payer_name", "payer_id", "member_id"):
        if not value(required):
            raise CoverageFileError(path, number, f"{required} is empty")
    relationship = value("relationship", "18").zfill(2) if value("relationship", "18").isdigit() else value(
        "relationship")
    if relationship not in module.RELATIONSHIP_CODES:
        raise CoverageFileError(path, number, f"relationship {relationship!r} is not an SBR02 code")
    if relationship != "18" and not value("subscriber_last_name"):
        raise CoverageFileError(path, number, "subscriber_last_name is required when relationship is not 18")
    qualifier = value("payer_id_qualifier", "PI").upper()
    if qualifier not in ("PI", "XV"):
        raise CoverageFileError(path, number, f"payer_id_qualifier {qualifier!r} must be PI or XV")
    member_qualifier = value("member_id_qualifier", "MI").upper()
    if member_qualifier not in ("MI", "II"):
        raise CoverageFileError(path, number, f"member_id_qualifier {member_qualifier!r} must be MI or II")
    filing = value("filing_indicator", "CI").upper()
    if filing not in module.SBR09_CODES:
        raise CoverageFileError(path, number, f"filing_indicator {filing!r} is not an SBR09 code")
    insurance_type = value("insurance_type")
    if insurance_type and insurance_type not in module.SBR05_CODES:
        raise CoverageFileError(path, number, f"insurance_type {insurance_type!r} is not an SBR05 code")
    level = value("payer_level", "S").upper()
    if level not in ("S", "T"):
        raise CoverageFileError(path, number, f"payer_level {level!r} must be S or T")
    return Coverage(
        payer_name=value("payer_name"), payer_id=value("payer_id"), member_id=value("member_id"),
        payer_id_qualifier=qualifier, member_id_qualifier=member_qualifier,
        subscriber_last_name=value("subscriber_last_name"), subscriber_first_name=value("subscriber_first_name"),
        subscriber_middle_name=value("subscriber_middle_name"), relationship=relationship,
        group_number=value("group_number"), group_name=value("group_name"), filing_indicator=filing,
        insurance_type=insurance_type, payer_level=level, source=f"{path.name} row {number}",
    )


COLUMNS = ["claim_id", "primary_member_id", "payer_name", "payer_id", "payer_id_qualifier", "member_id",
           "member_id_qualifier", "subscriber_last_name", "subscriber_first_name", "subscriber_middle_name",
           "relationship", "group_number", "group_name", "filing_indicator", "insurance_type", "payer_level", "notes"]
# values that pass and fail the columns' checks, blanks, padding, case
VALUES = ["", " ", "C1", "C2", "c1", "M1", " M1 ", "ACME", "18", "1", "01", "19", "X", "pi", "XV", "ZZ", "MI", "ii",
          "CI", "hm", "12", "99", "S", "t", "Q", "²"]

# values each column takes when it is good (most rows load)
GOOD = {"claim_id": ["C1", "C2", "c1", " C3 ", ""], "primary_member_id": ["M1", " M1 ", ""], "payer_name": ["ACME"],
        "payer_id": ["9", "99902"], "payer_id_qualifier": ["", "PI", "xv"], "member_id": ["S1", "S2"],
        "member_id_qualifier": ["", "MI", "ii"], "subscriber_last_name": ["DOE", "DOE", ""], "relationship": ["", "18",
        "18", "1", "19", "01"], "group_number": ["", "G1"], "group_name": ["", "GROUP"], "filing_indicator": ["", "CI", "hm", "12"],
        "insurance_type": ["", "12", "41"], "payer_level": ["", "S", "t"]}


def spelling(column: str) -> st.SearchStrategy[str]:
    title = column.replace("_", " ").title()
    return st.sampled_from([column, column.upper(), title, column.replace("_", "-"), f" {column} "])


header_names = st.lists(st.sampled_from(COLUMNS).flatmap(spelling) | st.just(""), min_size=0, max_size=14)


@st.composite
def coverage_files(draw) -> tuple[str, str]:
    separator = draw(st.sampled_from([",", ";", "\t", "|"]))
    required = ["payer_name", "payer_id", "member_id", draw(st.sampled_from(["claim_id", "primary_member_id"]))]
    header = draw(header_names)
    if draw(st.integers(0, 4)) < 4:  # usually a usable header: the rows are what is compared then
        header = draw(st.permutations(header + required))
    lines = [separator.join(header)]
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 9)) == 0:
            lines.append("")  # a blank line
            continue
        width = len(header) + draw(st.sampled_from([0, 0, 0, 0, -1, -3, 1]))
        cells = [draw(st.sampled_from(VALUES) if draw(st.integers(0, 24)) == 0 else
                      st.sampled_from(GOOD.get(module._column(name), VALUES))) for name in (header + ["x"])[:width]]
        lines.append(separator.join(cells + [draw(st.sampled_from(VALUES)) for _ in range(width - len(cells))]))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"])), draw(st.sampled_from(["utf-8", "utf-8-sig"]))


def outcome(load, path: Path):
    try:
        return load(path)
    except CoverageFileError as exc:
        return str(exc)


@settings(max_examples=400, deadline=None)
@given(coverage_files())
def test_a_file_loads_as_the_reference_loader_read_it(made):
    text, encoding = made
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "coverage.csv"
        path.write_text(text, encoding=encoding, newline="")
        expected = outcome(reference_load, path)
        got = outcome(lambda p: (lambda t: (t.by_claim, t.by_member))(CoverageTable.load(p)), path)
    assert got == expected
    if not isinstance(got, str):
        for table in got:
            for found in table.values():
                assert type(found) is Coverage and hash(found) == hash(Coverage(**{
                    name: getattr(found, name) for name in Coverage.__slots__}))


def test_repeated_headers_short_rows_and_blank_lines():
    """The later of two headers naming one column is read; a short row's missing cells are empty; a
    blank line is no row and takes no row number."""
    header = "Claim ID,payer name,PAYER-ID,member_id,claim_id"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "coverage.csv"
        path.write_text(f"{header}\nC1,ACME,9,M1,C2\n", encoding="utf-8")
        table = CoverageTable.load(path)
        assert list(table.by_claim) == ["C2"] and table.by_claim["C2"].source == "coverage.csv row 2"
        assert (table.by_claim, table.by_member) == reference_load(path)
        path.write_text(f"{header}\nC1,ACME,9,M1,C2\n\nC3,ACME,9,M1\n", encoding="utf-8")
        assert outcome(CoverageTable.load, path) == outcome(reference_load, path) == (
            f"{path} row 3: neither claim_id nor primary_member_id given")
