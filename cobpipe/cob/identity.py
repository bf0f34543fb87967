"""Which payer sent an 835, and where that payer stands on a claim we hold (cob-spec §8).

The 835 names its payer in 1000A (N1*PR N102 name, N104 id, REF*2U) and TRN03 (1 + its tax id);
the 837P claim names the payer it was billed to in 2010BB and the other payers in 2320/2330B. The
ids rarely agree literally, so they are compared through the payer list's aliases (cobpipe.payers),
then by normalised name. CLP02 says the level the payer processed the claim at.
"""
from __future__ import annotations

from dataclasses import dataclass

from edi.segment import Segment

from ..claim837.claim import OriginalClaim
from ..claim837.loops import Loop
from ..payers import PayerList, PayerRef
from .build import PAYER_SECONDARY_ID_QUALIFIERS, code

LEVEL_WORDS = {"P": "primary", "S": "secondary", "T": "tertiary"}


def level_word(level: str | None) -> str:
    return LEVEL_WORDS.get(level or "", f"level {level}" if level else "an unknown level")


def era_payer(header) -> PayerRef:
    """The 835's payer (cobpipe.era.model.RemittanceHeader): N104, REF*2U and TRN03 ids, N102 name."""
    payer = header.payer
    ids = tuple(i for i in (payer.id, payer.ref("2U"), header.trace.payer_id) if i)
    # its one shared copy: RememberedPayers finds its answers by identity, and an ERA of many
    # transaction sets has a header each (a fresh ref each missed them all: ~2k instructions a claim)
    return shared_ref(ids, payer.name)


def loop_payer(loop: Loop | None) -> PayerRef:
    """The payer of a 2010BB or 2330B loop: NM109 and its REF*2U/FY/NF/EI ids, NM103 name."""
    if loop is None:
        return PayerRef()
    # the remembered answer first (a loop is asked about several times; only loops with a first
    # segment are remembered): loop.first is a search, not an attribute
    items = loop.items
    known = _LOOP_PAYERS.get(id(loop))
    if known is not None and known[0] is loop and known[1] == len(items):
        return known[2]
    nm1 = items[0] if items else None  # loop.first
    if not isinstance(nm1, Segment):
        return PayerRef()
    # NM109 and the REFs' ids, read in one pass over the items (loop.segments_of("REF") and get())
    elements = nm1.elements
    ids = [elements[8] if len(elements) > 8 else ""]
    for item in items:
        if isinstance(item, Segment) and item.tag == "REF":
            ref = item.elements
            if ref and ref[0] in PAYER_SECONDARY_ID_QUALIFIERS:
                ids.append(ref[1] if len(ref) > 1 else "")
    if len(ids) == 1:  # the usual payer loop, named by its NM1 alone: remembered by that NM1's elements,
        return nm1_payer(nm1)  # which the claims of a file repeat (each claim has loops of its own)
    # the ids given (no generator), NM103
    found = shared_ref(tuple(filter(None, ids)), elements[2] if len(elements) > 2 else "")
    if len(_LOOP_PAYERS) >= 256:
        _LOOP_PAYERS.clear()
    _LOOP_PAYERS[id(loop)] = (loop, len(items), found)  # the entry keeps the loop (and its id) alive
    return found


# a claim's payers are asked for several times while it is decided (its loops are not edited: the
# mapper edits copies); the item count guards a loop edited in place all the same
_LOOP_PAYERS: dict[int, tuple[Loop, int, PayerRef]] = {}
# (ids, name) -> the one PayerRef made for it: an ERA's claims name the same few payers, so one
# object each lets RememberedPayers find its answers by identity (no PayerRef hash or eq per question)
_REFS: dict[tuple[tuple[str, ...], str], PayerRef] = {}


def billed_payer(claim: OriginalClaim) -> PayerRef:
    return loop_payer(claim.payer)


def billed_to(claim: OriginalClaim) -> tuple[PayerRef, str]:
    """(billed_payer(claim), billed_level(claim)) in one pass over the claim's 2000B items, its
    first SBR and 2010BB; of a 2000B not made yet, from its texts (claim837.index)."""
    subscriber = claim.subscriber
    texts = getattr(subscriber, "billed_to_texts", None)
    if texts is not None:
        texts = texts()
        if texts is not None:
            return _billed_from_texts(*texts)
    sbr = payer = None
    for item in subscriber.items:
        if isinstance(item, Segment):
            if sbr is None and item.tag == "SBR":
                sbr = item
        elif payer is None and isinstance(item, Loop) and item.id == "2010BB":
            payer = item
    return loop_payer(payer), code(sbr, 1) if sbr is not None else ""


def _billed_from_texts(sbr01: str, nm1: tuple[str, ...]) -> tuple[PayerRef, str]:
    """billed_to's answer from a 2000B's texts (`_DeferredHL.billed_to_texts`: its SBR01 and the
    elements of the NM1 that is its 2010BB), as loop_payer and code() read the made segments."""
    return _nm1_elements_payer(nm1), sbr01.strip().upper()


def nm1_payer(nm1: Segment) -> PayerRef:
    """The payer a payer loop names when it holds no payer REF: NM109 and NM103 of its NM1 (loop_payer's
    answer for it), remembered by the NM1's elements."""
    found = _NM1_PAYERS.get(nm1.elements)  # nearly always (no call more for the usual question)
    return found if found is not None else _nm1_elements_payer(nm1.elements)


def _nm1_elements_payer(elements: tuple[str, ...]) -> PayerRef:
    """nm1_payer of an NM1 with these elements."""
    found = _NM1_PAYERS.get(elements)
    if found is None:
        if len(_NM1_PAYERS) >= 256:
            _NM1_PAYERS.clear()
        ids = (elements[8],) if len(elements) > 8 and elements[8] else ()
        found = _NM1_PAYERS[elements] = shared_ref(ids, elements[2] if len(elements) > 2 else "")
    return found


# the elements of a payer's NM1 -> the ref of a payer loop with that NM1 and no payer REF (nm1_payer)
_NM1_PAYERS: dict[tuple[str, ...], PayerRef] = {}


def billed_level(claim: OriginalClaim) -> str:
    return code(claim.sbr, 1) if claim.sbr is not None else ""


def other_payers(claim: OriginalClaim) -> list[tuple[str, PayerRef]]:
    """(SBR01, payer) of each 2320 of the claim."""
    found = []
    for loop in claim.other_payers:
        sbr = loop.first
        if sbr is not None:
            found.append((code(sbr, 1), loop_payer(loop.child("2330B"))))
    return found


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the 835's payer stands on one claim we hold."""

    claim: OriginalClaim
    billed: bool | None  # the 835's payer is the payer this claim was billed to (None: cannot tell)
    other_level: str | None = None  # else the SBR01 of the 2320 naming that payer, if any


class RememberedPayers:
    """A PayerList whose answers are remembered: one converter asks about the same few payers for
    every claim of an ERA (the 835's payer against each claim's billed and other payers), and the
    list does not change while it runs. Bounded: forgets everything past LIMIT questions."""

    LIMIT = 4096

    def __init__(self, payers: PayerList) -> None:
        self.payers = payers
        # (id(a), id(b)) of the refs' shared copies (_shared: one object per ids and name, so equal
        # refs have one id) -> (a, b, answer). Ints hash in C where a PayerRef's hash and eq are
        # Python calls; the entry holds a and b, so their ids are no other object's while it lasts.
        self._same_by_id: dict[tuple[int, int], tuple[PayerRef, PayerRef, bool | None]] = {}
        self._same_in_837_by_id: dict[tuple[int, int], tuple[PayerRef, PayerRef, bool | None]] = {}
        # id of a ref's shared copy -> (that copy, its payer list row or None): as `_same_by_id`, no
        # PayerRef hash per question
        self._listed_by_id: dict[int, tuple[PayerRef, object]] = {}

    def same(self, a: PayerRef, b: PayerRef) -> bool | None:
        entry = self._same_by_id.get((id(a), id(b)))
        if entry is not None and entry[0] is a and entry[1] is b:
            return entry[2]  # nearly always: the 835 header's ref and loop_payer's shared ones
        return self._remembered(self._same_by_id, self.payers.same, a, b)

    def same_in_837(self, a: PayerRef, b: PayerRef) -> bool | None:
        entry = self._same_in_837_by_id.get((id(a), id(b)))
        if entry is not None and entry[0] is a and entry[1] is b:
            return entry[2]  # nearly always (as same's)
        return self._remembered(self._same_in_837_by_id, self.payers.same_in_837, a, b)

    def _remembered(self, answers: dict, ask, a: PayerRef, b: PayerRef) -> bool | None:
        """`ask(a, b)` remembered in `answers` by the refs' shared copies (a ref made afresh, once a
        claim, finds its shared copy's entry)."""
        a, b = _shared(a), _shared(b)
        entry = answers.get((id(a), id(b)))
        if entry is not None and entry[0] is a and entry[1] is b:
            return entry[2]
        if len(answers) >= self.LIMIT:
            answers.clear()
        answer = ask(a, b)
        answers[(id(a), id(b))] = (a, b, answer)
        return answer

    def accepts_electronic_secondary(self, ref: PayerRef) -> bool:
        """PayerList.accepts_electronic_secondary, from the remembered row."""
        payer = self.listed(ref)
        return payer is None or payer.accepts_electronic_secondary  # a payer not listed takes them

    def listed(self, ref: PayerRef):  # -> payers.Payer | None
        """The payer list's row for this payer (PayerList.find), remembered by the ref's identity."""
        entry = self._listed_by_id.get(id(ref))
        if entry is not None and entry[0] is ref:
            return entry[1]  # nearly always: convert asks with shared refs (shared_ref)
        ref = _shared(ref)  # a ref made afresh: its shared copy's entry
        entry = self._listed_by_id.get(id(ref))
        if entry is not None and entry[0] is ref:
            return entry[1]
        if len(self._listed_by_id) >= self.LIMIT:
            self._listed_by_id.clear()
        answer = self.payers.find(ref)
        self._listed_by_id[id(ref)] = (ref, answer)
        return answer

    def __getattr__(self, name: str):
        return getattr(self.payers, name)


def _shared(ref: PayerRef) -> PayerRef:
    """The one PayerRef kept for these ids and name (this one, the first time)."""
    key = (ref.ids, ref.name)
    found = _REFS.get(key)
    if found is None:
        if len(_REFS) >= 4096:
            _REFS.clear()
            _NM1_PAYERS.clear()  # its answers are shared copies: none kept that is no longer the one
        found = _REFS[key] = ref
    return found


def shared_ref(ids: tuple[str, ...], name: str) -> PayerRef:
    """PayerRef(ids, name) as its one shared copy: no new ref made when one is kept already."""
    found = _REFS.get((ids, name))
    return found if found is not None else _shared(PayerRef(ids, name))


def place(payers: PayerList, sender: PayerRef, claim: OriginalClaim, billed: PayerRef | None = None) -> Placement:
    """`billed`: billed_payer(claim), when read already."""
    same = payers.same(sender, billed if billed is not None else billed_payer(claim))
    if same:
        return Placement(claim, True)
    for level, ref in other_payers(claim):
        if payers.same(sender, ref):
            return Placement(claim, False if same is False else None, level)
    return Placement(claim, same)
