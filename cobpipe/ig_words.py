"""Implementation-guide findings in cobpipe's words, not the validator's.

The guide check (edi.ig, pyx12 and the fast engine that agrees with it message for message) words
some findings in the first person or with its internals ("My HL count 2 does not match your HL
count 5", "I count 14", "(max_len)", "icvn=..."). Every message a person reads goes through
`reword`, with ONE table: a pattern of the validator's message and our sentence for it. The
finding's code, location and the engines' own messages (which the tests compare with pyx12) are
unchanged; only what is shown is reworded.
"""
from __future__ import annotations

import re

#: (validator's message, our words); groups of the pattern are filled into the words by name
WORDING: tuple[tuple[str, str], ...] = (
    (r"My HL count (?P<expected>\d+) does not match your HL count (?P<found>.*)",
     "HL01 is {found} where {expected} was expected (HL01 numbers the HLs 1, 2, 3 ... in order)"),
    (r"HL parent \((?P<parent>.*)\) is not a valid parent",
     "HL02 {parent} names no earlier HL (HL02 is the HL01 of this level's parent)"),
    (r"HL parent is blank, but stack not empty",
     "HL02 is empty, but only the first level (the billing provider) has no parent"),
    (r"Your 2400/LX01 Service Line Number (?P<found>.*) does not match my count of (?P<expected>\d+)",
     "LX01 is {found} where {expected} was expected (LX01 numbers a claim's service lines 1, 2, 3 ...)"),
    (r"SE count of (?P<stated>.*) for SE02=(?P<id>.*) is wrong\. I count (?P<counted>\d+)",
     "SE01 says {stated} segments in transaction set {id}, it has {counted}"),
    (r"GE count of (?P<stated>.*) for GE02=(?P<id>.*) is wrong\. I count (?P<counted>\d+)",
     "GE01 says {stated} transaction sets in group {id}, it has {counted}"),
    (r"IEA count for IEA02=(?P<id>.*) is wrong",
     "IEA01 is not the number of functional groups in interchange {id}"),
    (r"(?P<kind>ISA|GS|ST) Interchange Control Number (?P<number>.*) not unique within file",
     "{kind} control number {number} is used twice in this file"),
    (r"(?P<what>Data element \"[^\"]*\" \([^)]*\)) is too long: (?P<detail>.*?) > (?P<max>\d+) \(max_len\)",
     "{what} is too long: {detail}, at most {max} allowed"),
    (r"(?P<what>Data element \"[^\"]*\" \([^)]*\)) is too short: (?P<detail>.*?) < (?P<min>\d+) \(min_len\)",
     "{what} is too short: {detail}, at least {min} required"),
    (r"Segment (?P<seg>\S+) exceeded max count\.\s+Found (?P<found>\d+), should have (?P<max>\d+)",
     "segment {seg} occurs {found} times, the guide allows {max}"),
    (r"Loop (?P<loop>\S+) exceeded max count\.\s+Found (?P<found>\d+), should have (?P<max>\d+)",
     "loop {loop} occurs {found} times, the guide allows {max}"),
    (r"Segment (?P<seg>\S+) found but marked as not used",
     "segment {seg} is present, but the guide marks it not used here"),
    (r"Loop (?P<loop>\S+) found but marked as not used",
     "loop {loop} is present, but the guide marks it not used here"),
    (r"Segment (?P<seg>\S+) not found\.\s+Started at (?P<where>.*)",
     "segment {seg} is not expected here (searched the guide from {where})"),
    (r"Mandatory segment \"(?P<name>[^\"]*)\" \((?P<seg>[^)]*)\) missing",
     "required segment {seg} ({name}) is missing"),
    (r"Mandatory loop \"(?P<name>[^\"]*)\" \((?P<loop>[^)]*)\) missing",
     "required loop {loop} ({name}) is missing"),
    (r"Too many elements in segment \"(?P<name>[^\"]*)\" \((?P<seg>[^)]*)\)\. "
     r"Has (?P<has>\d+), should have (?P<max>\d+)",
     "segment {seg} ({name}) has {has} elements, the guide allows {max}"),
    (r"Segment contains trailing element terminators",
     "the segment ends with empty elements (trailing element separators)"),
    (r"Segment contains a leading space", "the segment starts with a space"),
    (r"Map not found\.\s+icvn=(?P<icvn>[^,]*), fic=(?P<fic>[^,]*), vriic=(?P<vriic>[^,]*)(?:, tspc=(?P<tspc>.*))?",
     "no implementation guide for version {vriic} ({fic}{tspc_text}, ISA12 {icvn})"),
    (r"Unterminated Loop (?P<loop>.*)", "loop {loop} is not closed (its trailer is missing)"),
    (r"Unterminated segment (?P<seg>.*)", "{seg} is not closed (its trailer is missing)"),
)

_COMPILED = tuple((re.compile(pattern, re.S), words) for pattern, words in WORDING)

#: the validator's own phrasing that must never reach a person (checked by the tests)
INTERNAL_PHRASES = ("My HL count", "your HL count", "my count", "Your 2400", "I count", "(max_len)", "(min_len)",
                    "icvn=", "Started at", "X12SegmentDataNode")


def reword(message: str) -> str:
    """`message` in our words when the table has a sentence for it; otherwise unchanged."""
    for pattern, words in _COMPILED:
        found = pattern.search(message)
        if found is None:
            continue
        values = {k: (v or "").strip() for k, v in found.groupdict().items()}
        if "tspc" in values:
            values["tspc_text"] = f", transaction set {values['tspc']}" if values["tspc"] else ""
        return message[:found.start()] + words.format(**values) + message[found.end():]
    return message
