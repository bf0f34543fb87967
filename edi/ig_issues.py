"""What the guide check reports, whichever engine runs it: `Issue` (one error before it becomes
an edi.findings.Finding), the exceptions an engine raises (TooManyIssues, EngineBug, Crash), the issues
made outside the walk (no map, engine failure), and the fast engine's error tree (`Errh`: where
pyx12's err_handler would file each error, the same cursor rules, flattened on output).

This module imports nothing else of the guide check: every engine module imports it, never the other way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MASK = "<masked>"
_SAFE_TOKEN = re.compile(r"[A-Z0-9]{1,3}\Z")


@dataclass(slots=True)
class Issue:
    """One validation error as an engine reports it, before it becomes a Finding.

    `level` is isa, gs, st, seg or ele (pyx12's error tree) or nomap, noisa, isafmt, engine;
    `position` is the 1-based segment number in the file (pyx12 counts segments the same way as
    edi.reader), `value` the offending value (never shown unless safe).
    """

    level: str
    code: str
    message: str
    position: int | None = None
    tag: str | None = None
    loop: str | None = None
    element: str | None = None
    value: str | None = None
    line: int | None = None  # only for issues found before the engine ran (no line table then)

    def key(self) -> tuple[int | None, str]:
        """(segment position, finding code): what the two engines must agree on."""
        return (self.position, finding_code(self.level, self.code))


def finding_code(level: str, code: str) -> str:
    if level in ("isa", "gs", "st", "seg", "ele"):
        return f"IG-{level.upper()}-{code}"
    return f"IG-{level.upper()}"


def mask_token(token: str) -> str:
    return token if _SAFE_TOKEN.match(token) or token.isdigit() else MASK


def engine_failure(exc: BaseException | str, position: int | None, tag: str | None) -> Issue:
    name = exc if isinstance(exc, str) else type(exc).__name__
    return Issue("engine", "", f"the implementation guide validator failed on this segment "
                 f"({name}); later segments were not checked", position, tag)


def no_map(icvn: str | None, vriic: str | None, fic: str | None, position: int,
           known: list[str]) -> Issue:
    """IG-NOMAP at the GS naming no map; `known`: the GS08s there are maps for (same ISA12, GS01)."""
    shown = vriic if re.fullmatch(r"[A-Z0-9]{1,12}", vriic or "") else MASK
    return Issue("nomap", "", f"no implementation guide map for GS08 {shown!r} (GS01 {mask_token(fic or '')!r}, "
                 f"ISA12 {mask_token(icvn or '')}); maps for GS01 {mask_token(fic or '')!r}: "
                 f"{', '.join(known) or 'none'}; validation stops here", position, "GS", element="GS08")


def envelope_tag(issue: Issue) -> str:
    if issue.level == "isa":
        return "ISA" if issue.code == "025" else "IEA"
    if issue.level == "gs":
        return "GS" if issue.code == "6" else "GE"
    return "ST" if issue.code in ("1", "6", "7", "23") else "SE"


class TooManyIssues(Exception):
    """More issues than the limits given to `run`: the input is refused (edi.ig says why)."""

    def __init__(self, position: int, total: bool) -> None:
        super().__init__(position)
        self.position = position
        self.total = total  # True: every kind of issue counted; False: unrecognized segments


class EngineBug(Exception):
    """This engine failed where pyx12 would not have (a bug here): edi.ig falls back to pyx12."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Crash(Exception):
    """pyx12 would raise here (its exception type is `kind`); the engines report IG-ENGINE."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind



# --- the error tree (pyx12 err_handler, reduced to what the report needs) ---------------------------


class _SegRec:
    __slots__ = ("position", "tag", "loop", "errors", "eles", "attached")

    def __init__(self, position: int, tag: str | None, loop: str | None) -> None:
        self.position = position
        self.tag = tag
        self.loop = loop
        self.errors: list[Issue] = []
        self.eles: list[Issue] = []
        self.attached = False


_LAZY = object()


class _EnvRec:
    __slots__ = ("kind", "position", "children", "eles")

    def __init__(self, kind: str, position: int) -> None:
        self.kind = kind
        self.position = position
        self.children: list[Any] = []
        self.eles: list[Issue] = []


class _Errh:
    """Where pyx12's err_handler would file each error: the same cursor rules, flattened on output."""

    __slots__ = ("isas", "cur_isa", "cur_gs", "cur_st", "cur", "position", "envelope", "lost", "lazy",
                 "limits", "issued", "junk")

    def __init__(self, limits: tuple[int, int] | None = None) -> None:
        self.limits = limits  # (every issue, unrecognized segments) before the file is refused
        self.issued = 0
        self.junk = 0
        self.isas: list[_EnvRec] = []
        self.cur_isa: _EnvRec | None = None
        self.cur_gs: _EnvRec | None = None
        self.cur_st: _EnvRec | None = None
        self.cur: Any = None
        self.position = 0
        self.envelope: list[Issue] = []
        self.lost: list[Issue] = []
        self.lazy: tuple[Any, str | None, int] | None = None  # add_seg's node, made only when needed

    def add_isa_loop(self, position: int) -> None:
        rec = _EnvRec("ISA", position)
        self.isas.append(rec)
        self.cur_isa = self.cur = rec

    def add_gs_loop(self, position: int) -> None:
        if self.cur_isa is None:
            raise Crash("AttributeError")
        rec = _EnvRec("GS", position)
        self.cur_isa.children.append(rec)
        self.cur_gs = self.cur = rec

    def add_st_loop(self, position: int) -> None:
        if self.cur_gs is None:
            raise Crash("AttributeError")
        rec = _EnvRec("ST", position)
        self.cur_gs.children.append(rec)
        self.cur_st = self.cur = rec

    def add_seg(self, map_node: Any, tag: str | None, position: int) -> None:
        self.cur = _LAZY
        self.lazy = (map_node, tag, position)

    def _current(self) -> Any:
        cur = self.cur
        if cur is _LAZY:
            map_node, tag, position = self.lazy  # type: ignore[misc]
            same = map_node is not None and (not map_node.is_segment or map_node.id == tag)
            cur = self.cur = _SegRec(position, tag, map_node.loop_id if same else None)
        return cur

    def _attach(self) -> None:
        cur = self._current()
        if isinstance(cur, _SegRec) and not cur.attached:
            if self.cur_st is None:
                raise Crash("AttributeError")
            self.cur_st.children.append(cur)
            cur.attached = True

    def _count(self, junk: bool = False) -> None:
        """Every issue is counted; past the limits the file is refused (TooManyIssues), so the error
        tree of a hostile file (millions of bad segments) never grows without bound."""
        self.issued += 1
        self.junk += junk
        limits = self.limits
        if limits is not None and (self.issued > limits[0] or self.junk > limits[1]):
            raise TooManyIssues(self.position, self.issued > limits[0])

    def seg_error(self, code: str, msg: str, value: str | None) -> None:
        self._count(code == "1")
        cur = self._current()
        if cur is None:
            return  # pyx12 swallows the AttributeError: the error is lost
        if isinstance(cur, _SegRec):
            try:
                self._attach()
            except Crash:
                return
            cur.errors.append(Issue("seg", code, msg, cur.position, cur.tag, cur.loop, None, value))
        else:  # an ISA/GS/ST node: pyx12 drops it (TypeError); edi.ig keeps it
            self.lost.append(Issue("seg", code, msg, self.position, cur.kind, value=value))

    def ele_error(self, spec: Any, code: str, msg: str, value: str | None) -> None:
        self._count()
        cur = self._current()
        if cur is None:
            raise Crash("AttributeError")
        self._attach()
        name = f"{spec.seg_id}{spec.ele_pos:02d}" + (f"-{spec.subele_pos}" if spec.subele_pos else "")
        if isinstance(cur, _SegRec):
            name = f"{cur.tag}{spec.ele_pos:02d}" + (f"-{spec.subele_pos}" if spec.subele_pos else "")
            cur.eles.append(Issue("ele", code, msg, cur.position, cur.tag, cur.loop, name, value))
        else:
            cur.eles.append(Issue("ele", code, msg, self.position, spec.seg_id, spec.loop_id, name, value))

    def env_error(self, level: str, code: str, msg: str) -> None:
        rec = {"isa": self.cur_isa, "gs": self.cur_gs, "st": self.cur_st}[level]
        if rec is None:
            raise Crash("AttributeError")
        self.envelope.append(Issue(level, code, msg, self.position))

    def handle(self, errors: list[tuple[str, str, str, str | None]]) -> None:
        for kind, code, msg, value in errors:
            if kind == "seg":
                self.seg_error(code, msg, value)
            else:
                self.env_error(kind, code, msg)

    def close(self, kind: str) -> None:
        rec = {"ISA": self.cur_isa, "GS": self.cur_gs, "ST": self.cur_st}[kind]
        if rec is None:
            raise Crash("AttributeError")
        self.cur = rec

    def issues(self) -> list[Issue]:
        out: list[Issue] = []
        for isa in self.isas:
            out += isa.eles
            for gs in isa.children:
                out += gs.eles
                for st in gs.children:
                    out += st.eles
                    for seg in st.children:
                        out += seg.errors
                        out += seg.eles
        for env in self.envelope:
            env.tag = envelope_tag(env)
            out.append(env)
        out += self.lost
        return out


def apply_segment_errors(errh: _Errh, errors: list[Any]) -> None:
    for spec, code, msg, value in errors:
        if spec is None:
            errh.seg_error("8", msg, value)
        else:
            errh.ele_error(spec, code, msg, value)


Errh = _Errh
