"""The work queue, the claim screen and Send, through the HTTP app on a ROOT built by `cobpipe run`."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cobpipe.cli import main
from cobpipe.codes import default_codebook
from cobpipe.console.explore import Filters, explore
from cobpipe.console.store import ConsoleStore
from conftest import claim_form, csrf_of
from edi import ig
from edi.reader import X12Reader

# starlette's TestClient warns that it will move from httpx to httpx2 (not installed here)
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def _segments(path: Path) -> list[str]:
    return ["*".join((seg.tag, *seg.elements)).rstrip("*") for seg in X12Reader.open(path)]


def _sent(root: Path) -> list[Path]:
    return sorted((root / "outbound").glob("console-*.837"))


def test_queue_lists_what_needs_a_person_with_reasons_and_counts(client_for):
    biller = client_for("bella")
    page = biller.get("/queue").text
    assert re.search(r"<strong>2</strong> rejected", page) and re.search(r"<strong>1</strong> unmatched", page)
    order = [m for m in re.findall(r'href="/claims/([A-Z0-9]+)"', page)]
    assert order == ["BADLINE01", "UNMATCHGHOST01", "NOCOV01"]  # the 835's order within one decision time
    assert "does not balance" in page and "no secondary coverage" in page and "no original 837P claim" in page
    only_unmatched = biller.get("/queue?status=unmatched").text
    assert re.findall(r'href="/claims/([A-Z0-9]+)"', only_unmatched) == ["UNMATCHGHOST01"]
    by_reason = biller.get("/queue?reason=coverage").text
    assert re.findall(r'href="/claims/([A-Z0-9]+)"', by_reason) == ["NOCOV01"]
    by_code = biller.get("/queue?reason=ERA101").text
    assert re.findall(r'href="/claims/([A-Z0-9]+)"', by_code) == ["BADLINE01"]
    by_payer = biller.get("/queue?payer=11111").text
    assert re.findall(r'href="/claims/([A-Z0-9]+)"', by_payer) == ["BADLINE01", "NOCOV01"]
    assert "Nothing needs a person" in biller.get("/queue?payer=99999").text
    assert "Nothing needs a person" in biller.get("/queue?since=2999-01-01").text
    assert "BADLINE01" in biller.get("/queue?until=2999-01-01").text
    assert "YYYY-MM-DD" in biller.get("/queue?since=yesterday").text


def test_fixing_a_rejected_claim_sends_it_through_the_pipeline_code(client_for, root, ledger):
    biller = client_for("bella")
    form = claim_form(biller, "/claims/BADLINE01")
    # prefilled from the 835 and the original claim
    assert form["line-1-paid"] == "14.00" and form["line-1-charge"] == "24.00" and form["coverage"] == "2320:0"
    assert form["line-0-allowed"] == "145.00" and form["line-1-allowed"] == "17.00"  # AMT*B6
    assert form["adjudication_date"] == "2026-03-31" and form["payer_claim_number"] == "ACME2607100701"
    page = biller.get("/claims/BADLINE01").text
    assert "line 2: does not balance" in page and "$-2.00" in page
    form.update({"line-1-paid": "12", "action": "send"})
    response = biller.post("/claims/BADLINE01", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    (sent,) = _sent(root)
    assert response.headers["location"] == f"/sent/{sent.name}"
    assert not [f for f in ig.validate_file(sent) if f.severity.value == "error"]
    segments = _segments(sent)
    assert "CLM*BADLINE01*219***11:B:1*Y*A*Y*Y" in segments
    assert "NM1*PR*2*BLUE STAR INSURANCE*****PI*22222" in segments and "AMT*D*132" in segments
    assert "SVD*11111*12*HC:81002**1" in segments
    # the ledger: issued with the file's control numbers, a converted decision, an audit row
    (issued,) = ledger.issued_for("BADLINE01")
    isa13 = int(next(s for s in segments if s.startswith("ISA*")).split("*")[13])
    assert (issued.payer_id, issued.output, issued.isa13) == ("22222", sent.name, isa13)
    store = ConsoleStore(ledger)
    assert store.latest_decision("BADLINE01").status == "converted"
    (audit,) = store.audit_of("claim.send")
    assert audit["user"] == "bella" and audit["target"] == "BADLINE01" and audit["detail"]["output"] == sent.name
    # like the jobs: stored as a claim billed to the secondary (its 835 continues from it), state set
    assert sorted(c.payer_id for c in ledger.claims_for("BADLINE01")) == ["11111", "22222"]
    assert ledger.claim_state("BADLINE01")["state"] == "billed_secondary"
    # it left the queue and is never billed twice
    assert "BADLINE01" not in biller.get("/queue").text
    again = claim_form(biller, "/claims/BADLINE01")
    again.update({"line-1-paid": "12", "action": "send"})
    response = biller.post("/claims/BADLINE01", data=again)
    assert response.status_code == 422 and "already" in response.text
    assert len(_sent(root)) == 1
    # the sent page and the files page show it
    assert "ISA13" in biller.get(f"/sent/{sent.name}").text
    assert sent.name in biller.get("/files").text


def test_control_numbers_continue_the_ledgers(client_for, root, ledger):
    before = {kind: n for kind, _, _, n in ledger.control_numbers()}
    biller = client_for("bella")
    form = claim_form(biller, "/claims/BADLINE01")
    form.update({"line-1-paid": "12", "action": "send"})
    assert biller.post("/claims/BADLINE01", data=form, follow_redirects=False).status_code == 303
    after = {kind: n for kind, _, _, n in ledger.control_numbers()}
    assert after["ISA"] == before.get("ISA", 0) + 1


def test_an_unbalanced_edit_cannot_be_sent(client_for, root, ledger):
    biller = client_for("bella")
    form = claim_form(biller, "/claims/BADLINE01")
    form.update({"line-1-paid": "13", "action": "send"})  # 24 - 13 - 12 = -1
    response = biller.post("/claims/BADLINE01", data=form)
    assert response.status_code == 422
    assert "line 2: does not balance" in response.text and "claim: does not balance" in response.text
    # a balanced line that unbalances the claim is refused too (the claim adjustment adds money)
    form.update({"line-1-paid": "12", "cadj-0-group": "OA", "cadj-0-reason": "23", "cadj-0-amount": "5"})
    response = biller.post("/claims/BADLINE01", data=form)
    assert response.status_code == 422 and "claim: does not balance" in response.text
    assert not _sent(root) and not ledger.issued_for("BADLINE01")
    refused = ConsoleStore(ledger).audit_of("claim.send_refused")
    assert len(refused) == 2


def test_amounts_are_validated_on_the_server(client_for, root):
    biller = client_for("bella")
    base = claim_form(biller, "/claims/BADLINE01")
    cases = {"line-1-paid": ("12.001", "not an amount"), "line-0-paid": ("1e2", "not an amount"),
             "line-0-adj-0-amount": ("0", "carries no money"), "line-0-adj-0-group": ("XX", "is not one of"),
             "line-0-adj-0-reason": ("45;DROP", "not a claim adjustment reason"),
             "adjudication_date": ("2999-01-01", "in the future"), "line-1-billed": ("7", "names no billed line")}
    for field, (value, message) in cases.items():
        form = dict(base, **{"line-1-paid": "12", "action": "send", field: value})
        response = biller.post("/claims/BADLINE01", data=form)
        assert response.status_code == 422 and message in response.text, field
    assert not _sent(root)


def test_adjustments_and_lines_are_added_removed_and_rematched(client_for, root):
    biller = client_for("bella")
    form = claim_form(biller, "/claims/BADLINE01")
    form["action"] = "add-adj:1"
    added = biller.post("/claims/BADLINE01", data=form)
    form = claim_form_from(added.text)
    assert "line-1-adj-2-group" in form
    form.update({"line-1-adj-2-group": "OA", "line-1-adj-2-reason": "94", "line-1-adj-2-amount": "2",
                 "action": "check"})
    checked = biller.post("/claims/BADLINE01", data=form).text
    assert "Cannot be sent yet" in checked and "= -4.00, must be 0.00" in checked  # 24 - 14 - (9 + 3 + 2)
    form["action"] = "remove-adj:1.2"
    removed = claim_form_from(biller.post("/claims/BADLINE01", data=form).text)
    assert "line-1-adj-2-group" not in removed
    removed.update({"line-1-adj-0-amount": "7", "action": "check"})  # the contractual write-off was 7
    assert "Ready to send" in biller.post("/claims/BADLINE01", data=removed).text
    # match the remitted lines to the wrong billed lines: refused by the gate's line rules
    form = claim_form(biller, "/claims/BADLINE01")
    form.update({"line-1-paid": "12", "line-0-billed": "1", "line-1-billed": "0", "action": "send"})
    response = biller.post("/claims/BADLINE01", data=form)
    assert response.status_code == 422 and "COB002" in response.text
    form.update({"line-1-billed": "", "action": "send"})
    response = biller.post("/claims/BADLINE01", data=form)
    assert response.status_code == 422 and "choose the billed line" in response.text
    assert not _sent(root)


def claim_form_from(html: str) -> dict:
    from formdata import form_fields

    return form_fields(html, "claim-form")


def test_entered_coverage_bills_the_payer_typed_in(client_for, root, ledger):
    biller = client_for("bella")
    form = claim_form(biller, "/claims/NOCOV01")
    assert form["coverage"] == "new"
    form["action"] = "send"
    response = biller.post("/claims/NOCOV01", data=form)
    assert response.status_code == 422 and "payer id are required" in response.text
    form.update({"cov_payer_name": "harbor light health", "cov_payer_id": "44444", "cov_member_id": "HLH1",
                 "cov_relationship": "01", "cov_last_name": "", "cov_first_name": ""})
    response = biller.post("/claims/NOCOV01", data=form)
    assert response.status_code == 422 and "name is required unless the patient is the insured" in response.text
    form.update({"cov_last_name": "Duskhollow", "cov_first_name": "Mara", "cov_group_number": "HLG1"})
    response = biller.post("/claims/NOCOV01", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    (sent,) = _sent(root)
    segments = _segments(sent)
    assert "NM1*PR*2*HARBOR LIGHT HEALTH*****PI*44444" in segments
    assert "NM1*IL*1*DUSKHOLLOW*MARA****MI*HLH1" in segments
    assert "SBR*S**HLG1******CI" in segments and any(s.startswith("PAT*01") for s in segments)
    assert ledger.issued_for("NOCOV01")[0].payer_id == "44444"


def test_paper_eob_of_the_seed_claim(client_for, root, ledger):
    """Office Ally's $33 example: $10 paid, CO-45 $13, PR-1 $10 -> the README's secondary claim."""
    biller = client_for("bella")
    found = biller.post("/paper", data={"csrf": csrf_of(biller), "claim_id": "seed", "patient": "", "dos": ""}).text
    assert "SEED001" in found and "/claims/SEED001?mode=paper&amp;original=0" in found
    by_date = biller.post("/paper", data={"csrf": csrf_of(biller), "claim_id": "", "patient": "",
                                          "dos": "2026-03-10"}).text
    assert "SEED001" in by_date
    form = claim_form(biller, "/claims/SEED001?mode=paper&original=0")
    assert form["mode"] == "paper" and form["line-0-charge"] == "33.00" and form["coverage"] == "2320:0"
    form.update({"adjudication_date": "2026-03-20", "payer_claim_number": "ACME26079000123", "line-0-paid": "10",
                 "action": "add-adj:0"})
    form = claim_form_from(biller.post("/claims/SEED001", data=form).text)
    form["action"] = "add-adj:0"
    form = claim_form_from(biller.post("/claims/SEED001", data=form).text)
    form.update({"line-0-adj-0-group": "CO", "line-0-adj-0-reason": "45", "line-0-adj-0-amount": "13",
                 "line-0-adj-1-group": "PR", "line-0-adj-1-reason": "1", "line-0-adj-1-amount": "10",
                 "action": "send"})
    response = biller.post("/claims/SEED001", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    (sent,) = _sent(root)
    segments = _segments(sent)
    expected = ["SBR*S*18*GRP200******CI", "NM1*PR*2*BLUE STAR INSURANCE*****PI*22222",
                "CLM*SEED001*33***11:B:1*Y*A*Y*Y", "SBR*P*18*GRP100******CI", "AMT*D*10", "OI***Y*P**Y",
                "NM1*IL*1*SAMPLE*ALEX****MI*PRM0001234", "NM1*PR*2*ACME HEALTH PLAN*****PI*11111",
                "REF*F8*ACME26079000123", "LX*1", "SV1*HC:99213*33*UN*1***1", "SVD*11111*10*HC:99213**1",
                "CAS*CO*45*13", "CAS*PR*1*10", "DTP*573*D8*20260320", "AMT*EAF*10"]
    positions = [segments.index(s) for s in expected]
    assert positions == sorted(positions)
    assert ledger.issued_for("SEED001")[0].payer_id == "22222"


def test_remittance_explorer_pages_and_filters_on_the_server(client_for, root):
    biller = client_for("bella")
    sha = re.search(r"/remittances/([0-9a-f]{64})", biller.get("/remittances").text).group(1)
    page = biller.get(f"/remittances/{sha}").text
    assert "Payment check" in page and "balanced" in page and "3 of 3 claims match" in page
    assert "Charge is over the fee schedule" in page  # CARC 45 in words
    assert "1 of 3 claims match" in biller.get(f"/remittances/{sha}?findings=1").text
    assert "1 of 3 claims match" in biller.get(f"/remittances/{sha}?carc=2").text
    assert "0 of 3 claims match" in biller.get(f"/remittances/{sha}?status=denied").text
    assert "3 of 3 claims match" in biller.get(f"/remittances/{sha}?status=1").text
    # paging: only the page's claims are built and sent
    archived = next((root / "archive").glob("era*"))
    codebook = default_codebook()
    pages = [explore(archived, codebook, Filters(), page=n, per_page=1) for n in (1, 2, 3)]
    assert [[c.id for _, c in p.claims] for p in pages] == [["BADLINE01"], ["UNMATCHGHOST01"], ["NOCOV01"]]
    assert pages[0].pages == 3 and pages[0].matching == 3
    assert pages[0].sections[0].claims == []  # headers only: claims are kept for the page alone
    # a claim sent from the console shows the secondary claim it became
    form = claim_form(biller, f"/claims/BADLINE01?era={sha}")
    form.update({"line-1-paid": "12", "action": "send"})
    biller.post("/claims/BADLINE01", data=form)
    (sent,) = _sent(root)
    page = biller.get(f"/remittances/{sha}?claim=BADLINE01").text
    assert sent.name in page and "SVD*11111" not in page  # the segments sent hold PHI: after a reveal only
    biller.post("/claims/BADLINE01/reveal", data={"csrf": csrf_of(biller)})
    page = biller.get(f"/remittances/{sha}?claim=BADLINE01").text
    assert "segments sent" in page and "SVD*11111*12*HC:81002**1~" in page and "CLM*BADLINE01*219" in page


def test_unmatched_claim_screen_explains_what_is_missing(client_for):
    biller = client_for("bella")
    response = biller.get("/claims/UNMATCHGHOST01")
    assert response.status_code == 200 and "no original 837P claim" in response.text
    assert 'id="claim-form"' not in response.text


def test_a_claim_sent_from_the_console_is_never_billed_by_a_later_835(client_for, root, ledger, samples_dir):
    """Sent from the paper EOB, then the 835 of the same claim arrives: the job skips it (already billed)."""
    biller = client_for("bella")
    form = claim_form(biller, "/claims/SEED001?mode=paper")
    form.update({"adjudication_date": "2026-03-20", "line-0-paid": "10", "action": "add-adj:0"})
    form = claim_form_from(biller.post("/claims/SEED001", data=form).text)
    form["action"] = "add-adj:0"
    form = claim_form_from(biller.post("/claims/SEED001", data=form).text)
    form.update({"line-0-adj-0-group": "CO", "line-0-adj-0-reason": "45", "line-0-adj-0-amount": "13",
                 "line-0-adj-1-group": "PR", "line-0-adj-1-reason": "1", "line-0-adj-1-amount": "10",
                 "action": "send"})
    assert biller.post("/claims/SEED001", data=form, follow_redirects=False).status_code == 303
    (root / "inbound" / "seed-era.835").write_bytes((samples_dir / "cob" / "seed-era.835").read_bytes())
    result = CliRunner().invoke(main, ["run", str(root), "--settle", "0", "--json"])
    assert "seed-era.835" in result.output
    assert len(list((root / "outbound").glob("*.837"))) == 1  # only the console's
    assert len(ledger.issued_for("SEED001")) == 1


def test_money_is_decimal_end_to_end():
    from cobpipe.console.claims import FormError, parse_amount

    assert parse_amount("$1,234.5", "x") == Decimal("1234.50")
    assert parse_amount("0.10", "x") + parse_amount("0.20", "x") == Decimal("0.30")
    for bad in ("1.234", "NaN", "inf", "1e3", "--1", "12,34.5.6"):
        try:
            parse_amount(bad, "x")
        except FormError:
            continue
        raise AssertionError(bad)


def test_a_payer_that_takes_paper_only_gets_a_cms1500_not_an_837(client_for, root, ledger):
    """The payer list's paper-only payer (mappings/payers.csv SAMPLE03): the console never sends it an
    electronic claim, as the pipeline would not; Send prints the claim on a CMS-1500 with the
    primary's EOB page (the pipeline's renderer) into outbound/paper/, billed once."""
    from pypdf import PdfReader

    biller = client_for("bella")
    form = claim_form(biller, "/claims/NOCOV01")
    form.update({"coverage": "new", "cov_payer_name": "EXAMPLE PAPER-ONLY PLAN", "cov_payer_id": "SAMPLE03",
                 "cov_member_id": "PO1", "action": "check"})
    checked = biller.post("/claims/NOCOV01", data=form)
    assert checked.status_code == 200 and "Send prints it on paper" in checked.text
    form["action"] = "send"
    response = biller.post("/claims/NOCOV01", data=form)
    assert response.status_code == 200 and "printed on paper" in response.text
    assert not _sent(root)
    [pdf] = (root / "outbound" / "paper").glob("console-*.paper.pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "NOCOV01" in text and "EXPLANATION OF BENEFITS" in text and "ACME HEALTH PLAN" in text  # its 835
    [issued] = ledger.issued_for("NOCOV01")
    assert (issued.payer_id, issued.channel, issued.output) == ("SAMPLE03", "paper", pdf.name)
    download = biller.get(f"/outputs/{pdf.name}/download")
    assert download.status_code == 200 and download.content == pdf.read_bytes()
    again = biller.post("/claims/NOCOV01", data=form)  # never billed twice, on paper or electronically
    assert again.status_code == 422 and len(list((root / "outbound" / "paper").glob("*.pdf"))) == 1


def test_an_835_from_the_secondary_is_never_billed_as_the_primarys(client_for, root, ledger, samples_dir):
    """The secondary's own 835 (BLUE STAR, CLP02 2) for SEED001, which cobpipe holds only as billed to
    the primary: the job holds it, the queue shows it, and the claim screen refuses to send it onward."""
    text = (samples_dir / "cob" / "seed-era.835").read_text()
    text = text.replace("N1*PR*ACME HEALTH PLAN~", "N1*PR*BLUE STAR INSURANCE*PI*22222~")
    text = text.replace("TRN*1*EFT20260320001*1512345678~", "TRN*1*EFT20260320001*1999999999~")
    clp = next(line for line in text.split("~") if line.strip().startswith("CLP*SEED001"))
    fields = clp.strip().split("*")
    fields[2] = "2"
    text = text.replace(clp.strip(), "*".join(fields))
    (root / "inbound" / "blue-star.835").write_text(text)
    result = CliRunner().invoke(main, ["run", str(root), "--settle", "0"])
    assert "blue-star.835" in result.output
    assert ConsoleStore(ledger).latest_decision("SEED001").status == "held"
    biller = client_for("bella")
    assert re.search(r"<strong>1</strong> held", biller.get("/queue").text)
    page = biller.get("/claims/SEED001")
    assert "this 835 is from BLUE STAR INSURANCE" in page.text
    form = claim_form(biller, "/claims/SEED001")
    form["action"] = "send"
    response = biller.post("/claims/SEED001", data=form)
    assert response.status_code == 422 and "cannot be billed onward" in response.text
    assert not _sent(root) and not ledger.issued_for("SEED001")


def test_every_claim_of_the_samples_835_opens_on_the_claim_screen(client_for, root, ledger, samples_dir):
    """The main sample 835 (split claim, reversal and correction, denial, crossover, claim-level only,
    child patient, coverage file...) converted by the job: each claim's screen opens from its 835,
    and the claims the job already billed cannot be sent again."""
    (root / "inbound" / "main.835").write_bytes((samples_dir / "cob" / "era.835").read_bytes())
    coverage = samples_dir / "cob" / "coverage.csv"
    CliRunner().invoke(main, ["run", str(root), "--settle", "0", "--coverage", str(coverage)])
    biller = client_for("bella")
    sha = next(f["sha256"] for f in ConsoleStore(ledger).files(kind="835")[0] if f["name"] == "main.835")
    claim_ids = re.findall(r'<article class="eob-claim" id="claim-([A-Z0-9]+)"',
                           biller.get(f"/remittances/{sha}").text)
    assert len(claim_ids) >= 10
    for claim_id in claim_ids:
        page = biller.get(f"/claims/{claim_id}?era={sha}")
        assert page.status_code == 200, claim_id
        if ledger.issued_for(claim_id):
            form = claim_form(biller, f"/claims/{claim_id}?era={sha}")
            form["action"] = "send"
            response = biller.post(f"/claims/{claim_id}", data=form)
            assert response.status_code == 422, claim_id
    assert not _sent(root)
    clm_only = claim_form(biller, f"/claims/CLMONLY01?era={sha}")
    assert "claim_paid" in clm_only and not any(k.startswith("line-") for k in clm_only)


def test_an_uploaded_835_is_explored_and_never_processed(client_for, root, ledger, samples_dir, anonymous):
    analyst = client_for("andy")
    csrf = csrf_of(analyst, "/remittances")
    era = (samples_dir / "cob" / "seed-era.835").read_bytes()
    files = {"file": ("seed-era.835", era, "application/octet-stream")}
    assert anonymous.post("/remittances/upload", data={"csrf": csrf}, files=files,
                          follow_redirects=False).headers["location"] == "/login"
    assert analyst.post("/remittances/upload", data={"csrf": "wrong"}, files=files).status_code == 403
    response = analyst.post("/remittances/upload", data={"csrf": csrf}, files=files, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/uploads/")
    page = analyst.get(response.headers["location"]).text
    assert "SEED001" in page and "uploaded by andy" in page and "Payment check" in page
    assert "SAMPLE" not in page and "PRM0001234" not in page  # masked for the analyst
    assert "seed-era.835" in analyst.get("/remittances").text
    # nothing processed: no file recorded, no decision, nothing in inbound or outbound
    assert ConsoleStore(ledger).latest_decision("SEED001") is None
    assert not list((root / "inbound").glob("*.835")) and not list((root / "outbound").glob("*.837"))
    # a file that is not an 835 is refused
    refused = analyst.post("/remittances/upload", data={"csrf": csrf},
                           files={"file": ("claims.837", (samples_dir / "cob" / "seed-claims.837").read_bytes())})
    assert refused.status_code == 422 and "not a usable 835" in refused.text
    actions = [r["action"] for r in ConsoleStore(ledger).audit_page(50)[0]]
    assert "remittance.upload" in actions and "remittance.upload_refused" in actions


def test_an_original_claim_with_an_unreadable_charge_is_explained_not_crashed(client_for, root, samples_dir):
    text = (samples_dir / "cob" / "seed-claims.837").read_text()
    text = text.replace("CLM*SEED001*33***", "CLM*BADAMT01*3X***").replace("REF*6R*SEED001-1", "REF*6R*BADAMT01-1")
    (root / "inbound" / "bad-amount.837").write_text(text)
    CliRunner().invoke(main, ["run", str(root), "--settle", "0"])
    biller = client_for("bella")
    page = biller.get("/claims/BADAMT01?mode=paper")
    assert page.status_code == 200 and "CLM02 is not a valid amount" in page.text
    assert 'id="claim-form"' not in page.text
