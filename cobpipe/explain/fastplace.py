"""Where the fast `explain --format json` (fastjson) puts the claims it spooled: copied into the
output (_copy: in the kernel where it can), or, for this process's own part, written in place.

In place (InPlace): when the output is a regular file this process may read and write (the
atomic writer's temporary file), the first part's claims are written straight into it, at the
offsets they will have, instead of to a spool copied in afterwards (the copy of a 100k-claim
file's first half, ~260 MB, was ~5% of the wall time). What comes before and between them (the
document's head, each transaction set's start and end) depends on the whole file, so it is
written as the part read it: the verdicts "balanced" (the usual case) and the totals it has.
When the document is put together (Placer), every byte that would land in the written stretch is
compared with what is there; on any difference the stretch is moved to a spool and the document
is written as before (the bytes are the same either way, only slower).
"""
from __future__ import annotations

import os
import stat
from typing import TextIO

_ADVICE_BYTES = 16 << 20  # written in place: the system is asked to start writing back every 16 MB


class Misplaced(Exception):
    """What the document holds at some offset is not what the first part wrote there."""


class InPlace:
    """The first part's sink in the output file itself (the spool's write/tell/flush): bytes
    written at `pos` with os.pwrite, the file's own offset untouched."""

    __slots__ = ("fd", "base", "pos", "advised")

    def __init__(self, fd: int, base: int) -> None:
        self.fd, self.base, self.pos, self.advised = fd, base, base, base

    @classmethod
    def of(cls, stream: TextIO) -> "InPlace | None":
        """The sink for `stream` when it is a UTF-8 text stream over a regular file opened for
        reading and writing without O_APPEND (its flushed position is where the document starts),
        else None (a pipe, a terminal, an appended file, a StringIO: the spools as before)."""
        raw = _utf8_buffer(stream)
        if raw is None:
            return None
        try:
            stream.flush()
            raw.flush()
            fd = raw.fileno()
            flags = _fcntl_flags(fd)
            if not stat.S_ISREG(os.fstat(fd).st_mode) or flags & os.O_APPEND or \
                    flags & os.O_ACCMODE != os.O_RDWR:
                return None
            return cls(fd, os.lseek(fd, 0, os.SEEK_CUR))
        except (AttributeError, OSError, ValueError):
            return None

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            done = os.pwrite(self.fd, view, self.pos)
            self.pos += done
            view = view[done:]
        if self.pos - self.advised >= _ADVICE_BYTES:
            _start_writeback(self.fd, self.advised, self.pos - self.advised)
            self.advised = self.pos

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        pass

    def undo(self) -> None:
        """Nothing written: the file as it was before (the plain path then writes it)."""
        os.ftruncate(self.fd, self.base)
        os.lseek(self.fd, self.base, os.SEEK_SET)

    def move_out(self, end: int, spool) -> None:
        """Bytes base..end of the output to the same offsets of `spool`, the output cut back to base."""
        at = self.base
        spool.flush()
        spool.seek(at)
        try:  # in the kernel (no copy through this process's memory), at the spool's offset
            at = end - _send(spool.fileno(), self.fd, at, end - at)
        except (AttributeError, OSError, ValueError):
            pass  # (what is left is read and written a block at a time)
        spool.seek(at)
        while at < end:
            data = os.pread(self.fd, min(end - at, 1 << 20), at)
            if not data:
                raise RuntimeError("explain: the output ended early")
            spool.write(data)
            at += len(data)
        spool.flush()
        self.undo()


def _fcntl_flags(fd: int) -> int:
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_GETFL)


class Placer:
    """The document's writer (what JsonWriter writes to, and the claims' copies): up to `end`
    (the end of what the InPlace sink wrote) it only checks that each text and claim stretch is
    already in place (Misplaced when not), from there it writes to `stream`. Without a sink
    (`inplace` None) it writes everything."""

    def __init__(self, stream: TextIO, spools, inplace: InPlace | None = None, end: int = 0) -> None:
        self.stream, self.spools = stream, spools
        self.inplace = inplace
        self.pos, self.end = (inplace.base, end) if inplace is not None else (0, 0)
        self.checking = inplace is not None and self.pos < end
        if inplace is not None and not self.checking:
            os.lseek(inplace.fd, end, os.SEEK_SET)

    def write(self, text: str) -> None:
        if not self.checking:
            self.stream.write(text)
            return
        data = text.encode("utf-8", "surrogateescape")
        end = self.pos + len(data)
        if end > self.end or os.pread(self.inplace.fd, len(data), self.pos) != data:
            raise Misplaced()
        self._advance(end)

    def copy(self, number: int, first: int, end: int) -> None:
        """Spool `number`'s bytes first..end (spool 0 is in place: checked, not copied)."""
        if not self.checking:
            _copy(self.spools[number], self.stream, first, end)
            return
        if number != 0 or first != self.pos or end > self.end:
            raise Misplaced()
        self._advance(end)

    def _advance(self, end: int) -> None:
        self.pos = end
        if end == self.end:  # the rest is written after what is in place
            self.checking = False
            os.lseek(self.inplace.fd, end, os.SEEK_SET)

    def finish(self) -> None:
        """After the document: it reached past the stretch in place (else Misplaced), and the
        file ends where the document does (in place, the part's last separator was beyond it)."""
        if self.checking:
            raise Misplaced()
        if self.inplace is not None:
            self.stream.flush()
            os.ftruncate(self.inplace.fd, os.lseek(self.inplace.fd, 0, os.SEEK_CUR))


def _copy(spool, stream: TextIO, first: int, end: int) -> None:
    """Bytes first..end of the spool to `stream`, a block at a time: as bytes to a UTF-8 stream's
    buffer (the spool is UTF-8), else as text (cut after a line break, which no UTF-8 sequence holds)."""
    remaining = end - first
    raw = _utf8_buffer(stream)
    if raw is not None:
        stream.flush()
        remaining = _sendfile(spool, raw, first, remaining)
    spool.seek(end - remaining)
    carry = b""
    while remaining > 0:
        data = spool.read(min(remaining, 1 << 22))
        if not data:
            raise RuntimeError("explain: the spooled claims ended early")
        remaining -= len(data)
        if raw is not None:
            raw.write(data)
            continue
        block = carry + data if carry else data
        carry = b""
        if remaining > 0:
            cut = block.rfind(b"\n") + 1
            carry, block = block[cut:], block[:cut]
        stream.write(block.decode("utf-8", "surrogateescape"))
    if raw is not None:
        raw.flush()


def _sendfile(spool, raw, first: int, count: int) -> int:
    """Copy spool bytes first..first+count to the buffer's file descriptor in the kernel
    (os.sendfile: no copy through Python); the bytes left to copy (all of them where it cannot)."""
    try:
        spool.flush()
        raw.flush()
        out = raw.fileno()
        source = spool.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's BytesIO) or closed
        return count
    try:
        at = os.lseek(out, 0, os.SEEK_CUR)  # where the copy lands in the output
    except OSError:
        at = None  # a pipe: nothing to start writing back
    left = _send(out, source, first, count)
    if left == 0 and at is not None:
        _start_writeback(out, at, count)
    return left


def _send(out: int, source: int, offset: int, count: int) -> int:
    """os.sendfile of source's bytes offset..offset+count to `out` at its position, in the kernel;
    the bytes left where the system stops or cannot (this kind of file: they are copied as bytes)."""
    while count > 0:
        try:
            sent = os.sendfile(out, source, offset, min(count, 1 << 30))
        except OSError:
            return count
        if sent == 0:
            return count
        offset += sent
        count -= sent
    return 0


def _start_writeback(out: int, offset: int = 0, length: int = 0) -> None:
    """Have the system start writing what was copied to the output's disk now (POSIX_FADV_DONTNEED
    starts the writeback of dirty pages without waiting for it), so the fsync the output's atomic
    writer ends with waits for less of the file; nothing for a pipe or where the system cannot.
    Only the bytes just copied (offset, length; 0: to the end): advice on the whole file after
    each part walked every page written before it again (~20 parts at 10k claims, 0.6-4 ms each)."""
    if hasattr(os, "posix_fadvise"):
        try:
            os.posix_fadvise(out, offset, length, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass


def _utf8_buffer(stream: TextIO):
    """The binary buffer under a UTF-8 text stream (a file from atomic_writer, stdout in a UTF-8
    locale), or None. The spooled JSON holds no lone surrogate (the 835 was ASCII; our words are
    text), so its bytes are what the stream would write with any error handler."""
    import codecs

    buffer = getattr(stream, "buffer", None)
    encoding = getattr(stream, "encoding", None)
    if buffer is None or not encoding:
        return None
    try:
        return buffer if codecs.lookup(encoding).name == "utf-8" else None
    except LookupError:
        return None
