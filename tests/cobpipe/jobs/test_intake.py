import pytest

from cobpipe.jobs.intake import Completeness, completeness
from cobpipe.jobs.layout import is_ignored_name

from jobfiles import claims_837, era_835


@pytest.mark.parametrize("name", [".hidden", "era.835.tmp", "era.835.part", "era.835.filepart", "era.835~",
                                  "ERA.835.PART", ""])
def test_temporary_and_hidden_names_are_ignored(name):
    assert is_ignored_name(name)


@pytest.mark.parametrize("name", ["era.835", "claims.837", "part.835", "tmp", "x.partial"])
def test_ordinary_names_are_not_ignored(name):
    assert not is_ignored_name(name)


def check(tmp_path, content, name="f.x12"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return completeness(path)


def test_a_whole_interchange_is_complete(tmp_path):
    assert check(tmp_path, era_835(["A1"])) is Completeness.COMPLETE
    assert check(tmp_path, claims_837(["A1"] * 200)) is Completeness.COMPLETE  # tail read only


def test_every_proper_prefix_waits(tmp_path):
    text = era_835(["A1", "A2"])
    end = text.rindex("IEA")
    for cut in (1, 2, 50, 106, 107, 300, end, end + 6, end + 10):
        assert check(tmp_path, text[:cut]) is Completeness.INCOMPLETE, cut


def test_the_iea_needs_its_nine_digit_control_number(tmp_path):
    text = era_835(["A1"]).rstrip("~\n")
    assert check(tmp_path, text) is Completeness.COMPLETE  # last terminator missing is fine
    assert check(tmp_path, text[:-3]) is Completeness.INCOMPLETE


def test_crlf_and_other_delimiters(tmp_path):
    text = era_835(["A1"]).replace("~\n", "~\r\n")
    assert check(tmp_path, text) is Completeness.COMPLETE
    piped = era_835(["A1"]).replace("*", "|").replace("~\n", "\n")
    assert check(tmp_path, "\ufeff" + piped) is Completeness.COMPLETE


def test_a_dos_end_of_file_mark_after_the_iea_is_complete(tmp_path):
    # files from old DOS/Windows tools end with Ctrl-Z; it must not make them look half-written
    assert check(tmp_path, era_835(["A1"]).replace("~\n", "~\r\n") + "\x1a") is Completeness.COMPLETE
    assert check(tmp_path, era_835(["A1"])[:-20] + "\x1a") is Completeness.INCOMPLETE


def test_a_bare_fragment_ends_with_se(tmp_path):
    fragment = "ST*835*0001~\nBPR*I*0*C~\nSE*3*0001~\n"
    assert check(tmp_path, fragment) is Completeness.COMPLETE
    assert check(tmp_path, fragment[:-10]) is Completeness.INCOMPLETE


def test_empty_waits_and_junk_is_not_x12(tmp_path):
    assert check(tmp_path, "") is Completeness.EMPTY
    assert check(tmp_path, " \n\n") is Completeness.EMPTY
    assert check(tmp_path, "%PDF-1.7 not an interchange") is Completeness.NOT_X12
    assert check(tmp_path, b"\x00\x01\x02ISA") is Completeness.NOT_X12
