"""The secondary claim screen's model: a CMS-1500-like form prefilled from the 835 (or keyed from a
paper EOB) and the original claim, validated on the server, and sent through the pipeline's own
code: `cob.build.build_secondary`, the balancing gate `cob.gate.check_claim`, the 005010X222A1
guide check (`edi.ig`), the 837P writer with the ledger's control numbers, and
`Ledger.record_issued` so a claim is never billed to the same payer twice.

Amounts are Decimal from the first parse to the X12 text; nothing here trusts the browser's sums.

The package, each module below the ones that use it:
    send.py      Send: the 837P or the paper claim written, recorded and published after COMMIT
    balance.py   the checks before Send, and the secondary claim built by the pipeline's code
    form.py      the form's model, its prefill, and the posted form read back
    sources.py   the claim's 835: its archived copy, its adjudication, its sender
"""
from __future__ import annotations

from .balance import Check, check, next_payer_of, paper_reason, remit_of, sender_problem
from .form import (ZERO, AdjRow, ClaimForm, CoverageForm, FormError, LineRow, coverage_options, default_coverage,
                   form_for_paper, form_from_remit, money, parse_amount, parse_date, read_form, to_int)
from .send import PAPER_FOLDER, SendRefused, Sent, recover_pending, send, send_paper
from .sources import archived_copy, era_sender, remit_from_835

__all__ = ["PAPER_FOLDER", "ZERO", "AdjRow", "Check", "ClaimForm", "CoverageForm", "FormError", "LineRow",
           "SendRefused", "Sent", "archived_copy", "check", "coverage_options", "default_coverage",
           "era_sender", "form_for_paper", "form_from_remit", "money", "next_payer_of", "paper_reason",
           "parse_amount", "parse_date", "read_form", "recover_pending", "remit_from_835", "remit_of", "send",
           "send_paper", "sender_problem", "to_int"]
