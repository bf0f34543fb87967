"""Helpers for inline 835 cases: wrap a few claim segments in a complete, counted envelope."""
from __future__ import annotations

import textwrap

import pytest

ISA = "ISA*00*          *00*          *ZZ*PAYERSYNTH     *ZZ*PROVSYNTH      *260105*1200*^*00501*{:09d}*0*T*:"
HEADER = """\
BPR*I*{amount}*{cd}*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20260105
TRN*1*EFT{control}*1512345678
REF*EV*PROVSYNTH
DTM*405*20260104
N1*PR*SYNTHETIC HEALTH PLAN*XV*SYN01
N1*PE*EXAMPLE CLINIC*XX*1234567893
LX*1"""


def transaction(body: str, *, amount: str = "0", control: str = "0001", cd: str = "C", code: str = "835",
                header: bool = True) -> list[str]:
    """ST..SE lines: the standard Table 1 (unless header=False), then `body` (dedented lines)."""
    lines = [f"ST*{code}*{control}*005010X221A1"]
    if header:
        lines += HEADER.format(amount=amount, cd=cd, control=control).splitlines()
    lines += [s.strip() for s in textwrap.dedent(body).splitlines() if s.strip()]
    lines.append(f"SE*{len(lines) + 1}*{control}")
    return lines


def interchange(*sets: list[str], control: int = 101, functional: str = "HP") -> str:
    segs = [ISA.format(control), f"GS*{functional}*PAYERSYNTH*PROVSYNTH*20260105*1200*{control}*X*005010X221A1"]
    for lines in sets:
        segs += lines
    segs += [f"GE*{len(sets)}*{control}", f"IEA*1*{control:09d}"]
    return "".join(s + "~\n" for s in segs)


def era(body: str, **kwargs) -> str:
    """One interchange with one 835 holding `body`."""
    return interchange(transaction(body, **kwargs))


@pytest.fixture
def make_835():
    return era
