"""Code lists, user CARC/RARC overrides, the COB mapping rows and payer settings (cobpipe.codes)."""
from __future__ import annotations

import csv
import datetime as dt
import re
import textwrap
from pathlib import Path

import pytest

from cobpipe import codes
from cobpipe.codes import CodeListError, MappingPath

CORPUS_835 = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "835"
SPEC_CARCS = "1 2 3 16 18 22 23 27 29 45 50 96 97 109 192 197 204 253".split()
SPEC_RARCS = "MA04 MA07 MA18 MA19 N89 MA15 N4 N479 N245".split()


@pytest.fixture(autouse=True)
def no_user_dir(monkeypatch):
    monkeypatch.delenv(codes.CODES_DIR_ENV, raising=False)


def book():
    return codes.default_codebook()


def test_every_list_loads_and_describes_plain_words():
    for name in codes.LIST_FILES:
        listed = book().list(name)
        assert len(listed) > 0
        for code in listed:
            assert code.code == code.code.strip() and code.description, (name, code)


def test_group_codes_are_the_five_cas01_codes():
    assert sorted(c.code for c in book().group) == ["CO", "CR", "OA", "PI", "PR"]
    assert book().group.get("CR").extra["in_835"] == "no"
    assert [c.code for c in book().group if c.extra["bill_patient"] == "yes"] == ["PR"]


def test_claim_status_flags():
    statuses = book().claim_statuses
    assert sorted(statuses, key=int) == ["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"]
    assert [statuses[c].payer_level for c in ("1", "2", "3", "19", "20", "21")] == list("PSTPST")
    assert {c for c, s in statuses.items() if s.crossover} == {"19", "20", "21"}
    assert {c for c, s in statuses.items() if s.reversal} == {"22"}
    assert {c for c, s in statuses.items() if s.denial} == {"4"}
    # crossovers were adjudicated: a next payer can be billed, just not the one named in NM1*TT
    assert {c for c, s in statuses.items() if s.cob_input} == {"1", "2", "3", "4", "19", "20", "21"}
    assert codes.claim_status("4").word == "denied"
    assert codes.claim_status("99") is None


def test_spec_carcs_and_rarcs_are_described():
    for code in SPEC_CARCS:
        assert code in book().carc, code
    for code in SPEC_RARCS:
        assert code in book().rarc, code


def _corpus_codes():
    """CARCs in CAS and RARCs in LQ*HE / MOA / MIA of the public corpus 835s."""
    carcs, rarcs = set(), set()
    for path in sorted(CORPUS_835.glob("*")):
        text = path.read_text(encoding="utf-8-sig")
        element = text[3] if text.startswith("ISA") else text[2]
        for raw in re.split(r"~", text):
            parts = raw.strip().split(element)
            if parts[0] == "CAS":
                carcs.update(p for p in parts[2::3] if p)
            elif parts[0] == "LQ" and len(parts) > 2:
                rarcs.add(parts[2])
            elif parts[0] in ("MOA", "MIA"):
                rarcs.update(p for p in parts[1:] if re.fullmatch(r"(?:M|MA|N)\d+", p))
    return carcs, rarcs


def test_corpus_codes_are_described():
    if not CORPUS_835.is_dir():
        pytest.skip("shared corpus not present")
    carcs, rarcs = _corpus_codes()
    assert carcs and rarcs
    assert sorted(carcs - {c.code for c in book().carc}) == []
    # X999 in one public file is not a remark code at all
    assert sorted(rarcs - {c.code for c in book().rarc}) == ["X999"]


def test_unknown_code_is_described_as_unknown():
    assert codes.describe("carc", "ZZ9") == "unknown code ZZ9"
    assert codes.describe("rarc", "X999") == "unknown code X999"
    assert codes.describe("plb_reason", "L6").startswith("Interest")


def test_sbr_lists_match_the_coverage_file_checks():
    from cobpipe.cob import coverage

    assert {c.code for c in book().list("claim_filing_indicator")} == set(coverage.SBR09_CODES)
    assert {c.code for c in book().list("insurance_type")} == set(coverage.SBR05_CODES)
    assert {c.code for c in book().list("relationship")} == set(coverage.RELATIONSHIP_CODES)


def test_plb_reasons_include_the_common_ones():
    for code in ("WO", "FB", "L6", "72", "CS", "J1", "50", "51", "IR", "CV"):
        assert code in book().list("plb_reason"), code


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_user_codes_override_ours_and_add(tmp_path):
    path = write(tmp_path, "my-carc.csv", """\
        code,description,start_date,stop_date
        45,USER WORDS FOR 45,1995-01-01,
        B99,A CODE WE DO NOT HAVE,20200101,01/01/2024
        """)
    merged = codes.load_user_codes(path)
    assert merged.describe("carc", "45") == "USER WORDS FOR 45"
    assert merged.describe("carc", "B99") == "A CODE WE DO NOT HAVE"
    assert merged.carc.get("B99").stop_date == dt.date(2024, 1, 1)
    assert not merged.carc.get("B99").active_on(dt.date(2024, 1, 1))
    assert merged.carc.get("B99").active_on(dt.date(2023, 12, 31))
    assert merged.describe("carc", "1") == "Deductible"  # ours kept
    assert book().describe("carc", "45") != "USER WORDS FOR 45"  # the default book is untouched


def test_user_codes_without_header_and_split_by_shape(tmp_path):
    path = write(tmp_path, "codes.csv", """\
        45,user 45
        N130,user N130
        MA04,user MA04
        """)
    merged = codes.load_user_codes(path)
    assert merged.describe("carc", "45") == "user 45"
    assert merged.describe("rarc", "N130") == "user N130"
    assert merged.describe("rarc", "MA04") == "user MA04"
    assert "N130" not in merged.carc


def test_user_codes_published_header_names(tmp_path):
    path = write(tmp_path, "remark_codes.csv", """\
        Code,Description,Effective Date,Deactivation Date
        N1,"user, with a comma",01/01/1995,
        """)
    assert codes.load_user_codes(path).describe("rarc", "N1") == "user, with a comma"


@pytest.mark.parametrize("text, message", [
    ("45,ok,1995-13-45,\n", "not a date"),
    ("45,\n", "needs a code and a description"),
    ("", "no codes"),
])
def test_bad_user_codes_are_one_clear_error(tmp_path, text, message):
    path = tmp_path / "carc.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CodeListError, match=message) as info:
        codes.load_user_codes(path)
    assert str(path) in str(info.value)


def test_user_codes_missing_file_is_a_codelist_error(tmp_path):
    with pytest.raises(CodeListError, match="cannot read"):
        codes.load_user_codes(tmp_path / "nope.csv")


def test_codes_dir_environment(tmp_path, monkeypatch):
    write(tmp_path, "carc.csv", "code,description\n45,FROM THE ENV DIR\n")
    write(tmp_path, "rarc.csv", "code,description\nN1,RARC FROM THE ENV DIR\n")
    monkeypatch.setenv(codes.CODES_DIR_ENV, str(tmp_path))
    assert codes.describe("carc", "45") == "FROM THE ENV DIR"
    assert codes.describe("rarc", "N1") == "RARC FROM THE ENV DIR"
    monkeypatch.setenv(codes.CODES_DIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(CodeListError, match="not a directory"):
        codes.default_codebook()


def test_our_csv_files_are_well_formed():
    folder = Path(codes.__file__).resolve().parents[1] / "mappings"
    for name in list(codes.LIST_FILES.values()) + [codes.PAYERS_FILE]:
        with open(folder / name, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert all(len(row) == len(rows[0]) for row in rows), name


# --- COB mapping -------------------------------------------------------------------------


def rows_by_id():
    return {row.id: row for row in codes.cob_mapping_rows()}


def test_mapping_rows_have_ids_paths_and_rules():
    rows = codes.cob_mapping_rows()
    assert len(rows) >= 25
    assert len({r.id for r in rows}) == len(rows)
    for row in rows:
        assert row.action in codes.MAPPING_ACTIONS
        assert str(row.source_path) == row.source
        if row.action in ("drop", "skip"):
            assert row.target == "" and row.target_path is None
        else:
            assert str(row.target_path) == row.target
        assert len(row.rule) > 20 and row.refs


@pytest.mark.parametrize("source, target", [
    ("2100/CLP/01", "2300/CLM/01"),
    ("2100/CLP/04", "2320/AMT[D]/02"),
    ("2100/CAS/*", "2320/CAS/*"),
    ("2110/CAS/*", "2430/CAS/*"),
    ("2110/SVC/03", "2430/SVD/02"),
    ("2110/SVC/01", "2430/SVD/03"),
    ("2110/SVC/05", "2430/SVD/05"),
    ("2100/CLP/07", "2330B/REF[F8]/02"),
    ("HEADER/BPR/16", "2430/DTP[573]/03"),
    ("2100/MOA/*", "2320/MOA/*"),
])
def test_cob_spec_mapping_table_is_covered(source, target):
    assert any(r.source == source and r.target == target for r in codes.cob_mapping_rows())


@pytest.mark.parametrize("source", ["2100/MIA/*", "2110/LQ[HE]/*", "2110/AMT[B6]/*", "SUMMARY/PLB/*"])
def test_dropped_segments(source):
    assert [r.action for r in codes.cob_mapping_rows() if r.source == source] == ["drop"]


def test_skip_rows_follow_the_claim_status_flags():
    def skipped(row_id):
        row = rows_by_id()[row_id]
        assert row.action == "skip" and row.when.startswith("CLP02=")
        return set(row.when.removeprefix("CLP02=").split(","))

    statuses = book().claim_statuses
    assert skipped("reversal-skip") | skipped("not-cob-input-skip") == {
        c for c, s in statuses.items() if not s.cob_input}
    assert skipped("crossover-skip") == {c for c, s in statuses.items() if s.crossover}


def test_verbatim_rows_read_in_analyst_words():
    row = rows_by_id()["CAS2110-2430-CAS"]
    assert "verbatim" in row.rule and "≤6 triplets" in row.rule and "≤5 segments" in row.rule
    assert rows_by_id()["denial-AMT-D-zero"].value == "0"


def test_mapping_path_parse():
    path = MappingPath.parse("2110/SVC/01-2")
    assert (path.loop, path.segment, path.qualifier, path.element, path.component) == ("2110", "SVC", None, 1, 2)
    assert MappingPath.parse("2430/DTP[573]/03").qualifier == "573"
    assert MappingPath.parse("2100/CAS/*").element is None
    for bad in ("CLP04", "2100/CLP/4", "2100/clp/04", "2100/CLP[]/04"):
        with pytest.raises(ValueError):
            MappingPath.parse(bad)


@pytest.mark.parametrize("xml, message", [
    (b"<cob-mapping><row", "not well-formed"),
    (b"<other/>", "root element"),
    (b"<cob-mapping/>", "no <row>"),
    (b'<cob-mapping><row id="a" action="copy"><source>2100/CLP/04</source><target>2320/AMT[D]/02</target>'
     b'<rule>r</rule></row><row id="a" action="copy"><source>2100/CLP/04</source><target>2320/AMT[D]/02</target>'
     b"<rule>r</rule></row></cob-mapping>", "repeated"),
    (b'<cob-mapping><row id="a" action="move"><source>2100/CLP/04</source><target>x</target>'
     b"<rule>r</rule></row></cob-mapping>", "action 'move'"),
    (b'<cob-mapping><row id="a" action="copy"><source>CLP04</source><target>2320/AMT[D]/02</target>'
     b"<rule>r</rule></row></cob-mapping>", "not a mapping path"),
    (b'<cob-mapping><row id="a" action="drop"><source>2100/CLP/04</source><target>2320/AMT[D]/02</target>'
     b"<rule>r</rule></row></cob-mapping>", "has no target"),
    (b'<cob-mapping><row id="a" action="copy" when="sometimes"><source>2100/CLP/04</source>'
     b"<target>2320/AMT[D]/02</target><rule>r</rule></row></cob-mapping>", "condition"),
    (b'<cob-mapping><row id="a" action="copy"><source>2100/CLP/04</source><target>2320/AMT[D]/02</target>'
     b"</row></cob-mapping>", "no <rule>"),
])
def test_bad_mapping_is_rejected_with_where(xml, message):
    with pytest.raises(CodeListError, match=re.escape(message)):
        codes.parse_mapping(xml, "test.xml")


def test_mapping_parser_does_not_expand_entities():
    xml = (b'<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><cob-mapping><row id="a" action="copy">'
           b"<source>2100/CLP/04</source><target>2320/AMT[D]/02</target><rule>&x;</rule></row></cob-mapping>")
    with pytest.raises(CodeListError):
        codes.parse_mapping(xml, "test.xml")


# --- payers ------------------------------------------------------------------------------


def test_payer_settings_placeholder():
    payers = codes.load_payer_settings()
    assert 2 <= len(payers) <= 3
    assert {p.eaf_level for p in payers.values()} <= {"claim", "line"}
    assert any(not p.accepts_electronic_secondary for p in payers.values())


def test_payer_settings_user_file_and_errors(tmp_path):
    good = write(tmp_path, "payers.csv", """\
        payer_id,name,accepts_electronic_secondary,eaf_level,notes
        12345,Plan,no,claim,
        """)
    assert codes.load_payer_settings(good)["12345"].eaf_level == "claim"
    bad = write(tmp_path, "bad.csv", """\
        payer_id,name,accepts_electronic_secondary,eaf_level,notes
        12345,Plan,maybe,claim,
        """)
    with pytest.raises(CodeListError, match="line 2"):
        codes.load_payer_settings(bad)
    level = write(tmp_path, "level.csv", "payer_id,name,accepts_electronic_secondary,eaf_level,notes\n1,P,yes,both,\n")
    with pytest.raises(CodeListError, match="eaf_level"):
        codes.load_payer_settings(level)


@pytest.mark.parametrize("text, line, message", [
    ("reason,text\n45,user 45\n", 1, "neither a header"),  # a header we cannot read: not a code "reason"
    ("\ufeffCARC,Meaning\n45,user 45\n", 1, "neither a header"),
    ("Code,Description\n45,user 45\nsee the note below,x\n", 3, "not a CARC or RARC code"),
])
def test_a_user_code_file_with_a_header_we_cannot_read_is_refused_with_the_line(tmp_path, text, line, message):
    path = tmp_path / "carc.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CodeListError, match=message) as info:
        codes.load_user_codes(path)
    assert info.value.line == line and str(path) in str(info.value) and f"line {line}" in str(info.value)
