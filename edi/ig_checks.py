"""Element and segment checks of the fast engine (pyx12.validation and map_if is_valid_errors):
data types, dates and times, lengths, code lists, composites, syntax rules, in pyx12's order and
wording. `segment_errors` is the reference the compiled segment expressions (edi.ig_regex) are
proved against: a segment an expression accepts is one these checks find nothing in.
"""
from __future__ import annotations

import re
from typing import Any

from .ig_issues import Crash
from .ig_map import _BAD_CHILD, _REC_ID_E, CompSpec, EleSpec, SegNode, external_codes

_DATE_TYPES = ("RD8", "DT", "D8", "D6")
_REC_N = re.compile(r"^-?[0-9]+", re.S | re.ASCII)
_REC_R = re.compile(r"^-?[0-9]*(\.[0-9]+)?", re.S | re.ASCII)
_REC_DIGITS_BAD = re.compile(r"[^0-9]+", re.S | re.ASCII)
_CONTROL = (
    ("\x07", "BEL"), ("\x09", "HT"), ("\x0a", "LF"), ("\x0b", "VT"), ("\x0c", "FF"), ("\x0d", "CR"),
    ("\x1c", "FS"), ("\x1d", "GS"), ("\x1e", "RS"), ("\x1f", "US"),
    ("\x01", "SOH"), ("\x02", "STX"), ("\x03", "ETX"), ("\x04", "EOT"), ("\x05", "ENQ"), ("\x06", "ACK"),
    ("\x11", "DC1"), ("\x12", "DC2"), ("\x13", "DC3"), ("\x14", "DC4"), ("\x15", "NAK"), ("\x16", "SYN"),
    ("\x17", "ETB"),
)
_GOOD_IDS: set[str] = set()  # segment ids known to pass pyx12's is_seg_id_valid
_CONTROL_ANY = re.compile("[" + "".join(re.escape(c) for c, _ in _CONTROL) + "]")


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
