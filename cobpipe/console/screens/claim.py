"""The secondary claim screen: one claim's form, prefilled from its 835 (or ready for a paper EOB),
checked, and sent; the page of a claim sent; revealing a claim's PHI.

The form's model, its checks and Send are console.claims; this module only moves between them and
the browser (which original, which 835, which button) and writes the audit rows.
"""
from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from edi.errors import EdiError

from ...cob.build import BuildError
from ...cob.from_era import billed_lines
from ...logs import event
from .. import claims as claimmod
from ..people import boxes
from ..web import Console, Visitor, local

log = logging.getLogger("cobpipe.console")


def routes(console: Console) -> list[Route]:
    store, ledger, settings = console.store, console.ledger, console.settings
    payers, book = console.payers, console.book
    render, guard, posted, today = console.render, console.guard, console.posted, console.today
    originals_of = console.originals_of

    def era_context(claim_id: str, era_sha: str):
        """(835 file record, RemitClaim or None, allowed amounts of its lines, problem) for the claim's 835."""
        if not era_sha:
            decision = store.latest_decision(claim_id)
            era_sha = decision.source_sha256 if decision and decision.file_kind == "835" else ""
        record = store.file(era_sha) if era_sha else None
        if record is None or record["kind"] != "835":
            return None, None, [], "no 835 in the ledger for this claim: key the primary's EOB instead"
        path = claimmod.archived_copy(settings.root, record)
        if path is None:
            return record, None, [], f"the 835 {record['name']} is no longer in archive/"
        try:
            remit, allowed = claimmod.remit_from_835(path, claim_id, today())
        except EdiError as exc:
            return record, None, [], f"the 835 cannot be read: {exc.message}"
        if remit is None:
            return record, None, [], f"claim {claim_id} is not in {record['name']}"
        return record, remit, allowed, ""

    def pick_original(originals: list, wanted: int | None, remit, sender) -> int:
        """The original asked for, else the one billed to the 835's payer with the 835's charge (the
        pipeline's choice: a claim we issued to the secondary is the original of its 835)."""
        if wanted is not None and 0 <= wanted < len(originals):
            return wanted
        if remit is None:
            return 0
        ranked = []
        for n, original in enumerate(originals):
            try:
                same_charge = original.charge == remit.charge
            except EdiError:
                same_charge = False
            wrong = claimmod.sender_problem(payers, sender, original) is not None
            ranked.append((wrong, not same_charge, n))
        return min(ranked)[2] if ranked else 0

    def claim_screen(request: Request, visitor: Visitor, claim_id: str, form: claimmod.ClaimForm | None,
                     originals: list, record, remit, note: str, result: claimmod.Check | None = None,
                     sent: claimmod.Sent | None = None, status: int = 200) -> Response:
        original = originals[form.original] if form is not None else None
        reveal = visitor.can("phi") and claim_id in visitor.session.revealed
        try:
            charge = original.charge if original is not None else None
            billed = billed_lines(original) if original is not None else []
        except EdiError as exc:
            charge, billed, form = None, [], None
            note = f"the original claim cannot be shown as a form: {exc.message}"
        decision = store.latest_decision(claim_id)
        reasons = book.reasons(decision)[0] if decision else ()
        return render(request, "claim.html", status, claim_id=claim_id, form=form, original=original,
                      originals=originals, record=record, remit=remit, note=note, result=result, sent=sent,
                      box=boxes(original, reveal) if original is not None else None,
                      billed=billed,
                      coverage_options=claimmod.coverage_options(original) if form is not None else [],
                      charge=charge, payer_list=payers.payers,
                      decision=decision, reasons=reasons, issued=ledger.issued_for(claim_id),
                      history=store.decisions_of_claim(claim_id)[:10], today=today())

    async def claim_get(request: Request) -> Response:
        visitor = await guard(request)
        claim_id = request.path_params["claim_id"]
        q = request.query_params
        originals = originals_of(claim_id)
        paper = q.get("mode") == "paper"
        record, remit, allowed, note = (None, None, [], "") if paper else era_context(claim_id, q.get("era", ""))
        if not originals:
            return claim_screen(request, visitor, claim_id, None, [], record, remit,
                                f"no original 837P claim with CLM01 {claim_id} is stored: drop its 837P in "
                                "inbound/ (the 835 is converted again then), or pick the claim it should be",
                                status=404 if record is None else 200)
        sender = claimmod.era_sender(claimmod.archived_copy(settings.root, record)) if remit is not None else None
        index = pick_original(originals, claimmod.to_int(q.get("original"), None), remit, sender)
        try:
            if remit is not None:
                form = claimmod.form_from_remit(originals[index], remit, record["sha256"], index, allowed)
            else:
                form = claimmod.form_for_paper(originals[index], index)
                if not paper and note:
                    note += "; the form is ready for the primary's EOB"
        except (EdiError, BuildError) as exc:
            return claim_screen(request, visitor, claim_id, None, originals, record, remit, str(exc))
        if form.mode == "era" and (not paper):
            result = claimmod.check(form, originals[index], [], today=today(), issued=ledger, payers=payers,
                                    sender=sender)
        else:
            result = None
        return claim_screen(request, visitor, claim_id, form, originals, record, remit, note, result)

    async def claim_post(request: Request) -> Response:
        visitor = await guard(request)
        data = await posted(request, visitor)
        claim_id = request.path_params["claim_id"]
        action = str(data.get("action") or "check")
        if action == "send" and not visitor.can("send"):
            raise HTTPException(403, f"your role ({visitor.user.role}) may not send claims")
        originals = originals_of(claim_id)
        if not originals:
            raise HTTPException(404, f"no original claim {claim_id}")
        mode = "paper" if data.get("mode") == "paper" else "era"
        index = claimmod.to_int(data.get("original"), 0)
        if not 0 <= index < len(originals):
            index = 0
        original = originals[index]
        values = {k: str(v) for k, v in data.items()}
        form, errors = claimmod.read_form(values, original, mode)
        form.original = index
        record = store.file(form.era_sha) if form.era_sha else None
        _structure(form, action, len(billed_lines(original)))
        if action not in ("check", "send"):
            return claim_screen(request, visitor, claim_id, form, originals, record, None, "")
        sender = era_path = None
        if mode == "era":
            era_path = claimmod.archived_copy(settings.root, record) if record and record["kind"] == "835" else None
            if era_path is None:
                errors.append(claimmod.FormError("835", "the 835 this screen was filled from is not in the ledger's "
                                                        "archive: key the EOB instead"))
            else:
                sender = claimmod.era_sender(era_path)
        result = claimmod.check(form, original, errors, today=today(), issued=ledger, payers=payers, sender=sender)
        if action == "check" or not result.ok:
            if action == "send":
                store.audit(visitor.user.name, "claim.send_refused", claim_id,
                            {"problems": len(result.errors) + len(result.findings)})
            return claim_screen(request, visitor, claim_id, form, originals, record, None, "", result,
                                status=200 if action == "check" else 422)
        payer_id = result.next_payer.payer_id

        def audit(digest: str, name: str) -> None:
            store.audit(visitor.user.name, "claim.send", claim_id,
                        {"output": name, "payer_id": payer_id, "mode": mode, "era": form.era_sha[:12] or None,
                         "lines": len(form.lines), "paid": str(form.paid),
                         "adjustments": [f"{a.group}-{a.reason} {a.amount}" for a in form.claim_adjustments] +
                         [f"line {n + 1} {a.group}-{a.reason} {a.amount}" for n, row in enumerate(form.lines)
                          for a in row.adjustments]})

        try:
            if result.paper:  # the payer takes no electronic secondary claims: a CMS-1500, as the pipeline prints
                sent = claimmod.send_paper(ledger, settings.outbound, result.built, payer_id, result.paper,
                                           era_path=era_path, level=result.next_payer.level, on_commit=audit,
                                           detail=f"printed on paper from the console by {visitor.user.name}",
                                           today=today())
            else:
                sent = claimmod.send(ledger, settings.outbound, result.built, original, payer_id,
                                     level=result.next_payer.level, usage=settings.usage, on_commit=audit,
                                     detail=f"sent from the console by {visitor.user.name}")
        except claimmod.SendRefused as exc:
            result.findings += exc.problems
            store.audit(visitor.user.name, "claim.send_refused", claim_id, {"problems": len(exc.problems)})
            return claim_screen(request, visitor, claim_id, form, originals, record, None, "", result, status=422)
        event(log, "console.claim_sent", user=visitor.user.name, claim=claim_id, output=sent.output,
              control_numbers=[list(n) for n in sent.control_numbers])
        return RedirectResponse(f"/sent/{sent.output}", 303)

    async def sent_page(request: Request) -> Response:
        await guard(request)
        name = request.path_params["name"]
        output = store.output(name)
        if output is None:
            raise HTTPException(404, "no such output")
        return render(request, "sent.html", output=output, claims=store.issued_in(name))

    async def reveal(request: Request) -> Response:
        visitor = await guard(request, "phi")
        data = await posted(request, visitor)
        claim_id = request.path_params["claim_id"]
        revealed = set(visitor.session.revealed)
        if str(data.get("hide") or ""):
            revealed.discard(claim_id)
            store.audit(visitor.user.name, "phi.hide", claim_id)
        else:
            revealed.add(claim_id)
            store.audit(visitor.user.name, "phi.reveal", claim_id, {"screen": str(data.get("back") or "")[:200]})
        store.set_revealed(visitor.session.token_hash, revealed)
        return RedirectResponse(local(str(data.get("back") or ""), f"/claims/{claim_id}"), 303)

    return [
        Route("/claims/{claim_id}", claim_get, methods=["GET"]),
        Route("/claims/{claim_id}", claim_post, methods=["POST"]),
        Route("/claims/{claim_id}/reveal", reveal, methods=["POST"]),
        Route("/sent/{name}", sent_page),
    ]


def _structure(form: claimmod.ClaimForm, action: str, billed_count: int) -> None:
    """Add or remove adjustment and line rows (the buttons of the screen)."""
    kind, _, arg = action.partition(":")
    if kind == "add-claim-adj":
        form.claim_adjustments.append(claimmod.AdjRow("", "", claimmod.ZERO))
    elif kind == "remove-claim-adj":
        n = claimmod.to_int(arg, -1)
        if 0 <= n < len(form.claim_adjustments):
            del form.claim_adjustments[n]
    elif kind == "add-adj":
        n = claimmod.to_int(arg, -1)
        if 0 <= n < len(form.lines):
            form.lines[n].adjustments.append(claimmod.AdjRow("", "", claimmod.ZERO))
    elif kind == "remove-adj":
        line, _, k = arg.partition(".")
        n, k = claimmod.to_int(line, -1), claimmod.to_int(k, -1)
        if 0 <= n < len(form.lines) and 0 <= k < len(form.lines[n].adjustments):
            del form.lines[n].adjustments[k]
    elif kind == "add-line":
        form.lines.append(claimmod.LineRow(billed=None, qualifier="HC", code="", modifiers=(),
                                           charge=claimmod.ZERO, paid=claimmod.ZERO))
    elif kind == "remove-line":
        n = claimmod.to_int(arg, -1)
        if 0 <= n < len(form.lines):
            del form.lines[n]
