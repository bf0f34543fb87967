"""The reference engine of the guide check: pyx12's own walker and validators (the loop of
pyx12.x12n_document, without its 997/HTML/XML output), with pyx12's error tree flattened into Issues.

edi.ig (the facade) chooses between this and the fast engine (edi.ig_fast); both have the shape of
edi.ig_engine.Engine.
"""
from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from .ig_issues import Issue, engine_failure as _engine_failure, envelope_tag as _envelope_tag
from .seglines import SegmentLines

# --- pyx12 reference engine -------------------------------------------------------------------------

_quiet_lock = threading.Lock()
_quiet_depth = 0
_saved_levels: dict[str, int] = {}


@contextmanager
def quiet_pyx12() -> Iterator[None]:
    """Silence the "pyx12" loggers (they print element values, i.e. PHI) for the duration.

    Levels are restored when the last concurrent user leaves; nothing else of logging is touched.
    """
    global _quiet_depth
    with _quiet_lock:
        if _quiet_depth == 0:
            manager = logging.Logger.manager
            names = ["pyx12"] + [n for n in list(manager.loggerDict) if n.startswith("pyx12.")]
            for lname in names:
                lg = logging.getLogger(lname)
                _saved_levels[lname] = lg.level
                lg.setLevel(logging.CRITICAL + 10)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                for lname, level in _saved_levels.items():
                    logging.getLogger(lname).setLevel(level)
                _saved_levels.clear()


@lru_cache(maxsize=1)
def _pyx12_params() -> Any:
    import pyx12.params

    return pyx12.params.ParamsBase()  # not params(): no user config files, charset "E"


@lru_cache(maxsize=1)
def _map_index() -> Any:
    import pyx12.map_index

    with quiet_pyx12():
        return pyx12.map_index.map_index()


@lru_cache(maxsize=16)
def load_map(map_file: str) -> Any:
    """A pyx12 map, loaded once per process (pyx12 itself reloads it for every document)."""
    import pyx12.map_if

    with quiet_pyx12():
        return pyx12.map_if.load_map_file(map_file, _pyx12_params())


def map_file_for(icvn: str | None, vriic: str | None, fic: str | None, tspc: str | None = None) -> str | None:
    return _map_index().get_filename(icvn, vriic, fic, tspc)


def _loop_id(map_node: Any) -> str | None:
    node = map_node
    while node is not None:
        if node.is_loop():
            return node.id
        if node.is_map_root():
            return None
        node = node.parent
    return None


def _make_errh() -> Any:
    import pyx12.error_handler as eh

    class RecordingErrHandler(eh.err_handler):
        """pyx12's error tree, noting for each node where it was found (segment, loop, element)."""

        def __init__(self) -> None:
            super().__init__()
            self.position = 0
            self.envelope: list[Issue] = []  # isa/gs/st errors, with the segment they were found at
            self.lost: list[Issue] = []  # seg errors pyx12 drops (raised on an ISA/GS/ST node)

        def add_seg(self, map_node: Any, seg_data: Any, seg_count: int, cur_line: int, ls_id: Any) -> None:
            super().add_seg(map_node, seg_data, seg_count, cur_line, ls_id)
            node = self.cur_seg_node
            same = map_node is not None and (not map_node.is_segment() or map_node.id == seg_data.get_seg_id())
            node.loop_id = _loop_id(map_node) if same and map_node is not None else None

        def add_ele(self, map_node: Any) -> None:
            super().add_ele(map_node)
            ele = self.cur_ele_node
            seg = map_node
            while seg is not None and not seg.is_segment():
                seg = seg.parent
            ele.seg_tag = seg.id if seg is not None else None
            ele.position = self.position
            ele.loop_id = _loop_id(map_node)

        def isa_error(self, err_cde: str, err_str: str) -> None:
            super().isa_error(err_cde, err_str)
            self.envelope.append(Issue("isa", err_cde, err_str, self.position))

        def gs_error(self, err_cde: str, err_str: str) -> None:
            super().gs_error(err_cde, err_str)
            self.envelope.append(Issue("gs", err_cde, err_str, self.position))

        def st_error(self, err_cde: str, err_str: str) -> None:
            super().st_error(err_cde, err_str)
            self.envelope.append(Issue("st", err_cde, err_str, self.position))

        def seg_error(self, err_cde: str, err_str: str, err_value: Any = None, src_line: Any = None) -> None:
            node = self.cur_seg_node
            before = len(node.errors) if node is not None and node.id == "SEG" else None
            super().seg_error(err_cde, err_str, err_value, src_line)
            if node is not None and node.id in ("ISA", "GS", "ST") and before is None:
                self.lost.append(Issue("seg", err_cde, err_str, self.position, node.id, value=err_value))

    return RecordingErrHandler()


class _LineTracker:
    """Replaces pyx12's RawX12File iteration (same splitting rules) and notes each segment's line."""

    def __init__(self, raw: Any, first_line: int) -> None:
        self.raw = raw
        self.lines = SegmentLines()
        self._line = first_line

    def __iter__(self) -> Iterator[str]:
        from pyx12.rawx12file import DEFAULT_BUFSIZE

        raw = self.raw
        term = raw.seg_term
        newline_term = term == "\n"
        lines = self.lines
        while True:
            if raw.buffer.find(term) == -1:
                raw.buffer += raw.fd.read(DEFAULT_BUFSIZE)
            if raw.buffer.find(term) == -1:
                break
            piece, raw.buffer = raw.buffer.split(term, 1)
            line = piece.lstrip("\n\r")
            if line == "":
                break
            lead = len(piece) - len(piece.lstrip())
            lines.append(self._line + piece.count("\n", 0, lead))
            self._line += piece.count("\n") + newline_term
            yield line

    def get_term(self) -> Any:
        return self.raw.get_term()


def run_pyx12(stream: Any, first_line: int = 1, limits: tuple[int, int] | None = None
              ) -> tuple[list[Issue], SegmentLines]:
    """Validate with pyx12's walker (the loop of pyx12.x12n_document, without 997/HTML/XML output).

    Returns the issues and the line of every segment (by 1-based segment number). `limits` is
    accepted for the Engine shape and not applied (pyx12 keeps its whole error tree).
    """
    with quiet_pyx12():
        return _run_pyx12(stream, first_line)


def _run_pyx12(stream: Any, first_line: int) -> tuple[list[Issue], SegmentLines]:
    import pyx12.errors
    import pyx12.map_if
    import pyx12.x12file
    from pyx12.map_if._segment import apply_segment_errors
    from pyx12.map_walker import apply_walk_errors, walk_tree

    errh = _make_errh()
    stopped: list[Issue] = []
    try:
        src = pyx12.x12file.X12Reader(stream)
    except pyx12.errors.X12Error:
        unusable = Issue("isafmt", "", "the ISA is not usable by the implementation guide validator", 1, "ISA")
        return [unusable], SegmentLines()
    tracker = _LineTracker(src.raw, first_line)
    src.raw = tracker
    map_file = "x12.control.00501.xml" if src.icvn == "00501" else "x12.control.00401.xml"
    control_map = load_map(map_file)
    node = control_map.getnodebypath("/ISA_LOOP/ISA")
    walker = walk_tree()
    icvn = fic = vriic = None
    cur_map = None
    seg_id = None
    try:
        for seg in src:
            errh.position = position = src.get_cur_line()
            seg_id = seg.get_seg_id()
            orig_node = node
            try:
                if seg_id == "ISA":
                    node = control_map.getnodebypath("/ISA_LOOP/ISA")
                    walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
                elif seg_id == "GS":
                    node = control_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
                    walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
                else:
                    node, _pop, _push, walk_errors = walker.walk_errors(
                        node, seg, src.get_seg_count(), position, src.get_ls_id())
                    apply_walk_errors(errh, walk_errors)
                if node is None:
                    node = orig_node
                    continue
                if seg_id == "ISA":
                    errh.add_isa_loop(seg, src)
                    icvn = seg.get_value("ISA12")
                    errh.handle_errors(src.pop_errors())
                elif seg_id == "IEA":
                    errh.handle_errors(src.pop_errors())
                    errh.close_isa_loop(node, seg, src)
                elif seg_id == "GS":
                    fic = seg.get_value("GS01")
                    vriic = seg.get_value("GS08")
                    map_file_new = map_file_for(icvn, vriic, fic)
                    if map_file != map_file_new:
                        if map_file_new is None:
                            stopped.append(_no_map(icvn, vriic, fic, position))
                            break
                        map_file = map_file_new
                        cur_map = load_map(map_file)
                        src.check_837_lx = cur_map.id == "837"
                    node = cur_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
                    errh.add_gs_loop(seg, src)
                    errh.handle_errors(src.pop_errors())
                elif seg_id == "BHT":
                    if vriic in ("004010X094", "004010X094A1"):  # 4010 278: the map depends on BHT02
                        tspc = seg.get_value("BHT02")
                        map_file_new = map_file_for(icvn, vriic, fic, tspc)
                        if map_file != map_file_new:
                            if map_file_new is None:
                                stopped.append(_no_map(icvn, vriic, fic, position))
                                break
                            map_file = map_file_new
                            cur_map = load_map(map_file)
                            src.check_837_lx = cur_map.id == "837"
                            node = cur_map.getnodebypath("/ISA_LOOP/GS_LOOP/ST_LOOP/HEADER/BHT")
                    errh.add_seg(node, seg, src.get_seg_count(), position, src.get_ls_id())
                    errh.handle_errors(src.pop_errors())
                elif seg_id == "GE":
                    errh.handle_errors(src.pop_errors())
                    errh.close_gs_loop(node, seg, src)
                elif seg_id == "ST":
                    errh.add_st_loop(seg, src)
                    errh.handle_errors(src.pop_errors())
                elif seg_id == "SE":
                    errh.handle_errors(src.pop_errors())
                    errh.close_st_loop(node, seg, src)
                else:
                    errh.add_seg(node, seg, src.get_seg_count(), position, src.get_ls_id())
                    errh.handle_errors(src.pop_errors())
                apply_segment_errors(node, seg, errh)
            except Exception as exc:  # noqa: BLE001 - a validator bug must not become a traceback
                stopped.append(_engine_failure(exc, position, seg_id))
                break
        else:
            try:
                src.cleanup()
                errh.position = src.get_cur_line()
                errh.handle_errors(src.pop_errors())
            except Exception as exc:  # noqa: BLE001
                stopped.append(_engine_failure(exc, src.get_cur_line(), None))
    except Exception as exc:  # noqa: BLE001 - raised while reading the next segment
        stopped.append(_engine_failure(exc, src.get_cur_line() + 1, None))
    issues = collect_issues(errh) + stopped
    issues.sort(key=lambda i: i.position or 0)  # stable: keeps pyx12's order within a segment
    return issues, tracker.lines




def collect_issues(errh: Any) -> list[Issue]:
    """Flatten pyx12's error tree (err_handler -> isa -> gs -> st -> seg -> ele) into Issues."""
    issues: list[Issue] = []

    def elements(owner: Any, default_pos: int | None, default_tag: str | None) -> None:
        for ele in owner.elements:
            tag = getattr(ele, "seg_tag", None) or default_tag
            pos = getattr(ele, "position", None) or default_pos
            name = f"{tag}{ele.ele_pos:02d}" + (f"-{ele.subele_pos}" if ele.subele_pos else "")
            for cde, text, val in ele.errors:
                issues.append(Issue("ele", cde, text, pos, tag, getattr(ele, "loop_id", None), name, val))

    for isa in errh.children:
        elements(isa, isa.cur_line_isa, "ISA")
        for gs in isa.children:
            elements(gs, gs.cur_line_gs, "GS")
            for st in gs.children:
                elements(st, st.cur_line_st, "ST")
                for seg in st.children:
                    loop = getattr(seg, "loop_id", None)
                    for cde, text, val in seg.errors:
                        issues.append(Issue("seg", cde, text, seg.cur_line, seg.seg_id, loop, None, val))
                    for ele in seg.elements:
                        name = f"{seg.seg_id}{ele.ele_pos:02d}" + (f"-{ele.subele_pos}" if ele.subele_pos else "")
                        for cde, text, val in ele.errors:
                            issues.append(Issue("ele", cde, text, seg.cur_line, seg.seg_id, loop, name, val))
    for env in errh.envelope:
        env.tag = _envelope_tag(env)
        issues.append(env)
    issues.extend(errh.lost)
    return issues




def pyx12_document_issues(text: str) -> tuple[bool, list[tuple[int, str]] | None]:
    """Run pyx12.x12n_document itself (the JSON error report) on `text`: its verdict and the
    (segment position, finding code) pairs of its seg/ele errors, None when it raised.
    Only for tests (slow: it reloads the maps for every document)."""
    import json

    import pyx12.x12n_document

    if text.startswith("\ufeff"):
        text = text[1:]
    out = io.StringIO()
    with quiet_pyx12():
        try:
            ok = pyx12.x12n_document.x12n_document(_pyx12_params(), io.StringIO(text, newline=None),
                                                   None, None, None, out)
        except Exception:  # noqa: BLE001 - e.g. EngineError "Map not found"
            return False, None
    pairs: list[tuple[int, str]] = []
    if out.getvalue():
        doc = json.loads(out.getvalue())
        for isa in doc["interchanges"]:
            for gs in isa["groups"]:
                for st in gs["transactions"]:
                    for seg in st["segments"]:
                        pairs += [(seg["cur_line"], f"IG-SEG-{e['err_cde']}") for e in seg["errors"]]
                        for ele in seg["elements"]:
                            pairs += [(seg["cur_line"], f"IG-ELE-{e['err_cde']}") for e in ele["errors"]]
    return ok, pairs


def _no_map(icvn: str | None, vriic: str | None, fic: str | None, position: int) -> Issue:
    from .ig_map import no_map  # the compiled maps' index (lxml), only when a GS names no map

    return no_map(icvn, vriic, fic, position)


run = run_pyx12
