"""A TA1 (interchange acknowledgment) belongs between ISA and IEA, outside any functional group."""
from edi.reader import X12Reader

ISA = "ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*SUNRISEPEDS    *260401*0930*^*00501*000000007*0*T*:~"


def codes(text: str) -> list[str]:
    reader = X12Reader.from_text(text, "ta1.x12")
    list(reader)
    return [f.code for f in reader.findings]


def test_a_ta1_alone_in_its_interchange_is_not_outside_its_envelope():
    assert codes(ISA + "TA1*000000042*260401*0930*R*023~IEA*0*000000007~") == []


def test_a_stray_segment_in_the_same_place_still_is():
    assert "ENV010" in codes(ISA + "ZZ1*000000042~IEA*0*000000007~")
