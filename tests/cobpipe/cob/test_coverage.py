"""The coverage CSV as billing offices export it: from the CLI's format to what spreadsheets write."""
from __future__ import annotations

from pathlib import Path

import pytest

from cobpipe.cob.coverage import CoverageConflict, CoverageFileError, CoverageTable

SAMPLE = Path(__file__).resolve().parents[3] / "samples" / "cob" / "coverage.csv"


def rows() -> list[str]:
    return SAMPLE.read_text(encoding="utf-8").splitlines()


def write(tmp_path: Path, lines: list[str], *, encoding: str = "utf-8", newline: str = "\n") -> Path:
    path = tmp_path / "coverage.csv"
    path.write_text(newline.join(lines) + newline, encoding=encoding, newline="")
    return path


def check_sample_rows(table: CoverageTable) -> None:
    by_claim = table.lookup("COVFILE01", "")
    assert by_claim is not None and by_claim.payer_id == "22222" and by_claim.member_id == "SEC1110002"
    by_member = table.lookup("ANYCLAIM", "PRM1110101")
    assert by_member is not None and by_member.payer_id == "44444" and by_member.relationship == "01"


def test_the_bundled_sample_loads():
    check_sample_rows(CoverageTable.load(SAMPLE))


def test_an_excel_export_with_bom_and_crlf_loads(tmp_path):
    check_sample_rows(CoverageTable.load(write(tmp_path, rows(), encoding="utf-8-sig", newline="\r\n")))


def test_spreadsheet_headers_in_title_case_with_spaces_or_hyphens_load(tmp_path):
    header, *data = rows()
    names = header.split(",")
    titled = [(" " + n.replace("_", " ").title() + " ") if i % 2 else n.replace("_", "-").upper()
              for i, n in enumerate(names)]
    check_sample_rows(CoverageTable.load(write(tmp_path, [",".join(titled), *data])))


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_a_spreadsheet_in_another_locale_separates_fields_otherwise(tmp_path, separator):
    lines = [line.replace(",", separator) for line in rows()]
    check_sample_rows(CoverageTable.load(write(tmp_path, lines)))


def test_a_comma_inside_a_semicolon_file_is_data(tmp_path):
    header, first, *rest = (line.replace(",", ";") for line in rows())
    first = first.replace("BLUE STAR INSURANCE", "BLUE STAR, INC")
    table = CoverageTable.load(write(tmp_path, [header, first]))
    assert table.lookup("COVFILE01", "").payer_name == "BLUE STAR, INC"


def test_a_relationship_that_lost_its_leading_zero_in_a_spreadsheet_is_read(tmp_path):
    header, *data = rows()
    table = CoverageTable.load(write(tmp_path, [header, *(line.replace(",01,", ",1,") for line in data)]))
    assert table.lookup("ANYCLAIM", "PRM1110101").relationship == "01"


def test_missing_required_columns_are_named(tmp_path):
    with pytest.raises(CoverageFileError, match="missing columns: member_id, payer_id"):
        CoverageTable.load(write(tmp_path, ["claim_id,payer_name", "X,Y"]))


def test_a_row_longer_than_the_header_is_named_not_a_crash(tmp_path):
    with pytest.raises(CoverageFileError, match="row 3: 5 fields, the header has 4"):
        CoverageTable.load(write(tmp_path, ["claim_id,payer_name,payer_id,member_id", "C1,ACME,1,M1",
                                            "C2,ACME,1,M2,EXTRA"]))


def test_a_row_shorter_than_the_header_reads_the_missing_cells_as_empty(tmp_path):
    with pytest.raises(CoverageFileError, match="row 2: member_id is empty"):
        CoverageTable.load(write(tmp_path, ["claim_id,payer_name,payer_id,member_id", "C1,ACME,1"]))


HEADER = "claim_id,primary_member_id,payer_name,payer_id,member_id,relationship,subscriber_last_name,payer_level"


def test_a_claims_secondary_and_tertiary_rows_are_both_kept(tmp_path):
    """Two rows for one claim_id at levels S and T: each level finds its own (the later row used to
    overwrite the earlier, billing the tertiary as the secondary or dropping it)."""
    table = CoverageTable.load(write(tmp_path, [HEADER, "K1,,BLUE STAR,22222,BS1,18,,S",
                                                "K1,,HARBOR,44444,HB1,18,,T"]))
    assert table.find("K1", "", "S", patient_is_subscriber=True).payer_id == "22222"
    assert table.find("K1", "", "T", patient_is_subscriber=True).payer_id == "44444"
    table = CoverageTable.load(write(tmp_path, [HEADER, "K1,,HARBOR,44444,HB1,18,,T",
                                                "K1,,BLUE STAR,22222,BS1,18,,S"]))
    assert table.find("K1", "", "S", patient_is_subscriber=True).payer_id == "22222"


def test_two_different_rows_for_one_claim_and_level_are_a_conflict_not_a_guess(tmp_path):
    table = CoverageTable.load(write(tmp_path, [HEADER, "K3,,BLUE STAR,22222,BS1,18,,S",
                                                "K3,,HARBOR,44444,HB1,18,,S", "K4,,BLUE STAR,22222,BS1,18,,S",
                                                "K4,,BLUE STAR,22222,BS1,18,,S"]))
    with pytest.raises(CoverageConflict, match=r"2 different rows for claim_id K3 at payer level S \(coverage.csv "
                                                r"row 2, coverage.csv row 3\)"):
        table.find("K3", "", "S", patient_is_subscriber=True)
    assert table.find("K4", "", "S", patient_is_subscriber=True).payer_id == "22222"  # the same row twice


def test_a_subscribers_own_row_found_by_member_id_is_not_a_dependants(tmp_path):
    """Mom's row (relationship 18) under her primary member id is hers: her child's claim shares that
    member id but is not billed with mom as its subscriber; a row for the dependant (19) is used."""
    table = CoverageTable.load(write(tmp_path, [HEADER, ",PRMFAM1,BLUE STAR,22222,SECMOM1,18,,S"]))
    assert table.find("K1", "PRMFAM1", "S", patient_is_subscriber=True).member_id == "SECMOM1"
    with pytest.raises(CoverageConflict, match="the patient is a dependant"):
        table.find("K2", "PRMFAM1", "S", patient_is_subscriber=False)
    table = CoverageTable.load(write(tmp_path, [HEADER, ",PRMFAM1,BLUE STAR,22222,SECMOM1,18,,S",
                                                ",PRMFAM1,BLUE STAR,22222,SECMOM1,19,PARENT,S"]))
    assert table.find("K2", "PRMFAM1", "S", patient_is_subscriber=False).relationship == "19"
    # the primary subscriber's own claim: her own row, not her child's
    assert table.find("K1", "PRMFAM1", "S", patient_is_subscriber=True).relationship == "18"
