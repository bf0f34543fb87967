"""Findings are capped per code with a counted summary; junk beyond a limit refuses the file."""
import pytest

from edi import ig
from edi.findings import FINDINGS_PER_CODE, JUNK_LIMIT, CappedFindings, Finding, Location, TooManyFindings
from edi.reader import X12Reader

ISA = ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *230101*1200*^*00501*"
       "000000001*0*P*:~")


def interchange(body: list[str]) -> str:
    segments = ["GS*HC*S*R*20230101*1200*1*X*005010X222A1", "ST*837*0001*005010X222A1", *body,
                f"SE*{len(body) + 2}*0001", "GE*1*1", "IEA*1*000000001"]
    return ISA + "\n" + "~\n".join(segments) + "~\n"


def test_the_reader_keeps_the_first_per_code_and_counts_the_rest():
    reader = X12Reader.from_text(interchange(["x"] * 5000), "bad.837")
    list(reader)
    env013 = [f for f in reader.findings if f.code == "ENV013"]
    assert len(env013) == FINDINGS_PER_CODE + 1
    assert env013[-1].message.startswith(f"... and {5000 - FINDINGS_PER_CODE:,} more ENV013")
    assert [f.location.segment for f in env013[:3]] == [4, 5, 6]


def test_the_reader_refuses_a_file_with_more_junk_than_the_limit_naming_file_and_segment():
    reader = X12Reader.from_text(interchange(["x"] * (JUNK_LIMIT + 5)), "junk.837")
    with pytest.raises(TooManyFindings) as caught:
        list(reader)
    text = str(caught.value)
    assert text.startswith(f"junk.837 seg {JUNK_LIMIT + 4} ") and "refused" in text and "\n" not in text


def test_truncation_is_reported_after_the_cap_of_its_code():
    # 150 "SE missing" ENV008s, then the file ends inside an ST: the "truncated" finding is kept
    body = []
    for n in range(150):
        body += [f"ST*837*{n:04d}*005010X222A1", "BHT*0019*00*1*20230101*1200*CH"]
    text = ISA + "\nGS*HC*S*R*20230101*1200*1*X*005010X222A1~\n" + "~\n".join(body) + "~\n"
    reader = X12Reader.from_text(text, "cut.837")
    list(reader)
    assert any(f.code == "ENV008" and f.message.startswith("truncated") for f in reader.findings)


def test_ig_validation_is_capped_by_default_and_complete_when_asked():
    text = interchange(["NM1*ZZ*1"] * 400)
    capped = ig.validate_text(text)
    complete = ig.validate_text(text, capped=False)
    assert len(complete) > len(capped)
    counts = {}
    for finding in capped:
        counts[finding.code] = counts.get(finding.code, 0) + 1
    assert max(counts.values()) <= FINDINGS_PER_CODE + 1
    assert any("more" in f.message and "not listed" in f.message for f in capped)


def test_ig_validation_refuses_a_file_of_unrecognized_segments():
    with pytest.raises(TooManyFindings, match="refused"):
        ig.validate_text(interchange(["ZZ*1"] * (JUNK_LIMIT + 10)), name="zz.837")


def test_capped_findings_without_limits_is_a_plain_list():
    findings = CappedFindings(per_code=None, junk_limit=None)
    findings += [Finding("ENV013", "x", Location("f", n)) for n in range(JUNK_LIMIT + 1)]
    assert len(findings) == JUNK_LIMIT + 1 and findings.dropped == 0


def test_a_loop_longer_than_any_guide_allows_is_refused_but_many_short_ones_are_not():
    from edi.reader import LOOP_LIMIT

    long_claim = ["CLM*A*1***11:B:1*Y*A*Y*Y", *(["NTE*ADD*X"] * (LOOP_LIMIT + 5))]
    with pytest.raises(TooManyFindings, match="one claim or loop"):
        list(X12Reader.from_text(interchange(long_claim), "long.837"))
    many = []
    for n in range(LOOP_LIMIT // 1000 + 3):
        many += [f"CLM*C{n}*1***11:B:1*Y*A*Y*Y", *(["NTE*ADD*X"] * 999)]
    reader = X12Reader.from_text(interchange(many), "many.837")
    assert sum(1 for _ in reader) > LOOP_LIMIT
    assert [f.code for f in reader.findings] == []
