"""The work queue: the claims that need a biller (held, rejected, unmatched, ...), filtered and paged.
"""
from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..queue import STATUS_WORDS, work_queue
from ..store import QUEUE_STATUSES
from ..web import Console, paged


def routes(console: Console) -> list[Route]:
    store, book, render, guard = console.store, console.book, console.render, console.guard

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
        page, pages, shown = paged(items, q.get("page"))
        billed = {item.claim_id: store.billed_payers(item.claim_id) for item in shown}
        return render(request, "queue.html", items=shown, billed=billed, counts=store.queue_counts(),
                      total=len(items), page=page, pages=pages, statuses=statuses, payer=payer, reason=reason,
                      since=q.get("since", ""), until=q.get("until", ""), problems=problems,
                      status_words=STATUS_WORDS, all_statuses=QUEUE_STATUSES)

    return [
        Route("/queue", queue_page),
    ]
