"""Loops of an indexed claim whose segments are made when first used (`ClaimIndex.claim`): many
remitted claims are decided (skipped for nothing left to bill, held, refused) from the CLM and whom
the claim was billed to, so their 2300 and 2000B are never made. A deferred loop keeps what it needs
to make its items in the items slot; its first use makes them exactly as made eagerly and turns the
object into a plain `Loop`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .loops import HL_LEVELS, Loop

if TYPE_CHECKING:
    from .index import ClaimIndex

_ITEMS = Loop.__dict__["items"]  # the slot of Loop.items
_get_items, _set_items = _ITEMS.__get__, _ITEMS.__set__
_set_id = Loop.__dict__["id"].__set__
_new_loop = object.__new__


class _Deferred(Loop):
    """What every deferred loop shares: while the items slot holds a tuple (what `_placed` needs to
    make the items), reading `items` makes them, keeps them and turns the object into a plain `Loop`
    (so the look costs nothing after the first); setting, pickling or copying it does the same."""

    __slots__ = ()

    def _placed(self, pending: tuple) -> list:
        raise NotImplementedError

    @property
    def items(self) -> list:
        pending = _get_items(self, Loop)
        if type(pending) is tuple:  # noqa: E721 - the deferred state, not a list of items
            _set_items(self, self._placed(pending))
            self.__class__ = Loop  # type: ignore[assignment]
            return _get_items(self, Loop)
        return pending

    @items.setter
    def items(self, value: list) -> None:
        _set_items(self, value)
        self.__class__ = Loop  # type: ignore[assignment]

    def __reduce_ex__(self, protocol):  # pickle, copy: made first, then as any Loop
        self.items  # noqa: B018 - makes the segments, the object becomes a Loop
        return object.__reduce_ex__(self, protocol)


class _Deferred2300(_Deferred):
    """A claim's 2300 loop whose segments are made and placed when first used: many remitted claims
    are decided (skipped for nothing left to bill, held, refused) from the CLM and whom the claim
    was billed to. Its start segment (CLM) is made at once; any other use of the loop makes the rest exactly as
    `ClaimIndex.claim` made them eagerly, and turns the object into a plain `Loop`."""

    __slots__ = ()

    @staticmethod
    def _placed(pending: tuple) -> list:
        index, envelope, clm, rest, first = pending
        return index._placed_2300(envelope, clm, rest, first)

    @property
    def first(self):
        pending = _get_items(self, Loop)
        if type(pending) is tuple:  # noqa: E721
            return pending[2]
        return Loop.first.__get__(self, Loop)


class _DeferredHL(_Deferred):
    """A claim's 2000B loop whose segments are made and placed when first used: a claim skipped
    before its build (nothing left to bill, held, refused) asks the 2000B only whom it was billed
    to, which `billed_to_texts` reads off the segment texts. Any use of the loop makes its items
    exactly as `ClaimIndex._context` made them eagerly, and turns the object into a plain `Loop`."""

    __slots__ = ()

    @classmethod
    def of(cls, index: ClaimIndex, bodies: list[str], first: int, text: str) -> _DeferredHL:
        """The HL loop of segment texts `bodies` (HL first, numbered from `first`; `text`: them with
        their terminators, as read): its id now (HL03's level), its items when first read."""
        hl = bodies[0].split("*")
        loop = _new_loop(cls)  # not Loop.__init__: its `items =` would make the loop plain at once
        _set_id(loop, HL_LEVELS[hl[3] if len(hl) > 3 else ""])
        _set_items(loop, (index, bodies, first, text))
        return loop

    def _placed(self, pending: tuple) -> list:
        index, bodies, first, _ = pending
        return index._placed_hl(self.id, bodies, first)

    def billed_to_texts(self) -> tuple[str, tuple[str, ...]] | None:
        """What `identity.billed_to` reads of the usual 2000B, from its texts while its segments are
        not made: (SBR01, the elements of the NM1*PR that is its 2010BB). The usual 2000B is HL, SBR,
        ..., NM1*PR last (a 2010BB of its NM1 alone) with no other NM1*PR; any other answers None
        (the made loop answers then). Exact by the loop table: body 1 is the first SBR after the HL,
        the first NM1*PR opens the 2010BB, and nothing after it is in it (test_claim837_index_billed)."""
        pending = _get_items(self, Loop)
        if type(pending) is not tuple:  # noqa: E721 - made already
            return None
        bodies, text = pending[1], pending[3]
        if len(bodies) < 3 or not bodies[1].startswith("SBR*"):
            return None
        last = bodies[-1]
        # the last segment is an NM1*PR, and the first "~NM1*PR" of the text (text ends "~<last>~")
        if not last.startswith("NM1*PR*") or text.find("~NM1*PR") != len(text) - len(last) - 2:
            return None
        return bodies[1].split("*", 2)[1], tuple(last.split("*"))[1:]
