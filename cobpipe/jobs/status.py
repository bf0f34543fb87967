"""`cobpipe status ROOT`: what the ledger and the folders say, as a dict (for --json) or text."""
from __future__ import annotations

import datetime as dt

from ..ledger import Ledger
from ..ledger.pg import masked
from .layout import Root


def status(root: Root, ledger: Ledger, last: int = 10, ack_after: float = 86400.0, crossover_days: int = 30) -> dict:
    """`ack_after`: seconds after which an 837P without a 999 (a claim without a 277CA) is listed;
    `crossover_days`: days after which an unanswered crossover is overdue (billers then bill it)."""
    stats = ledger.stats(last=last)
    overdue = ledger.overdue_crossovers(dt.date.today() - dt.timedelta(days=crossover_days))
    cutoff = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=ack_after)).isoformat(timespec="microseconds")
    processed = sum(n for kind in stats.files.values() for outcome, n in kind.items() if outcome != "rejected")
    rejected = sum(kind.get("rejected", 0) for kind in stats.files.values())
    return {
        "root": str(root.path),
        "ledger": masked(str(root.ledger_path)),  # a postgresql:// URL without its password
        "files": {
            "processed": processed,
            "rejected": rejected,
            "by_kind": stats.files,
            "waiting_in_inbound": len(root.inbound_files()),
        },
        "claims": {
            "stored": stats.claims_stored,
            "stored_ids": stats.claim_ids_stored,
            "converted": stats.claims_by_status.get("converted", 0),
            "paper": stats.claims_by_status.get("paper", 0),  # billed on a CMS-1500 (outbound/paper/)
            "skipped": stats.claims_by_status.get("skipped", 0),
            "held": stats.claims_by_status.get("held", 0),  # a person decides (COB order, payer, follow-up)
            "rejected": stats.claims_by_status.get("rejected", 0),
            "unmatched": stats.claims_by_status.get("unmatched", 0),
            "pending": stats.claims_pending,
            "issued": stats.issued,
            # where each claim stands; a stored claim no 835 has mentioned is awaiting its primary
            "states": {"awaiting_primary": stats.claims_pending, **ledger.claim_state_counts()},
        },
        "crossovers_overdue": {"after_days": crossover_days, "total": len(overdue),
                               "claims": [{"claim_id": c["claim_id"], "forwarded_to": c["forwarded_to"],
                                           "announced_on": c["announced_on"]} for c in overdue[:last]]},
        "acknowledgments": {"after_seconds": ack_after, **ledger.ack_summary(cutoff, last=last)},
        "control_numbers": [{"kind": k, "sender": s, "receiver": r, "last": n}
                            for k, s, r, n in ledger.control_numbers()],
        "last_errors": {
            "files": [{"file": f.name, "sha256": f.sha256, "reason": f.reason,
                       "message": f.detail.get("message"), "at": f.processed_at}
                      for f in stats.last_rejected_files],
            "claims": stats.last_claim_problems,
        },
    }


def render_text(data: dict) -> str:
    files, claims = data["files"], data["claims"]
    lines = [
        f"root     {data['root']}",
        f"files    {files['processed']} processed, {files['rejected']} rejected, "
        f"{files['waiting_in_inbound']} in inbound",
        f"claims   {claims['stored']} stored; {claims['converted']} converted, {claims.get('paper', 0)} on paper, "
        f"{claims['skipped']} skipped, {claims.get('held', 0)} held (need a person), "
        f"{claims['rejected']} rejected, {claims['unmatched']} unmatched (awaiting their 837P), "
        f"{claims['pending']} pending (no 835 yet)",
    ]
    states = claims.get("states")
    if states:
        lines.append("states   " + ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in states.items() if n))
    overdue = data.get("crossovers_overdue")
    if overdue and overdue["total"]:
        lines.append(f"crossovers overdue (no 835 from the forwarded-to payer after {overdue['after_days']} days): "
                     f"{overdue['total']}")
        lines += [f"  {c['claim_id']} forwarded to {c['forwarded_to']} on {c['announced_on']}: bill it yourself"
                  for c in overdue["claims"]]
    acks = data.get("acknowledgments")
    if acks:
        for kind, states in sorted(acks["counts"].items()):
            lines.append(f"acks     {kind}: " + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(states.items())))
        hours = acks["after_seconds"] / 3600
        for missing in acks["outputs_without_999"]:
            lines.append(f"no 999   {missing['file']} (written {missing['written_at'][:19]}, over {hours:g} h ago)")
        if acks["claims_without_277ca_total"]:
            shown = ", ".join(c["claim_id"] for c in acks["claims_without_277ca"])
            lines.append(f"no 277CA {acks['claims_without_277ca_total']} claims issued over {hours:g} h ago: {shown}")
    for number in data["control_numbers"]:
        lines.append(f"control  {number['kind']} {number['sender']} -> {number['receiver']}: last {number['last']}")
    errors = data["last_errors"]
    if errors["files"]:
        lines.append("last rejected files:")
        lines += [f"  {e['at'][:19]}  {e['file']}: {e['reason']} {e['message'] or ''}".rstrip()
                  for e in errors["files"]]
    if errors["claims"]:
        lines.append("last claims not converted:")
        lines += [f"  {e['at'][:19]}  {e['claim_id']} ({e['status']}) in {e['file']}"
                  + (f": {', '.join(e['reasons'])}" if e["reasons"] else "")
                  for e in errors["claims"]]
    return "\n".join(lines)
