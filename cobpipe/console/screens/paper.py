"""Paper EOB: find the claim a paper EOB answers (by claim id, patient or date of service) to key
the primary's payment on the claim screen. The search term may be a patient's name: it is never
echoed back, logged or audited.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...cob.from_era import billed_lines
from .. import claims as claimmod
from ..people import boxes
from ..web import Console


def routes(console: Console) -> list[Route]:
    store, ledger, render, guard, posted = console.store, console.ledger, console.render, console.guard, console.posted
    originals_of = console.originals_of

    async def paper(request: Request) -> Response:
        visitor = await guard(request)
        rows, problems, searched = [], [], False
        values = {"claim_id": "", "patient": "", "dos": ""}
        if request.method == "POST":
            data = await posted(request, visitor)
            values = {k: str(data.get(k) or "").strip()[:60] for k in values}
            service_date = None
            if values["dos"]:
                try:
                    service_date = claimmod.parse_date(values["dos"], "date of service")
                except claimmod.FormError as exc:
                    problems.append(str(exc))
            if not problems and any(values.values()):
                searched = True
                rows = store.search_claims(claim_id=values["claim_id"], patient=values["patient"],
                                           service_date=service_date)
                # the search term may be a patient's name: the audit says what kind of search, not the term
                store.audit(visitor.user.name, "claims.search", "",
                            {"by": [k for k, v in values.items() if v], "found": len(rows)})
        found = []
        for claim_id, submitter, payer, raw, envelope, added_at in rows:
            originals = originals_of(claim_id)
            for n, original in enumerate(originals):
                if original.submitter_id == submitter and original.payer_id == payer:
                    reveal = visitor.can("phi") and claim_id in visitor.session.revealed
                    lines = billed_lines(original)
                    found.append({"claim_id": claim_id, "index": n, "payer": payer, "box": boxes(original, reveal),
                                  "charge": original.charge,
                                  "dates": sorted({str(l.service_date) for l in lines if l.service_date}),
                                  "issued": ledger.issued_for(claim_id)})
                    break
        values["patient"] = ""  # never echoed back into the page
        return render(request, "paper.html", found=found, problems=problems, searched=searched, values=values)

    return [
        Route("/paper", paper, methods=["GET", "POST"]),
    ]
