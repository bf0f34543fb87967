"""Fast implementation-guide validation: pyx12's map XML compiled into tables, one pass per file.

pyx12 (edi.ig's "pyx12" engine) is the reference and stays the source of truth: the map XML files
bundled with pyx12 (``837.5010.X222.A1.xml``, ``835.5010.X221.A1.xml``, the control maps,
``dataele.xml``, ``codes.xml``, ``maps.xml``) are compiled with lxml, once per process, into
slotted node objects (loops in position order, segment usage/repeat, element usage/type/length,
code sets as frozensets). A small state machine then walks the segments.

The walk reproduces pyx12's observable behaviour, quirks included, so that both engines report the
same (segment position, code) pairs on any input (tests/edi/test_ig_fast.py checks the corpus,
our samples and mutated files):

* segment matching by id plus the qualifier element pyx12 picks (first ID element with codes...);
* loop entry by first segment, counters per map path (reset when a loop repeats), missing
  mandatory segments/loops reported at the segment where they were noticed, "not used" errors
  attached to the previous segment's error node;
* element checks in pyx12's order (invalid composite, empty/required, not used, length, control
  characters, trailing spaces, code list, data type, DTP/DTM type lists, regex) and syntax rules;
* the reader checks (leading spaces, trailing separators, HL/LX sequence, control numbers, counts)
  and where pyx12 attaches them, including errors pyx12 drops and inputs on which pyx12 raises
  (reported as IG-ENGINE at the same segment).

What makes it fast (about 13x pyx12 in CPU time on a few thousand claims of our own output):
maps compiled once; per segment only a list of element strings; each walk visits only the children
that can match the segment id or record a missing mandatory segment/loop; a quick accept test per
element before the detailed checks; clean segment texts remembered within a file and clean code and
number values across files (never names, ids or dates, so no PHI outlives a validation); no
logging, no error-tree objects unless there is an error.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache
from importlib.resources import files
from typing import Any

from lxml import etree

from .ig import Issue
from .seglines import SegmentLines

MAXINT = 2147483647
ISA_LEN = 106
BUFSIZE = 8 * 1024  # pyx12.rawx12file.DEFAULT_BUFSIZE: pyx12 gives up on a segment longer than its buffer
READ_CHARS = 1 << 20
_ENV_IDS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_DATE_TYPES = ("RD8", "DT", "D8", "D6")
_REC_SEG_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$", re.S)
_REC_N = re.compile(r"^-?[0-9]+", re.S | re.ASCII)
_REC_R = re.compile(r"^-?[0-9]*(\.[0-9]+)?", re.S | re.ASCII)
_REC_ID_E = re.compile(r"""[^A-Z0-9!"&'()*+,\-\./:;?= a-z%~@\[\]_{}\\|<>#$]""", re.S | re.ASCII)
_REC_ID_E5 = re.compile(r"""[^A-Z0-9!"&'()*+,\-\./:;?= a-z%~@\[\]_{}\\|<>^`#$]""", re.S | re.ASCII)
_REC_DIGITS_BAD = re.compile(r"[^0-9]+", re.S | re.ASCII)
_CONTROL = (
    ("\x07", "BEL"), ("\x09", "HT"), ("\x0a", "LF"), ("\x0b", "VT"), ("\x0c", "FF"), ("\x0d", "CR"),
    ("\x1c", "FS"), ("\x1d", "GS"), ("\x1e", "RS"), ("\x1f", "US"),
    ("\x01", "SOH"), ("\x02", "STX"), ("\x03", "ETX"), ("\x04", "EOT"), ("\x05", "ENQ"), ("\x06", "ACK"),
    ("\x11", "DC1"), ("\x12", "DC2"), ("\x13", "DC3"), ("\x14", "DC4"), ("\x15", "NAK"), ("\x16", "SYN"),
    ("\x17", "ETB"),
)
_GOOD_IDS: set[str] = set()  # segment ids known to pass pyx12's is_seg_id_valid
_READER_IDS = frozenset({"ISA", "GS", "ST", "HL", "CLM", "LX", "IEA", "GE", "SE"})  # ids X12Reader looks at
_CONTROL_ANY = re.compile("[" + "".join(re.escape(c) for c, _ in _CONTROL) + "]")


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
    __slots__ = ("id", "name", "usage", "pos", "max_repeat", "path", "parent", "children", "by_idx",
                 "child_count", "syntax", "key", "family", "loop_id", "is_loop", "is_segment", "id_re",
                 "kinds", "tails", "start")

    def __init__(self) -> None:
        self.is_loop = False
        self.is_segment = True
        self.tails: dict[int, tuple[Any, ...]] = {}  # errors of the missing trailing elements, by count


class LoopNode:
    __slots__ = ("id", "name", "usage", "pos", "max_repeat", "path", "prefix", "parent", "order", "positions",
                 "first_node", "first_seg", "is_root", "is_loop", "is_segment", "loop_id", "count", "start", "desc",
                 "relevant", "entry_ids", "records")

    def __init__(self) -> None:
        self.is_loop = True
        self.is_segment = False
        self.is_root = False
        self.relevant: dict[str, list[int]] = {}  # segment id -> indexes of the children worth visiting


class Map:
    __slots__ = ("file", "id", "root", "icvn", "id_re", "by_path")


_BAD_CHILD = object()  # get_child_node_by_idx raises EngineError for this slot
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def _parse_xml(name: str) -> Any:
    return etree.parse(str(files("pyx12").joinpath("map", name)), _PARSER).getroot()


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


@lru_cache(maxsize=1)
def external_codes() -> dict[str, frozenset[str | None]]:
    root = _parse_xml("codes.xml")
    return {cs.findtext("id"): frozenset(c.text for c in cs.iterfind("version/code")) for cs in root.iter("codeset")}


@lru_cache(maxsize=1)
def map_index() -> list[tuple[str | None, str | None, str | None, str | None, str | None]]:
    root = _parse_xml("maps.xml")
    out = []
    for version in root.iter("version"):
        for m in version.iterfind("map"):
            out.append((version.get("icvn"), m.get("vriic"), m.get("fic"), m.get("tspc"), m.text))
    return out


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
    """A pyx12 map XML compiled into a Map, once per process."""
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
    _loop_facts(mp.root)
    return mp


def _node_by_path(mp: Map, path: str) -> Any:
    node = mp.by_path.get(path)
    if node is None:
        raise Crash("EngineError")
    return node


# --- data-type checks (pyx12.validation) -----------------------------------------------------------


def _valid_date(data_type: str, val: str) -> bool:
    if data_type == "D8" and len(val) != 8:
        return False
    if data_type == "D6" and len(val) != 6:
        return False
    if _REC_DIGITS_BAD.search(val):
        return False
    n = len(val)
    if n not in (6, 8, 12):
        return False
    if n == 6:
        val = ("20" + val) if int(val[0:2]) < 50 else ("19" + val)
    year, month, day = int(val[0:4]), int(val[4:6]), int(val[6:8]) if val[6:8] else None
    if day is None:  # int("") in pyx12 raises ValueError inside its try: not a date
        return False
    if year < 1800 or month < 1 or month > 12:
        return False
    if month in (1, 3, 5, 7, 8, 10, 12):
        if day < 1 or day > 31:
            return False
    elif month in (4, 6, 9, 11):
        if day < 1 or day > 30:
            return False
    else:
        leap = not year % 4 and not (not year % 100 and year % 400)
        if day < 1 or day > (29 if leap else 28):
            return False
    if len(val) == 12 and not _valid_time(val[8:12]):
        return False
    return True


def _valid_date_safe(data_type: str, val: str) -> bool:
    try:
        return _valid_date(data_type, val)
    except ValueError:
        return False


def _valid_time(val: str) -> bool:
    if _REC_DIGITS_BAD.search(val):
        return False
    if val[0:2] > "23" or val[2:4] > "59":
        return False
    if len(val) > 4:
        if len(val) < 6 or val[4:6] > "59" or len(val) > 8:
            return False
    return True


def valid_data_type(val: str, data_type: str | None, id_re: re.Pattern[str]) -> bool:
    if not data_type:
        return True
    if data_type[0] == "N":
        m = _REC_N.search(val)
        return bool(m) and m.group(0) == val
    if data_type == "R":
        m = _REC_R.search(val)
        return bool(m) and m.group(0) == val
    if data_type in ("ID", "AN"):
        m = id_re.search(val)
        return not (m and m.group(0))
    if data_type == "RD8":
        if "-" in val:
            parts = val.split("-")
            if len(parts) != 2:
                raise Crash("ValueError")
            return valid_data_type(parts[0], "D8", _REC_ID_E) and valid_data_type(parts[1], "D8", _REC_ID_E)
        return False
    if data_type in ("DT", "D8", "D6"):
        try:
            return _valid_date(data_type, val)
        except ValueError:
            return False
    if data_type == "TM":
        return _valid_time(val)
    if data_type == "B":
        return True
    return False


# --- element / segment validation (pyx12 map_if is_valid_errors) ------------------------------------


def _check_element(spec: EleSpec, val: str, type_list: list[Any] | None, errors: list[Any], id_re: Any) -> None:
    """Errors for one non-empty simple value (pyx12 element_if.is_valid_errors after the empty checks)."""
    if spec.usage == "N":
        errors.append((spec, "10", f'Data element "{spec.name}" ({spec.refdes}) is marked as Not Used', None))
        return
    if not spec.defined:
        raise Crash("EngineError")
    if not type_list:
        if val in spec.good:
            return
        fast = spec.fast
        if fast and spec.min_len <= len(val) and (spec.anycodes is None or val in spec.anycodes) \
                and (spec.regex is None or spec.regex.search(val)):
            if fast == 1:
                ok = len(val) <= spec.max_len and val[-1] != " " and not spec.id_re.search(val)
            elif fast == 2 or fast == 3:
                m = (_REC_R if fast == 2 else _REC_N).search(val)
                ok = m is not None and m.group(0) == val and spec.min_len <= len(
                    val.replace("-", "").replace(".", "")) <= spec.max_len
            elif fast == 4:
                ok = len(val) <= spec.max_len and _valid_date_safe(spec.dtype, val)
            else:
                ok = len(val) <= spec.max_len and _valid_time(val)
            if ok:
                if spec.memo and len(spec.good) < 4096:
                    spec.good.add(val)
                return
    start = len(errors)
    dtype = spec.dtype
    measured = val.replace("-", "").replace(".", "") if dtype is not None and (dtype == "R" or dtype[0] == "N") else val
    n = len(measured)
    if n < spec.min_len:
        errors.append((spec, "4", 'Data element "%s" (%s) is too short: len("%s") = %i < %i (min_len)'
                       % (spec.name, spec.refdes, val, n, spec.min_len), val))
    if n > spec.max_len:
        errors.append((spec, "5", 'Data element "%s" (%s) is too long: len("%s") = %i > %i (max_len)'
                       % (spec.name, spec.refdes, val, n, spec.max_len), val))
    if _CONTROL_ANY.search(val):
        bad = next(f"<{name}>" for ch, name in _CONTROL if ch in val)
        errors.append((spec, "6", 'Data element "%s" (%s), contains an invalid control character(%s)'
                       % (spec.name, spec.refdes, bad), bad))
        return
    if dtype in ("AN", "ID") and val[-1] == " " and len(val.rstrip()) >= spec.min_len:
        errors.append((spec, "6", 'Data element "%s" (%s) has unnecessary trailing spaces. (%s)'
                       % (spec.name, spec.refdes, val), val))
    if (spec.codes_list or spec.external is not None) and val not in spec.codes:
        ok = False
        if spec.external is not None:
            codes = external_codes().get(spec.external)
            if codes is None:
                raise Crash("EngineError")
            ok = val in codes
        if not ok:
            errors.append((spec, "7", "(%s) is not a valid code for %s (%s)" % (val, spec.name, spec.refdes), val))
    if not valid_data_type(val, dtype, id_re):
        if dtype in _DATE_TYPES:
            errors.append((spec, "8", 'Data element "%s" (%s) contains an invalid date (%s)'
                           % (spec.name, spec.refdes, val), val))
        elif dtype == "TM":
            errors.append((spec, "9", 'Data element "%s" (%s) contains an invalid time (%s)'
                           % (spec.name, spec.refdes, val), val))
        else:
            errors.append((spec, "6", 'Data element "%s" (%s) is type %s, contains an invalid character(%s)'
                           % (spec.name, spec.refdes, dtype, val), val))
    if type_list:
        valid = False
        for t in type_list:
            if t is not None:
                valid |= valid_data_type(val, t, _REC_ID_E)
        if not valid:
            if "TM" in type_list:
                errors.append((spec, "9", 'Data element "%s" (%s) contains an invalid time (%s)'
                               % (spec.name, spec.refdes, val), val))
            elif any(t in type_list for t in _DATE_TYPES):
                errors.append((spec, "8", 'Data element "%s" (%s) contains an invalid date (%s)'
                               % (spec.name, spec.refdes, val), val))
    if spec.regex is not None and not spec.regex.search(val):
        errors.append((spec, "7", 'Data element "%s" with a value of (%s)' % (spec.name, val)
                       + ' failed to match the regular expression "%s"' % spec.res, val))
    if spec.memo and not type_list and len(errors) == start and len(spec.good) < 4096:
        spec.good.add(val)


def _element_errors(spec: EleSpec, raw: str | None, comp_sep: str, type_list: list[Any] | None,
                    errors: list[Any], id_re: Any, is_isa: bool) -> None:
    """pyx12 element_if.is_valid_errors on a simple element position (raw text or missing)."""
    if raw is not None and not is_isa and comp_sep in raw:
        parts = raw.split(comp_sep)
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        errors.append((spec, "6", 'Data element "%s" (%s) is an invalid composite' % (spec.name, spec.refdes),
                       comp_sep.join(parts)))
        return
    if raw is None or raw == "":
        if spec.usage not in ("N", "S") and spec.empty_error:
            errors.append((spec, "1", 'Mandatory data element "%s" (%s) is missing' % (spec.name, spec.refdes), None))
        return
    _check_element(spec, raw, type_list, errors, id_re)


def _sub_element_errors(spec: EleSpec, val: str | None, errors: list[Any], id_re: Any) -> None:
    """pyx12 element_if.is_valid_errors on one component of a composite (an Element, or None)."""
    if val is None or val == "":
        if spec.usage not in ("N", "S") and spec.empty_error:
            errors.append((spec, "1", 'Mandatory data element "%s" (%s) is missing' % (spec.name, spec.refdes), None))
        return
    _check_element(spec, val, None, errors, id_re)


def _composite_errors(comp: CompSpec, raw: str | None, comp_sep: str, errors: list[Any], id_re: Any) -> None:
    parts = None if raw is None else raw.split(comp_sep)
    empty = parts is None or all(p == "" for p in parts)
    if empty and comp.usage in ("N", "S"):
        return
    if comp.usage == "R" and empty:
        errors.append((None, "1", 'Mandatory composite "%s" (%s) is missing' % (comp.name, comp.refdes), None))
        return
    if parts is None:
        raise Crash("AssertionError")
    if comp.usage == "N" and not empty:
        errors.append((None, "5", 'Composite "%s" (%s) is marked as Not Used' % (comp.name, comp.refdes), None))
        return
    count = comp.count
    if len(parts) > count:
        errors.append((None, "3", 'Too many sub-elements in composite "%s" (%s)' % (comp.name, comp.refdes), None))
    children = comp.children
    n = min(len(parts), count)
    for i in range(n):
        _sub_element_errors(children[i], parts[i], errors, id_re)
    for i in range(n, count):
        _sub_element_errors(children[i], None, errors, id_re)


def _get_value(elems: list[str], idx: int, comp_sep: str, is_isa: bool) -> str | None:
    """pyx12 Segment.get_value("NN"): the element with trailing empty components dropped."""
    if idx > len(elems):
        return None
    raw = elems[idx - 1]
    return raw if is_isa else raw.rstrip(comp_sep)


def _syntax_errors(node: SegNode, seg_id: str, elems: list[str], comp_sep: str, is_isa: bool,
                   errors: list[Any]) -> None:
    """pyx12 syntax.is_syntax_valid for each rule (P paired, R required, E exclusive, C conditional,
    L list conditional); an element is present when its value (trailing empty components dropped) is
    not empty."""
    n = len(elems)
    for syn in node.syntax:
        code = syn[0]
        idx = syn[1:]
        if code != "R" and len(syn) >= 3 and n < min(idx):
            continue  # none of its elements is there: only an R rule can fail
        if len(syn) < 3:
            errors.append((None, "10" if code == "E" else "2",
                           f"Syntax string must have at least two comparators {_syntax_str(syn)}", None))
            continue
        present = [s <= n and (elems[s - 1] if is_isa else elems[s - 1].rstrip(comp_sep)) != "" for s in idx]
        msg = None
        if code == "P":
            count = sum(present)
            if count != 0 and count != len(idx):
                msg = (f"Syntax Error ({_syntax_str(syn)}): If any of {_ele_ids(seg_id, idx)} is present, "
                       "then all are required")
        elif code == "R":
            if not any(present):
                msg = f"Syntax Error ({_syntax_str(syn)}): At least one element is required"
        elif code == "E":
            if sum(present) > 1:
                msg = "Syntax Error (%s): At most one of %s may be present" % (_syntax_str(syn), _ele_ids(seg_id, idx))
        elif code == "C":
            if present[0] and sum(present[1:]) != len(idx) - 1:
                verb = "are" if len(idx[1:]) > 1 else "is"
                msg = "Syntax Error (%s): If %s%02i is present, then %s %s required" % (
                    _syntax_str(syn), seg_id, idx[0], _ele_ids(seg_id, idx[1:]), verb)
        elif code == "L":
            if present[0] and not any(present[1:]):
                msg = "Syntax Error (%s): If %s%02i is present, then at least one of " % (
                    _syntax_str(syn), seg_id, idx[0]) + _ele_ids(seg_id, idx[1:]) + " is required"
        else:
            msg = "Syntax Type %s Not Found" % _syntax_str(syn)
        if msg is not None:
            errors.append((None, "10" if code == "E" else "2", msg, None))


def _syntax_str(syn: list[Any]) -> str:
    return str(syn[0]) + "".join(f"{int(i):02d}" for i in syn[1:])


def _ele_ids(seg_id: str, pos: list[int]) -> str:
    out = f"{seg_id}{pos[0]:02d}"
    for i in range(len(pos) - 1):
        out += (" or " if i == len(pos) - 2 else ", ") + f"{seg_id}{pos[i + 1]:02d}"
    return out


def segment_errors(node: SegNode, seg_id: str, elems: list[str], comp_sep: str) -> list[Any]:
    """pyx12 segment_if.is_valid_errors: [(element spec or None, code, message, value)] in its order."""
    errors: list[Any] = []
    id_re = node.id_re
    is_isa = seg_id == "ISA"
    child_count = node.child_count
    n = len(elems)
    if n > child_count:
        errors.append((None, "3", 'Too many elements in segment "%s" (%s). Has %i, should have %i'
                       % (node.name, seg_id, n, child_count),
                       _get_value(elems, child_count + 1, comp_sep, is_isa)))
    type_list: list[Any] = []
    dtype: list[Any] = []
    by_idx = node.by_idx
    kinds = node.kinds
    for i, (child, raw, kind) in enumerate(zip(by_idx, elems, kinds)):
        if kind == 0:
            if raw in child.good:
                continue
            if raw and (is_isa or comp_sep not in raw):
                _check_element(child, raw, None, errors, id_re)
            else:
                _element_errors(child, raw, comp_sep, None, errors, id_re, is_isa)
        elif kind == 1:
            nparts = 1 if is_isa else raw.count(comp_sep) + 1
            if nparts > child.count and child.usage != "N":
                raise Crash("IndexError")  # pyx12 indexes children[count + 1] here
            _composite_errors(child, raw, comp_sep if not is_isa else "\x00", errors, id_re)
        elif kind == 3:
            raise Crash("EngineError")
        else:
            if i == 1 and seg_id == "DTP":
                v2 = _get_value(elems, 2, comp_sep, is_isa)
                if v2 in ("RD8", "D8", "D6", "DT", "TM"):
                    dtype = [v2]
            if child.data_ele == "1250":
                type_list.extend(child.codes_list)
            if i == 2 and seg_id == "DTP":
                _element_errors(child, raw, comp_sep, dtype, errors, id_re, is_isa)
            elif child.data_ele == "1251" and type_list:
                _element_errors(child, raw, comp_sep, type_list, errors, id_re, is_isa)
            else:
                _element_errors(child, raw, comp_sep, None, errors, id_re, is_isa)
    if n < child_count:
        tail = node.tails.get(n)
        if tail is None:
            found: list[Any] = []
            for i in range(n, child_count):
                child = by_idx[i]
                if child is _BAD_CHILD:
                    raise Crash("EngineError")
                if isinstance(child, CompSpec):
                    _composite_errors(child, None, comp_sep, found, id_re)
                else:
                    _element_errors(child, None, comp_sep, None, found, id_re, is_isa)
            tail = node.tails[n] = tuple(found)
        if tail:
            errors.extend(tail)
    if node.syntax:
        _syntax_errors(node, seg_id, elems, comp_sep, is_isa, errors)
    return errors


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

    def ele_error(self, spec: EleSpec, code: str, msg: str, value: str | None) -> None:
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
        from .ig import _envelope_tag

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
            env.tag = _envelope_tag(env)
            out.append(env)
        out += self.lost
        return out


def apply_segment_errors(errh: _Errh, errors: list[Any]) -> None:
    for spec, code, msg, value in errors:
        if spec is None:
            errh.seg_error("8", msg, value)
        else:
            errh.ele_error(spec, code, msg, value)


# --- the walker (pyx12 map_walker.walk_tree) ----------------------------------------------------------


class _Walker:
    __slots__ = ("counts", "missing", "pending")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.missing: list[Any] = []
        self.pending: list[Any] = []

    def reset_to(self, prefix: str) -> None:
        counts = self.counts
        dead = [k for k in counts if k.startswith(prefix)]
        for k in dead:
            del counts[k]

    def reset_loop(self, loop: LoopNode) -> None:
        """NodeCounter.reset_to_node(loop): forget the counts of everything inside the loop."""
        counts = self.counts
        desc = loop.desc
        if len(counts) <= len(desc):
            dead = [k for k in counts if k in desc]
        else:
            dead = [k for k in desc if k in counts]
        for k in dead:
            del counts[k]

    def force_loop_start(self, loop_path: str, child_path: str) -> None:
        self.reset_to(loop_path + "/")
        counts = self.counts
        counts[loop_path] = counts.get(loop_path, 0) + 1
        counts[child_path] = counts.get(child_path, 0) + 1

    def walk(self, node: Any, seg_id: str, elems: list[str], comp_sep: str) -> Any:
        """The segment node matching this segment, or None; errors are left in self.pending."""
        self.missing = []
        self.pending = []
        orig = frm = node
        node = node.parent
        while True:
            found = self._scan(node, frm.start, seg_id, elems, comp_sep)
            if found is not False:
                return found
            if node.is_root:
                if seg_id == "HL":
                    seg_str = _format_segment("HL", elems, comp_sep)
                else:
                    first = _get_value(elems, 1, comp_sep, False)
                    seg_str = f"{seg_id}*{first}"
                self.pending.append(("1", "Segment %s not found.  Started at %s" % (seg_str, orig.path),
                                     orig, seg_id))
                return None
            frm = node
            node = node.parent

    def _scan(self, node: LoopNode, i: int, seg_id: str, elems: list[str], comp_sep: str) -> Any:
        """Children of `node` from index i on (pyx12: positions >= the starting node's).

        Only the children that can matter are visited (see `relevant_children`): the others
        neither match this segment id nor record a missing mandatory segment or loop."""
        order = node.order
        relevant = node.relevant.get(seg_id)
        if relevant is None:
            relevant = node.relevant[seg_id] = relevant_children(node, seg_id)
        counts = self.counts
        for j in relevant[bisect_left(relevant, i):]:
            child = order[j]
            if child.is_segment:
                if child.id == seg_id and _matches(child, elems, comp_sep):
                    if node.is_loop and not node.is_root and self._is_loop_match(node, seg_id, elems, comp_sep):
                        return self._goto_seg_match(node, seg_id, elems, comp_sep)
                    path = child.path
                    counts[path] = counts.get(path, 0) + 1
                    self._check_seg_usage(child, seg_id)
                    if self.missing:
                        family = child.family
                        self.missing = [m for m in self.missing if m[0].family != family]
                        self._flush(child.pos)
                    return child
                if child.usage == "R" and counts.get(child.path, 0) < 1:
                    self.missing.append((child, "3", 'Mandatory segment "%s" (%s) missing' % (child.name, child.id)))
            else:
                if self._is_loop_match(child, seg_id, elems, comp_sep):
                    return self._goto_seg_match(child, seg_id, elems, comp_sep)
        return False

    def _is_loop_match(self, loop: LoopNode, seg_id: str, elems: list[str], comp_sep: str) -> bool:
        if loop.count <= 0:
            return False
        first = loop.first_node
        if first.is_loop:
            for child in loop.order:
                if child.is_loop and self._is_loop_match(child, seg_id, elems, comp_sep):
                    return True
            return False
        if first.id == seg_id and _matches(first, elems, comp_sep):
            return True
        if loop.usage == "R" and self.counts.get(loop.path, 0) < 1:
            self.missing.append((first, "3", 'Mandatory loop "%s" (%s) missing' % (loop.name, loop.id)))
        return False

    def _goto_seg_match(self, loop: LoopNode, seg_id: str, elems: list[str], comp_sep: str) -> Any:
        first = loop.first_seg
        if first is not None and first.id == seg_id and _matches(first, elems, comp_sep):
            self._check_loop_usage(loop, seg_id)
            counts = self.counts
            counts[first.path] = counts.get(first.path, 0) + 1
            self._flush(None)
            return first
        for child in loop.order:
            if not child.is_loop:
                continue
            found = self._goto_seg_match(child, seg_id, elems, comp_sep)
            if found is not None:
                return found
        return None

    def _check_seg_usage(self, node: SegNode, seg_id: str) -> None:
        usage = node.usage
        if usage == "N":
            self.pending.append(("2", "Segment %s found but marked as not used" % node.id, None, None))
        elif usage == "R" or usage == "S":
            count = self.counts.get(node.path, 0)
            if count > node.max_repeat:
                self.pending.append(("5", "Segment %s exceeded max count.  Found %i, should have %i"
                                     % (seg_id, count, node.max_repeat), node, seg_id))
        else:
            raise Crash("EngineError")

    def _check_loop_usage(self, loop: LoopNode, seg_id: str) -> None:
        usage = loop.usage
        if usage == "N":
            self.pending.append(("2", "Loop %s found but marked as not used" % loop.id, None, None))
        elif usage in ("R", "S"):
            self.reset_loop(loop)
            counts = self.counts
            count = counts[loop.path] = counts.get(loop.path, 0) + 1
            if count > loop.max_repeat:
                self.pending.append(("4", "Loop %s exceeded max count.  Found %i, should have %i"
                                     % (loop.id, count, loop.max_repeat), loop, seg_id))
        else:
            raise Crash("EngineError")

    def _flush(self, cur_pos: int | None) -> None:
        keep = []
        for m in self.missing:
            if m[0].pos != cur_pos:
                self.pending.append((m[1], m[2], m[0], m[0].id))
            else:
                keep.append(m)
        self.missing = keep


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


def _matches(node: SegNode, elems: list[str], comp_sep: str) -> bool:
    key = node.key
    if key is None:
        return True
    idx, sub, codes = key
    if idx > len(elems):
        return False
    raw = elems[idx - 1]
    if sub is None:
        return raw.rstrip(comp_sep) in codes
    parts = raw.split(comp_sep)
    return sub <= len(parts) and parts[sub - 1] in codes


def _format_segment(seg_id: str, elems: list[str], comp_sep: str) -> str:
    """pyx12 Segment.format("", "*", ":") as used in its 'not found' message for HL."""
    comps = [e.split(comp_sep) for e in elems]
    last = 0
    for i in range(len(comps) - 1, -1, -1):
        last = i
        if any(p != "" for p in comps[i]):
            break
    return "%s*%s" % (seg_id, "*".join(":".join(_trim(c)) for c in comps[:last + 1]))


def _trim(parts: list[str]) -> list[str]:
    i = 0
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] != "":
            break
    return parts[:i + 1]


# --- the reader (pyx12 RawX12File + X12Reader checks) -----------------------------------------------


def _int(value: str | None) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return None


class _Reader:
    """Splits the text the way pyx12's RawX12File does and runs X12Reader's per-segment checks."""

    def __init__(self, stream: Any, first_line: int) -> None:
        self.stream = stream
        head = stream.read(ISA_LEN)
        self.icvn = head[84:89]
        self.seg_term = head[-1]
        self.ele_term = head[3]
        self.comp_sep = head[-2]
        self.data = head + stream.read(BUFSIZE)
        self.read_to = len(self.data)  # what pyx12 would have read so far (absolute)
        self.eof = len(self.data) < ISA_LEN + BUFSIZE
        self.lines = SegmentLines()
        self.line = first_line
        self.pending: list[tuple[str, str, str, str | None]] = []
        self.loops: list[tuple[str, str | None]] = []
        self.isa_ids: list[str | None] = []
        self.gs_ids: list[str | None] = []
        self.st_ids: list[str | None] = []
        self.gs_count = self.st_count = self.hl_count = self.seg_count = self.cur_line = self.lx_count = 0
        self.hl_stack: list[int] = []
        self.check_837_lx = False

    def pieces(self) -> Any:
        """The segment texts, split as pyx12's RawX12File splits them: on the terminator, newlines
        before a segment dropped, the first empty piece ends the file, and (as pyx12 reads 8 KiB at a
        time) a segment whose terminator lies more than one buffer beyond what was read ends it too."""
        term = self.seg_term
        newline_term = term == "\n"
        lines = self.lines
        carry = self.data
        self.data = ""
        pos = 0  # absolute offset of carry[0]
        read_to = self.read_to
        while True:
            parts = carry.split(term)
            carry = parts.pop()
            for piece in parts:
                end = pos + len(piece)  # where its terminator is
                if end >= read_to:
                    read_to += BUFSIZE
                    if end >= read_to:
                        return
                pos = end + 1
                line = piece.lstrip("\n\r")
                if line == "":
                    return
                if piece[0] == "\n" or piece[0] == "\r" or piece[0] == " ":
                    lead = len(piece) - len(piece.lstrip())
                    lines.append(self.line + piece.count("\n", 0, lead))
                    self.line += piece.count("\n") + newline_term
                else:
                    lines.append(self.line)
                    if newline_term or "\n" in piece:
                        self.line += piece.count("\n") + newline_term
                yield line
            if self.eof:
                return
            chunk = self.stream.read(READ_CHARS)
            if len(chunk) < READ_CHARS:
                self.eof = True
            carry += chunk

    def segments(self) -> Any:
        """(seg_id, elements) per segment, after X12Reader's checks (their errors in self.pending)."""
        ele = self.ele_term
        comp = self.comp_sep
        term = self.seg_term
        for line in self.pieces():
            if line[0] == " ":
                self.pending.append(("seg", "1", "Segment contains a leading space", None))
                line = line.lstrip()
            if line == "":
                raise Crash("IndexError")
            if line[-1] == ele:
                self.pending.append(("seg", "SEG1", "Segment contains trailing element terminators", None))
            if line[-1] == term:
                line = line[:-1]
            parts = line.split(ele)
            seg_id = parts[0]
            elems = parts[1:]
            self._parse(seg_id, elems, comp, ele, term)
            yield seg_id, elems, line

    def _value(self, elems: list[str], idx: int, is_isa: bool = False) -> str | None:
        return _get_value(elems, idx, self.comp_sep, is_isa)

    def _parse(self, seg_id: str, elems: list[str], comp: str, ele: str, term: str) -> None:
        pending = self.pending
        first = elems[0] if elems else ""
        if (not first or (seg_id != "ISA" and first.strip(comp) == "")) and _is_empty(elems, comp, seg_id == "ISA"):
            pending.append(("seg", "8", 'Segment "%s%s%s%s" is empty' % (seg_id, ele, "", term), None))
        if seg_id not in _GOOD_IDS:
            if not seg_id or len(seg_id) < 2 or len(seg_id) > 3 or not _REC_SEG_ID.search(seg_id):
                pending.append(("seg", "1", 'Segment identifier "%s" is invalid' % seg_id, None))
            elif len(_GOOD_IDS) < 4096:
                _GOOD_IDS.add(seg_id)
        if seg_id not in _READER_IDS:
            self.seg_count += 1
            self.cur_line += 1
            return
        if seg_id == "ISA":
            if len(elems) != 16:
                raise Crash("X12Error")
            icn = elems[12]
            if icn in self.isa_ids:
                pending.append(("isa", "025", "ISA Interchange Control Number " + f"{icn} not unique within file",
                                None))
            self.loops.append(("ISA", icn))
            self.isa_ids.append(icn)
            self.gs_count = 0
            self.gs_ids = []
        elif seg_id == "GS":
            gcn = self._value(elems, 6)
            if gcn in self.gs_ids:
                pending.append(("gs", "6", "GS Interchange Control Number " + f"{gcn} not unique within file", None))
            self.gs_count += 1
            self.gs_ids.append(gcn)
            self.loops.append(("GS", gcn))
            self.st_count = 0
            self.st_ids = []
        elif seg_id == "ST":
            self.hl_stack = []
            tcn = self._value(elems, 2)
            if tcn in self.st_ids:
                pending.append(("st", "23", "ST Interchange Control Number " + f"{tcn} not unique within file", None))
            self.st_count += 1
            self.st_ids.append(tcn)
            self.loops.append(("ST", tcn))
            self.seg_count = 1
            self.hl_count = 0
        elif seg_id == "HL":
            self.hl_count += 1
            hl01 = self._value(elems, 1)
            if self.hl_count != _int(hl01):
                pending.append(("seg", "HL1", f"My HL count {self.hl_count:d} does not match your HL count {hl01}",
                                None))
            hl02 = self._value(elems, 2)
            if hl02 != "":
                parent = _int(hl02)
                if parent not in self.hl_stack:
                    pending.append(("seg", "HL2", f"HL parent ({parent}) is not a valid parent", None))
                while self.hl_stack and parent != self.hl_stack[-1]:
                    del self.hl_stack[-1]
            self.hl_stack.append(self.hl_count)
        elif self.check_837_lx and seg_id == "CLM":
            self.lx_count = 0
        elif self.check_837_lx and seg_id == "LX":
            self.lx_count += 1
            lx01 = self._value(elems, 1)
            if lx01 != f"{self.lx_count:d}":
                pending.append(("seg", "LX", "Your 2400/LX01 Service Line Number {} does not match my count of {:d}"
                                .format(lx01, self.lx_count), None))
        if seg_id not in _ENV_IDS:
            self.seg_count += 1
        self.cur_line += 1
        # X12Reader._parse_segment (trailers)
        loops = self.loops
        try:
            if seg_id == "IEA":
                if loops[-1][0] != "ISA":
                    pending.append(("isa", "024", f"Unterminated Loop {loops[-1][0]}", None))
                    del loops[-1]
                iea02 = self._value(elems, 2)
                if loops[-1][1] != iea02:
                    pending.append(("isa", "001", "IEA id={} does not match ISA id={}".format(iea02, loops[-1][1]),
                                    None))
                if _int(self._value(elems, 1)) != self.gs_count:
                    pending.append(("isa", "021", "IEA count for IEA02={} is wrong".format(iea02), None))
                del loops[-1]
            elif seg_id == "GE":
                if loops[-1][0] != "GS":
                    pending.append(("gs", "3", f"Unterminated segment {loops[-1][1]}", None))
                    del loops[-1]
                ge02 = self._value(elems, 2)
                if loops[-1][1] != ge02:
                    pending.append(("gs", "4", "GE id={} does not match GS id={}".format(ge02, loops[-1][1]), None))
                ge01 = self._value(elems, 1)
                if _int(ge01) != self.st_count:
                    pending.append(("gs", "5", "GE count of {} for GE02={} is wrong. I count {}"
                                    .format(ge01, ge02, self.st_count), None))
                del loops[-1]
            elif seg_id == "SE":
                se02 = self._value(elems, 2)
                if loops[-1][0] != "ST" or loops[-1][1] != se02:
                    pending.append(("st", "3", f"SE id={se02} does not match ST id={loops[-1][1]}", None))
                se01 = self._value(elems, 1)
                if _int(se01) != self.seg_count + 1:
                    pending.append(("st", "4", "SE count of {} for SE02={} is wrong. I count {}"
                                    .format(se01, se02, self.seg_count + 1), None))
                del loops[-1]
        except IndexError:  # pyx12 indexes its loop stack without looking (after counting the segment)
            raise Crash("IndexError") from None

    def cleanup(self) -> None:
        for seg, id1 in self.loops:
            if seg == "ST":
                self.pending.append(("st", "2", 'Mandatory segment "Transaction Set Trailer" ' + f"(SE={id1}) missing",
                                     None))
            elif seg == "GS":
                self.pending.append(("gs", "3", 'Mandatory segment "Functional Group Trailer" '
                                     + f"(GE={id1}) missing", None))
            elif seg == "ISA":
                self.pending.append(("isa", "023", 'Mandatory segment "Interchange Control Trailer" '
                                     + f"(IEA={id1}) missing", None))

    def pop(self) -> list[tuple[str, str, str, str | None]]:
        out = self.pending
        self.pending = []
        return out


def _is_empty(elems: list[str], comp: str, is_isa: bool) -> bool:
    """pyx12 Segment.is_empty: no element has a non-empty component."""
    for e in elems:
        if e != "" and (is_isa or e.strip(comp) != ""):
            return False
    return True


# --- the driver (pyx12 x12n_document's loop) ------------------------------------------------------------


def run(stream: Any, first_line: int = 1, limits: tuple[int, int] | None = None) -> tuple[list[Issue], SegmentLines]:
    """Validate the X12 text in `stream` (positioned at the ISA); issues and the line of each segment.
    `limits` (issues of any kind, unrecognized segments): past either, TooManyIssues is raised."""
    from .ig import _engine_failure, _no_map

    reader = _Reader(stream, first_line)
    errh = _Errh(limits)
    walker = _Walker()
    stopped: list[Issue] = []
    control_file = "x12.control.00501.xml" if reader.icvn == "00501" else "x12.control.00401.xml"
    control_map = load_map(control_file)
    map_file = control_file
    cur_map: Map | None = None
    node: Any = _node_by_path(control_map, "/ISA_LOOP/ISA")
    icvn = fic = vriic = None
    comp = reader.comp_sep
    position = 0
    seg_id = None
    try:
        clean: dict[str, Any] = {}  # segment text -> map node it validated clean against (this file only)
        for seg_id, elems, line in reader.segments():
            errh.position = position = reader.cur_line
            orig_node = node
            try:
                if seg_id == "ISA":
                    node = _node_by_path(control_map, "/ISA_LOOP/ISA")
                    walker.force_loop_start("/ISA_LOOP", "/ISA_LOOP/ISA")
                elif seg_id == "GS":
                    node = _node_by_path(control_map, "/ISA_LOOP/GS_LOOP/GS")
                    walker.force_loop_start("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
                else:
                    node = walker.walk(node, seg_id, elems, comp)
                    for code, msg, map_node, tag in walker.pending:
                        if map_node is not None:
                            errh.add_seg(map_node, tag, position)
                        errh.seg_error(code, msg, None)
                if node is None:
                    node = orig_node
                    continue
                if seg_id == "ISA":
                    errh.add_isa_loop(position)
                    icvn = _get_value(elems, 12, comp, True)
                    errh.handle(reader.pop())
                elif seg_id == "IEA":
                    errh.handle(reader.pop())
                    errh.close("ISA")
                elif seg_id == "GS":
                    fic = _get_value(elems, 1, comp, False)
                    vriic = _get_value(elems, 8, comp, False)
                    map_file_new = map_file_for(icvn, vriic, fic)
                    if map_file != map_file_new:
                        if map_file_new is None:
                            stopped.append(_no_map(icvn, vriic, fic, position))
                            break
                        map_file = map_file_new
                        cur_map = load_map(map_file)
                        reader.check_837_lx = cur_map.id == "837"
                    if cur_map is None:
                        raise Crash("AttributeError")
                    node = _node_by_path(cur_map, "/ISA_LOOP/GS_LOOP/GS")
                    errh.add_gs_loop(position)
                    errh.handle(reader.pop())
                elif seg_id == "BHT":
                    if vriic in ("004010X094", "004010X094A1"):
                        tspc = _get_value(elems, 2, comp, False)
                        map_file_new = map_file_for(icvn, vriic, fic, tspc)
                        if map_file != map_file_new:
                            if map_file_new is None:
                                stopped.append(_no_map(icvn, vriic, fic, position))
                                break
                            map_file = map_file_new
                            cur_map = load_map(map_file)
                            reader.check_837_lx = cur_map.id == "837"
                            node = _node_by_path(cur_map, "/ISA_LOOP/GS_LOOP/ST_LOOP/HEADER/BHT")
                    errh.add_seg(node, seg_id, position)
                    errh.handle(reader.pop())
                elif seg_id == "GE":
                    errh.handle(reader.pop())
                    errh.close("GS")
                    ge01 = _get_value(elems, 1, comp, False)
                    if _int_strict(ge01) is None:  # err_gs.close does int(GE01)
                        raise Crash("TypeError" if ge01 is None else "ValueError")
                elif seg_id == "ST":
                    errh.add_st_loop(position)
                    errh.handle(reader.pop())
                elif seg_id == "SE":
                    errh.handle(reader.pop())
                    errh.close("ST")
                else:
                    errh.add_seg(node, seg_id, position)
                    errh.handle(reader.pop())
                if clean.get(line) is not node:  # the same text validated clean earlier in this file
                    errors = segment_errors(node, seg_id, elems, comp)
                    if errors:
                        apply_segment_errors(errh, errors)
                    elif len(clean) < 65536:
                        clean[line] = node
            except Crash as exc:
                stopped.append(_engine_failure(exc.kind, position, seg_id))
                break
        else:
            try:
                reader.cleanup()
                errh.position = reader.cur_line
                errh.handle(reader.pop())
            except Crash as exc:
                stopped.append(_engine_failure(exc.kind, reader.cur_line, None))
    except Crash as exc:
        stopped.append(_engine_failure(exc.kind, reader.cur_line + 1, None))
    except TooManyIssues:
        raise
    except Exception as exc:  # noqa: BLE001 - a bug in this engine, not a problem of the input
        raise EngineBug(type(exc).__name__) from exc
    issues = errh.issues() + stopped
    issues.sort(key=lambda i: i.position or 0)
    return issues, reader.lines


def _int_strict(value: str | None) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return None
