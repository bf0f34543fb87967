"""What every screen of the console uses: the Console (ROOT's ledger, the console's tables, the
code and payer lists, the templates), who is asking (a Visitor, from the session cookie; `guard`
turns anyone else away), posted forms (their CSRF token checked) and pages rendered with the
security headers.

A screen's module (screens/) gets one Console and builds its routes over it; nothing here knows
the screens.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from edi.errors import EdiError

from ..codes import default_codebook
from ..ledger import Ledger
from ..payers import PayerList
from . import auth
from .claims import money as amount
from .claims import to_int
from .queue import ReasonBook
from .store import ConsoleStore, Session, User
from .uploads import Uploads

HERE = Path(__file__).parent
PER_PAGE = 50
TOUCH_EVERY = dt.timedelta(seconds=60)


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


class Redirect(Exception):
    """Raised by a handler (guard: not signed in) to send the browser elsewhere (303)."""

    def __init__(self, target: str) -> None:
        self.target = target


SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'",
}


class Console:
    """One console app's shared parts, made once by create_app and handed to every screen."""

    def __init__(self, ledger: Ledger, settings: Settings) -> None:
        self.settings = settings
        self.ledger = ledger
        self.store = ConsoleStore(ledger)
        self.book = ReasonBook(self.store, settings.outbound)
        self.codebook = default_codebook()
        self.payers = PayerList.load()  # the shipped payer list: which payers take electronic secondary claims
        self.uploads = Uploads(settings.root / ".cobpipe" / "console-uploads")
        self.env = _environment(self.codebook)

    def today(self) -> dt.date:
        return self.settings.today or dt.date.today()

    def render(self, request: Request, template: str, code: int = 200, **context) -> HTMLResponse:
        visitor = getattr(request.state, "visitor", None)
        html = self.env.get_template(template).render(request=request, visitor=visitor,
                                                      csrf=visitor.session.csrf if visitor else "", **context)
        return HTMLResponse(html, status_code=code, headers=SECURITY_HEADERS)

    def originals_of(self, claim_id: str) -> list:
        """The stored original claims with this CLM01 (several may share it); none when unreadable."""
        try:
            return self.ledger.claims_for(claim_id)
        except EdiError:
            return []

    # --- sessions --------------------------------------------------------------------------------
    def visitor_of(self, request: Request) -> Visitor | None:
        store, settings = self.store, self.settings
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

    async def guard(self, request: Request, permission: str = "view") -> Visitor:
        """The signed-in visitor, allowed `permission`; else a redirect to the login page, or 403."""
        visitor = self.visitor_of(request)
        if visitor is None:
            raise Redirect("/login")
        request.state.visitor = visitor
        if not visitor.can(permission):
            raise HTTPException(403, f"your role ({visitor.user.role}) may not do this")
        return visitor

    async def posted(self, request: Request, visitor: Visitor) -> FormData:
        """The posted form, refused (403) unless it carries the session's CSRF token."""
        form = await request.form()
        if not auth.same(form.get("csrf"), visitor.session.csrf):
            raise HTTPException(403, "the form's security token is missing or stale: reload the page")
        return form


def _environment(codebook) -> Environment:
    """The templates, with the filters and the code texts they use."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    env.filters["money"] = _money
    env.filters["amount"] = amount  # an input's value: 10.00, no thousands separator
    env.globals["carc_text"] = lambda code: codebook.describe("carc", code) if code else ""
    env.globals["group_text"] = lambda code: (codebook.group.get(code).description
                                              if code and codebook.group.get(code) else "")
    code_texts = {"carc": {c.code: c.description for c in codebook.carc},
                  "group": {c.code: c.description for c in codebook.group}}
    env.globals["code_texts"] = code_texts  # for the screen's script: the words of a code as it is typed
    return env


def _money(value) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(value):,.2f}"


def local(target: str, default: str) -> str:
    """A redirect target on this site only: a path, never another host (//host, /\\host, a scheme)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and not any(ord(c) < 32 for c in target):
        return target
    return default


def paged(items: list, page_text) -> tuple[int, int, list]:
    """(page, pages, the page's items) of a list shown PER_PAGE at a time."""
    pages = max(1, math.ceil(len(items) / PER_PAGE))
    page = min(max(1, to_int(page_text, 1)), pages)
    return page, pages, items[(page - 1) * PER_PAGE: page * PER_PAGE]
