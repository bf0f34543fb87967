"""835s uploaded in the console to be explored: kept beside the ledger, never processed, never billed."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
from pathlib import Path


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
