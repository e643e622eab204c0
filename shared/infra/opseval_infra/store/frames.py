"""A snapshot body compressed as Zstandard frames laid end to end, one per long part, each part's
frame kept between writes and each frame's content kept between reads.

A million-event project's bodies are 25-60 MB, rewritten on every change: the evidence lists in
them are chunks of about 1,024 ids (`opseval_shared.evidence_apart`), most of which are the very
same bytes objects as in the last body. Compressing the whole body again cost 10-25 % of the rules'
and the scoring service's CPU under load, and the scoring service's decompressing of the rules'
body another 20 % of its. As frames, a part compressed before is its frame again (kept by the
identity of the part: bytes are immutable), and a frame read before is its content again (kept by
the frame's bytes). A read hands the contents on as the parts of the body, not joined
(`frame_contents`): the same object for the same frame, which a reader can know by its identity.
Concatenated frames are one Zstandard stream (RFC 8878, section 3.1); a body of one frame, as
bodies were written before, reads as before."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from threading import Lock

import zstandard

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
FRAME_FROM = 8 * 1024  # bytes: a longer part is a frame of its own; shorter ones share one


def compress_parts(parts: Sequence[bytes]) -> bytes:
    """The parts laid end to end as a stream of frames: each long part one frame (the one kept for
    that part object, if any), each run of short parts between them one."""
    out: list[bytes] = []
    short: list[bytes] = []
    compressor = zstandard.ZstdCompressor(level=1)  # (not thread-safe: one per call)
    for part in parts:
        if len(part) < FRAME_FROM:
            short.append(part)
            continue
        if short:
            out.append(compressor.compress(b"".join(short)))
            short.clear()
        out.append(_frame(part, compressor))
    if short or not out:
        out.append(compressor.compress(b"".join(short)))
    return b"".join(out)


def frame_contents(stored: bytes) -> tuple[bytes, ...]:
    """The content of each frame of a stream, not joined: a frame read before gives the very
    content object it gave then (while it is kept), so a reader can know a part it read before by
    its identity, and a million-event body costs no 40-80 MB join, which was most of a read."""
    ends = frame_ends(stored)
    decompressor = zstandard.ZstdDecompressor()
    if len(ends) == 1:
        return (decompressor.decompress(stored),)
    view = memoryview(stored)
    return tuple(_content(view[start:end], decompressor) for start, end in zip([0, *ends], ends, strict=False))


def frame_ends(stored: bytes) -> list[int]:
    """Where each frame of a stream ends, read from the frames' and blocks' headers (RFC 8878,
    3.1.1), without decompressing. A stream that is not whole Zstandard frames is refused."""
    ends: list[int] = []
    at, size = 0, len(stored)
    while at < size:
        if stored[at : at + 4] != ZSTD_MAGIC or at + 5 > size:
            raise ValueError(f"not a Zstandard frame at byte {at} of {size}")
        descriptor = stored[at + 4]
        single_segment = descriptor >> 5 & 1
        header = (
            1  # the descriptor
            + (0 if single_segment else 1)  # the window descriptor
            + (0, 1, 2, 4)[descriptor & 3]  # the dictionary id
            + ((1 if single_segment else 0), 2, 4, 8)[descriptor >> 6]  # the content size
        )
        at += 4 + header
        while True:
            if at + 3 > size:
                raise ValueError(f"a Zstandard block header cut short at byte {at} of {size}")
            block = int.from_bytes(stored[at : at + 3], "little")
            kind = block >> 1 & 3
            if kind == 3:
                raise ValueError(f"a reserved Zstandard block type at byte {at}")
            at += 3 + (1 if kind == 1 else block >> 3)  # (an RLE block holds its one byte)
            if block & 1:  # the frame's last block
                break
        at += 4 if descriptor >> 2 & 1 else 0  # the content checksum
        if at > size:
            raise ValueError(f"a Zstandard frame cut short: it ends at byte {at} of {size}")
        ends.append(at)
    return ends


class _Kept:
    """Values kept by a key, the least recently used dropped beyond `at_most` bytes (each entry's
    size given when it is kept); thread-safe (the results API reads in threads)."""

    def __init__(self, at_most: int) -> None:
        self.at_most = at_most
        self.size = 0
        self._entries: OrderedDict[object, tuple[object, bytes, int]] = OrderedDict()
        self._lock = Lock()

    def get(self, key: object) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def keep(self, key: object, held: object, value: bytes, size: int) -> None:
        """`held`: kept alive with the value (what the key is the identity of)."""
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (held, value, size)
            self.size += size
            while self.size > self.at_most:
                _, (_, _, dropped) = self._entries.popitem(last=False)
                self.size -= dropped

    def __len__(self) -> int:
        return len(self._entries)


def _frame(part: bytes, compressor: zstandard.ZstdCompressor) -> bytes:
    """A long part's frame, the one kept for that very part object if it was written before (kept
    alive with its frame, so no other part takes its identity)."""
    frame = _WRITTEN.get(id(part))
    if frame is None:
        frame = compressor.compress(part)
        _WRITTEN.keep(id(part), part, frame, len(part) + len(frame))
    return frame


def _content(frame: memoryview, decompressor: zstandard.ZstdDecompressor) -> bytes:
    """A frame's content, the one kept for the same frame bytes if it was read before."""
    if len(frame) < _READ_KEPT_FROM:
        return decompressor.decompress(frame)
    key = bytes(frame)
    content = _READ.get(key)
    if content is None:
        content = decompressor.decompress(key)
        _READ.keep(key, None, content, len(key) + len(content))
    return content


_READ_KEPT_FROM = 256  # bytes of frame: a shorter one costs little to decompress again
# (A million-event project's findings and result: some 80 MB of parts, a twentieth of it as frames;
# the parts written are those the evidence lists keep anyway.)
_WRITTEN = _Kept(at_most=128 * 2**20)  # a part's identity → its frame
_READ = _Kept(at_most=128 * 2**20)  # a frame's bytes → its content
