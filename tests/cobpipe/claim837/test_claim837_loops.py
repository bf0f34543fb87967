from hypothesis import given, settings
from hypothesis import strategies as st

from edi.segment import Segment

from cobpipe.claim837 import Loop, loop_table


def seg(text: str) -> Segment:
    tag, *elements = text.split("*")
    return Segment(tag, tuple(elements))


def test_loop_starts_come_from_the_pyx12_map():
    table = loop_table()
    assert table.child_loop("2300", seg("NM1*82*1*OAK")) == "2310B"
    assert table.child_loop("2300", seg("NM1*DN*1*OAK")) == "2310A"
    assert table.child_loop("2300", seg("NM1*P3*1*OAK")) == "2310A"
    assert table.child_loop("2300", seg("SBR*P*18")) == "2320"
    assert table.child_loop("2300", seg("LX*1")) == "2400"
    assert table.child_loop("2320", seg("NM1*PR*2*PLAN")) == "2330B"
    assert table.child_loop("2320", seg("NM1*85*2*CLINIC")) == "2330G"
    assert table.child_loop("2400", seg("NM1*82*1*OAK")) == "2420A"
    assert table.child_loop("2400", seg("NM1*DK*1*OAK")) == "2420E"
    assert table.child_loop("2400", seg("SVD*FC001*10")) == "2430"
    assert table.child_loop("2400", seg("LIN**N4*1")) == "2410"
    assert table.child_loop("2400", seg("LQ*UT*01.02")) == "2440"
    assert table.child_loop("2000B", seg("NM1*IL*1*A")) == "2010BA"
    assert table.child_loop("2000B", seg("NM1*PR*2*A")) == "2010BB"
    assert table.child_loop("HEADER", seg("NM1*41*2*A")) == "1000A"
    # qualifiers not in the guide open no loop; SBR is a 2000B segment, not a loop start there
    assert table.child_loop("2300", seg("NM1*ZZ*1*OAK")) is None
    assert table.child_loop("2000B", seg("SBR*P*18")) is None
    assert table.is_member("2000B", "SBR") and table.is_member("2430", "DTP")
    assert not table.is_member("2320", "SBR")  # its start segment: a second SBR opens a new 2320


def test_specs_carry_guide_names_repeats_and_qualifiers():
    specs = loop_table().specs
    assert specs["2320"].repeat == "10" and specs["2430"].repeat == "15"
    assert specs["2330B"].qualifiers == frozenset({"PR"})
    assert specs["2310A"].qualifiers == frozenset({"DN", "P3"})
    assert specs["2300"].children[-2:] == ("2320", "2400")


def build_claim() -> Loop:
    claim = Loop("2300", [seg("CLM*X*10***11:B:1*Y*A*Y*Y"), seg("HI*ABK:J069")])
    claim.append(Loop("2310B", [seg("NM1*82*1*OAK"), seg("PRV*PE*PXC*207Q00000X")]))
    line = Loop("2400", [seg("LX*1"), seg("SV1*HC:99213*10*UN*1***1"), seg("DTP*472*D8*20260101")])
    line.append(Loop("2440", [seg("LQ*UT*01.02")]))
    claim.append(line)
    return claim


def test_helpers_read_segments_and_loops_in_order():
    claim = build_claim()
    assert claim.first == seg("CLM*X*10***11:B:1*Y*A*Y*Y")
    assert claim.segment("HI") == seg("HI*ABK:J069")
    assert claim.segment("REF") is None
    line = claim.child("2400")
    assert line.segment("DTP", "472").get(3) == "20260101" and line.segment("DTP", "573") is None
    assert [loop.id for loop in claim.children] == ["2310B", "2400"]
    assert claim.find("2440").first.get(1) == "UT"
    assert [loop.id for loop in claim.find_all("2440")] == ["2440"]
    assert [s.tag for s in claim.iter_segments()] == ["CLM", "HI", "NM1", "PRV", "LX", "SV1", "DTP", "LQ"]
    assert claim.segment_count() == 8


def test_add_inserts_in_guide_order():
    claim = build_claim()
    claim.add(Loop("2320", [seg("SBR*P*18")]))
    claim.add(seg("REF*F8*ORIG1"))
    line = claim.child("2400")
    line.add(Loop("2430", [seg("SVD*FC001*8*HC:99213**1")]))
    line.add(seg("REF*6R*X-1"))
    assert [s.tag for s in claim.iter_segments()] == [
        "CLM", "REF", "HI", "NM1", "PRV", "SBR", "LX", "SV1", "DTP", "REF", "SVD", "LQ"]


def test_copy_is_independent_and_remove_replace_work_by_identity():
    claim = build_claim()
    clone = claim.copy()
    clone.remove(clone.child("2310B"))
    clone.replace(clone.segment("HI"), seg("HI*ABK:R05"))
    assert claim.child("2310B") is not None and claim.segment("HI").get(1) == "ABK:J069"
    assert [loop.id for loop in clone.children] == ["2400"] and clone.segment("HI").get(1) == "ABK:R05"
    assert not clone.same_content(claim) and claim.same_content(claim.copy())


def test_placement_table_agrees_with_child_loop_and_is_member():
    table = loop_table()
    tags = {tag for starts in table.starts.values() for tag in starts} | {
        tag for spec in table.specs.values() for tag in spec.members} | {"ZZZ"}
    qualifiers = {q for starts in table.starts.values() for entries in starts.values()
                  for codes, _ in entries if codes for q in codes} | {"", "ZZ"}
    checked = 0
    for loop_id in table.specs:
        for tag in tags:
            starts, member = table.placement.get((loop_id, tag), ((), False))
            assert member == table.is_member(loop_id, tag)
            for qualifier in qualifiers:
                segment = Segment(tag, (qualifier,))
                chosen = next((child for codes, child in starts if codes is None or qualifier in codes), None)
                assert chosen == table.child_loop(loop_id, segment)
                checked += chosen is not None
    assert checked > 100


_ids = st.sampled_from(["2320", "2400", "2310B"])
_segments = st.sampled_from(["SBR*P", "LX*1", "NM1*82", "CLM*A*1"]).map(seg)
_loops = st.recursive(st.builds(Loop, _ids, st.lists(_segments, max_size=2)),
                      lambda inner: st.builds(Loop, _ids, st.lists(st.one_of(_segments, inner), max_size=6)),
                      max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_loops, st.sampled_from(["2320", "2400", "2310B", "2300"]))
def test_children_of_is_every_direct_child_with_the_id_in_order(loop, loop_id):
    """children_of (a plain loop: the 2300's 2320s and 2400s, ~3 times a claim) answers as its
    definition reads: the direct child loops with that id (the same objects), in order, none below."""
    expected = [item for item in loop.items if isinstance(item, Loop) and item.id == loop_id]
    found = loop.children_of(loop_id)
    assert len(found) == len(expected) and all(a is b for a, b in zip(found, expected))
