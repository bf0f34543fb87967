"""The remittance explorer: the 835s in the ledger and those uploaded only to be looked at, each
shown claim by claim with filters, the ledger's decisions and what was sent (PHI only for revealed
claims), and the upload of an 835 to explore.
"""
from __future__ import annotations

import math
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from edi.errors import EdiError

from .. import claims as claimmod
from ..explore import explore, parse_filters, payment_check
from ..web import PER_PAGE, Console, Visitor

MAX_UPLOAD = 64 << 20


def routes(console: Console) -> list[Route]:
    store, ledger, settings, uploads, codebook = console.store, console.ledger, console.settings, console.uploads, \
        console.codebook
    render, guard, posted = console.render, console.guard, console.posted

    async def remittances(request: Request) -> Response:
        await guard(request)
        files, total = store.files(kind="835", limit=PER_PAGE,
                                   offset=(max(1, claimmod.to_int(request.query_params.get("page"), 1)) - 1) * PER_PAGE)
        return render(request, "remittances.html", files=files, total=total, uploaded=uploads.all(),
                      page=max(1, claimmod.to_int(request.query_params.get("page"), 1)),
                      pages=max(1, math.ceil(total / PER_PAGE)))

    async def remittance(request: Request) -> Response:
        visitor = await guard(request)
        sha = request.path_params["sha"]
        record = store.file(sha)
        if record is None or record["kind"] != "835":
            raise HTTPException(404, "no such 835 in the ledger")
        return show_remittance(request, visitor, record, claimmod.archived_copy(settings.root, record))

    async def uploaded(request: Request) -> Response:
        visitor = await guard(request)
        record = uploads.get(request.path_params["sha"])
        if record is None:
            raise HTTPException(404, "no such uploaded file")
        return show_remittance(request, visitor, record, uploads.path(record["sha256"]))

    def show_remittance(request: Request, visitor: Visitor, record: dict, path: Path | None) -> Response:
        if path is None:
            return render(request, "remittance.html", record=record, page=None, missing=True, decisions={},
                          issued={}, filters=None, query={})
        filters = parse_filters(request.query_params, codebook)
        revealed = frozenset(visitor.session.revealed) if visitor.can("phi") else frozenset()
        try:
            page = explore(path, codebook, filters, page=claimmod.to_int(request.query_params.get("page"), 1),
                           revealed=revealed)
        except EdiError as exc:
            raise HTTPException(422, f"the 835 cannot be read: {exc.message}") from exc
        ids = [claim.id for _, claim in page.claims]
        if record["kind"] == "835":
            decisions = store.decisions_in_file(record["sha256"], ids)
        else:  # an uploaded file decided nothing: what the ledger last decided about each claim
            decisions = {}
            for claim_id in ids:
                latest = store.latest_decision(claim_id)
                if latest is not None:
                    decisions[claim_id] = {"status": latest.status, "payer_id": latest.payer_id,
                                           "reasons": list(latest.reasons), "at": latest.decided_at,
                                           "file": latest.file_name}
        issued = {claim_id: ledger.issued_for(claim_id) for claim_id in ids}
        # the segments sent hold names and member ids: shown for revealed claims only
        sent_segments = {(claim_id, i.payer_id): store.claim_segments(claim_id, i.payer_id)
                         for claim_id in ids if claim_id in revealed for i in issued[claim_id]}
        query = {k: v for k, v in request.query_params.items() if k != "page"}
        checks = {section.number: payment_check(section) for section in page.sections}
        return render(request, "remittance.html", record=record, page=page, missing=False, decisions=decisions,
                      issued=issued, filters=filters, query=query, checks=checks, sent_segments=sent_segments,
                      raw_status=request.query_params.get("status", ""))

    async def upload(request: Request) -> Response:
        visitor = await guard(request)
        if int(request.headers.get("content-length") or 0) > MAX_UPLOAD:
            raise HTTPException(413, f"an uploaded 835 may have at most {MAX_UPLOAD // (1 << 20)} MB")
        data = await posted(request, visitor)
        sent = data.get("file")
        if sent is None or not hasattr(sent, "read"):
            raise HTTPException(400, "choose an 835 file to upload")
        content = await sent.read(MAX_UPLOAD + 1)
        if len(content) > MAX_UPLOAD:
            raise HTTPException(413, f"an uploaded 835 may have at most {MAX_UPLOAD // (1 << 20)} MB")
        try:
            record = uploads.add(str(sent.filename or "upload.835"), content, visitor.user.name)
        except EdiError as exc:
            store.audit(visitor.user.name, "remittance.upload_refused", "", {"reason": exc.message})
            raise HTTPException(422, f"not a usable 835: {exc.message}") from exc
        store.audit(visitor.user.name, "remittance.upload", record["name"], {"sha256": record["sha256"]})
        return RedirectResponse(f"/uploads/{record['sha256']}", 303)

    return [
        Route("/remittances", remittances),
        Route("/remittances/upload", upload, methods=["POST"]),
        Route("/remittances/{sha}", remittance),
        Route("/uploads/{sha}", uploaded),
    ]
