"""`cobpipe validate`: text and JSON reports, exit codes, unusable files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cobpipe.cli import main
from cobpipe.commands import validate as validate_cmd
from edi.findings import Finding, Location, Severity

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
BAD_837 = REPO / "samples" / "bad" / "837p-missing-hi-bad-pos.837"
BAD_835 = REPO / "samples" / "bad" / "835-missing-trn-bad-clp02.835"
CLEAN_837 = REPO / "samples" / "cob" / "claims.837"
CLEAN_835 = REPO / "samples" / "cob" / "era.835"


def run(*args: str):
    return CliRunner().invoke(main, ["validate", *args], catch_exceptions=False)


def corpus(rel: str) -> Path:
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip(f"corpus file {rel} not present")
    return path


@pytest.fixture(params=["pyx12", "fast"])
def engine(request):
    if request.param == "fast":
        pytest.importorskip("edi.ig_fast")
    return request.param


def test_missing_segment_and_bad_code_are_reported_with_segment_numbers(engine):
    result = run("--engine", engine, str(BAD_837))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"{BAD_837}: 2 errors"
    assert lines[1].strip().startswith(f"{BAD_837} seg 20 (CLM) line 20 loop 2300 CLM05-1: IG-ELE-7 (1A) is not a valid code")
    assert lines[2].strip().startswith(f"{BAD_837} seg 21 (HI) line 21 loop 2300: IG-SEG-3 required segment HI")
    assert "Traceback" not in result.output


def test_clean_files_exit_0(engine):
    result = run("--engine", engine, str(CLEAN_837), str(CLEAN_835))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{CLEAN_837}: OK", f"{CLEAN_835}: OK"]


@pytest.mark.parametrize("rel", ["835/pyx12_835_mult_loops.txt", "835/e835_emedny_sample.txt"])
def test_clean_corpus_835s_exit_0(rel, engine):
    result = run("--engine", engine, str(corpus(rel)))
    assert result.exit_code == 0, result.output


def test_clean_corpus_837p_after_a1_rewrite_exits_0(tmp_path, engine):
    text = corpus("837p/lfh_837p_demo.cob.example3.B.837").read_text(encoding="utf-8-sig")
    path = tmp_path / "example3B.837"
    path.write_text(text.replace("005010X222A2", "005010X222A1"))
    result = run("--engine", engine, str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: OK\n"


def test_unrewritten_a2_file_has_one_clear_finding():
    path = corpus("837p/lfh_837p_demo.cob.example3.B.837")
    result = run(str(path))
    assert result.exit_code == 1
    assert "IG-NOMAP no implementation guide map for GS08 '005010X222A2'" in result.stdout
    assert result.stdout.count("IG-") == 1


def test_json_report(tmp_path):
    empty = tmp_path / "empty.837"
    empty.write_text("")
    result = run("--json", str(BAD_837), str(CLEAN_837), str(empty))
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert [d["file"] for d in data] == [str(BAD_837), str(CLEAN_837), str(empty)]
    assert [d["ok"] for d in data] == [False, True, False]
    first = data[0]["findings"][0]
    assert set(first) >= {"code", "severity", "message", "segment", "line", "loop", "element"}
    assert (first["code"], first["segment"], first["line"], first["loop"], first["element"]) == \
        ("IG-ELE-7", 20, 20, "2300", "CLM05-1")
    assert data[1]["findings"] == []
    assert "empty file" in data[2]["error"]["message"] and data[2]["findings"] == []
    assert data[2]["error"]["code"] == "unusable_input" and data[2]["error"]["path"] == data[2]["file"]


@pytest.mark.parametrize("content, why", [
    (b"", "empty file"),
    (b"\x00\x01\x02\x03" * 100, "binary"),
    (b"Dear billing office,\nplease find attached\n", "not X12"),
    (b"ISA*00*          *00*     ", "truncated ISA"),
])
def test_unusable_file_is_one_line_and_the_others_are_still_reported(tmp_path, content, why):
    bad = tmp_path / "unusable.837"
    bad.write_bytes(content)
    result = run(str(bad), str(BAD_835), str(CLEAN_837))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    err_lines = result.stderr.splitlines()
    assert len(err_lines) == 1 and str(bad) in err_lines[0] and why in err_lines[0]
    assert f"{BAD_835}: 2 errors" in result.stdout
    assert f"{CLEAN_837}: OK" in result.stdout


def test_missing_file_is_unusable_not_a_usage_error(tmp_path):
    result = run(str(tmp_path / "nope.837"), str(CLEAN_837))
    assert result.exit_code == 2
    assert "nope.837" in result.stderr
    assert f"{CLEAN_837}: OK" in result.stdout


def test_folder_is_expanded(tmp_path):
    (tmp_path / "a.837").write_text(BAD_837.read_text())
    (tmp_path / "b.835").write_text(CLEAN_835.read_text())
    (tmp_path / "notes.md").write_text("not x12")
    result = run(str(tmp_path))
    assert result.exit_code == 1
    assert f"{tmp_path / 'a.837'}: 2 errors" in result.stdout
    assert f"{tmp_path / 'b.835'}: OK" in result.stdout
    assert "notes.md" not in result.output


def test_warnings_alone_exit_0(monkeypatch):
    warning = Finding("ENV011", "something to know", Location(str(CLEAN_837), 1, 1, "ST"), Severity.WARNING)

    def fake(path, name=None, engine=None):
        return [warning]

    monkeypatch.setattr(validate_cmd.ig, "validate_file", fake)
    result = run(str(CLEAN_837))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"{CLEAN_837}: OK, 1 warning"
    assert "warning: " in result.stdout


def test_envelope_error_reported_once(tmp_path):
    path = tmp_path / "se.837"
    path.write_text(BAD_837.read_text().replace("SE*23*0001~", "SE*99*0001~"))
    result = run("--json", str(path))
    codes = [f["code"] for f in json.loads(result.stdout)[0]["findings"]]
    assert "ENV006" in codes and "IG-ST-4" not in codes


def test_no_values_in_report_for_phi_segments(tmp_path):
    path = tmp_path / "phi.837"
    text = BAD_837.read_text().replace("DMG*D8*20050614*F", "DMG*D8*20051399*F")
    path.write_text(text.replace("N4*SPRINGFIELD*IL*627040001", "N4*SPRINGFIELD*ZQ*627040001"))
    result = run(str(path))
    assert result.exit_code == 1
    assert "DMG02: IG-ELE-8" in result.stdout and "N402: IG-ELE-7" in result.stdout
    assert "20051399" not in result.stdout and "ZQ" not in result.stdout


def test_installed_console_script(tmp_path):
    script = Path(sys.executable).with_name("cobpipe")
    if not script.exists():
        pytest.skip("cobpipe console script not installed in this environment")
    empty = tmp_path / "empty.835"
    empty.write_text("   \n")
    proc = subprocess.run([str(script), "validate", str(BAD_837), str(empty)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "IG-ELE-7" in proc.stdout and "IG-SEG-3" in proc.stdout
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"cobpipe: {empty}: empty file")
    ok = subprocess.run([str(script), "validate", str(CLEAN_837)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout == f"{CLEAN_837}: OK\n"


def test_a_folder_without_x12_files_is_unusable_not_clean(tmp_path):
    (tmp_path / "notes.md").write_text("not x12")
    result = run(str(tmp_path), str(CLEAN_837))
    assert result.exit_code == 2
    assert str(tmp_path) in result.stderr and "Traceback" not in result.output
    assert f"{CLEAN_837}: OK" in result.stdout


# -- many findings, and our words for the validator's (issue 16) ------------------------------------

def broken_837(tmp_path: Path, claims: int = 70) -> Path:
    """A synthetic 837P whose every claim has a CLM01 longer than the guide allows and every service
    line a unit code it does not know, and the first HL numbered wrong (the validator's first-person
    HL message). Under the guide check's own cap of 100 findings per code."""
    from cobpipe.synth import generate_set

    made = generate_set(claims, tmp_path / "synth", seed=5)
    text = made.claims.read_text()
    text = text.replace("CLM*", "CLM*" + "X" * 40, claims).replace("HL*2*1*", "HL*7*1*", 1)
    text = text.replace("*UN*", "*QQ*")
    path = tmp_path / "many.837"
    path.write_text(text)
    return path


@pytest.mark.parametrize("engine", ["fast", "pyx12"])
def test_max_findings_per_file_with_a_summary_line_and_a_count_by_code(tmp_path, engine):
    path = broken_837(tmp_path)
    full = run(str(path), "--engine", engine, "--max-findings", "0")
    all_lines = full.stdout.splitlines()
    total = len(all_lines) - 1
    assert total > 100 and full.exit_code == 1
    assert all_lines[0] == f"{path}: {total} errors"  # the summary line first
    capped = run(str(path), "--engine", engine)
    lines = capped.stdout.splitlines()
    assert lines[0] == all_lines[0] and lines[1:101] == all_lines[1:101] and len(lines) == 102
    assert lines[-1].startswith(f"  ... {total - 100} more findings not shown (--max-findings 0 shows all)")
    assert "IG-ELE-5 70," in lines[-1] and "IG-SEG-HL1 1" in lines[-1]
    few = run(str(path), "--engine", engine, "--max-findings", "3").stdout.splitlines()
    assert len(few) == 5 and few[-1].startswith(f"  ... {total - 3} more")
    data = json.loads(run(str(path), "--engine", engine, "--json", "--max-findings", "10").stdout)[0]
    assert len(data["findings"]) == 10 and data["not_shown"] == total - 10
    assert data["counts"]["errors"] == total and data["counts"]["by_code"]["IG-ELE-5"] == 70


@pytest.mark.parametrize("engine", ["fast", "pyx12"])
def test_findings_are_in_our_words_never_the_validators(tmp_path, engine):
    from cobpipe.ig_words import INTERNAL_PHRASES

    path = broken_837(tmp_path, claims=3)
    text = run(str(path), "--engine", engine, "--max-findings", "0").stdout
    as_json = run(str(path), "--engine", engine, "--json", "--max-findings", "0").stdout
    assert "HL01 is 7 where 2 was expected" in text
    assert "at most 38 allowed" in text
    for phrase in INTERNAL_PHRASES:
        assert phrase not in text and phrase not in as_json, phrase


@pytest.mark.parametrize("message, words", [
    ("My HL count 2 does not match your HL count 5", "HL01 is 5 where 2 was expected"),
    ("Your 2400/LX01 Service Line Number 3 does not match my count of 2", "LX01 is 3 where 2 was expected"),
    ("SE count of 40 for SE02=0001 is wrong. I count 41", "SE01 says 40 segments in transaction set 0001, it has 41"),
    ("GE count of 2 for GE02=7 is wrong. I count 1", "GE01 says 2 transaction sets in group 7, it has 1"),
    ('Data element "Patient Control Number" (CLM01) is too long: length 60 > 38 (max_len)',
     'Data element "Patient Control Number" (CLM01) is too long: length 60, at most 38 allowed'),
    ('Data element "Zip" (N403) is too short: length 2 < 3 (min_len)', "at least 3 required"),
    ("Segment NTE exceeded max count.  Found 3, should have 1", "segment NTE occurs 3 times, the guide allows 1"),
    ("Segment ZZZ not found.  Started at 2300", "segment ZZZ is not expected here"),
    ("Map not found.  icvn=00501, fic=HC, vriic=005010X223A2, tspc=837", "no implementation guide for version"),
    ("Segment contains trailing element terminators", "trailing element separators"),
    ("Data element \"Service Date\" (DTP03) contains an invalid date (<masked>)", "contains an invalid date"),
])
def test_the_wording_table(message, words):
    from cobpipe.ig_words import INTERNAL_PHRASES, reword

    said = reword(message)
    assert words in said and not any(phrase in said for phrase in INTERNAL_PHRASES), said
