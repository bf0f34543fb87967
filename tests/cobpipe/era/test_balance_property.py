"""Property: a remittance that balances by construction gives no balancing finding, and changing any
one stated amount gives exactly the findings of the rules that amount takes part in (cob-spec §2.2):

    SVC02, SVC03          -> S (ERA101)
    a line CAS amount     -> S and C (ERA101, ERA102), plus CLP05 (ERA105) for a PR adjustment
    a claim CAS amount    -> C (ERA102), plus CLP05 for PR
    CLP03                 -> C
    CLP04                 -> C and T (ERA102, ERA103)
    CLP05                 -> CLP05 (ERA105)
    BPR02, a PLB amount   -> T
"""
from __future__ import annotations

import copy
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cobpipe.era import parse_remittance_text

from conftest import interchange

GROUPS = ("CO", "OA", "PI", "PR")
REASONS = {"CO": ("45", "97", "253"), "OA": ("23", "94"), "PI": ("104",), "PR": ("1", "2", "3")}
PLB_REASONS = ("L6", "WO", "FB", "IR", "CS", "72")


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}" if frac == 0 else f"{sign}{whole}.{frac:02d}"


nonzero = st.integers(-5_000, 200_000).filter(lambda v: v != 0)


@st.composite
def adjustment(draw):
    group = draw(st.sampled_from(GROUPS))
    return [group, draw(st.sampled_from(REASONS[group])), draw(nonzero), draw(st.none() | st.integers(1, 9))]


@st.composite
def service_line(draw):
    cas = draw(st.lists(adjustment(), max_size=4))
    charge = draw(st.integers(0, 1_000_000))
    return {"charge": charge, "paid": charge - sum(a[2] for a in cas), "cas": cas}


@st.composite
def claim(draw, number: int):
    lines = draw(st.lists(service_line(), max_size=3))
    cas = draw(st.lists(adjustment(), max_size=3))
    charge = sum(l["charge"] for l in lines) if lines else draw(st.integers(0, 1_000_000))
    every = cas + [a for l in lines for a in l["cas"]]
    return {"id": f"P{number}", "status": draw(st.sampled_from(["1", "2", "3", "4", "19"])), "charge": charge,
            "paid": charge - sum(a[2] for a in every), "pr": sum(a[2] for a in every if a[0] == "PR"),
            "cas": cas, "lines": lines}


@st.composite
def remittance(draw):
    count = draw(st.integers(1, 4))
    claims = [draw(claim(i)) for i in range(count)]
    plbs = draw(st.lists(st.lists(st.tuples(st.sampled_from(PLB_REASONS), nonzero), min_size=1, max_size=3),
                         max_size=2))
    total = sum(c["paid"] for c in claims) - sum(a for plb in plbs for _, a in plb)
    return {"claims": claims, "plbs": plbs, "bpr": total}


def cas_segments(adjustments) -> list[str]:
    """Pack triplets one group per CAS, at most 6 a segment, in first-seen group order."""
    by_group: dict[str, list] = {}
    for adj in adjustments:
        by_group.setdefault(adj[0], []).append(adj)
    out = []
    for group, items in by_group.items():
        for start in range(0, len(items), 6):
            triplets = []
            for _, reason, amount, qty in items[start:start + 6]:
                triplets += [reason, money(amount), "" if qty is None else str(qty)]
            while triplets and triplets[-1] == "":
                triplets.pop()
            out.append("*".join(["CAS", group, *triplets]))
    return out


def render(r: dict) -> str:
    bpr = r["bpr"]
    lines = ["ST*835*0001*005010X221A1",
             f"BPR*I*{money(abs(bpr))}*{'D' if bpr < 0 else 'C'}*CHK************20260105",
             "TRN*1*CHK1*1512345678", "N1*PR*SYNTHETIC HEALTH PLAN", "N1*PE*EXAMPLE CLINIC*XX*1234567893", "LX*1"]
    for c in r["claims"]:
        lines.append(f"CLP*{c['id']}*{c['status']}*{money(c['charge'])}*{money(c['paid'])}*{money(c['pr'])}*12*PCN")
        lines += cas_segments(c["cas"])
        for i, l in enumerate(c["lines"]):
            lines.append(f"SVC*HC:99213*{money(l['charge'])}*{money(l['paid'])}**1")
            lines += cas_segments(l["cas"])
            lines.append(f"REF*6R*{c['id']}-{i + 1}")
    for plb in r["plbs"]:
        pairs = [f"{reason}:REF*{money(amount)}" for reason, amount in plb]
        lines.append("PLB*1234567893*20261231*" + "*".join(pairs))
    lines.append(f"SE*{len(lines) + 1}*0001")
    return interchange(lines)


def findings(r: dict) -> Counter:
    (remit,) = parse_remittance_text(render(r), "prop.835")
    return Counter(f.code for f in remit.findings)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(remittance())
def test_balanced_remittances_have_no_findings(r):
    assert findings(r) == Counter()


TARGETS = ("SVC02", "SVC03", "line CAS", "claim CAS", "CLP03", "CLP04", "CLP05", "BPR02", "PLB")


@SETTINGS
@given(remittance(), st.sampled_from(TARGETS), nonzero, st.data())
def test_one_changed_amount_gives_exactly_its_rules(r, target, delta, data):
    r = copy.deepcopy(r)
    claims = r["claims"]
    c = data.draw(st.sampled_from(claims))
    expected: Counter
    if target in ("SVC02", "SVC03", "line CAS"):
        candidates = [l for l in c["lines"] if l["cas"]] if target == "line CAS" else c["lines"]
        if not candidates:
            target = "CLP03"  # nothing of that kind in this claim: change the claim charge instead
        else:
            line = data.draw(st.sampled_from(candidates))
            if target == "SVC02":
                line["charge"] += delta
                expected = Counter({"ERA101": 1})
            elif target == "SVC03":
                line["paid"] += delta
                expected = Counter({"ERA101": 1})
            else:
                adj = data.draw(st.sampled_from(line["cas"]))
                if adj[2] + delta == 0:
                    delta *= 2  # an amount of 0 would add ERA104
                adj[2] += delta
                expected = Counter({"ERA101": 1, "ERA102": 1} | ({"ERA105": 1} if adj[0] == "PR" else {}))
    if target == "claim CAS":
        if not c["cas"]:
            target = "CLP04"
        else:
            adj = data.draw(st.sampled_from(c["cas"]))
            if adj[2] + delta == 0:
                delta *= 2  # an amount of 0 would add ERA104
            adj[2] += delta
            expected = Counter({"ERA102": 1} | ({"ERA105": 1} if adj[0] == "PR" else {}))
    if target == "CLP03":
        c["charge"] += delta
        expected = Counter({"ERA102": 1})
    elif target == "CLP04":
        c["paid"] += delta
        expected = Counter({"ERA102": 1, "ERA103": 1})
    elif target == "CLP05":
        c["pr"] += delta
        expected = Counter({"ERA105": 1})
    elif target == "BPR02":
        r["bpr"] += delta
        expected = Counter({"ERA103": 1})
    elif target == "PLB":
        if not r["plbs"]:
            r["plbs"] = [[("WO", delta)]]  # a PLB the payment does not account for
        else:
            plb = data.draw(st.sampled_from(r["plbs"]))
            index = data.draw(st.integers(0, len(plb) - 1))
            reason, amount = plb[index]
            plb[index] = (reason, amount + delta if amount + delta != 0 else amount + 2 * delta)
        expected = Counter({"ERA103": 1})
    assert findings(r) == expected
