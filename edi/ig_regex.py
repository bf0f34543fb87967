"""A segment node's element rules compiled into one regular expression: the guide check learns a
segment's shape once.

For a segment node of a compiled map (edi.ig_map.SegNode) and the file's delimiters,
`segment_matcher` returns the `fullmatch` of one expression over the segment's text (``NM1*IL*1*...``,
terminator removed) that accepts only segments in which edi.ig_checks.segment_errors finds nothing:

* the element count (no more than the guide defines; a segment may stop early only where every
  missing element and composite may be missing);
* each element: empty only where an empty value is no error; otherwise its data type (AN/ID
  characters of the map's interchange version, R and N digits with the measured length pyx12 uses,
  DT as a valid CCYYMMDD date from 1800, TM as HHMM[SS[d[d]]] within range), its min/max length,
  no trailing space, no control character, and code values: every code of the element's list (and
  external code set) that the element checks themselves accept, as literals;
* composites: at most the defined components, each component as an element, a required composite
  with at least one non-empty component;
* the date/time type lists: DTP03 by the format its DTP02 names (D8, RD8), a 1251 element by the
  1250 qualifiers in front of it (DMG02, PAT06);
* syntax rules (P, R, C, E, L) as look-aheads on element presence (a value with something other
  than component separators), as pyx12's syntax check reads presence.

Anything the compiler does not express exactly is rejected, never guessed: such a value or segment
(a February 29th, a D6 date, a pyx12 regex, an undefined element, ISA, unusual delimiters) simply goes
to the element-by-element checks, so findings and their wording never change. Decisions about empty
and missing elements and about code values are taken by running the element checks themselves at
compile time. tests/edi/test_ig_regex.py holds the expression to the checks on every segment of the
corpus, the samples, the goldens, synthetic files and generated mutants.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import ig_recache
from .ig_checks import _check_element, _composite_errors, _element_errors, _sub_element_errors
from .ig_issues import Crash
from .ig_map import _BAD_CHILD, CompSpec, EleSpec, SegNode, external_codes

NEVER = "(?!)"
_FORMATS = ("RD8", "D8", "D6", "DT", "TM")
_YEAR = "(?:1[89][0-9]{2}|[2-9][0-9]{3})"  # pyx12: year >= 1800
_MONTH_DAY = ("(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)"
              "|02(?:0[1-9]|1[0-9]|2[0-8]))")  # February 29th is left to the checks
DATE8 = _YEAR + _MONTH_DAY
_HHMM = "(?:[01][0-9]|2[0-3])[0-5][0-9]"
_TIMES = {4: _HHMM, 6: _HHMM + "[0-5][0-9]", 7: _HHMM + "[0-5][0-9][0-9]", 8: _HHMM + "[0-5][0-9][0-9]{2}"}
_CONTROL = frozenset("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14"
                     "\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f")
_UNSET = object()
#: a value's character and digit repeats are possessive (`{lo,hi}+`): taken whole, never given back one
#: character at a time. Exact, because what follows a value in every expression is a separator, the
#: end of the text or a zero-width assertion, and a value's characters are never separators: a shorter
#: take leaves a value character next, which nothing after it accepts. The backtracking engine tried
#: each shorter take (the last character no space: one give-back an AN element; an amount with cents:
#: every digit count before the point) before failing. False: the backtracking forms (the reference
#: tests/edi/test_ig_regex_possessive.py holds these to).
POSSESSIVE = True
_cache: dict[tuple[Any, str, str, str], Callable[[str], Any] | None] = {}
_CACHE_LIMIT = 4096  # compiled expressions kept (a map has a few hundred segment nodes)


class _NotExpressible(Exception):
    """This node cannot be compiled exactly: its segments always go to the element checks."""


def segment_matcher(node: SegNode, ele: str, comp: str, term: str) -> Callable[[str], Any] | None:
    """`fullmatch` of the node's expression for these delimiters, or None when there is none."""
    key = (node, ele, comp, term)
    found = _cache.get(key, _UNSET)
    if found is _UNSET:
        if len(_cache) >= _CACHE_LIMIT:  # a long-lived process fed files in many delimiter sets
            _cache.clear()
        pattern = segment_pattern(node, ele, comp, term)
        found = _cache[key] = ig_recache.compile(pattern, re.S).fullmatch if pattern is not None else None
    return found  # type: ignore[return-value]


def content_required(node: SegNode, ele: str, comp: str, term: str) -> bool:
    """Whether the node's expression accepts only segments whose first element holds something other
    than separators (so X12Reader's "segment is empty" check cannot fire on them): that element is a
    simple one that may be neither missing nor empty, and every value the expression allows for it
    has at least one character and none of the delimiters."""
    key = (node, ele, comp, term)
    found = _required.get(key)
    if found is None:
        token = getattr(node, "token", None)
        if token is None:
            found = _content_required(node, ele, comp, term)
        else:  # kept with the node's expression texts: the answer reads the node's element specs, which
            # a node of a kept map unpickles for it alone (edi.ig_map.SegNode: ~0.5M instructions a node)
            found = ig_recache.kept(("content_required", token, node.path, ele, comp, term),
                                    lambda: _content_required(node, ele, comp, term))
        if len(_required) >= _CACHE_LIMIT:
            _required.clear()
        _required[key] = found
    return found


def _content_required(node: SegNode, ele: str, comp: str, term: str) -> bool:
    if segment_matcher(node, ele, comp, term) is None or not node.by_idx or node.kinds[0] == 1 \
            or node.by_idx[0] is _BAD_CHILD:
        return False
    compiler = _Compiler(node, ele, comp, term)
    try:
        return not compiler.missing_ok(0) and not compiler.empty_ok(node.by_idx[0])
    except Crash:
        return False


_required: dict[tuple[Any, str, str, str], bool] = {}
_elements: dict[tuple[Any, str, str, str], list[str]] = {}  # a node's element expressions (built once)


def segment_pattern(node: SegNode, ele: str, comp: str, term: str,
                    pins: dict[int, str] | None = None) -> str | None:
    """The expression's text (None: the node is not compiled). `pins` (element index from 0 -> value):
    the expression also requires each of those simple elements to be exactly that value (what
    edi.ig_blocks' shape keys and LX01 say), as a look-ahead for it would, at no extra cost."""
    delims = {ele, comp, term}
    if len(delims) != 3 or any(d.isalnum() or d.isspace() or d in _CONTROL or len(d) != 1 for d in delims):
        return None
    if node.id == "ISA" or not node.id or not re.fullmatch(r"[A-Z0-9]{2,3}", node.id):
        return None
    token = getattr(node, "token", None)
    if token is None:
        return _segment_text(node, ele, comp, term, pins)
    key = (token, node.path, ele, comp, term, tuple(sorted(pins.items())) if pins else ())
    return ig_recache.text(key, lambda: _segment_text(node, ele, comp, term, pins))


def _segment_text(node: SegNode, ele: str, comp: str, term: str, pins: dict[int, str] | None) -> str | None:
    try:
        return _Compiler(node, ele, comp, term, pins).segment()
    except _NotExpressible:
        return None


def literals(words: list[str]) -> str:
    """An expression matching exactly `words` (non-empty strings), factored as a trie so a code list
    of hundreds costs a few character tests, not one test per code."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}  # a word ends here

    def build(node: dict[str, dict]) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body}|)" if "" in node else body

    return build(trie)


_classes: dict[tuple[str, int, str, str, str], tuple[str, str]] = {}


def _char_classes(id_re: re.Pattern[str], ele: str, comp: str, term: str) -> tuple[str, str]:
    """(any character of a value, its last character: no trailing space) for the map's character set
    and these delimiters; made once per process for them (128 searches, each time a node is compiled
    or content_required asks about one otherwise)."""
    key = (id_re.pattern, id_re.flags, ele, comp, term)
    found = _classes.get(key)
    if found is None:
        allowed = [chr(i) for i in range(128) if not id_re.search(chr(i))
                   and chr(i) not in (ele, comp, term) and chr(i) not in _CONTROL]
        found = ("[" + "".join(re.escape(c) for c in allowed) + "]",
                 "[" + "".join(re.escape(c) for c in allowed if c != " ") + "]")
        if len(_classes) >= _CACHE_LIMIT:
            _classes.clear()
        _classes[key] = found
    return found


class _Compiler:
    def __init__(self, node: SegNode, ele: str, comp: str, term: str, pins: dict[int, str] | None = None) -> None:
        self.node = node
        self.pins = pins or {}
        self.last_pin = max(self.pins, default=-1)  # no element up to it may be left out
        self.ele, self.comp, self.term = ele, comp, term
        self.E, self.C = re.escape(ele), re.escape(comp)
        self.id_re = node.id_re
        self.any_char, self.last_char = _char_classes(node.id_re, ele, comp, term)

    # --- values

    def codes(self, spec: EleSpec) -> str:
        """The codes of the element's list (and external set) that its checks accept."""
        candidates: set[str] = set(c for c in spec.codes_list if c)
        if spec.external is not None:
            external = external_codes().get(spec.external)
            if external is None:
                return NEVER
            candidates |= {c for c in external if c}
        kept = [c for c in candidates if self.accepts(spec, c)]
        return "(?:" + literals(kept) + ")" if kept else NEVER

    def accepts(self, spec: EleSpec, value: str, type_list: list[Any] | None = None) -> bool:
        if any(d in value for d in (self.ele, self.comp, self.term)):
            return False
        errors: list[Any] = []
        try:
            _check_element(spec, value, type_list, errors, self.id_re)
        except Crash:
            return False
        return not errors

    def value(self, spec: EleSpec) -> str:
        """A non-empty value of a simple element or component that its checks accept."""
        if spec.usage == "N" or not spec.defined or spec.regex is not None:
            return NEVER
        if spec.codes_list or spec.external is not None:
            return self.codes(spec)
        dtype = spec.dtype or ""
        lo, hi = max(spec.min_len, 1), spec.max_len
        if hi < lo:
            return NEVER
        if dtype in ("AN", "ID"):
            if POSSESSIVE:  # lo..hi characters, taken whole, the last no space (see POSSESSIVE)
                return f"{self.any_char}{{{lo},{hi}}}+(?<! )"
            return f"{self.any_char}{{{lo - 1},{hi - 1}}}{self.last_char}"
        if dtype == "R":
            # lo..hi digits: without a point, as they are; with one, lo+1..hi+1 characters of digits
            # and points up to the value's end, then digits, the point and digits (the point makes
            # the length one more than the digits; a second point fails the element's end). A class
            # repeat, not a repeated group: ~30% fewer instructions a match of an amount with cents
            end = f"(?![^{self.E}{self.C}])"
            if POSSESSIVE:  # (the digits of an amount with cents go to the second branch at once)
                return f"-?(?:[0-9]{{{lo},{hi}}}+(?![0-9.])|(?=[0-9.]{{{lo + 1},{hi + 1}}}{end})[0-9]*+\\.[0-9]++)"
            return f"-?(?:[0-9]{{{lo},{hi}}}|(?=[0-9.]{{{lo + 1},{hi + 1}}}{end})[0-9]*\\.[0-9]+)"
        if dtype[:1] == "N":
            return f"-?[0-9]{{{lo},{hi}}}+" if POSSESSIVE else f"-?[0-9]{{{lo},{hi}}}"
        if dtype in ("DT", "D8"):
            return DATE8 if lo <= 8 <= hi else NEVER
        if dtype == "TM":
            times = [_TIMES[n] for n in sorted(_TIMES) if lo <= n <= hi]
            return "(?:" + "|".join(times) + ")" if times else NEVER
        return NEVER

    def typed_value(self, spec: EleSpec, type_list: list[Any]) -> str:
        """A non-empty value passing the element's checks and one of the date types in `type_list`."""
        if spec.usage == "N" or not spec.defined or spec.regex is not None or spec.codes_list \
                or spec.external is not None or spec.dtype not in ("AN", "ID"):
            return NEVER
        forms = []
        if "D8" in type_list or "DT" in type_list:
            forms.append((DATE8, "20260101"))
        if "RD8" in type_list:
            forms.append((DATE8 + "-" + DATE8, "20260101-20260102"))
        kept = [pattern for pattern, sample in forms
                if spec.min_len <= len(sample) <= spec.max_len and self.accepts(spec, sample, type_list)]
        return "(?:" + "|".join(kept) + ")" if kept else NEVER

    # --- elements

    def empty_ok(self, spec: EleSpec) -> bool:
        errors: list[Any] = []
        _element_errors(spec, "", self.comp, None, errors, self.id_re, False)
        return not errors

    def simple(self, spec: EleSpec, value: str) -> str:
        """An optional part is written `(?:x|)`, not `(?:x)?`: the same matches, and Python's engine
        runs an alternation with an empty branch ~25% faster than a repeat of a group."""
        if self.empty_ok(spec):
            return "" if value in ("", NEVER) else f"(?:{value}|)"
        return value

    def composite(self, comp: CompSpec) -> str:
        if comp.usage == "N":
            return ""
        if comp.usage not in ("R", "S") or comp.count < 1:
            raise _NotExpressible
        parts = []
        for spec in comp.children:
            errors: list[Any] = []
            _sub_element_errors(spec, None, errors, self.id_re)
            value = self.value(spec)
            parts.append((value, not errors))
        # p1 (C p2 (C p3 ...)?)?: a tail may be left out where every component in it may be missing
        out = ""
        for k in range(len(parts) - 1, 0, -1):
            value, empty = parts[k]
            item = f"(?:{value}|)" if empty else value
            group = f"{self.C}{item}{out}"
            optional = all(e for _v, e in parts[k:])
            out = f"(?:{group}|)" if optional else f"(?:{group})"
        value, empty = parts[0]
        body = (f"(?:{value}|)" if empty else f"(?:{value})") + out
        if comp.usage == "R":
            return f"(?={self.C}*[^{self.E}{self.C}]){body}"  # at least one non-empty component
        errors = []
        _composite_errors(comp, "", self.comp, errors, self.id_re)
        return f"(?:{body}|)" if not errors else body

    def missing_ok(self, start: int) -> bool:
        """Whether the elements from index `start` on may all be missing (segment_errors' tail)."""
        node = self.node
        errors: list[Any] = []
        try:
            for child in node.by_idx[start:]:
                if child is _BAD_CHILD:
                    return False
                if isinstance(child, CompSpec):
                    _composite_errors(child, None, self.comp, errors, self.id_re)
                else:
                    _element_errors(child, None, self.comp, None, errors, self.id_re, False)
        except Crash:
            return False
        return not errors

    def elements(self, patterns: list[str], marked: frozenset[int] = frozenset()) -> str:
        """The elements in order, each after its separator, a tail left out where it may be missing;
        an element in `marked` (1-based) sets group p<k> where it is present (see `conditions`)."""
        out = ""
        E, C = self.E, self.C
        for k in range(len(patterns) - 1, -1, -1):
            # present: a character that is no separator (a simple element's value holds no component
            # separator at all in any segment the expression accepts, so its first character tells)
            lead = "" if self.node.kinds[k] == 0 else f"{C}*"
            mark = f"(?:(?={lead}[^{E}{C}])(?P<p{k + 1}>))?+" if k + 1 in marked else ""
            group = f"{E}{mark}{patterns[k]}{out}"
            out = f"(?:{group}|)" if k > self.last_pin and self.missing_ok(k) else f"(?:{group})"
        return out

    # --- the segment

    def segment(self) -> str:
        node = self.node
        if any(child is _BAD_CHILD for child in node.by_idx):
            raise _NotExpressible
        key = (node, self.ele, self.comp, self.term)
        patterns = _elements.get(key)
        if patterns is None:
            patterns = self.element_patterns()
            if len(_elements) >= _CACHE_LIMIT:
                _elements.clear()
            _elements[key] = patterns
        patterns = list(patterns)
        for i, value in self.pins.items():
            # a simple element whose own expression accepts the value: exactly that value, present
            if i >= len(patterns) or node.kinds[i] != 0 or not value \
                    or re.fullmatch(patterns[i], value, re.S) is None:
                raise _NotExpressible  # (no such segment passes: the block path learns no run there)
            patterns[i] = re.escape(value)
        if node.id == "DTP" and len(patterns) >= 3 and node.kinds[1] == 2 and node.kinds[2] == 2:
            body = self.dtp(patterns)
        elif node.id == "DTP":
            raise _NotExpressible
        else:  # the syntax rules read marks the elements set where they are present: no second scan
            marked = frozenset(k for syn in node.syntax for k in syn[1:] if 1 <= k <= len(patterns))
            return re.escape(node.id) + self.elements(patterns, marked) + self.conditions(len(patterns))
        return self.syntax() + re.escape(node.id) + body

    def element_patterns(self) -> list[str]:
        """Each element's expression, in order (DTP02/DTP03 left empty: `dtp` fills them)."""
        node = self.node
        patterns: list[str] = []
        type_list: list[Any] = []
        for i, (child, kind) in enumerate(zip(node.by_idx, node.kinds)):
            if kind == 1:
                patterns.append(self.composite(child))
            elif kind == 0:
                patterns.append(self.simple(child, self.value(child)))
            else:
                if child.data_ele == "1250":
                    type_list.extend(child.codes_list)
                if node.id == "DTP" and i in (1, 2):
                    patterns.append("")  # filled per DTP02 below
                elif child.data_ele == "1251" and type_list:
                    patterns.append(self.simple(child, self.typed_value(child, list(type_list))))
                else:
                    patterns.append(self.simple(child, self.value(child)))
        return patterns

    def dtp(self, patterns: list[str]) -> str:
        """DTP03 is checked against the format DTP02 names: one alternative per accepted DTP02."""
        dtp02, dtp03 = self.node.by_idx[1], self.node.by_idx[2]
        if not dtp02.codes_list or dtp02.external is not None:
            raise _NotExpressible
        variants = []
        for code in dtp02.codes_list:
            if not code or not self.accepts(dtp02, code):
                continue
            value = self.typed_value(dtp03, [code]) if code in _FORMATS else self.value(dtp03)
            variants.append(self.elements(patterns[:1] + [re.escape(code), self.simple(dtp03, value)]
                                          + patterns[3:]))
        if self.empty_ok(dtp02):  # no format: DTP03 gets the plain checks
            variants.append(self.elements(patterns[:1] + ["", self.simple(dtp03, self.value(dtp03))]
                                          + patterns[3:]))
        if not variants:
            return NEVER
        return "(?:" + "|".join(variants) + ")"

    def syntax(self) -> str:
        """Look-aheads for the node's syntax rules, on element presence as pyx12 reads it."""
        node = self.node
        out = []
        for syn in node.syntax:
            code, idx = syn[0], syn[1:]
            if len(syn) < 3 or code not in "PRCEL":
                raise _NotExpressible  # always an error: the checks report it
            present = [self.present(k) for k in idx]
            absent = [p.replace("(?=", "(?!", 1) for p in present]
            if code == "P":
                out.append("(?:" + "".join(present) + "|" + "".join(absent) + ")")
            elif code == "R":
                out.append("(?:" + "|".join(present) + ")")
            elif code == "E":
                out += [f"(?!{present[a]}{present[b]})" for a in range(len(idx)) for b in range(a + 1, len(idx))]
            elif code == "C":
                out.append("(?:" + absent[0] + "|" + "".join(present[1:]) + ")")
            else:  # L
                out.append("(?:" + absent[0] + "|" + "|".join(present[1:]) + ")")
        return "".join(out)

    def conditions(self, count: int) -> str:
        """The node's syntax rules as conditionals on the presence marks set by `elements` (what
        `syntax` says with look-aheads, read at the end of the match instead of by re-scanning)."""
        def when(k: int, yes: str, no: str) -> str:  # element k present ? yes : no
            return f"(?(p{k}){yes}|{no})" if 1 <= k <= count else no  # an undefined element is never there

        def all_of(ks: tuple[int, ...]) -> str:
            return "".join(when(k, "", NEVER) for k in ks)

        def none_of(ks: tuple[int, ...]) -> str:
            return "".join(when(k, NEVER, "") for k in ks)

        def any_of(ks: tuple[int, ...]) -> str:
            out = NEVER
            for k in reversed(ks):
                out = when(k, "", out)
            return out

        out = []
        for syn in self.node.syntax:
            code, idx = syn[0], tuple(syn[1:])
            if len(syn) < 3 or code not in "PRCEL":
                raise _NotExpressible  # always an error: the checks report it
            first, rest = idx[0], idx[1:]
            if code == "P":
                out.append(when(first, all_of(rest), none_of(rest)))
            elif code == "R":
                out.append(any_of(idx))
            elif code == "E":
                out += [when(idx[a], when(idx[b], NEVER, ""), "") for a in range(len(idx)) for b in range(a + 1, len(idx))]
            elif code == "C":
                out.append(when(first, all_of(rest), ""))
            else:  # L
                out.append(when(first, any_of(rest), ""))
        return "".join(out)

    def present(self, k: int) -> str:
        """Element k (1-based) is there and holds something other than component separators."""
        E, C = self.E, self.C
        return f"(?={re.escape(self.node.id)}(?:{E}[^{E}]*){{{k - 1}}}{E}[^{E}]*?[^{E}{C}])"


__all__ = ["DATE8", "content_required", "segment_matcher", "segment_pattern"]
