"""The payer list: aliases, normalised names, and payer identity across an 835 and an 837P."""
import pytest

from cobpipe.codes import CodeListError
from cobpipe.payers import PayerList, PayerRef, normalize_name, parse_rows


LIST = """payer_id,name,accepts_electronic_secondary,eaf_level,notes,aliases
22222,Blue Star Insurance,yes,line,,BSI01|1234567890|Blue Star Ins Co
11111,Acme Health Plan,no,claim,paper only,ACME
"""


def payers():
    return PayerList(parse_rows(LIST, "test.csv"), "test.csv")


def test_names_compare_without_case_punctuation_or_suffixes():
    assert normalize_name("Blue Star Ins. Co., Inc.") == normalize_name("BLUE STAR INS")
    assert normalize_name("A & B Health") == normalize_name("A and B health")
    assert normalize_name("Acme Health") != normalize_name("Acme Dental")


def test_aliases_join_an_835_payer_to_the_837_payer_id():
    plan = payers()
    era = PayerRef(("1234567890",), "BLUE STAR")  # TRN03-style id: 1 + EIN
    billed = PayerRef(("22222",), "BLUE STAR INSURANCE")
    assert plan.same(era, billed) is True
    # the EIN alone (N104 FI) reaches the same row through the TRN03 alias
    assert plan.same(PayerRef(("234567890",), ""), billed) is True


def test_different_payers_and_unknown_ones():
    plan = payers()
    assert plan.same(PayerRef(("ACME",), ""), PayerRef(("22222",), "")) is False
    assert plan.same(PayerRef((), ""), PayerRef(("22222",), "")) is None
    # payers not on the list: ids, then normalised names decide
    assert plan.same(PayerRef(("X1",), "Other Plan Inc"), PayerRef(("Y2",), "OTHER PLAN")) is True
    assert plan.same(PayerRef(("X1",), "Other Plan"), PayerRef(("Y2",), "Third Plan")) is False


def test_two_payers_of_one_837p_with_different_ids_differ_whatever_their_names():
    """2010BB and 2330B name payers by ids of one kind: different ids are different payers, the same
    name notwithstanding (two plans both called BLUE CROSS BLUE SHIELD); the list's aliases still join
    two ids of one payer, and a payer named without an id falls back to its name."""
    plan = payers()
    bcbs_a, bcbs_b = PayerRef(("11111-X",), "BLUE CROSS BLUE SHIELD"), PayerRef(("99999",), "Blue Cross Blue Shield")
    assert plan.same(bcbs_a, bcbs_b) is True  # an 835 and an 837P: ids of other kinds, names decide
    assert plan.same_in_837(bcbs_a, bcbs_b) is False
    assert plan.same_in_837(PayerRef(("BSI01",), "X"), PayerRef(("22222",), "Y")) is True  # aliases of one row
    assert plan.same_in_837(PayerRef((), "Other Plan"), PayerRef(("Y2",), "OTHER PLAN INC")) is True
    assert plan.same_in_837(PayerRef((), ""), bcbs_a) is None


def test_electronic_secondary_flag():
    plan = payers()
    assert plan.accepts_electronic_secondary(PayerRef(("ACME",), "")) is False
    assert plan.accepts_electronic_secondary(PayerRef(("22222",), "")) is True
    assert plan.accepts_electronic_secondary(PayerRef(("NOT-LISTED",), "")) is True


def test_shipped_list_loads_and_old_five_column_files_still_load(tmp_path):
    assert PayerList.load().payers
    old = tmp_path / "old.csv"
    old.write_text("payer_id,name,accepts_electronic_secondary,eaf_level,notes\nP1,Plan,no,line,\n")
    assert PayerList.load(old).payers[0].accepts_electronic_secondary is False


@pytest.mark.parametrize("text,line", [
    ("payer,name\n", 1),
    ("payer_id,name,accepts_electronic_secondary,eaf_level,notes\nP1,Plan,maybe,line,\n", 2),
    ("payer_id,name,accepts_electronic_secondary,eaf_level,notes\nP1,Plan,yes,line,\nP1,Again,yes,line,\n", 3),
])
def test_bad_rows_name_the_file_and_line(tmp_path, text, line):
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    with pytest.raises(CodeListError) as error:
        PayerList.load(bad)
    assert error.value.line == line and "bad.csv" in str(error.value)
