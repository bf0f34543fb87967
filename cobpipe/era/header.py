"""Table 1 of the 835 (005010X221A1): envelope ids, BPR payment, TRN trace, dates, 1000A payer and
1000B payee, read up to the first claim (LX, CLP) or the end of the set.
"""
from __future__ import annotations

from collections.abc import Iterator

from edi.reader import TransactionSet
from edi.segment import Segment

from .context import _Context, _elements
from .model import Address, Contact, Envelope, Payee, Payer, Payment, RemittanceHeader, Trace

VERSION = "005010X221A1"
_HEADER_END = frozenset({"LX", "TS3", "TS2", "CLP", "PLB", "SE"})

# Loops end at the next loop's first segment: each loop reader takes the segment iterator, reads
# on until a segment that is not its own, and returns that segment with what it read, so the
# caller starts from it. (No push-back cursor: a method call per segment costs more than the
# dispatch it serves.)




def _envelope(ts: TransactionSet) -> Envelope:
    isa, gs, st = ts.isa, ts.gs, ts.st
    return Envelope(
        interchange_sender_qualifier=isa.get(5).strip() if isa else "",
        interchange_sender=isa.get(6).strip() if isa else "",
        interchange_receiver_qualifier=isa.get(7).strip() if isa else "",
        interchange_receiver=isa.get(8).strip() if isa else "",
        interchange_control_number=isa.get(13).strip() if isa else "",
        usage=isa.get(15).strip() if isa else "",
        group_sender=gs.get(2) if gs else "",
        group_receiver=gs.get(3) if gs else "",
        group_control_number=gs.get(6) if gs else "",
        version=ts.version,
        control_number=st.get(2),
        segment=st.index,
    )


def _add_ref(refs: dict[str, list[str]], seg: Segment) -> None:
    qualifier, value = _elements(seg, 2)[:2]
    refs.setdefault(qualifier, []).append(value)


def _contact(seg: Segment) -> Contact:
    pairs = tuple((seg.get(i), seg.get(i + 1)) for i in (3, 5, 7) if seg.get(i) or seg.get(i + 1))
    return Contact(seg.get(1), seg.get(2), pairs, seg.index)


def _read_header(segments: Iterator[Segment], ctx: _Context,
                 ts: TransactionSet) -> tuple[RemittanceHeader, Segment | None]:
    """Table 1: BPR, TRN, CUR, REF, DTM*405, loop 1000A (N1*PR) and 1000B (N1*PE); with the first
    segment after it (None at the end of the set)."""
    header = RemittanceHeader(envelope=_envelope(ts))
    st = ts.st
    if ts.version != VERSION:
        ctx.find("ERA002", f"implementation guide {ts.version or 'missing'!r}, expected {VERSION}; read as a "
                 "5010 835", st, element="ST03")
    party: Payer | Payee | None = None
    in_party_loop = False
    seen: set[str] = set()
    end: Segment | None = None
    for seg in segments:
        tag = seg.tag
        if tag in _HEADER_END:
            end = seg
            break
        if tag == "ST":
            continue
        if tag == "BPR" and "BPR" not in seen:
            seen.add("BPR")
            header.payment = _payment(seg, ctx)
        elif tag == "TRN" and "TRN" not in seen:
            seen.add("TRN")
            header.trace = Trace(seg.get(1), seg.get(2), seg.get(3), seg.get(4), seg.index)
        elif tag == "CUR":
            header.currency = seg.get(2)
        elif tag == "REF":
            if in_party_loop:
                if party is not None:
                    _add_ref(party.refs, seg)
            else:
                _add_ref(header.refs, seg)
                if seg.get(1) == "EV":
                    header.receiver_id = seg.get(2)
                elif seg.get(1) == "F2":
                    header.version_id = seg.get(2)
        elif tag == "DTM" and seg.get(1) == "405":
            header.production_date = ctx.date(seg, 2)
        elif tag == "N1":
            in_party_loop = True
            entity = seg.get(1)
            if entity == "PR" and "N1*PR" not in seen:
                seen.add("N1*PR")
                party = header.payer
                header.payer.segment = seg.index
            elif entity == "PE" and "N1*PE" not in seen:
                seen.add("N1*PE")
                party = header.payee
                header.payee.segment = seg.index
            else:
                party = None
                ctx.find("ERA008", f"N1*{entity} is not a 1000A (PR) or 1000B (PE) loop; ignored", seg,
                         element="N101")
                continue
            party.name, party.id_qualifier, party.id = seg.get(2), seg.get(3), seg.get(4)
        elif tag == "N3" and party is not None:
            party.address.lines = tuple(v for v in (seg.get(1), seg.get(2)) if v)
        elif tag == "N4" and party is not None:
            address: Address = party.address
            address.city, address.state, address.postal_code = seg.get(1), seg.get(2), seg.get(3)
            address.country, address.country_subdivision = seg.get(4), seg.get(7)
        elif tag == "PER" and isinstance(party, Payer):
            party.contacts.append(_contact(seg))
        elif tag == "RDM" and isinstance(party, Payee):
            continue  # remittance delivery method: nothing the COB mapping or the analyst needs
        elif party is None and in_party_loop and tag in ("N3", "N4", "PER", "RDM"):
            continue  # belongs to an N1 already reported
        else:
            ctx.find("ERA008", f"{tag} not expected in the 835 header; ignored", seg)
    for needed, what in (("BPR", "BPR (financial information)"), ("TRN", "TRN (reassociation trace number)"),
                         ("N1*PR", "N1*PR (payer, loop 1000A)"), ("N1*PE", "N1*PE (payee, loop 1000B)")):
        if needed not in seen:
            ctx.find("ERA011", f"{what} missing", st)
    return header, end


def _payment(seg: Segment, ctx: _Context) -> Payment:
    credit_debit = seg.get(3)
    if credit_debit not in ("C", "D"):
        ctx.find("ERA013", f"BPR03 {credit_debit or 'empty'!r} is not C or D; read as credit", seg, element="BPR03")
        credit_debit = "C"
    return Payment(
        handling=seg.get(1),
        amount=ctx.number(seg, 2, required=True),
        credit_debit=credit_debit,
        method=seg.get(4),
        format=seg.get(5),
        date=ctx.date(seg, 16),
        segment=seg.index,
        line=seg.line,
    )

