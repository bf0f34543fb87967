"""One 837P claim (2300) with everything around it that a secondary claim needs.

An `OriginalClaim` carries its interchange ids, the transaction header (BHT, 1000A, 1000B), its
billing-provider (2000A), subscriber (2000B) and patient (2000C) loops, and the 2300 loop with all
children. Its storage form (`to_x12` / `from_x12`) is those segments without envelopes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from decimal import Decimal

from edi.errors import EdiError
from edi.segment import STANDARD, Delimiters, Segment
from edi.values import parse_amount, parse_date8  # noqa: F401 - re-exported
from edi.writer import serialize

from .loops import Loop


@dataclass(frozen=True, slots=True)
class Envelope:
    """Where a claim was read: file name and the ISA/GS/ST/BHT identifiers around it.

    ISA ids are stripped of their padding. Stored by the ledger next to the claim's X12 text.
    """

    source: str = ""
    isa_sender_qualifier: str = ""  # ISA05
    isa_sender: str = ""  # ISA06
    isa_receiver_qualifier: str = ""  # ISA07
    isa_receiver: str = ""  # ISA08
    isa_control: str = ""  # ISA13
    gs_sender: str = ""  # GS02
    gs_receiver: str = ""  # GS03
    gs_control: str = ""  # GS06
    version: str = ""  # ST03, else GS08 (005010X222A1 / A2)
    st_control: str = ""  # ST02
    usage: str = ""  # ISA15: P production, T test

    @classmethod
    def of(cls, source: str, isa: Segment | None, gs: Segment | None, st: Segment | None) -> "Envelope":
        isa_get = isa.get if isa is not None else (lambda n: "")
        gs_get = gs.get if gs is not None else (lambda n: "")
        st_get = st.get if st is not None else (lambda n: "")
        return cls(
            source=source,
            isa_sender_qualifier=isa_get(5).strip(), isa_sender=isa_get(6).strip(),
            isa_receiver_qualifier=isa_get(7).strip(), isa_receiver=isa_get(8).strip(),
            isa_control=isa_get(13).strip(),
            gs_sender=gs_get(2).strip(), gs_receiver=gs_get(3).strip(), gs_control=gs_get(6).strip(),
            version=st_get(3) or gs_get(8), st_control=st_get(2), usage=isa_get(15).strip().upper(),
        )

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> "Envelope":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class OriginalClaim:
    """A 2300 claim in its 837P context (TR3 005010X222A1).

    `header` is a HEADER loop (BHT, 1000A, 1000B); `billing_provider` the 2000A loop (HL, PRV, CUR,
    2010AA/AB/AC) without child HLs; `subscriber` the 2000B loop (HL, SBR, PAT, 2010BA, 2010BB);
    `patient` the 2000C loop (HL, PAT, 2010CA) or None; `claim` the 2300 loop with all children.
    Context loops are shared (not copied) between claims read from the same HL.

    `indexed_tidy` is True only for a claim `ClaimIndex.claim` read from text with no `*~`, `:*`
    or `:~` in any of its parts (header, 2000A, 2000B, [2000C], 2300): no segment ends with an
    empty element and no element ends with a component separator, so `cob.tidy.tidy_loop` gives
    back every loop as it is (checked on the text, ~3 us a claim, instead of segment by segment).
    It describes the loops as read: `replace`, `copy` and every other maker leave it False, and
    False says nothing (the plain reader's claims are tidy just as often).
    """

    # _tidy: indexed_tidy, or the 2300's text still to check (the index's claims whose context
    # loops are tidy: checked when first asked, so a claim decided without it costs nothing)
    __slots__ = ("envelope", "header", "billing_provider", "subscriber", "patient", "claim", "_tidy",
                 "__weakref__")

    def __init__(self, envelope: Envelope, header: Loop, billing_provider: Loop, subscriber: Loop,
                 patient: Loop | None, claim: Loop, *, indexed_tidy: bool = False) -> None:
        self.envelope = envelope
        self.header = header
        self.billing_provider = billing_provider
        self.subscriber = subscriber
        self.patient = patient
        self.claim = claim
        self._tidy: bool | str = bool(indexed_tidy)

    @property
    def indexed_tidy(self) -> bool:
        """See the class docstring."""
        tidy = self._tidy
        if tidy.__class__ is str:  # the 2300's text (claim837.index)
            self._tidy = tidy = tidy_text(tidy)
        return tidy  # type: ignore[return-value]

    # --- identity and envelope ids -------------------------------------------------------------

    @property
    def clm(self) -> Segment:
        first = self.claim.first
        if first is None or first.tag != "CLM":
            raise ValueError("a 2300 loop starts with CLM")
        return first

    @property
    def id(self) -> str:
        """CLM01, the patient control number the 835 echoes in CLP01."""
        return self.clm.get(1)

    @property
    def source(self) -> str:
        return self.envelope.source

    @property
    def bht(self) -> Segment | None:
        return self.header.segment("BHT")

    @property
    def bht_reference(self) -> str:
        """BHT03, the originator's reference for the transaction."""
        bht = self.bht
        return bht.get(3) if bht is not None else ""

    @property
    def bht_date(self) -> dt.date | None:
        """BHT04 creation date; None when missing or not a real date."""
        bht = self.bht
        return parse_date8(bht.get(4)) if bht is not None else None

    @property
    def submitter_id(self) -> str:
        """1000A NM109 (submitter's id at the receiver), else ISA06."""
        submitter = self.submitter
        nm1 = submitter.first if submitter is not None else None
        return (nm1.get(9) if nm1 is not None else "") or self.envelope.isa_sender

    @property
    def submitter(self) -> Loop | None:
        """Loop 1000A (NM1*41)."""
        return self.header.child("1000A")

    @property
    def receiver(self) -> Loop | None:
        """Loop 1000B (NM1*40)."""
        return self.header.child("1000B")

    # --- money ---------------------------------------------------------------------------------

    def _amount(self, segment: Segment, position: int, name: str) -> Decimal:
        value = parse_amount(segment.get(position))
        if value is None:
            raise EdiError(f"{name} is not a valid amount", path=self.source or None,
                           segment=segment.index or None, line=segment.line or None, claim=self.id)
        return value

    @property
    def charge(self) -> Decimal:
        """CLM02 total claim charge; raises EdiError when it is not a number (the parser reports C837006)."""
        return self._amount(self.clm, 2, "CLM02")

    @property
    def frequency(self) -> str:
        """CLM05-3 claim frequency type code (1 original, 7 replacement, 8 void)."""
        return self.clm.component(5, 3)

    @property
    def lines(self) -> list[Loop]:
        """The 2400 service lines."""
        return self.claim.children_of("2400")

    def line_charge(self, line: Loop) -> Decimal:
        """SV102 of one 2400 loop."""
        sv1 = line.segment("SV1")
        if sv1 is None:
            raise EdiError("2400 loop without SV1", path=self.source or None, claim=self.id)
        return self._amount(sv1, 2, "SV102")

    @property
    def line_charge_total(self) -> Decimal:
        """Sum of SV102 over the 2400 loops (equals CLM02 on a balanced claim, cob-spec C0)."""
        return sum((self.line_charge(line) for line in self.lines), Decimal(0))

    # --- payers --------------------------------------------------------------------------------

    @property
    def other_payers(self) -> list[Loop]:
        """The 2320 other-subscriber loops, one per other payer."""
        return self.claim.children_of("2320")

    @property
    def payer(self) -> Loop | None:
        """Loop 2010BB (NM1*PR), the payer this claim was billed to."""
        return self.loop_2010bb

    @property
    def payer_id(self) -> str:
        """2010BB NM109, the destination payer's id."""
        payer = self.payer
        nm1 = payer.first if payer is not None else None
        return nm1.get(9) if nm1 is not None else ""

    @property
    def sbr(self) -> Segment | None:
        """2000B SBR."""
        return self.subscriber.segment("SBR")

    @property
    def subscriber_is_patient(self) -> bool:
        """True when no 2000C patient loop is used (2000B SBR02 = 18 then)."""
        return self.patient is None

    # --- loops by guide name ---------------------------------------------------------------------

    @property
    def loop_2010aa(self) -> Loop | None:
        """Billing provider name (NM1*85)."""
        return self.billing_provider.child("2010AA")

    @property
    def loop_2010ba(self) -> Loop | None:
        """Subscriber name (NM1*IL)."""
        return self.subscriber.child("2010BA")

    @property
    def loop_2010bb(self) -> Loop | None:
        """Payer name (NM1*PR); same as `payer`."""
        return self.subscriber.child("2010BB")

    @property
    def loop_2010ca(self) -> Loop | None:
        """Patient name (NM1*QC), when the patient is not the subscriber."""
        return self.patient.child("2010CA") if self.patient is not None else None

    # --- building ------------------------------------------------------------------------------

    def replace(self, **changes: object) -> "OriginalClaim":
        """A new claim with some parts swapped (envelope, header, billing_provider, subscriber, patient,
        claim); the other parts are shared, not copied."""
        parts = {name: getattr(self, name) for name in
                 ("envelope", "header", "billing_provider", "subscriber", "patient", "claim")}
        unknown = set(changes) - set(parts)
        if unknown:
            raise TypeError(f"unknown claim parts: {sorted(unknown)}")
        parts.update(changes)
        return OriginalClaim(**parts)  # type: ignore[arg-type]

    def copy(self) -> "OriginalClaim":
        """A deep copy of every loop, safe to edit (segments are immutable and shared)."""
        return OriginalClaim(self.envelope, self.header.copy(), self.billing_provider.copy(),
                             self.subscriber.copy(), self.patient.copy() if self.patient is not None else None,
                             self.claim.copy())

    # --- storage form --------------------------------------------------------------------------

    def loops(self) -> tuple[Loop, ...]:
        """The claim's loops in document order: header, 2000A, 2000B, [2000C], 2300."""
        parts = [self.header, self.billing_provider, self.subscriber]
        if self.patient is not None:
            parts.append(self.patient)
        parts.append(self.claim)
        return tuple(parts)

    def iter_segments(self) -> Iterator[Segment]:
        """Every segment of the storage form, in order."""
        for loop in self.loops():
            yield from loop.iter_segments()

    def to_x12(self, delimiters: Delimiters = STANDARD) -> str:
        """The storage form: BHT, 1000A, 1000B, 2000A, 2000B, [2000C], 2300 with children; no envelopes."""
        return "".join(serialize(s, delimiters) for s in self.iter_segments())

    @classmethod
    def from_x12(cls, text: str, delimiters: Delimiters = STANDARD, envelope: Envelope | None = None
                 ) -> "OriginalClaim":
        """Read back a claim written by `to_x12`; raises EdiError unless the text holds exactly one claim."""
        from .parser import parse_storage_form

        return parse_storage_form(text, delimiters, envelope or Envelope())

    def content_key(self) -> tuple[str, ...]:
        """All segments in standard delimiters; equal keys = same claim content."""
        from .loops import segment_key

        return tuple(segment_key(s) for s in self.iter_segments())

    def __repr__(self) -> str:
        return f"OriginalClaim(id={self.id!r}, source={self.source!r}, lines={len(self.lines)})"


def tidy_text(text: str) -> bool:
    """Whether segments split from `text` (standard delimiters, no line feeds) are all as
    `cob.tidy.tidy_segment` leaves them: none ends with an empty element (`*~`) and no element ends
    with a component separator (`:*`, `:~`); a segment without elements is tidy as it is
    (claim837.index asks it of the context loops' text, `OriginalClaim.indexed_tidy` of the 2300's).
    Searched with rfind, not `in`: CPython's reverse search skips on the needle's first character,
    rarer in X12 than the last one (`~`, `*`), about twice as fast on claim texts (~1 us a 2300).
    A text without a component separator (a 2000B, mostly) is looked through for one instead of
    the two pairs that start with it: a one-character search runs at memchr speed (~0.5 us less a 2000B)."""
    if text.rfind("*~") >= 0:
        return False
    return text.find(":") < 0 or (text.rfind(":*") < 0 and text.rfind(":~") < 0)
