"""Files and runs: every input the jobs took and what it produced, the claims sent from the console,
an ERA's report, and downloads of inputs and outputs (each download audited).
"""
from __future__ import annotations

import math
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from .. import claims as claimmod
from ..web import PER_PAGE, Console


def routes(console: Console) -> list[Route]:
    store, ledger, settings, render, guard = console.store, console.ledger, console.settings, console.render, \
        console.guard

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

    return [
        Route("/files", files_page),
        Route("/files/{sha}/download", download_input),
        Route("/outputs/{name}/download", download_output),
        Route("/reports/{name}", report_page),
    ]
