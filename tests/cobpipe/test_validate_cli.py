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
    assert lines[2].strip().startswith(f"{BAD_837} seg 21 (HI) line 21 loop 2300: IG-SEG-3 Mandatory segment")
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
