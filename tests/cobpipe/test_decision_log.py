"""DecisionLog reads like the list it replaces while keeping only the latest decisions in memory."""
import datetime as dt
import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cobpipe.decision_log import DecisionLog
from cobpipe.pipeline import CONVERTED, REJECTED, ClaimDecision, ConvertOptions, run_batch

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "cob"


def decisions(n):
    return [ClaimDecision(f"C{k:03d}", CONVERTED, [f"reason {k}"], payer_id="P2", era_segment=k) for k in range(n)]


@pytest.mark.parametrize("n", [0, 1, 5, 6, 7, 20])
def test_reads_back_what_was_appended_in_order(n):
    log = DecisionLog(block=3)
    for decision in decisions(n):
        log.append(decision)
    assert len(log) == n and bool(log) is (n > 0)
    assert [d.to_dict() for d in log] == [d.to_dict() for d in decisions(n)]
    assert [log[k].claim_id for k in range(n)] == [f"C{k:03d}" for k in range(n)]
    if n:
        assert log[-1].claim_id == f"C{n - 1:03d}"
    with pytest.raises(IndexError):
        log[n]


def test_older_decisions_leave_memory():
    log = DecisionLog(decisions(20), block=3)
    assert len(log._recent) < 6 and log._written >= 15


def test_the_latest_decision_can_still_change_after_it_was_appended():
    """The converter appends a decision, then decides it."""
    log = DecisionLog(block=2)
    for decision in decisions(9):
        log.append(decision)
        decision.status = REJECTED
        decision.reasons.append("decided")
    assert all(d.status == REJECTED and d.reasons[-1] == "decided" for d in log)


def test_revise_changes_decisions_already_written_out():
    log = DecisionLog(decisions(10), block=2)

    def reject_odd(decision):
        if int(decision.claim_id[1:]) % 2:
            decision.status = REJECTED
            return True
        return False

    assert log.revise(reject_odd) == 5
    assert [d.status for d in log] == [CONVERTED, REJECTED] * 5
    assert [d.status for d in log] == [CONVERTED, REJECTED] * 5  # read twice: still changed


def test_two_readers_at_once():
    log = DecisionLog(decisions(10), block=2)
    pairs = list(zip(log, log))
    assert [a.claim_id for a, _ in pairs] == [b.claim_id for _, b in pairs] == [f"C{k:03d}" for k in range(10)]


def test_goes_to_another_process_as_its_decisions():
    log = DecisionLog(decisions(10), block=2)
    copy = pickle.loads(pickle.dumps(log))
    assert [d.to_dict() for d in copy] == [d.to_dict() for d in log]


def test_a_conversion_writes_the_same_files_whatever_stays_in_memory(tmp_path, monkeypatch):
    options = ConvertOptions(today=dt.date(2026, 4, 1), now=dt.datetime(2026, 4, 2, 12, 0))
    outputs = {}
    for block in (1000, 2):
        monkeypatch.setattr("cobpipe.decision_log.BLOCK", block)
        [result] = run_batch([SAMPLES / "era.835"], [SAMPLES / "claims.837"], tmp_path / str(block),
                             options=options, coverage_path=SAMPLES / "coverage.csv", db_path=tmp_path / f"{block}.db")
        outputs[block] = result
    small, large = outputs[2], outputs[1000]
    assert small.decisions._written > 0 and large.decisions._written == 0
    assert small.counts == large.counts and small.counts["converted"] == 10
    for name in ("era.837", "era.report.json"):
        assert (tmp_path / "2" / name).read_bytes() == (tmp_path / "1000" / name).read_bytes()


def test_without_a_usable_temporary_folder_the_rest_stays_in_memory(monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("cobpipe.decision_log.tempfile.TemporaryFile", refuse)
    log = DecisionLog(decisions(9), block=2)
    assert log._written == 0 and [d.claim_id for d in log] == [f"C{k:03d}" for k in range(9)]


def test_a_disk_that_fills_up_loses_no_decision():
    log = DecisionLog(decisions(5), block=2)
    assert log._written == 2

    class FillsUp:
        """The log's file, refusing to take more after what was written."""

        def __init__(self, real):
            self.real = real

        def write(self, data):
            self.real.write(data[:10])  # part of a block reaches the disk
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.real, name)

    log._file = FillsUp(log._file)
    for decision in decisions(12)[5:]:
        log.append(decision)
    assert log._written == 2 and len(log) == 12
    assert [d.claim_id for d in log] == [f"C{k:03d}" for k in range(12)]


def _every_field(decision):
    import dataclasses
    return {f.name: getattr(decision, f.name) for f in dataclasses.fields(decision)}


def test_a_decision_reads_back_field_for_field_with_its_findings_cap():
    """ClaimDecision pickles as one tuple of its fields (positional): a field added or moved in the
    class and not in __reduce__ would come back in the wrong place, or not at all."""
    from cobpipe.cob.decision import PAPER
    from edi.findings import Finding, Location

    full = ClaimDecision("C1", PAPER, ["r1", "r2"], payer_id="P2", era_segment=7, era_payer="ACME (1)",
                         era_payer_id="A1", era_level="P", clp02="1", payer_claim_number="PCN", level="S",
                         frequency="7", state="billed_secondary", crossover_to="MEDIGAP", crossover_answered=True)
    for n in range(103):  # past the cap of 100 a code: the summary and the counts come back too
        full.findings.append(Finding("COB020", f"finding {n}", Location(claim="C1")))
    empty = ClaimDecision("C2", CONVERTED)
    log = DecisionLog([full, empty] * 3, block=2)
    assert log._written >= 2
    for original, restored in list(zip([full, empty] * 3, log))[:log._written]:  # those read back from disk
        assert restored is not original
        assert _every_field(restored) == _every_field(original)
        assert restored.to_dict() == original.to_dict()
        assert restored.findings.counts == original.findings.counts
        assert restored.findings.per_code == original.findings.per_code == 100
    fresh = list(log)[1].findings
    fresh.extend(Finding("COB021", str(n)) for n in range(101))  # a revised decision's findings stay capped
    assert len(fresh) == 101 and fresh[-1].message.startswith("... and 1 more COB021")


def test_a_plain_list_of_findings_stays_a_plain_list():
    decision = ClaimDecision("C3", CONVERTED, findings=[])
    [restored] = pickle.loads(pickle.dumps([decision]))
    assert type(restored.findings) is list and restored.findings == []


def _slots(findings):
    return (type(findings), list(findings), findings.per_code, findings.junk_limit, findings.counts, findings.junk,
            findings._summaries)


def test_a_block_of_decisions_is_packed_as_plain_values():
    """Fails if the log stops packing ClaimDecisions a block at a time (back to a reduce per decision)."""
    log = DecisionLog(decisions(10), block=2)
    kind, (rows, kept) = pickle.loads(log._read(*log._blocks[0]))
    assert kind is ClaimDecision and kept == []
    assert all(type(row) is tuple for row in rows)


def test_an_empty_findings_list_reads_back_as_a_fresh_one():
    from cobpipe.cob.decision import _capped, _empty_findings, _fresh

    made = _empty_findings()
    assert _slots(made) == _slots(_capped()) and _fresh(made)
    [_, restored] = list(DecisionLog(decisions(2), block=1))[:2]
    assert _slots(restored.findings) == _slots(_capped())


def test_findings_that_are_empty_but_not_fresh_read_back_as_they_were():
    from edi.findings import CappedFindings, Finding

    odd = [ClaimDecision("A", CONVERTED, findings=CappedFindings(per_code=5)),
           ClaimDecision("B", CONVERTED, findings=[]),
           ClaimDecision("C", CONVERTED, findings=CappedFindings(junk_limit=3)),
           ClaimDecision("D", CONVERTED)]
    odd[3].findings.append(Finding("COB020", "x"))
    odd[3].findings.clear()  # empty again, its count kept: not fresh
    log = DecisionLog(odd * 2, block=2)
    assert log._written >= 4
    for original, restored in list(zip(odd * 2, log))[:log._written]:
        assert restored is not original
        if type(original.findings) is list:
            assert type(restored.findings) is list and restored.findings == []
        else:
            assert _slots(restored.findings) == _slots(original.findings)


def test_decisions_of_other_types_are_pickled_as_they_are():
    mixed = [*decisions(3), {"claim": "X"}, *decisions(3)]
    log = DecisionLog(mixed, block=2)
    assert log._written >= 4
    assert [d.to_dict() if isinstance(d, ClaimDecision) else d for d in log] == \
        [d.to_dict() if isinstance(d, ClaimDecision) else d for d in mixed]
    plain = DecisionLog(list(range(10)), block=2)
    assert list(plain) == list(range(10))


def test_a_new_decision_starts_with_a_fresh_capped_findings_list():
    from cobpipe.cob.decision import _capped, _fresh
    from edi.findings import Finding

    decision = ClaimDecision("C1", CONVERTED)
    assert _slots(decision.findings) == _slots(_capped()) and _fresh(decision.findings)
    assert ClaimDecision("C2", CONVERTED).findings is not decision.findings
    decision.findings.extend(Finding("COB021", str(n)) for n in range(102))
    assert len(decision.findings) == 101 and decision.findings[-1].message.startswith("... and 2 more COB021")


def test_a_log_handed_over_reads_back_as_it_was_and_owns_its_file(tmp_path):
    """A batch worker hands its ERA's log over as a file (hand_over) and the batch's process takes
    it (take): the same decisions, revised ones and the latest in memory too, and other types."""
    mixed = [*decisions(7), {"claim": "X"}, *decisions(4)]
    log = DecisionLog(mixed, block=2)
    log.revise(lambda d: isinstance(d, ClaimDecision) and d.claim_id == "C001" and not d.reasons.append("again"))
    assert log._revised and log._recent and log._written
    expected = [d.to_dict() if isinstance(d, ClaimDecision) else d for d in log]
    handed = log.hand_over(tmp_path / "handed")
    assert handed is not None and (tmp_path / "handed").exists()
    # what goes through the pool's pipe: the token, a few bytes a block, never the decisions
    big = DecisionLog(decisions(3000), block=100)
    assert len(pickle.dumps(big.hand_over(tmp_path / "big"))) < len(pickle.dumps(DecisionLog(decisions(200)))) / 10
    taken = DecisionLog.take(pickle.loads(pickle.dumps(handed)))
    assert not (tmp_path / "handed").exists()  # the open file is the log's alone
    assert [d.to_dict() if isinstance(d, ClaimDecision) else d for d in taken] == expected
    assert len(taken) == len(mixed) and taken[0].claim_id == "C000" and taken[-1].claim_id == "C003"
    assert [d.to_dict() if isinstance(d, ClaimDecision) else d for d in log] == expected  # unchanged
    taken.append(ClaimDecision("LATE", CONVERTED))
    for decision in decisions(6):
        taken.append(decision)
    assert [d.claim_id for d in list(taken)[len(mixed):]] == ["LATE", *(d.claim_id for d in decisions(6))]


def test_a_log_that_cannot_be_handed_over_says_so_and_leaves_no_file(tmp_path):
    log = DecisionLog(decisions(5), block=2)
    assert log.hand_over(tmp_path / "no such folder" / "handed") is None
    assert DecisionLog().hand_over(tmp_path / "empty") is not None  # nothing to write is fine
    assert list(DecisionLog.take(DecisionLog().hand_over(tmp_path / "empty"))) == []


@pytest.mark.parametrize("before", [0, 2])
def test_blocks_packed_elsewhere_read_back_in_order(before):
    """append_packed (a converting process's blocks, cobpipe/split.py): written as they are when
    nothing is held in memory, appended one by one after decisions still held; revisable."""
    from cobpipe.decision_log import packed

    made = decisions(12)
    log = DecisionLog(made[:before], block=3)
    for start in range(before, 12, 4):
        part = made[start:start + 4]
        log.append_packed(packed(part), len(part))
    assert len(log) == 12
    assert [d.to_dict() for d in log] == [d.to_dict() for d in made]
    assert (log._written == 12) is (before == 0)  # nothing held: every block went to the file as it was

    def reject_fifth(decision):
        if decision.claim_id != "C005":
            return False
        decision.status = REJECTED
        return True

    assert log.revise(reject_fifth) == 1
    assert [d.status for d in log].count(REJECTED) == 1 and log[5].status == REJECTED


# --- the end of a conversion reads the log once, by rows (report.write_claim_entries) -----------------

def _assorted():
    """Decisions of every shape the report meets: billed or not, findings, a changed frequency, odd values."""
    from cobpipe.cob.decision import HELD, PAPER
    from edi.findings import Finding, Location

    found = ClaimDecision("F1", REJECTED, ["bad"], era_segment=3)
    found.findings.append(Finding("COB020", "a finding", Location(claim="F1", path="/x/era.835")))
    return [*decisions(4), found,
            ClaimDecision("P1", PAPER, ["on paper"], payer_id="P9", level="T", frequency="7", era_payer="ACME (1)",
                          state="billed_tertiary", era_segment=0),
            ClaimDecision("H1", HELD, [], level="S", frequency="7", state=""),
            ClaimDecision("Q\"\\é\u2028", CONVERTED, ["ü \x01 \"quoted\""], payer_id="P2", level="S"),
            ClaimDecision("B1", CONVERTED, ("a", "b"), era_segment=True),  # not the usual types: the reference way
            ClaimDecision("N1", CONVERTED, ["x"], frequency=None)]


@pytest.mark.parametrize("block", [1, 2, 3, 1000])
def test_rows_are_the_decisions_report_rows(block):
    """DecisionLog.rows reads a packed block without making its decisions: the same rows as each
    decision read back gives, revised ones included."""
    log = DecisionLog(_assorted() * 2, block=block)

    def reject_paper(decision):
        if decision.status == "paper":
            decision.status = REJECTED
            decision.reasons.append("could not be printed")
            return True
        return False

    for _ in range(2):
        rows = list(log.rows())
        assert rows == [d.report_row() for d in log]
        assert len(rows) == len(log) == 20
        log.revise(reject_paper)
    assert any(row[1] == REJECTED and row[2][-1] == "could not be printed" for row, _ in log.rows())


class _Plain:
    """A decision type that packs no blocks of its own (pickled as it is)."""

    def __init__(self, n):
        self.n = n

    def report_row(self):
        return ("plain", self.n), ()


def test_rows_of_other_decision_types_are_their_own_report_rows():
    Plain = _Plain
    log = DecisionLog([Plain(n) for n in range(7)], block=2)
    assert list(log.rows()) == [(("plain", n), ()) for n in range(7)]


def test_a_report_entry_is_json_dumps_of_to_dict():
    import json

    from cobpipe.cob.decision import report_json

    for decision in _assorted():
        assert report_json(*decision.report_row()) == json.dumps(decision.to_dict())


def test_the_entries_written_from_the_log_are_those_of_its_decisions():
    import io
    import json

    from cobpipe.report import write_claim_entries
    from cobpipe.record import billed_row

    log = DecisionLog(_assorted() * 3, block=2)
    stream = io.StringIO()
    statuses, billed = write_claim_entries(log, stream)
    expected = "".join(("," if n else "") + "\n    " + json.dumps(d.to_dict()) for n, d in enumerate(log))
    assert stream.getvalue() == expected
    assert statuses == [d.status for d in log]
    assert billed == [billed_row(d) for d in log if d.status in ("converted", "paper")]
    plain = io.StringIO()
    assert write_claim_entries(list(log), plain) == (statuses, billed) and plain.getvalue() == expected


_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(deadline=None)  # (a shared machine: its time per example varies)
@given(claim_id=_TEXT, status=st.sampled_from(["converted", "paper", "skipped", "held", "rejected", "odd"]),
       reasons=st.lists(_TEXT, max_size=3), payer_id=st.one_of(st.none(), _TEXT),
       era_segment=st.one_of(st.none(), st.integers(-5, 10**12), st.booleans()),
       era_payer=st.one_of(st.none(), _TEXT), level=st.one_of(st.none(), _TEXT),
       frequency=st.one_of(st.sampled_from(["1", "7", "8"]), _TEXT, st.none()),
       state=st.one_of(st.none(), _TEXT), with_finding=st.booleans())
def test_a_report_entry_made_directly_is_the_reference_entry(claim_id, status, reasons, payer_id, era_segment,
                                                             era_payer, level, frequency, state, with_finding):
    import json

    from cobpipe.cob.decision import report_json
    from edi.findings import Finding, Location

    decision = ClaimDecision(claim_id, status, reasons, payer_id=payer_id, era_segment=era_segment,
                             era_payer=era_payer, level=level, frequency=frequency, state=state)
    if with_finding:
        decision.findings.append(Finding("COB020", "x", Location(claim=claim_id, path="/a/b.835")))
    reference = json.dumps(decision.to_dict())
    assert report_json(*decision.report_row()) == reference
    log = DecisionLog([decision] * 3, block=1)  # the first two read back from a packed block
    assert log._written and all(report_json(row, findings) == reference for row, findings in log.rows())


_SMALL = st.sampled_from(["", "A", "S", "1", "7", "P9", 0, 1, False, True, None, 0.0, ()])


@settings(deadline=None)  # (a shared machine: its time per example varies)
@given(st.lists(st.tuples(st.sampled_from(["C1", "c1", "X\u00e9", ""]),
                          st.sampled_from(["converted", "paper", "skipped", "held", 0, None]),
                          st.lists(_SMALL, max_size=2), _SMALL, st.one_of(st.none(), st.integers(0, 9)), _SMALL,
                          _SMALL, _SMALL, _SMALL), min_size=2, max_size=12))
def test_remembered_entry_middles_are_the_reference_entries(drawn):
    """report_json remembers an entry's middle by the values it shows: decisions drawn from a few
    values (so keys meet again, and values equal across types meet: 0, False, 0.0; 1, True) are
    each json.dumps of to_dict, whatever was remembered before them."""
    import json

    from cobpipe.cob import decision as module
    from cobpipe.cob.decision import report_json

    module._MIDDLES.clear()
    for claim_id, status, reasons, payer_id, segment, era_payer, level, frequency, state in drawn:
        decision = ClaimDecision(claim_id, status, reasons, payer_id=payer_id, era_segment=segment,
                                 era_payer=era_payer, level=level, frequency=frequency, state=state)
        try:
            reference = json.dumps(decision.to_dict())
        except TypeError:  # not encodable by json.dumps: report_json raises as well
            with pytest.raises(TypeError):
                report_json(*decision.report_row())
            continue
        assert report_json(*decision.report_row()) == reference


def test_remembered_middles_stay_bounded(monkeypatch):
    import json

    from cobpipe.cob import decision as module
    from cobpipe.cob.decision import report_json

    monkeypatch.setattr(module, "_MIDDLES_LIMIT", 3)
    for n in range(20):
        decision = ClaimDecision(f"C{n}", "skipped", [f"reason {n % 7}"], era_segment=n)
        assert report_json(*decision.report_row()) == json.dumps(decision.to_dict())
    assert len(module._MIDDLES) <= 3


@pytest.mark.parametrize("at_a_time", [1, 2, 7, 30, 31, 256])
def test_entries_written_in_runs_are_the_entries(monkeypatch, at_a_time):
    """write_claim_entries writes its entries some at a time: the same text whatever the run's length
    (a run ending on the last entry, one entry a run, all in one)."""
    import io
    import json

    from cobpipe import report
    from cobpipe.record import billed_row
    from cobpipe.report import write_claim_entries

    monkeypatch.setattr(report, "_ENTRIES_A_WRITE", at_a_time)
    log = DecisionLog(_assorted() * 3, block=min(at_a_time, 40))
    expected = "".join(("," if n else "") + "\n    " + json.dumps(d.to_dict()) for n, d in enumerate(log))
    for decisions in (log, list(log)):  # a log's rows, a list's decisions
        stream = io.StringIO()
        billed = [billed_row(d) for d in log if d.status in ("converted", "paper")]
        assert write_claim_entries(decisions, stream) == ([d.status for d in log], billed)
        assert stream.getvalue() == expected
    empty = io.StringIO()
    assert write_claim_entries(DecisionLog(), empty) == ([], []) and empty.getvalue() == ""


@settings(deadline=None)  # (a shared machine: its time per example varies)
@given(st.text(max_size=5), st.sampled_from(["rejected", "converted"]), st.one_of(st.none(), st.integers(0, 99)),
       st.one_of(st.none(), st.text(max_size=5)), st.sampled_from([None, "P", "S"]), st.sampled_from([None, "1", "22"]),
       st.one_of(st.none(), st.text(max_size=5)))
def test_a_remitted_decision_is_the_keyword_made_decision(claim_id, status, segment, era_payer, level, clp02, number):
    """remitted_decision (fields in order) makes what ClaimDecision's keywords make, with a fresh
    reasons list and findings of its own."""
    from cobpipe.cob.decision import _STATE, remitted_decision

    made = remitted_decision(claim_id, status, segment, era_payer, level, clp02, number)
    keyword = ClaimDecision(claim_id, status, era_segment=segment, era_payer=era_payer, era_level=level,
                            clp02=clp02, payer_claim_number=number)
    assert made == keyword and made.report_row() == keyword.report_row()
    assert type(made.findings) is type(keyword.findings) and _STATE(made.findings) == _STATE(keyword.findings)
    other = remitted_decision(claim_id, status, segment, era_payer, level, clp02, number)
    assert other.reasons is not made.reasons and other.findings is not made.findings


def _findings_of_kind(kind: str):
    """A decision's findings list of one shape the packing meets: fresh, or empty but not fresh in
    each way it can be, or holding a finding."""
    from cobpipe.cob.decision import _capped, _empty_findings
    from edi.findings import CappedFindings, Finding

    if kind == "fresh":
        return _empty_findings()
    if kind == "capped":
        return _capped()  # made by its __init__: fresh too
    if kind == "plain":
        return []
    if kind == "per_code":
        return CappedFindings(per_code=5, junk_limit=None)
    if kind == "junk_limit":
        return CappedFindings(junk_limit=3)
    if kind == "junk":
        made = _empty_findings()
        made.junk = 1
        return made
    made = _empty_findings()
    if kind == "kept":  # a finding kept whatever the cap: not counted
        made.keep(Finding("COB020", "x"))
        return made
    made.append(Finding("COB020", "x"))
    if kind == "cleared":  # empty again, its count kept
        made.clear()
    elif kind == "summary":
        made._summaries["COB020"] = made[0]
        made.clear()
    return made


@settings(deadline=None)  # (a shared machine: its time per example varies)
@given(st.lists(st.sampled_from(["fresh", "capped", "plain", "per_code", "junk_limit", "junk", "cleared",
                                 "summary", "found", "kept"]), min_size=1, max_size=12),
       st.booleans())
def test_a_block_of_fresh_findings_is_told_as_each_list_is(kinds, usual):
    """_pack_block's `_all_fresh` (passes of C code over a block's findings lists) answers what the
    reference rule, asked of each list, answers, and the block packs what that rule keeps; fails
    with any one of its three passes (truth, types, states) left out."""
    from cobpipe.cob.decision import _FRESH_STATE, _STATE, _all_fresh
    from edi.findings import CappedFindings

    if usual:  # the usual block: all fresh but (maybe) one
        kinds = ["fresh"] * 30 + kinds[:1]
    block = [ClaimDecision(f"C{k}", CONVERTED, findings=_findings_of_kind(kind)) for k, kind in enumerate(kinds)]
    lists = [d.findings for d in block]
    reference = [(position, findings) for position, findings in enumerate(lists)
                 if findings or type(findings) is not CappedFindings or _STATE(findings) != _FRESH_STATE]
    assert _all_fresh(lists) == (reference == [])
    rows, kept = ClaimDecision._pack_block(block)
    assert kept == reference and [p for p, _ in kept] == [p for p, _ in reference]
    assert [(row, list(found)) for row, found in ClaimDecision._block_rows((rows, kept))] == \
        [(d.report_row()[0], list(d.report_row()[1])) for d in block]
