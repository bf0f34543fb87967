"""Byte edits of an X12 file for the fast-path tests (hypothesis draws the edits): bytes inserted,
replaced or deleted anywhere, or a whole segment moved, optionally after the line feeds are dropped."""
from __future__ import annotations

import random


def apply_edits(text: bytes, edits: list[tuple[float, bytes, int]], flat: bool) -> bytes:
    """`edits`: (where in the file as a fraction, piece, how: 0 insert, 1 replace, 2 delete, 3 move
    the segment there to a random other place)."""
    if flat:
        text = text.replace(b"~\n", b"~")
    for where, piece, how in edits:
        at = int(where * len(text))
        if how == 0:
            text = text[:at] + piece + text[at:]
        elif how == 1:
            text = text[:at] + piece + text[at + len(piece):]
        elif how == 2:
            text = text[:at] + text[at + len(piece):]
        else:  # a whole segment moved
            start = text.rfind(b"~", 0, at) + 1
            end = text.find(b"~", at) + 1
            if 0 < start < end:
                segment, text = text[start:end], text[:start] + text[end:]
                other = text.find(b"~", random.Random(at).randrange(len(text))) + 1 or len(text)
                text = text[:other] + segment + text[other:]
    return text
