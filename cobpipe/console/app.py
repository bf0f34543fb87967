"""The console's web application: `create_app(root, ledger)` -> a Starlette app.

Every page needs a session (see auth.py for roles, sessions and CSRF); PHI is masked until a user
with the `phi` permission reveals a claim, and every reveal, download and change is written to the
audit log. Request logs are JSON lines without query strings or form data (cobpipe.logs).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from edi.errors import EdiError

from ..cob.build import BuildError
from ..cob.from_era import billed_lines
from ..codes import default_codebook
from ..payers import PayerList
from ..ledger import Ledger
from ..logs import error_fields, event
from . import auth, claims as claimmod
from .explore import explore, parse_filters, payment_check
from .people import boxes
from .queue import STATUS_WORDS, ReasonBook, work_queue
from .store import QUEUE_STATUSES, ROLES, ConsoleStore, Session, User

log = logging.getLogger("cobpipe.console")
HERE = Path(__file__).parent
PER_PAGE = 50
TOUCH_EVERY = dt.timedelta(seconds=60)
MAX_UPLOAD = 64 << 20


@dataclass(slots=True)
class Settings:
    root: Path
    usage: str = "P"  # ISA15 of the claims sent
    policy: auth.SessionPolicy = field(default_factory=auth.SessionPolicy)
    today: dt.date | None = None  # fixed in tests

    @property
    def outbound(self) -> Path:
        return self.root / "outbound"

    @property
    def archive(self) -> Path:
        return self.root / "archive"


@dataclass(slots=True)
class Visitor:
    user: User
    session: Session

    def can(self, permission: str) -> bool:
        return auth.allowed(self.user.role, permission)


class _Failures:
    """Failed logins per user name: after 5 in 15 minutes, that name is locked for 15 minutes."""

    LIMIT, WINDOW = 5, 900.0

    def __init__(self) -> None:
        self.seen: dict[str, list[float]] = {}

    def locked(self, name: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self.seen.get(name, []) if now - t < self.WINDOW]
        self.seen[name] = recent
        return len(recent) >= self.LIMIT

    def add(self, name: str) -> None:
        self.seen.setdefault(name, []).append(time.monotonic())

    def clear(self, name: str) -> None:
        self.seen.pop(name, None)


def _money(value) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(value):,.2f}"


def create_app(root: Path, ledger: Ledger, *, settings: Settings | None = None) -> Starlette:
    settings = settings or Settings(Path(root))
    store = ConsoleStore(ledger)
    book = ReasonBook(store, settings.outbound)
    codebook = default_codebook()
    payers = PayerList.load()  # the shipped payer list: which payers take electronic secondary claims
    failures = _Failures()
    uploads = Uploads(settings.root / ".cobpipe" / "console-uploads")
    claimmod.recover_pending(ledger, settings.outbound)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    env.filters["money"] = _money
    env.filters["amount"] = claimmod.money  # an input's value: 10.00, no thousands separator
    env.globals["carc_text"] = lambda code: codebook.describe("carc", code) if code else ""
    env.globals["group_text"] = lambda code: (codebook.group.get(code).description
                                              if code and codebook.group.get(code) else "")
    code_texts = {"carc": {c.code: c.description for c in codebook.carc},
                  "group": {c.code: c.description for c in codebook.group}}
    env.globals["code_texts"] = code_texts  # for the screen's script: the words of a code as it is typed

    def today() -> dt.date:
        return settings.today or dt.date.today()

    def render(request: Request, template: str, code: int = 200, **context) -> HTMLResponse:
        visitor = getattr(request.state, "visitor", None)
        html = env.get_template(template).render(request=request, visitor=visitor,
                                                 csrf=visitor.session.csrf if visitor else "", **context)
        return HTMLResponse(html, status_code=code, headers=_SECURITY_HEADERS)

    # --- sessions --------------------------------------------------------------------------------
    def visitor_of(request: Request) -> Visitor | None:
        token = request.cookies.get(auth.SESSION_COOKIE)
        if not token:
            return None
        digest = auth.token_hash(token)
        session = store.session(digest)
        if session is None:
            return None
        at = dt.datetime.now(dt.timezone.utc)
        if dt.datetime.fromisoformat(session.expires_at) <= at:
            store.end_session(digest)
            return None
        user = store.user(session.user_name)
        if user is None or user.disabled:
            store.end_session(digest)
            return None
        # one write a minute at most per session: a request never waits on the ledger's write lock
        # (a job converting a large 835 holds it) just to say the session is alive
        if at - dt.datetime.fromisoformat(session.last_seen) >= TOUCH_EVERY:
            store.touch_session(digest, auth.expiry(dt.datetime.fromisoformat(session.created_at), at,
                                                    settings.policy))
        return Visitor(user, session)

    async def guard(request: Request, permission: str = "view") -> Visitor:
        visitor = visitor_of(request)
        if visitor is None:
            raise _Redirect("/login")
        request.state.visitor = visitor
        if not visitor.can(permission):
            raise HTTPException(403, f"your role ({visitor.user.role}) may not do this")
        return visitor

    async def posted(request: Request, visitor: Visitor) -> FormData:
        form = await request.form()
        if not auth.same(form.get("csrf"), visitor.session.csrf):
            raise HTTPException(403, "the form's security token is missing or stale: reload the page")
        return form

    # --- login -----------------------------------------------------------------------------------
    async def login_page(request: Request, message: str = "", status: int = 200) -> Response:
        nonce = auth.new_token()
        response = render(request, "login.html", status, login_token=nonce, message=message)
        response.set_cookie(auth.LOGIN_COOKIE, nonce, httponly=True, samesite="strict",
                            secure=settings.policy.secure_cookie, max_age=1800)
        return response

    async def login(request: Request) -> Response:
        if request.method == "GET":
            return await login_page(request)
        form = await request.form()
        if not auth.same(form.get("login_token"), request.cookies.get(auth.LOGIN_COOKIE)):
            return await login_page(request, "The login form expired: try again.", 403)
        name = str(form.get("name") or "").strip()[:64]
        password = str(form.get("password") or "")
        if failures.locked(name):
            store.audit(name or "-", "login.locked")
            return await login_page(request, "Too many failed attempts: wait 15 minutes.", 429)
        user = store.user(name) if name else None
        ok = auth.verify_password(user.password_hash if user else None, password)
        if not ok or user is None or user.disabled:
            failures.add(name)
            store.audit(name or "-", "login.failed")
            # no name in the log line: people type their password into the name field (the audit
            # log, inside the ledger, keeps what was typed as the name)
            event(log, "console.login_failed", logging.WARNING)
            return await login_page(request, "Wrong name or password.", 401)
        failures.clear(name)
        if auth.needs_rehash(user.password_hash):
            store.set_password(user.name, auth.hash_password(password))
        token, csrf = auth.new_token(), auth.new_token()
        at = dt.datetime.now(dt.timezone.utc)
        store.add_session(auth.token_hash(token), user.name, csrf, auth.expiry(at, at, settings.policy))
        store.audit(user.name, "login")
        event(log, "console.login", user=user.name)
        response = RedirectResponse(_local(str(form.get("next") or ""), "/queue"), 303)
        response.set_cookie(auth.SESSION_COOKIE, token, httponly=True, samesite="strict",
                            secure=settings.policy.secure_cookie)
        response.delete_cookie(auth.LOGIN_COOKIE)
        return response

    async def logout(request: Request) -> Response:
        visitor = await guard(request)
        await posted(request, visitor)
        store.end_session(visitor.session.token_hash)
        store.audit(visitor.user.name, "logout")
        response = RedirectResponse("/login", 303)
        response.delete_cookie(auth.SESSION_COOKIE)
        return response

    async def home(request: Request) -> Response:
        await guard(request)
        return RedirectResponse("/queue", 303)

    # --- the work queue ----------------------------------------------------------------------------
    async def queue_page(request: Request) -> Response:
        await guard(request)
        q = request.query_params
        statuses = tuple(s for s in q.getlist("status") if s in QUEUE_STATUSES)
        problems = []
        since = until = None
        try:
            since = dt.date.fromisoformat(q["since"]) if q.get("since") else None
            until = dt.date.fromisoformat(q["until"]) if q.get("until") else None
        except ValueError:
            problems.append("dates are YYYY-MM-DD")
        payer = (q.get("payer") or "").strip().upper()[:80]
        reason = (q.get("reason") or "").strip()[:80]
        items = work_queue(store, book, statuses=statuses, payer=payer, reason=reason, since=since, until=until)
        page, pages, shown = _paged(items, q.get("page"))
        billed = {item.claim_id: store.billed_payers(item.claim_id) for item in shown}
        return render(request, "queue.html", items=shown, billed=billed, counts=store.queue_counts(),
                      total=len(items), page=page, pages=pages, statuses=statuses, payer=payer, reason=reason,
                      since=q.get("since", ""), until=q.get("until", ""), problems=problems,
                      status_words=STATUS_WORDS, all_statuses=QUEUE_STATUSES)

    # --- the claim screen ----------------------------------------------------------------------------
    def originals_of(claim_id: str) -> list:
        try:
            return ledger.claims_for(claim_id)
        except EdiError:
            return []

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
        return RedirectResponse(_local(str(data.get("back") or ""), f"/claims/{claim_id}"), 303)

    # --- paper EOB ----------------------------------------------------------------------------------
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

    # --- remittances ---------------------------------------------------------------------------------
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

    # --- files and runs --------------------------------------------------------------------------------
    async def files_page(request: Request) -> Response:
        await guard(request)
        page = max(1, claimmod.to_int(request.query_params.get("page"), 1))
        files, total = store.files(limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
        for record in files:
            record["outputs"] = ledger.outputs_of(record["sha256"])
        sent = [o for o in store.outputs() if o["name"].startswith("console-")]
        return render(request, "files.html", files=files, total=total, page=page,
                      pages=max(1, math.ceil(total / PER_PAGE)), sent=sent)

    async def report_page(request: Request) -> Response:
        await guard(request)
        name = request.path_params["name"]
        output = store.output(name)
        path = settings.outbound / Path(name).name
        if output is None or output["kind"] != "report" or not path.is_file():
            raise HTTPException(404, "no such report in outbound/")
        import json

        data = json.loads(path.read_text(encoding="utf-8"))
        return render(request, "report.html", name=name, report=data)

    async def download_input(request: Request) -> Response:
        visitor = await guard(request, "download")
        record = store.file(request.path_params["sha"])
        path = claimmod.archived_copy(settings.root, record) if record is not None else None
        if path is None:
            raise HTTPException(404, "the file is not in archive/")
        store.audit(visitor.user.name, "download.input", record["name"], {"sha256": record["sha256"]})
        return FileResponse(path, filename=record["name"], media_type="application/edi-x12",
                            headers={"Cache-Control": "no-store"})

    async def download_output(request: Request) -> Response:
        visitor = await guard(request, "download")
        name = request.path_params["name"]
        output = store.output(name)
        folder = settings.outbound / claimmod.PAPER_FOLDER if output and output["kind"] == "paper" else settings.outbound
        path = folder / Path(name).name
        if output is None or not path.is_file():
            raise HTTPException(404, "the file is not in outbound/ (picked up already?)")
        store.audit(visitor.user.name, "download.output", name)
        return FileResponse(path, filename=name, media_type="application/octet-stream",
                            headers={"Cache-Control": "no-store"})

    # --- users and audit ---------------------------------------------------------------------------------
    async def users_page(request: Request) -> Response:
        visitor = await guard(request, "users")
        message = ""
        if request.method == "POST":
            data = await posted(request, visitor)
            message = _user_change(store, visitor, data)
        return render(request, "users.html", users=store.users(), roles=ROLES, message=message)

    async def audit_page(request: Request) -> Response:
        await guard(request, "audit")
        page = max(1, claimmod.to_int(request.query_params.get("page"), 1))
        rows, total = store.audit_page(100, (page - 1) * 100)
        return render(request, "audit.html", rows=rows, page=page, pages=max(1, math.ceil(total / 100)))

    routes = [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/queue", queue_page),
        Route("/claims/{claim_id}", claim_get, methods=["GET"]),
        Route("/claims/{claim_id}", claim_post, methods=["POST"]),
        Route("/claims/{claim_id}/reveal", reveal, methods=["POST"]),
        Route("/sent/{name}", sent_page),
        Route("/paper", paper, methods=["GET", "POST"]),
        Route("/remittances", remittances),
        Route("/remittances/upload", upload, methods=["POST"]),
        Route("/remittances/{sha}", remittance),
        Route("/uploads/{sha}", uploaded),
        Route("/files", files_page),
        Route("/files/{sha}/download", download_input),
        Route("/outputs/{name}/download", download_output),
        Route("/reports/{name}", report_page),
        Route("/users", users_page, methods=["GET", "POST"]),
        Route("/audit", audit_page),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return render(request, "error.html", exc.status_code, status=exc.status_code, message=exc.detail)

    async def redirect(request: Request, exc: "_Redirect") -> Response:
        return RedirectResponse(exc.target, 303)

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, _Redirect: redirect})
    app.state.store = store
    return _Guarded(app)


class _Redirect(Exception):
    def __init__(self, target: str) -> None:
        self.target = target


_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'",
}


class Uploads:
    """835s uploaded to be explored (never processed, never billed): ROOT/.cobpipe/console-uploads/
    <sha256>.835 with <sha256>.json (name, who, when). Only a usable 835 is kept (pipeline.scan_era)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, sha: str) -> Path | None:
        if not re.fullmatch(r"[0-9a-f]{64}", sha or ""):
            return None
        path = self.folder / f"{sha}.835"
        return path if path.is_file() else None

    def get(self, sha: str) -> dict | None:
        if self.path(sha) is None:
            return None
        try:
            meta = json.loads((self.folder / f"{sha}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        return {"sha256": sha, "name": str(meta.get("name") or f"{sha[:12]}.835"), "kind": "upload",
                "outcome": "uploaded, not processed", "processed_at": str(meta.get("at") or ""),
                "user": str(meta.get("user") or ""), "detail": {}}

    def all(self) -> list[dict]:
        if not self.folder.is_dir():
            return []
        found = [self.get(p.stem) for p in self.folder.glob("*.835")]
        return sorted((f for f in found if f), key=lambda f: f["processed_at"], reverse=True)

    def add(self, name: str, content: bytes, user: str) -> dict:
        from .. import pipeline
        from ..fsutil import write_text_atomic

        self.folder.mkdir(parents=True, exist_ok=True)
        sha = hashlib.sha256(content).hexdigest()
        target = self.folder / f"{sha}.835"
        if not target.exists():
            tmp = self.folder / f".{sha}.{secrets.token_hex(4)}.tmp"
            try:
                tmp.write_bytes(content)
                pipeline.scan_era(tmp)  # refuses what is not a usable 835 (EdiError)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
            write_text_atomic(self.folder / f"{sha}.json", json.dumps({
                "name": Path(name).name[:200], "user": user,
                "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}))
        return self.get(sha)


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


def _user_change(store: ConsoleStore, visitor: Visitor, data) -> str:
    action = str(data.get("action") or "")
    name = str(data.get("name") or "").strip()[:64]
    try:
        if action == "add":
            role = str(data.get("role") or "biller")
            if not name or not name.replace(".", "").replace("-", "").replace("_", "").isalnum():
                return "a user name is letters, digits, '.', '-' or '_'"
            store.add_user(name, role, auth.hash_password(str(data.get("password") or "")))
            store.audit(visitor.user.name, "user.add", name, {"role": role})
            return f"user {name} added as {role}"
        user = store.user(name)
        if user is None:
            return f"no user {name}"
        if action == "role":
            role = str(data.get("role") or "")
            if user.role == "admin" and role != "admin" and store.active_admins() <= 1:
                return "the last admin keeps the admin role"
            store.set_role(name, role)
            store.audit(visitor.user.name, "user.role", name, {"from": user.role, "to": role})
            return f"{name} is now {role}"
        if action in ("disable", "enable"):
            if action == "disable" and name == visitor.user.name:
                return "you cannot disable yourself"
            store.set_disabled(name, action == "disable")
            store.audit(visitor.user.name, f"user.{action}", name)
            return f"{name} {action}d"
        if action == "password":
            store.set_password(name, auth.hash_password(str(data.get("password") or "")))
            store.audit(visitor.user.name, "user.password", name)
            return f"password of {name} changed (their sessions ended)"
    except ValueError as exc:
        return str(exc)
    return "unknown action"


def _local(target: str, default: str) -> str:
    """A redirect target on this site only: a path, never another host (//host, /\\host, a scheme)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and not any(ord(c) < 32 for c in target):
        return target
    return default


def _paged(items: list, page_text) -> tuple[int, int, list]:
    pages = max(1, math.ceil(len(items) / PER_PAGE))
    page = min(max(1, claimmod.to_int(page_text, 1)), pages)
    return page, pages, items[(page - 1) * PER_PAGE: page * PER_PAGE]


class _Guarded:
    """The outermost layer: request log lines (method, path, status, user; never query strings or
    form data) and a plain 500 for any unexpected exception, logged by type and source line only
    (an exception message may hold PHI), so no traceback reaches uvicorn's log."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = {"code": 500, "sent": False}

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:  # noqa: BLE001 - the last guard
            fields = {**error_fields(exc), "message": None, "status": 500}
            fields["where"] = f"{scope.get('method')} {scope.get('path')} ({fields.get('where', '?')})"
            event(log, "console.error", logging.ERROR, **fields)
            if not status["sent"]:
                body = b"internal error (logged)"
                await send({"type": "http.response.start", "status": 500,
                            "headers": [(b"content-type", b"text/plain"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
            status["code"] = 500
        event(log, "console.request", logging.INFO, where=f"{scope.get('method')} {scope.get('path')}",
              status=status["code"], elapsed_ms=round((time.monotonic() - started) * 1000, 1))
