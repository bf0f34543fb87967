"""The one-shot convert's copied text path: the claim index makes its segments as SourceSegments
(their file text kept), the secondary claims built from them still carry most of them, and the
writer writes those from their text (tests/edi/test_writer_source_text.py: byte for byte what the
elements give). Fails when any link of that chain silently stops being taken."""
from __future__ import annotations

from cobpipe.claim837.index import ClaimIndex
from cobpipe.cob.convert import ClaimConverter
from cobpipe.cob.coverage import CoverageTable
from cobpipe.decision_log import DecisionLog
from cobpipe.pipeline import ConvertOptions, scan_era
from cobpipe.synth import generate_set
from edi.segment import STANDARD, SourceSegment
from edi.writer import serialize


def test_index_segments_keep_their_text(tmp_path):
    made = generate_set(30, tmp_path, seed=5, patient_fraction=0.5)
    with ClaimIndex.build([made.claims]) as index:
        claims = [claim for claim_id in index.by_id for claim in index.claims_for(claim_id)]
        assert claims
        for claim in claims:
            for segment in claim.iter_segments():
                assert type(segment) is SourceSegment, segment.tag
                assert segment.text + "~\n" == serialize(segment, STANDARD)


def test_secondary_claims_are_mostly_the_originals_text(tmp_path):
    made = generate_set(40, tmp_path, seed=6, patient_fraction=0.3)
    with ClaimIndex.build([made.claims]) as index:
        converter = ClaimConverter(index, options=ConvertOptions(), coverage=CoverageTable.load(made.coverage),
                                   path=str(made.era))
        built = list(converter.run(scan_era(made.era).repeated_only(), DecisionLog()))
    assert built
    segments = [s for claim in built for s in claim.claim.iter_segments()]
    kept = sum(type(s) is SourceSegment and s.text is not None for s in segments)
    assert kept / len(segments) > 0.3, f"{kept} of {len(segments)} 2300 segments written from their text"
