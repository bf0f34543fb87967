"""Hostile inputs, generated (never stored): the shapes of issue 15 at any size.

Every generator writes in blocks, so the test process never holds the file in memory.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cobpipe" / "jobs"))

from jobfiles import claims_837, era_835  # noqa: E402  (the jobs tests' synthetic pair)

BLOCK = 1 << 16


def _repeat(stream, unit: str, count: int) -> None:
    block = unit * BLOCK
    full, rest = divmod(count, BLOCK)
    for _ in range(full):
        stream.write(block)
    stream.write(unit * rest)


def _split_era(claim_ids: list[str], control: int) -> tuple[str, str, str]:
    """An 835 as (head up to and including the last segment before the first CLP, the claims, the
    trailer SE/GE/IEA) so a generator can put segments between them."""
    text = era_835(claim_ids, control)
    clp = text.index("CLP*")
    se = text.index("\nSE*") + 1
    return text[:clp], text[clp:se], text[se:]


def _fix_se(trailer: str, segments: int) -> str:
    first, rest = trailer.split("~", 1)
    tag, _, number = first.split("*")
    return f"{tag}*{segments}*{number}~{rest}"


def _body_segments(text: str) -> int:
    """Segments from ST on (ST counted) in a piece of the file."""
    return sum(1 for s in text.split("~") if s.strip())


def bad_segment_ids(path: Path, count: int, kind: str = "837") -> Path:
    """An interchange whose transaction set holds `count` segments `x~` (not a segment id)."""
    text = claims_837(["BAD1"]) if kind == "837" else era_835(["BAD1"])
    st = text.index("ST*")
    se = text.index("\nSE*") + 1
    with open(path, "w") as stream:
        stream.write(text[:se])
        _repeat(stream, "x~\n", count)
        stream.write(text[se:])
    return path


def unknown_segments(path: Path, count: int, *, counts_right: bool = True, claims: int = 3) -> Path:
    """An 835 with `count` unknown `ZZ*1` segments after its header, before the first CLP; SE01
    right (default) or stating the count without them."""
    head, body, trailer = _split_era([f"ZZC{n}" for n in range(claims)], 701)
    st_on = _body_segments(head[head.index("ST*"):]) + _body_segments(body) + 1  # + the SE
    with open(path, "w") as stream:
        stream.write(head)
        _repeat(stream, "ZZ*1~\n", count)
        stream.write(body)
        stream.write(_fix_se(trailer, st_on + (count if counts_right else 0)))
    return path


def zz_only(path: Path, count: int) -> Path:
    """Nothing but `ZZ*1~` after an 835's ISA/GS/ST: no header, no claims, counts right."""
    head, _, trailer = _split_era(["ZZONLY"], 702)
    st = head.index("ST*")
    envelope_head = head[:head.index("~", st) + 1] + "\n"
    with open(path, "w") as stream:
        stream.write(envelope_head)
        _repeat(stream, "ZZ*1~\n", count)
        stream.write(_fix_se(trailer, count + 2))
    return path


def era_with_wrong_count(path: Path, claims: int, stated: int | None = None) -> Path:
    """An 835 of `claims` claims whose SE01 says `stated` segments (default: as many as a 3-claim
    file has), while the set holds many more."""
    text = era_835([f"CNT{n:07d}" for n in range(claims)], 703)
    se = text.index("\nSE*") + 1
    head, trailer = text[:se], text[se:]
    if stated is None:
        stated = _body_segments(era_835(["A", "B", "C"], 703)[era_835(["A"], 703).index("ST*"):]) - 2
    with open(path, "w") as stream:
        stream.write(head)
        stream.write(_fix_se(trailer, stated))
    return path


def claims_cut_midway(path: Path, claim_ids: list[str], cut_claim: int = 1, keep: int = 4) -> Path:
    """An 837P whose claim `cut_claim` keeps only its first `keep` segments (the rest lost), with
    SE01, GE and IEA as if nothing were missing."""
    text = claims_837(claim_ids)
    segments = text.split("~\n")
    starts = [n for n, seg in enumerate(segments) if seg.startswith("CLM*")]
    first = starts[cut_claim]
    end = starts[cut_claim + 1] if cut_claim + 1 < len(starts) else next(
        n for n, seg in enumerate(segments) if seg.startswith("SE*"))
    del segments[first + keep:end]
    with open(path, "w") as stream:
        stream.write("~\n".join(segments))
    return path


def claim_flooded(path: Path, count: int, unit: str) -> Path:
    """An 835 whose one claim is followed by `count` copies of the segment `unit` (e.g. a zero CAS,
    a service line), SE01 right."""
    head, body, trailer = _split_era(["FLOOD1"], 704)
    st_on = _body_segments(head[head.index("ST*"):]) + _body_segments(body) + 1
    with open(path, "w") as stream:
        stream.write(head)
        stream.write(body)
        _repeat(stream, unit + "~\n", count)
        stream.write(_fix_se(trailer, st_on + count))
    return path


def claims_flooded(path: Path, count: int, unit: str = "ZZ*1") -> Path:
    """An 837P whose first claim holds `count` copies of `unit` after its CLM, SE01 right."""
    text = claims_837(["FLOOD7", "FLOOD8"])
    clm = text.index("CLM*")
    after = text.index("~", clm) + 1
    se = text.index("\nSE*") + 1
    head, middle, trailer = text[:after], text[after:se], text[se:]
    stated = int(trailer.split("*", 2)[1])
    with open(path, "w") as stream:
        stream.write(head + "\n")
        _repeat(stream, unit + "~\n", count)
        stream.write(middle.lstrip("\n"))
        stream.write(_fix_se(trailer, stated + count))
    return path


def endless_segment(path: Path, size: int) -> Path:
    """An 835 whose third segment is `size` characters without a segment terminator."""
    text = era_835(["LONG1"], 705)
    st = text.index("ST*")
    with open(path, "w") as stream:
        stream.write(text[:st] + "ST*835*0001~\nNTE*")
        _repeat(stream, "A", size)
        stream.write("~\n" + text[text.index("\nSE*") + 1:])
    return path
