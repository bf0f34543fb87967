"""One remittance, two secondary payers: one takes electronic secondary claims, the other does not
(the payer list). `cobpipe convert --payers` writes both the 837 and the paper PDF, each with the
right claim, and the report says which went where; the drop folder puts the PDF in outbound/paper/,
counts it in `status`, and never bills the paper claim again."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from cobpipe import pipeline
from cobpipe.cli import main

from paperpdf import CHILD_CLAIMS, CHILD_ERA, box, boxes, form_pages, page_text, page_texts

PAYERS = ("payer_id,name,accepts_electronic_secondary,eaf_level,notes,aliases\n"
          "22222,Blue Star Insurance,no,line,paper claims only,BSI\n"
          "33333,Green Valley Health,yes,line,,\n")


@pytest.fixture
def payers_csv(tmp_path):
    path = tmp_path / "payers.csv"
    path.write_text(PAYERS)
    return path


@pytest.mark.parametrize("layout", ["data", "full"])
def test_convert_sends_each_claim_where_its_payer_takes_it(tmp_path, payers_csv, monkeypatch, layout):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the user's control-number ledger
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", "--era", str(CHILD_ERA), "--claims", str(CHILD_CLAIMS),
                                       "--payers", str(payers_csv), "--paper-layout", layout, "--out", str(out),
                                       "--as-of", "2026-03-25", "--workers", "1"])
    assert result.exit_code == 0, result.output  # paper is a good outcome: exit 0
    assert sorted(p.name for p in out.iterdir()) == ["child-era.837", "child-era.paper.pdf",
                                                     "child-era.report.json"]
    report = json.loads((out / "child-era.report.json").read_text())
    assert report["output"] == "child-era.837" and report["paper"] == "child-era.paper.pdf"
    assert report["counts"]["paper"] == 1 and report["counts"]["converted"] == 1
    by_id = {c["id"]: c for c in report["claims"]}
    assert by_id["CHILD08"]["status"] == "paper" and by_id["CHILD08"]["payer_id"] == "22222"
    assert any("electronic" in r and "22222" in r for r in by_id["CHILD08"]["reasons"]), by_id["CHILD08"]
    assert by_id["OTHER02"]["status"] == "converted" and by_id["OTHER02"]["payer_id"] == "33333"
    x12 = (out / "child-era.837").read_text()
    assert "CLM*OTHER02*" in x12 and "CHILD08" not in x12 and "PI*22222" not in x12
    pages = page_texts(out / "child-era.paper.pdf")
    forms = form_pages(pages)
    assert forms == [0, 1]
    for index in forms:
        found = boxes(pages[index])
        assert box(found, "26") == "CHILD08" and box(found, "carrier.1") == "BLUE STAR INSURANCE"
        assert box(found, "1a") == "SEC8800002"
    everything = "\n".join(page_text(texts) for texts in pages)
    assert "CHILD08" in everything and "OTHER02" not in everything and "MERIDEW" not in everything
    captions = [t for texts in pages for t in texts if t.font.startswith("/Helvetica")]
    assert bool(captions) == (layout == "full")
    assert "paper" in result.output and "child-era.paper.pdf" in result.output


def test_without_paper_payers_no_pdf_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", "--era", str(CHILD_ERA), "--claims", str(CHILD_CLAIMS),
                                       "--out", str(out), "--as-of", "2026-03-25", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["child-era.837", "child-era.report.json"]
    report = json.loads((out / "child-era.report.json").read_text())
    assert report["counts"]["converted"] == 2 and not report.get("paper")


def test_drop_folder_puts_paper_in_outbound_paper_counts_it_and_never_bills_twice(tmp_path, payers_csv):
    from cobpipe.jobs.batch import run_once
    from cobpipe.jobs.layout import Root
    from cobpipe.jobs.process import JobOptions
    from cobpipe.jobs.status import render_text, status
    from cobpipe.ledger import Ledger
    from cobpipe.payers import PayerList
    import datetime as dt

    root = Root.prepare(tmp_path / "root")
    options = JobOptions(convert=pipeline.ConvertOptions(today=dt.date(2026, 3, 25),
                                                         payers=PayerList.load(payers_csv)),
                         truncated_after=900, settle=0.0)
    shutil.copyfile(CHILD_CLAIMS, root.inbound / "claims.837")
    shutil.copyfile(CHILD_ERA, root.inbound / "era.835")
    with Ledger.open(root.ledger_path) as ledger:
        outcomes = run_once(root, ledger, options)
        assert [str(o.status) for o in outcomes] == ["stored", "converted"], [o.to_dict() for o in outcomes]
        papers = sorted((root.outbound / "paper").iterdir())
        assert len(papers) == 1 and papers[0].name.startswith("era.") and papers[0].name.endswith(".paper.pdf")
        outbound = sorted(p.name for p in root.outbound.iterdir() if p.is_file())
        assert len(outbound) == 2 and outbound[0].endswith(".837") and outbound[1].endswith(".report.json")
        assert "CHILD08" not in (root.outbound / outbound[0]).read_text()
        pages = page_texts(papers[0])
        assert box(boxes(pages[0]), "26") == "CHILD08"
        assert not list(root.work.iterdir()), "the work folder is gone once published"
        data = status(root, ledger)
        assert data["claims"]["paper"] == 1 and data["claims"]["converted"] == 1
        assert "1 on paper" in render_text(data)

        # the same remittance again, as another file (another ISA13): both claims are already billed
        again = CHILD_ERA.read_text().replace("*000000601*", "*000000602*").replace("IEA*1*000000601", "IEA*1*000000602")
        (root.inbound / "era-again.835").write_text(again)
        outcomes = run_once(root, ledger, options)
        assert [str(o.status) for o in outcomes] == ["converted"], [o.to_dict() for o in outcomes]
        assert len(list((root.outbound / "paper").iterdir())) == 1, "no second paper claim"
        report = json.loads(next(root.outbound.glob("era-again.*.report.json")).read_text())
        assert {c["id"]: c["status"] for c in report["claims"]} == {"CHILD08": "skipped", "OTHER02": "skipped"}
        assert report["paper"] is None and report["output"] is None
        data = status(root, ledger)
        assert data["claims"]["paper"] == 1 and data["claims"]["converted"] == 1 and data["claims"]["skipped"] == 0


def test_run_takes_payers_and_paper_layout(tmp_path, payers_csv):
    root = tmp_path / "root"
    (root / "inbound").mkdir(parents=True)
    shutil.copyfile(CHILD_CLAIMS, root / "inbound" / "claims.837")
    shutil.copyfile(CHILD_ERA, root / "inbound" / "era.835")
    bad = tmp_path / "bad.csv"
    bad.write_text("payer,name\n")
    refused = CliRunner().invoke(main, ["run", str(root), "--payers", str(bad), "--settle", "0"])
    assert refused.exit_code == 2, refused.output  # a broken payer list: nothing taken
    assert sorted(p.name for p in (root / "inbound").iterdir() if p.is_file()) == ["claims.837", "era.835"]
    result = CliRunner().invoke(main, ["run", str(root), "--payers", str(payers_csv), "--paper-layout", "full",
                                       "--settle", "0", "--json"])
    assert result.exit_code == 0, result.output
    papers = list((root / "outbound" / "paper").glob("era.*.paper.pdf"))
    assert len(papers) == 1
    pages = page_texts(papers[0])
    assert box(boxes(pages[0]), "26") == "CHILD08"
    assert any(t.font.startswith("/Helvetica") for t in pages[0]), "--paper-layout full draws the form"
    status = CliRunner().invoke(main, ["status", str(root), "--json"])
    assert json.loads(status.output)["claims"]["paper"] == 1


def test_a_claim_billed_electronically_is_not_billed_again_on_paper(tmp_path, payers_csv):
    import datetime as dt

    from cobpipe.jobs.batch import run_once
    from cobpipe.jobs.layout import Root
    from cobpipe.jobs.process import JobOptions
    from cobpipe.ledger import Ledger
    from cobpipe.payers import PayerList

    root = Root.prepare(tmp_path / "root")
    today = dt.date(2026, 3, 25)
    electronic = JobOptions(convert=pipeline.ConvertOptions(today=today), truncated_after=900, settle=0.0)
    paper = JobOptions(convert=pipeline.ConvertOptions(today=today, payers=PayerList.load(payers_csv)),
                       truncated_after=900, settle=0.0)
    shutil.copyfile(CHILD_CLAIMS, root.inbound / "claims.837")
    shutil.copyfile(CHILD_ERA, root.inbound / "era.835")
    with Ledger.open(root.ledger_path) as ledger:
        run_once(root, ledger, electronic)  # before the payer list said 22222 takes paper only
        first = next(root.outbound.glob("era.*.837")).read_text()
        assert "CLM*CHILD08*" in first
        again = CHILD_ERA.read_text().replace("*000000601*", "*000000603*").replace("IEA*1*000000601", "IEA*1*000000603")
        (root.inbound / "era-again.835").write_text(again)
        run_once(root, ledger, paper)
    assert not (root.outbound / "paper").exists() or not list((root.outbound / "paper").iterdir())
    report = json.loads(next(root.outbound.glob("era-again.*.report.json")).read_text())
    assert {c["id"]: c["status"] for c in report["claims"]} == {"CHILD08": "skipped", "OTHER02": "skipped"}
    assert any("already billed" in r for r in report["claims"][0]["reasons"])
