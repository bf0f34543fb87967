"""pyx12's map XML compiled into tables, once per process (the fast engine's "map compilation").

The map files bundled with pyx12 (``837.5010.X222.A1.xml``, ``835.5010.X221.A1.xml``, the control
maps, ``dataele.xml``, ``codes.xml``, ``maps.xml``) are read with lxml into slotted node objects:
loops in position order, segment usage/repeat/syntax rules, element usage/type/length, code sets as
frozensets, and for each loop the facts the walker uses to visit only the children that matter.
"""
from __future__ import annotations

import pickle
import re
import threading
from bisect import bisect_left
from functools import lru_cache
from typing import Any

from .ig_issues import Crash, Issue, no_map as _issue_no_map

MAXINT = 2147483647
_REC_ID_E = re.compile(r"""[^A-Z0-9!"&'()*+,\-\./:;?= a-z%~@\[\]_{}\\|<>#$]""", re.S | re.ASCII)
_REC_ID_E5 = re.compile(r"""[^A-Z0-9!"&'()*+,\-\./:;?= a-z%~@\[\]_{}\\|<>^`#$]""", re.S | re.ASCII)


# --- compiled map ---------------------------------------------------------------------------------


class EleSpec:
    __slots__ = ("name", "refdes", "usage", "seq", "data_ele", "dtype", "min_len", "max_len", "defined",
                 "codes", "codes_list", "external", "regex", "res", "in_comp", "parent_usage", "ele_pos",
                 "subele_pos", "seg_id", "loop_id", "empty_error", "good", "memo", "fast", "anycodes", "id_re")

    def __init__(self) -> None:
        # values already validated clean, kept across files only for codes and numbers (never names,
        # ids or dates: no PHI outlives a validation); filled only where no type list applies
        self.good: set[str] = set()


class CompSpec:
    __slots__ = ("name", "refdes", "usage", "seq", "children", "count")


class SegNode:
    # (`_elements`, last: a kept map's element specs not unpickled yet, see __getstate__)
    __slots__ = ("id", "name", "usage", "pos", "max_repeat", "path", "parent", "children", "by_idx",
                 "child_count", "syntax", "key", "family", "loop_id", "is_loop", "is_segment", "id_re",
                 "kinds", "tails", "start", "token", "_elements")

    def __init__(self) -> None:
        self.is_loop = False
        self.is_segment = True
        # what this node's expression texts are kept under between processes (edi.ig_recache): the
        # kept map's name and the checks' sources; None (set by load_map) when the map is not kept
        self.token: str | None = None
        self.tails: dict[int, tuple[Any, ...]] = {}  # errors of the missing trailing elements, by count

    # Pickled (edi.ig_mapcache) with its element specs (`children`, `by_idx`: ~85% of a map's objects)
    # as one pickle of their own, unpickled the first time either is read: a file meets a few dozen
    # of the 837P map's ~390 segment nodes, so a validating process builds only their specs (most of
    # the ~0.05 s CPU that unpickling the whole map cost each validator process).

    def __getstate__(self) -> tuple[dict[str, Any], bytes]:
        self._unpickled_elements()
        by_idx = [None if child is _BAD_CHILD else child for child in self.by_idx]  # (None: no spec is)
        elements = pickle.dumps((self.children, by_idx), pickle.HIGHEST_PROTOCOL)
        values = {name: getattr(self, name) for name in _SEG_STATE if hasattr(self, name)}
        return values, elements

    def __setstate__(self, state: tuple[dict[str, Any], bytes]) -> None:
        values, self._elements = state
        for name, value in values.items():
            setattr(self, name, value)

    def __getattr__(self, name: str) -> Any:  # only for a slot not set: the specs not unpickled yet
        if name in ("children", "by_idx"):
            self._unpickled_elements()
            return object.__getattribute__(self, name)  # (AttributeError still, should it not be set)
        raise AttributeError(name)

    def _unpickled_elements(self) -> None:
        """Unpickle the element specs if they still are pickled; under a lock, as threads validating
        at once share the map (each sees both specs set, or goes through here and waits)."""
        if not hasattr(self, "_elements"):
            return
        with _UNPICKLING:
            try:
                elements = self._elements
            except AttributeError:  # another thread has just unpickled them
                return
            children, by_idx = pickle.loads(elements)
            self.by_idx = [_BAD_CHILD if child is None else child for child in by_idx]
            self.children = children
            del self._elements


_UNPICKLING = threading.Lock()
_SEG_STATE = tuple(name for name in SegNode.__slots__ if name not in ("children", "by_idx", "_elements"))


class LoopNode:
    __slots__ = ("id", "name", "usage", "pos", "max_repeat", "path", "prefix", "parent", "order", "positions",
                 "first_node", "first_seg", "is_root", "is_loop", "is_segment", "loop_id", "count", "start", "desc",
                 "relevant", "entry_ids", "records", "map_nodes")

    def __init__(self) -> None:
        self.is_loop = True
        self.is_segment = False
        self.is_root = False
        self.relevant: dict[str, list[int]] = {}  # segment id -> indexes of the children worth visiting


class Map:
    __slots__ = ("file", "id", "root", "icvn", "id_re", "by_path")


_BAD_CHILD = object()  # get_child_node_by_idx raises EngineError for this slot


def _parse_xml(name: str) -> Any:
    from importlib.resources import files  # here: a process whose maps come from edi.ig_mapcache
    from lxml import etree  # never needs either (~30 ms of imports)

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.parse(str(files("pyx12").joinpath("map", name)), parser).getroot()


def _text(elem: Any, name: str) -> str | None:
    value = elem.get(name)
    if value:
        return value
    return elem.findtext(name)


@lru_cache(maxsize=1)
def data_elements() -> dict[str, tuple[str | None, int, int]]:
    root = _parse_xml("dataele.xml")
    return {e.get("ele_num"): (e.get("data_type"), int(e.get("min_len")), int(e.get("max_len")))
            for e in root.iter("data_ele")}


_external: dict[str, frozenset[str | None]] | None = None  # codes.xml's code sets, read once per process


def external_codes() -> dict[str, frozenset[str | None]]:
    global _external
    if _external is None:
        root = _parse_xml("codes.xml")
        _external = {cs.findtext("id"): frozenset(c.text for c in cs.iterfind("version/code"))
                     for cs in root.iter("codeset")}
    return _external


_index: list[tuple[str | None, str | None, str | None, str | None, str | None]] | None = None  # maps.xml's


def map_index() -> list[tuple[str | None, str | None, str | None, str | None, str | None]]:
    global _index
    if _index is None:
        root = _parse_xml("maps.xml")
        out = []
        for version in root.iter("version"):
            for m in version.iterfind("map"):
                out.append((version.get("icvn"), m.get("vriic"), m.get("fic"), m.get("tspc"), m.text))
        _index = out
    return _index


def map_file_for(icvn: str | None, vriic: str | None, fic: str | None, tspc: str | None = None) -> str | None:
    for m_icvn, m_vriic, m_fic, m_tspc, name in map_index():
        if m_icvn == icvn and m_vriic == vriic and m_fic == fic and (tspc is None or m_tspc == tspc):
            return name
    return None


def _compile_element(elem: Any, parent_comp: CompSpec | None, seg_id: str, loop_id: str | None) -> EleSpec:
    spec = EleSpec()
    spec.refdes = elem.get("xid")
    spec.data_ele = _text(elem, "data_ele")
    spec.usage = _text(elem, "usage")
    spec.name = _text(elem, "name")
    spec.seq = int(_text(elem, "seq"))
    res = elem.findtext("regex")
    spec.res = res
    spec.regex = re.compile(res, re.S) if res else None
    spec.codes_list = []
    spec.external = None
    v = elem.find("valid_codes")
    if v is not None:
        spec.external = v.get("external")
        spec.codes_list = [c.text for c in v.findall("code")]
    spec.codes = frozenset(spec.codes_list)
    info = data_elements().get(spec.data_ele) if spec.data_ele else None
    spec.defined = info is not None
    spec.dtype, spec.min_len, spec.max_len = info if info else (None, 0, 0)
    spec.in_comp = parent_comp is not None
    spec.parent_usage = parent_comp.usage if parent_comp is not None else None
    if parent_comp is not None:
        spec.ele_pos, spec.subele_pos = parent_comp.seq, spec.seq
    else:
        spec.ele_pos, spec.subele_pos = spec.seq, None
    spec.seg_id = seg_id
    spec.loop_id = loop_id
    # _validate_when_empty, decided once
    spec.empty_error = spec.usage == "R" and (spec.seq != 1 or not spec.in_comp or spec.parent_usage == "R")
    spec.memo = spec.defined and (spec.dtype == "ID" or spec.dtype == "R" or (spec.dtype or "")[:1] == "N"
                                  or (bool(spec.codes_list) and spec.dtype != "DT"))
    # a quick test that a value passes every check (when it says no, the full checks run)
    spec.anycodes = None
    spec.fast = 0
    if spec.defined and spec.usage != "N":
        if spec.codes_list or spec.external is not None:
            external = external_codes().get(spec.external) if spec.external is not None else frozenset()
            spec.anycodes = spec.codes | external if external is not None else None
        if spec.external is None or spec.anycodes is not None:
            dtype = spec.dtype or ""
            spec.fast = (1 if dtype in ("AN", "ID") else 2 if dtype == "R" else 3 if dtype[:1] == "N"
                         else 4 if dtype in ("DT", "D8", "D6") else 5 if dtype == "TM" else 0)
    return spec


def _data_type(spec: EleSpec | None) -> str | None:
    if spec is None or not spec.defined:
        return None
    return spec.dtype


def _compile_segment(elem: Any, parent: LoopNode | None, loop_id: str | None) -> SegNode:
    node = SegNode()
    node.id = elem.get("xid")
    node.name = _text(elem, "name")
    node.usage = _text(elem, "usage")
    node.pos = int(_text(elem, "pos"))
    max_use = _text(elem, "max_use")
    node.max_repeat = MAXINT if max_use is None or max_use == ">1" else int(max_use)
    node.parent = parent
    node.loop_id = loop_id
    node.syntax = []
    for s in elem.findall("syntax"):
        text = s.text
        if text is None or text[0] not in "PRCLE":
            continue
        node.syntax.append([text[0]] + [int(text[i * 2 + 1:i * 2 + 3]) for i in range(len(text[1:]) // 2)])
    children_map: dict[int, Any] = {}
    for e in elem.findall("element"):
        children_map[int(_text(e, "seq"))] = e
    for e in elem.findall("composite"):
        children_map[int(_text(e, "seq"))] = e
    children: list[Any] = []
    for seq in sorted(children_map):
        e = children_map[seq]
        if e.tag == "element":
            children.append(_compile_element(e, None, node.id, loop_id))
        else:
            comp = CompSpec()
            comp.refdes = e.findtext("refdes") or e.get("xid")
            comp.usage = _text(e, "usage")
            comp.seq = int(_text(e, "seq"))
            comp.name = _text(e, "name")
            comp.children = [_compile_element(sub, comp, node.id, loop_id) for sub in e.findall("element")]
            comp.count = len(comp.children)
            children.append(comp)
    node.children = children
    node.child_count = len(children)
    by_idx: list[Any] = []
    for idx in range(len(children)):
        matches = [c for c in children if c.seq == idx + 1]
        by_idx.append(matches[0] if len(matches) == 1 else _BAD_CHILD)
    node.by_idx = by_idx
    kinds = []
    for idx, child in enumerate(by_idx):
        if child is _BAD_CHILD:
            kinds.append(3)
        elif isinstance(child, CompSpec):
            kinds.append(1)
        elif child.data_ele in ("1250", "1251") or (node.id == "DTP" and idx in (1, 2)):
            kinds.append(2)  # takes part in pyx12's date/time type lists
        else:
            kinds.append(0)
    node.kinds = kinds
    node.key = _unique_key(node)
    node.family = (node.id, parent.id if parent is not None else None)
    return node


def _unique_key(node: SegNode) -> tuple[int, int | None, frozenset[Any]] | None:
    """pyx12 segment_if._resolve_unique_key_field(with_qual=False): where the qualifier is read."""
    ch = node.children
    c0 = ch[0] if len(ch) > 0 else None
    c1 = ch[1] if len(ch) > 1 else None
    c2 = ch[2] if len(ch) > 2 else None
    if isinstance(c0, EleSpec) and _data_type(c0) == "ID" and c0.usage == "R" and c0.codes_list:
        return (1, None, c0.codes)
    if node.id == "ENT" and isinstance(c1, EleSpec) and _data_type(c1) == "ID" and c1.codes_list:
        return (2, None, c1.codes)
    if node.id == "CTX" and isinstance(c0, CompSpec) and _data_type(c0.children[0]) == "AN" \
            and c0.children[0].codes_list:
        return (1, 1, c0.children[0].codes)
    if isinstance(c0, CompSpec) and _data_type(c0.children[0]) == "ID" and c0.children[0].codes_list:
        return (1, 1, c0.children[0].codes)
    if node.id == "HL" and isinstance(c2, EleSpec) and c2.codes_list:
        return (3, None, c2.codes)
    return None


def _guess_key_code(node: SegNode) -> str | None:
    """pyx12 guess_unique_key_id_element: its first code names duplicated segments in map paths."""
    ch = node.children
    c0 = ch[0] if len(ch) > 0 else None
    c1 = ch[1] if len(ch) > 1 else None
    c2 = ch[2] if len(ch) > 2 else None
    if isinstance(c0, EleSpec) and _data_type(c0) == "ID" and c0.codes_list:
        return c0.codes_list[0] or ""
    if node.id == "ENT" and isinstance(c1, EleSpec) and _data_type(c1) == "ID" and c1.codes_list:
        return c1.codes_list[0] or ""
    if isinstance(c0, CompSpec) and _data_type(c0.children[0]) == "ID" and c0.children[0].codes_list:
        return c0.children[0].codes_list[0] or ""
    if node.id == "HL" and isinstance(c2, EleSpec) and c2.codes_list:
        return c2.codes_list[0] or ""
    return None


def _compile_loop(elem: Any, parent: LoopNode, path: str, mp: Map, is_root: bool = False) -> LoopNode:
    node = LoopNode()
    node.is_root = is_root
    node.parent = parent
    if is_root:
        node.id = elem.get("xid")
        node.name = _text(elem, "name")
        node.usage, node.pos, node.max_repeat = None, 0, MAXINT
        node.path = "/"
        node.loop_id = None
    else:
        node.id = elem.get("xid")
        node.name = _text(elem, "name")
        node.usage = _text(elem, "usage")
        node.pos = int(_text(elem, "pos"))
        repeat = _text(elem, "repeat")
        node.max_repeat = MAXINT if repeat is None or repeat in (">1", "&gt;1") else int(repeat)
        node.path = path
        node.loop_id = node.id
    node.prefix = "/" if is_root else node.path + "/"
    pos_map: dict[int, list[Any]] = {}
    for e in elem.findall("loop"):
        child_path = ("/" if is_root else node.path + "/") + e.get("xid")
        child = _compile_loop(e, node, child_path, mp)
        pos_map.setdefault(child.pos, []).append(child)
    for e in elem.findall("segment"):
        seg = _compile_segment(e, node, node.loop_id)
        pos_map.setdefault(seg.pos, []).append(seg)
    for nodes in pos_map.values():
        for seg in nodes:
            if isinstance(seg, SegNode):
                suffix = ""
                if not is_root and len(nodes) > 1:
                    code = _guess_key_code(seg)
                    if code is not None:
                        suffix = f"[{code}]"
                seg.path = ("/" if is_root else node.path + "/") + seg.id + suffix
    node.order = [child for pos in sorted(pos_map) for child in pos_map[pos]]
    node.positions = [child.pos for child in node.order]
    node.first_node = node.order[0] if node.order else None
    node.first_seg = node.first_node if isinstance(node.first_node, SegNode) else None
    node.count = len(node.order)
    for child in node.order:
        mp.by_path[child.path] = child
        child.start = bisect_left(node.positions, child.pos)  # a walk from here scans siblings at pos >= it
    return node


@lru_cache(maxsize=16)
def load_map(map_file: str) -> Map:
    """A pyx12 map XML compiled into a Map, once per process; kept between processes by
    edi.ig_mapcache (unpickling it is ~5x cheaper than compiling it)."""
    global _external, _index
    from . import ig_mapcache

    path = ig_mapcache.cache_path(map_file)
    cached = ig_mapcache.load(path, Map)
    if cached is not None:
        mp, codes, index = cached
        if _external is None:
            _external = codes
        if _index is None:
            _index = index
    else:
        mp = compile_map(map_file)
        ig_mapcache.store(path, mp, external_codes(), map_index())
    token = ig_mapcache.node_token(path)
    for node in mp.by_path.values():
        if node.is_segment:
            node.token = token
    return mp  # type: ignore[no-any-return]


def compile_map(map_file: str) -> Map:
    """A pyx12 map XML compiled into a Map (what load_map keeps)."""
    root = _parse_xml(map_file)
    mp = Map()
    mp.file = map_file
    mp.id = root.get("xid")
    mp.by_path = {}
    mp.root = _compile_loop(root, None, "/", mp, is_root=True)  # type: ignore[arg-type]
    isa = mp.by_path.get("/ISA_LOOP/ISA")
    mp.icvn = None
    if isinstance(isa, SegNode) and len(isa.children) > 11 and isinstance(isa.children[11], EleSpec) \
            and isa.children[11].codes_list:
        mp.icvn = isa.children[11].codes_list[0]
    mp.id_re = _REC_ID_E5 if mp.icvn == "00501" else _REC_ID_E
    for node in mp.by_path.values():
        if isinstance(node, SegNode):
            node.id_re = mp.id_re  # IsValidDataType's charset depends on the map's interchange version
            for child in node.children:
                for spec in child.children if isinstance(child, CompSpec) else [child]:
                    spec.id_re = mp.id_re
        else:
            node.desc = frozenset(p for p in mp.by_path if p.startswith(node.prefix))
            node.map_nodes = mp.by_path
    _loop_facts(mp.root)
    return mp


def _node_by_path(mp: Map, path: str) -> Any:
    node = mp.by_path.get(path)
    if node is None:
        raise Crash("EngineError")
    return node



def _loop_facts(loop: LoopNode) -> None:
    """entry_ids: segment ids _is_loop_match(loop) can accept; records: whether it can record a
    missing mandatory loop (for a wrapper loop, through its child loops). Children first."""
    for child in loop.order:
        if child.is_loop:
            _loop_facts(child)
    if loop.count <= 0:
        loop.entry_ids, loop.records = frozenset(), False
    elif loop.first_node.is_loop:
        child_loops = [c for c in loop.order if c.is_loop]
        loop.entry_ids = frozenset().union(*(c.entry_ids for c in child_loops))
        loop.records = any(c.records for c in child_loops)
    else:
        loop.entry_ids, loop.records = frozenset({loop.first_node.id}), loop.usage == "R"


def relevant_children(node: LoopNode, seg_id: str) -> list[int]:
    """Indexes of the children of `node` a scan for `seg_id` must visit: segments with this id or
    usage R (they may record a missing mandatory segment), loops this id may enter or that may
    record a missing mandatory loop."""
    out = []
    for j, child in enumerate(node.order):
        if child.is_segment:
            if child.id == seg_id or child.usage == "R":
                out.append(j)
        elif seg_id in child.entry_ids or child.records:
            out.append(j)
    return out



def no_map(icvn: str | None, vriic: str | None, fic: str | None, position: int) -> Issue:
    """IG-NOMAP, naming the GS08s there are maps for with this ISA12 and GS01."""
    known = sorted({m_vriic for m_icvn, m_vriic, m_fic, _t, _f in map_index()
                    if m_icvn == icvn and m_fic == fic and m_vriic})
    return _issue_no_map(icvn, vriic, fic, position, known)
