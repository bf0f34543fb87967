"""`cobpipe status ROOT`: what the ledger and the folders say, as a dict (for --json) or text."""
from __future__ import annotations

from ..ledger import Ledger
from .layout import Root


def status(root: Root, ledger: Ledger, last: int = 10) -> dict:
    stats = ledger.stats(last=last)
    processed = sum(n for kind in stats.files.values() for outcome, n in kind.items() if outcome != "rejected")
    rejected = sum(kind.get("rejected", 0) for kind in stats.files.values())
    return {
        "root": str(root.path),
        "ledger": str(root.ledger_path),
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
            "skipped": stats.claims_by_status.get("skipped", 0),
            "rejected": stats.claims_by_status.get("rejected", 0),
            "unmatched": stats.claims_by_status.get("unmatched", 0),
            "pending": stats.claims_pending,
            "issued": stats.issued,
        },
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
        f"claims   {claims['stored']} stored; {claims['converted']} converted, {claims['skipped']} skipped, "
        f"{claims['rejected']} rejected, {claims['unmatched']} unmatched (awaiting their 837P), "
        f"{claims['pending']} pending (no 835 yet)",
    ]
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
