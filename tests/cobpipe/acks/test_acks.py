"""999 and 277CA in (each claim's state moves), TA1/999 out (what a sender of a broken file gets),
against a real ledger and the real drop-folder step."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cobpipe.acks.write import acknowledge
from cobpipe.cli import main
from cobpipe.commands.validate import validate_path
from cobpipe.jobs.process import Status, process_inbound
from cobpipe.jobs.status import render_text, status

from ackfiles import ack_277ca, ack_999
from jobfiles import PHI, claims_837, drop, era_835

CLAIMS = ["S1", "S2", "S3"]


@pytest.fixture
def issued(root, ledger, options):
    """Three secondary claims billed to payer 22222 in one 837P: {claim id: IssuedClaim}."""
    process_inbound(drop(root.inbound, "claims.837", claims_837(CLAIMS)), ledger, root, options)
    outcome = process_inbound(drop(root.inbound, "era.835", era_835(CLAIMS)), ledger, root, options)
    assert outcome.status is Status.CONVERTED, outcome
    return {c: ledger.issued_for(c)[0] for c in CLAIMS}


def states(ledger, kind):
    return {c: next((a["state"] for a in ledger.claim_acks(c) if a["kind"] == kind), None) for c in CLAIMS}


def test_a_999_accepting_the_set_marks_every_claim_accepted(root, ledger, options, issued):
    first = issued["S1"]
    text = ack_999(first.gs06, [(first.st02, "A", [])], "A")
    outcome = process_inbound(drop(root.inbound, "ch.999", text), ledger, root, options)
    assert (outcome.status, outcome.kind) == (Status.STORED, "999"), outcome
    assert states(ledger, "999") == {c: "accepted" for c in CLAIMS}
    assert (root.archive / "ch.999").exists() and not (root.inbound / "ch.999").exists()
    assert ledger.stats().claims_by_status.get("rejected", 0) == 0
    # the same bytes again change nothing
    again = process_inbound(drop(root.inbound, "ch-again.999", text), ledger, root, options)
    assert again.status is Status.DUPLICATE


def test_a_999_rejecting_the_set_puts_every_claim_in_the_work_queue(root, ledger, options, issued):
    first = issued["S1"]
    text = ack_999(first.gs06, [(first.st02, "R", ["IK3*CLM*15*2300*8", "IK4*7**7", "IK5*R*5"])], "R")
    process_inbound(drop(root.inbound, "ch.999", text), ledger, root, options)
    assert states(ledger, "999") == {c: "rejected" for c in CLAIMS}
    [ack] = [a for a in ledger.claim_acks("S2") if a["kind"] == "999"]
    assert "rejected" in ack["reason"] and "IK3 CLM segment 15 loop 2300 code 8" in ack["reason"]
    stats = ledger.stats()
    assert stats.claims_by_status["rejected"] == 3
    assert {p["claim_id"] for p in stats.last_claim_problems} == set(CLAIMS)
    assert all(p["file"] == "ch.999" for p in stats.last_claim_problems)


def test_a_999_for_a_set_we_never_sent_matches_nothing(root, ledger, options, issued):
    text = ack_999(4242, [(77, "A", [])], "A")
    outcome = process_inbound(drop(root.inbound, "other.999", text), ledger, root, options)
    assert outcome.counts == {"unmatched": 1}
    assert states(ledger, "999") == {c: None for c in CLAIMS}


def test_a_277ca_partly_rejecting_moves_each_claim_and_records_the_payer_claim_number(root, ledger, options,
                                                                                      issued, json_log):
    text = ack_277ca([("S1", "A2:20:PR", "PAYER0001"), ("S2", "A7:562:85", ""), ("S3", "A3:21", "")])
    assert pyx12_findings(write(root.path, "check.277", text)) == []  # a valid 277CA
    outcome = process_inbound(drop(root.inbound, "payer.277", text), ledger, root, options)
    assert (outcome.status, outcome.kind) == (Status.STORED, "277CA"), outcome
    assert states(ledger, "277CA") == {"S1": "accepted", "S2": "rejected", "S3": "rejected"}
    assert ledger.payer_claim_number("S1", "22222") == "PAYER0001"
    [s2] = ledger.claim_acks("S2")
    assert s2["codes"] == ["A7:562:85"]
    assert s2["reason"].startswith("277CA A7 rejected for invalid information: 562 the entity's National Provider")
    stats = ledger.stats()
    assert stats.claims_by_status == {"converted": 1, "rejected": 2}
    assert {p["claim_id"] for p in stats.last_claim_problems} == {"S2", "S3"}
    for value in PHI.values():
        assert not any(value in line for line in json_log), value


def test_the_ack_command_applies_files_and_exits_1_on_rejections(root, ledger, issued, tmp_path):
    accepting = write(tmp_path, "ok.277", ack_277ca([(c, "A1:19:PR", "") for c in CLAIMS]))
    result = CliRunner().invoke(main, ["ack", str(accepting), "--db", ledger.test_target, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["files"][0]["claims"] == {"accepted": 3}
    first = issued["S1"]
    rejecting = write(tmp_path, "no.999", ack_999(first.gs06, [(first.st02, "R", ["IK5*R*5"])], "R"))
    result = CliRunner().invoke(main, ["ack", str(rejecting), "--db", ledger.test_target])
    assert result.exit_code == 1, result.output
    assert "S1 (payer 22222): 999 set 0001 rejected" in result.output
    not_an_ack = write(tmp_path, "era.835", era_835(["S1"]))
    result = CliRunner().invoke(main, ["ack", str(not_an_ack), "--db", ledger.test_target])
    assert result.exit_code == 2 and "not a 999" in result.output


def test_status_lists_files_without_a_999_and_claims_without_a_277ca(root, ledger, issued):
    data = status(root, ledger, ack_after=0)
    acks = data["acknowledgments"]
    assert [o["file"] for o in acks["outputs_without_999"]] == [issued["S1"].output]
    assert acks["claims_without_277ca_total"] == 3
    assert "no 999   " + issued["S1"].output in render_text(data)
    assert status(root, ledger, ack_after=3600)["acknowledgments"]["outputs_without_999"] == []


# --- acknowledgments out -------------------------------------------------------------------------

def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def pyx12_findings(path: Path):
    return validate_path(path, engine="pyx12").findings


@pytest.fixture
def acking(options):
    return dataclasses.replace(options, acknowledge=True)


def test_a_good_file_gets_a_999_accepting_it(root, ledger, acking):
    outcome = process_inbound(drop(root.inbound, "claims.837", claims_837(["G1"])), ledger, root, acking)
    [answer] = root.outbound.glob("*.999")
    assert answer.name == f"claims.{outcome.sha256[:12]}.999"
    text = answer.read_text()
    assert "AK1*HC*101*005010X222A1~" in text and "IK5*A~" in text and "AK9*A*1*1*1~" in text
    assert "ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*SUNRISEPEDS    *" in text
    assert pyx12_findings(answer) == []


def test_guide_errors_point_ik3_and_ik4_at_the_segment_and_element(root, ledger, acking):
    text = claims_837(["G1"]).replace("CLM*G1*33***11:B:1*Y*A*Y*Y", "CLM*G1*33***11:B:1*Y*Q*Y*Y")
    process_inbound(drop(root.inbound, "claims.837", text), ledger, root, acking)
    [answer] = root.outbound.glob("*.999")
    body = answer.read_text()
    # CLM is the 19th segment of the set (ST = 1); CLM07 holds the bad code (IK403 7)
    assert "IK3*CLM*19*2300*8~\nIK4*7**7~\nIK5*E*5~\nAK9*E*1*1*1~" in body
    assert pyx12_findings(answer) == []


def test_a_rejected_file_gets_a_999_rejecting_its_set(root, ledger, acking):
    text = claims_837(["G1"]).replace("005010X222A1", "005010X223A2")  # an 837I: not for us
    outcome = process_inbound(drop(root.inbound, "inst.837", text), ledger, root, acking)
    assert outcome.status is Status.REJECTED
    [answer] = root.outbound.glob("*.999")
    body = answer.read_text()
    assert "IK5*R*" in body and "AK9*R*1*1*0~" in body
    assert pyx12_findings(answer) == []


def test_a_bad_interchange_envelope_gets_a_ta1(root, ledger, acking):
    text = claims_837(["G1"]).replace("IEA*1*000000101", "IEA*1*000000999")
    process_inbound(drop(root.inbound, "claims.837", text), ledger, root, acking)
    [answer] = root.outbound.glob("*.ta1")
    assert "TA1*000000101*260312*0930*R*001~" in answer.read_text()
    assert list(root.outbound.glob("*.999")) == []


def test_acknowledgments_take_control_numbers_from_the_ledger(root, ledger, acking):
    process_inbound(drop(root.inbound, "a.837", claims_837(["G1"])), ledger, root, acking)
    process_inbound(drop(root.inbound, "b.837", claims_837(["G2"], control=102)), ledger, root, acking)
    numbers = {(k, s, r): n for k, s, r, n in ledger.control_numbers()}
    assert numbers[("ISA", "ZZ:CLEARHOUSE", "ZZ:SUNRISEPEDS")] == 2
    isa13 = sorted(p.read_text().split("*")[13] for p in root.outbound.glob("*.999"))
    assert isa13 == ["000000001", "000000002"]


def test_no_acknowledgment_for_what_has_no_interchange(root, ledger, acking, tmp_path):
    process_inbound(drop(root.inbound, "scan.837", "%PDF-1.4 not X12"), ledger, root, acking)
    assert list(root.outbound.iterdir()) == []
    fragment = write(tmp_path, "frag.837", "ST*837*0001~SE*2*0001~")
    assert acknowledge(fragment, [], None, accepted=False) is None


def test_the_plain_drop_folder_writes_no_acknowledgment_unless_asked(root, ledger, options):
    process_inbound(drop(root.inbound, "claims.837", claims_837(["G1"])), ledger, root, options)
    assert list(root.outbound.iterdir()) == []


def test_run_takes_each_partners_inbound_and_answers_into_its_outbound(root, ledger, options):
    from cobpipe.acks.partners import PartnerRoot
    from cobpipe.jobs.batch import run_once

    acme = PartnerRoot.of(root, "acme-billing")
    drop(acme.inbound, "claims.837", claims_837(["P1"]))
    drop(acme.inbound, "era.835", era_835(["P1"]))
    drop(root.inbound, "local.837", claims_837(["P2"], control=102))
    outcomes = {o.name: o for o in run_once(root, ledger, options)}
    assert {n: str(o.status) for n, o in outcomes.items()} == {
        "claims.837": "stored", "era.835": "converted", "local.837": "stored"}
    assert sorted(p.suffix for p in acme.outbound.iterdir()) == [".837", ".999", ".999", ".json"]
    assert list(root.outbound.iterdir()) == []  # ROOT/inbound without JobOptions.acknowledge: no answer
    assert ledger.file(outcomes["era.835"].sha256).detail["partner"] == "acme-billing"
    assert "partner" not in ledger.file(outcomes["local.837"].sha256).detail
    assert list(acme.inbound.iterdir()) == [acme.uploads]  # only the (empty) staging folder is left


@pytest.mark.parametrize(("change", "code"), [
    (lambda t: t[: t.index("IEA*")], "023"),  # no IEA: the interchange never ends
    (lambda t: t.replace("*ZZ*SUNRISEPEDS    *", "*ZZ*SUNRISEPEDS *", 1), "024"),  # ISA not fixed width
    (lambda t: t.replace("IEA*1*", "IEA*3*"), "021"),  # IEA01 is not the number of groups
])
def test_interchange_errors_give_a_ta1_with_their_code(tmp_path, change, code):
    from edi.writer import SequentialControlNumbers

    path = write(tmp_path, "in.837", change(claims_837(["X1"])))
    written = acknowledge(path, validate_path(path).findings, SequentialControlNumbers(), accepted=False)
    assert written.kinds == ("TA1",)
    assert f"TA1*000000101*260312*0930*R*{code}~" in written.text


# --- every 999 we write passes the 999 guide, whatever the findings ---------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_JUNK = st.sampled_from(["", "Q", "99999999999999999999999999999999999999999999999999999999999999999999999",
                         "2026133", "ZZ", "-1", "A:B:C:D:E:F:G:H", "1.2.3"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(3, 40), st.integers(1, 9), _JUNK), min_size=1, max_size=6),
       accepted=st.booleans())
def test_any_999_we_write_passes_the_999_guide(tmp_path_factory, edits, accepted):
    from edi.writer import SequentialControlNumbers

    lines = claims_837(["H1", "H2"]).split("~\n")
    for line_no, element, junk in edits:
        if line_no < len(lines) - 4:  # body segments only: the envelope stays readable
            parts = lines[line_no].split("*")
            if element < len(parts):
                parts[element] = junk
                lines[line_no] = "*".join(parts)
    folder = tmp_path_factory.mktemp("h")
    path = write(folder, "in.837", "~\n".join(lines))
    written = acknowledge(path, validate_path(path).findings, SequentialControlNumbers(), accepted=accepted)
    assert written is not None
    answer = write(folder, "out.999", written.text)
    assert validate_path(answer).findings == [], written.text


def test_run_acknowledge_flag_answers_files_dropped_in_root_inbound(root):
    """`cobpipe run --acknowledge`: the plain drop folder writes a 999 for what it received too."""
    from click.testing import CliRunner

    from cobpipe.cli import main

    drop(root.inbound, "claims.837", claims_837(["G1"]))
    result = CliRunner().invoke(main, ["run", str(root.path), "--acknowledge", "--settle", "0"])
    assert result.exit_code == 0, result.output
    [answer] = root.outbound.glob("*.999")
    assert "IK5*A~" in answer.read_text()
