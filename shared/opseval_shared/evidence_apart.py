"""A result or the findings as the store keeps them: the evidence ids apart from the model.

At a million events a result cites 2.6 million evidence ids (three leaves the same 578,549), and as
JSON they are nine tenths of its 82 MB: pydantic encoding them was most of what scoring wrote per
change, and decoding them most of what a read paid, also a read that wanted one leaf or only counts.
Kept apart, the body is

    MAGIC, "<skeleton length> <index length>\\n", skeleton, index, lists

where the skeleton is the model's JSON with each long id list (of findings, leaves and the
measurements shipped with the findings) replaced by a reference, ("@k",) (an event id cannot begin
with '@'), the index the byte span and count of list k as JSON, and the lists their ids one per line
(an event id holds no line break). A list cited twice is written once.
`joined` gives back the model equal to the one kept, to the bytes of its JSON; `Apart` reads the
skeleton and, of the lists, only those asked for. A body without MAGIC is the model's JSON, as every
body was before: it is read as such."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from itertools import accumulate, chain
from threading import Lock
from typing import TypeVar

import orjson

from .base import RUN_IDS, IdRuns, Ids, SortedIds
from .messaging import FindingsChanged
from .results import EvaluationResult, Finding, ScoredIndicator
from .values import Measurement

MAGIC = b"\x00opseval evidence apart 1\n"  # a JSON body never begins with NUL
_HEAD_WITHIN = len(MAGIC) + 48  # bytes: MAGIC and the line of the two lengths
INLINE_BELOW = 64  # ids: a shorter list stays in the skeleton (a delivered document cites one event)
_REFERENCE = "@"

Kept = TypeVar("Kept", EvaluationResult, FindingsChanged)
IdList = tuple[str, ...] | IdRuns


def apart(model: Kept) -> bytes:
    """The body to keep: the model with its long evidence lists apart (see the module)."""
    return b"".join(apart_parts(model))


def apart_parts(model: Kept) -> tuple[bytes, ...]:
    """`apart`'s body as the parts it is the concatenation of, not joined: the lists' parts are
    those kept from the last dumps (`_KeptLists`), and a store compresses the parts as they are."""
    skeleton, lists = referenced(model)
    chunks: list[bytes] = []
    spans: list[tuple[int, int, int]] = []
    at = 0
    for ids in lists:
        parts = _KEPT_LISTS.encoded_parts(ids)
        chunks += parts
        length = sum(map(len, parts))
        spans.append((at, at + length, len(ids)))
        at += length
    skeleton_json, index = skeleton.json_bytes(), orjson.dumps(spans)
    return (MAGIC, b"%d %d\n" % (len(skeleton_json), len(index)), skeleton_json, index, *chunks)


def _items_compared() -> Callable[[IdList, int, IdList, int, int], bool] | None:
    """`same(a, i, b, j, n)`: whether a[i:i+n] and b[j:j+n] hold the very same objects, by comparing
    the tuples' arrays of references (a memcmp), which reads no string: slicing or comparing the
    tuples would touch every string's reference count, a cache miss each at a million ids, which is
    what encoding them costs. CPython only (a tuple's references follow its header); None elsewhere,
    or if a check of the layout fails."""
    try:
        import ctypes

        memcmp = ctypes.CDLL(None).memcmp
    except (ImportError, OSError, AttributeError):
        return None
    memcmp.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    memcmp.restype = ctypes.c_int
    at, width = tuple.__basicsize__, tuple.__itemsize__
    if width != ctypes.sizeof(ctypes.c_void_p):
        return None
    probe = ("a", "b")
    for made in (probe, Ids(probe)):
        if [ctypes.c_void_p.from_address(id(made) + at + width * i).value for i in (0, 1)] != list(map(id, probe)):
            return None

    def same(a: IdList, i: int, b: IdList, j: int, n: int) -> bool:
        # (Both are kept alive by the caller, and a tuple's references never change.)
        return bool(memcmp(id(a) + at + width * i, id(b) + at + width * j, width * n) == 0)

    return same


_SAME_ITEMS = _items_compared()
_CHUNK = RUN_IDS  # ids per chunk of a long list's encoding: a list in runs (IdRuns) has a chunk per run
_SEPARATOR = b"\n"


class _Encoded:
    """A list kept with its encoding, in chunks: `chunks[k]` encodes ids[starts[k]:starts[k + 1]]
    (the last to the end); the list's encoding is the chunks joined by line breaks."""

    __slots__ = ("chunks", "decoded", "ids", "length", "starts")

    def __init__(self, ids: IdList, starts: list[int], chunks: list[bytes], decoded: bool) -> None:
        self.ids, self.starts, self.chunks = ids, starts, chunks
        self.length = sum(map(len, chunks)) + len(chunks) - 1
        self.decoded = decoded  # its fresh chunks' strings were made by decoding them

    def span(self, k: int) -> tuple[int, int]:
        """Where chunk k's ids are in the list: ids[start:end]."""
        return self.starts[k], self.starts[k + 1] if k + 1 < len(self.starts) else len(self.ids)

    def weight(self, k: int) -> int:
        """The memory chunk k holds: its bytes, and if it was decoded, its strings (≈ 49 bytes of
        object and the characters each), where an encoded list's strings are the ledger's anyway.
        A chunk taken by a later list is held by both, and counted once (`_KeptLists._keep`)."""
        if not self.decoded:
            return len(self.chunks[k])
        start, end = self.span(k)
        return 2 * len(self.chunks[k]) + (49 - 1) * (end - start)

    def parts(self) -> list[bytes]:
        out = [_SEPARATOR] * (2 * len(self.chunks) - 1)
        out[::2] = self.chunks
        return out

    def holds(self, data: bytes | memoryview) -> bool:
        """Whether `data` is this list's encoding (its length already known to be the same)."""
        at = 0
        for chunk in self.chunks:
            # (`startswith` of the same length: a memcmp, where bytes == memoryview goes byte by byte)
            end = at + len(chunk)
            if not chunk.startswith(data[at:end]) or (end < len(data) and data[end] != _SEPARATOR[0]):
                return False
            at += len(chunk) + 1
        return True


def _encoded_afresh(
    ids: Sequence[str], lo: int, hi: int, starts: list[int], chunks: list[bytes], offset: int = 0
) -> None:
    """ids[lo:hi] encoded in chunks of about `_CHUNK` ids, appended to `chunks`, and their starts,
    plus `offset`, to `starts`."""
    for a, b in _even_cuts(lo, hi):
        starts.append(offset + a)
        # (No event id holds a line break: `Apart.ids` checks. A slice of Ids is a plain tuple, which
        # str.join takes as it is, where it copies a tuple's subclass into a list first.)
        chunks.append("\n".join(ids[a:b]).encode("utf-8"))


def _even_cuts(lo: int, hi: int) -> Iterator[tuple[int, int]]:
    """[lo, hi) cut into the fewest pieces of at most `_CHUNK`, as even as can be."""
    pieces = -(-(hi - lo) // _CHUNK)
    for k in range(pieces):
        yield lo + (hi - lo) * k // pieces, lo + (hi - lo) * (k + 1) // pieces


def _reusable(ids: IdList, before: _Encoded) -> tuple[list[tuple[int, int, bytes | None]], int]:
    """`ids` in ranges, each with the chunk of `before` that encodes it, if one does, taking each
    chunk of `before` whose ids `ids` holds unchanged, in the same place relative to that chunk's
    first id; and how many ids the chunks taken cover. Nothing is encoded here.

    A growing project's list of one source is its last list with a batch of ids placed in it: where
    upstream ids carry a sequence or a date, in a few places, so most chunks are the same objects
    in the same order, found by comparing references, without reading an id (`_SAME_ITEMS`). Where
    ids are random, nearly every chunk changed and nothing is gained; nothing is lost but the few
    comparisons either."""
    assert _SAME_ITEMS is not None
    old, old_starts = before.ids, before.starts
    n = len(ids)
    # Where each old chunk's first id is, or would be, in the new list (they are sorted: bisect).
    # (The ranges cover the new list in order whatever it holds: the places never go back.)
    places: list[int] = []
    lo = 0
    for start in old_starts:
        lo = bisect_left(ids, old[start], lo)
        places.append(lo)
    places.append(n)
    ranges: list[tuple[int, int, bytes | None]] = [(0, places[0], None)] if places[0] > 0 else []
    taken = 0
    for k in range(len(old_starts)):
        start, end = before.span(k)
        lo, hi = places[k], places[k + 1]
        if hi - lo == end - start and _SAME_ITEMS(ids, lo, old, start, hi - lo):
            ranges.append((lo, hi, before.chunks[k]))
            taken += hi - lo
        elif hi > lo:
            ranges.append((lo, hi, None))
    return ranges, taken


Plan = TypeVar("Plan")


def _most_taken(kept: list[_Encoded], count: int, plan: Callable[[_Encoded], tuple[Plan, int]]) -> Plan | None:
    """Of the kept lists a list of `count` ids most likely grew from (the nearest in length: a batch
    adds a few ids), the plan that takes the most ids from one, if it takes more than half."""
    near = [k for k in kept if count // 2 <= len(k.ids) <= 2 * count]
    near.sort(key=lambda k: abs(count - len(k.ids)))
    best, most = None, count // 2  # (taking less is not worth the chunks)
    for before in near[:_CANDIDATES]:
        made, taken = plan(before)
        if taken > most:
            best, most = made, taken
            if 10 * taken >= 9 * count:  # (a better one would spare little more)
                break
    return best


Piece = tuple[bytes, int, int]  # part[lo:hi] of the parts a body is the concatenation of


class _NotInLines(Exception):
    """Parts of a list's bytes whose ends are not at line breaks: read as one piece of bytes."""


def _runs_read(pieces: Sequence[Piece], known: Sequence[Ids | None]) -> Iterator[tuple[Ids, bytes, bool]]:
    """A list's bytes, the pieces of the parts a body is, as runs in order: (run, chunk, whether it
    is a run kept for its part). A whole part that is a chunk the writer wrote (the content of a
    frame) is one run, that part its chunk: the run `known` for the part, or its lines. The pieces
    between are lines too, cut into runs. Raises `_NotInLines` where a whole part taken as lines
    does not begin or end at a line break of the pieces around it."""
    text: list[memoryview] = []
    after_run = False  # whether the text follows a run of a whole part (and begins at its line break)
    for (part, lo, hi), kept_run in zip(pieces, known, strict=True):
        run = kept_run if lo == 0 and hi == len(part) else None
        if run is None and lo == 0 and hi == len(part):
            run = _chunk_read(part)
        if run is None:
            text.append(memoryview(part)[lo:hi])
            continue
        yield from _text_runs(text, after_run, before_run=True)
        text = []
        yield run, part, run is kept_run
        after_run = True
    yield from _text_runs(text, after_run, before_run=False)


def _chunk_read(part: bytes) -> Ids | None:
    """The ids of a part read, if it may be a chunk a writer wrote: long, neither beginning nor
    ending with a line break (a separator between chunks), and no longer than a run."""
    if len(part) < _WHOLE_PART_FROM or part[0] == _SEPARATOR[0] or part[-1] == _SEPARATOR[0]:
        return None
    lines = str(part, "utf-8").split("\n")
    return Ids(lines) if len(lines) <= 2 * RUN_IDS else None


def _text_runs(
    text: Sequence[memoryview | bytes], after_run: bool, before_run: bool
) -> Iterator[tuple[Ids, bytes, bool]]:
    """The lines of `text` (the pieces joined) in even runs, with their encodings; the line break
    that ends a run before them, and the one that begins a run after them, dropped."""
    if not text:
        if after_run and before_run:  # two whole parts with no line break between them
            raise _NotInLines
        return
    data = text[0] if len(text) == 1 else b"".join(text)
    lines = str(data, "utf-8").split("\n")
    if after_run:
        if lines[0]:
            raise _NotInLines
        del lines[0]
    if before_run:
        if not lines or lines[-1]:
            raise _NotInLines
        del lines[-1]
    for a, b in _even_cuts(0, len(lines)):
        run = Ids(lines[a:b])
        yield run, "\n".join(lines[a:b]).encode("utf-8"), False


def _joined(pieces: Sequence[Piece]) -> bytes | memoryview:
    """The bytes of the pieces laid end to end (one piece: not copied)."""
    if len(pieces) == 1:
        part, lo, hi = pieces[0]
        return part if lo == 0 and hi == len(part) else memoryview(part)[lo:hi]
    return b"".join(memoryview(part)[lo:hi] for part, lo, hi in pieces)


def _same_runs(ids: IdList, runs: Sequence[Ids]) -> bool:
    """Whether a kept list is, run by run, the very runs given."""
    return (
        type(ids) is IdRuns and len(ids.runs) == len(runs) and all(a is b for a, b in zip(ids.runs, runs, strict=True))
    )


class _KeptLists:
    """The long lists the last dumps wrote and reads read, with their encoded ids, by the identity of
    the list (a tuple: immutable; kept alive here, so no other list takes its identity).

    A growing project's evaluations hand the same list objects again for what did not change (a
    log's sorted ids, a union kept by `merge_ids`), and the findings and the result cite many of the
    same: at a million events 40-70 % of a result's 2 million ids and all of the findings' half a
    million, each of which costs a cache miss to encode again. A read of a body gives back the list
    kept for the same runs (or, of a body read as one piece, the same bytes), so the scoring service,
    which reads the rules' findings and writes them again in its result, neither decodes nor encodes
    them anew, and a page through one leaf's evidence decodes it once.

    A list in runs (`IdRuns`: a log's sorted ids, a union of such lists) is encoded a chunk per run,
    and a run a kept list holds is taken with its chunk, by identity: a log grown by a batch shares
    all runs but the ones the batch fell in. Another list that grew since is encoded in chunks, and
    the chunks of a kept list it holds unchanged are taken as they are (`_reusable`). Read from a
    store, a body comes as its frames' contents, a long chunk each, the very object the last read
    gave for the same frame (`Snapshot`): a chunk a kept list holds is its run, taken by the part's
    identity without a look at its bytes (`decoded`); the list read is in runs too, and its chunks
    those parts, so the next read takes them again and the next write writes them as they are.

    Bounded by the memory it holds, the least recently used dropped: the encoded bytes and the
    tuple, and for a list it decoded, its strings too; a chunk two lists hold counts once."""

    def __init__(self, at_most: int) -> None:
        self.at_most = at_most
        self.size = 0  # bytes held: the tuples' references, and each chunk's weight once (`_keep`)
        # A chunk's identity → how many kept lists hold it, and its weight (`_Encoded.weight`). (The
        # chunks are alive while a kept list holds them: no other takes their identity meanwhile.)
        self._chunk_users: dict[int, list[int]] = {}
        # A run's identity (of a kept list in runs, `IdRuns`) → its chunk and how many kept lists
        # hold it; its references count once against the bound, as its chunk does.
        self._runs_held: dict[int, _HeldRun] = {}
        # A chunk's identity → the run it encodes (of a kept list in runs): a part read that is that
        # very object is that run (`decoded`).
        self._run_of_chunk: dict[int, Ids] = {}
        self._by_identity: OrderedDict[int, _Encoded] = OrderedDict()
        self._by_length: dict[int, set[int]] = {}  # encoded length → identities
        self._lock = Lock()

    def lists(self) -> list[IdList]:
        """The lists kept, least recently used first."""
        return [kept.ids for kept in self._by_identity.values()]

    def encoded_parts(self, ids: IdList) -> list[bytes]:
        """The encoding of `ids`, one per line, as parts to be joined."""
        key = id(ids)
        with self._lock:
            kept = self._by_identity.get(key)
            if kept is not None:
                self._by_identity.move_to_end(key)
                return kept.parts()
        if len(ids) < _KEPT_FROM:  # a shorter list costs little to encode again
            return ["\n".join(tuple(ids)).encode("utf-8")]
        made = self._made(ids)
        self._keep(made)
        return made.parts()

    def _made(self, ids: IdList) -> _Encoded:
        if type(ids) is IdRuns:
            return self._made_of_runs(ids)
        n = len(ids)
        ranges: list[tuple[int, int, bytes | None]] = [(0, n, None)]
        if _SAME_ITEMS is not None and type(ids) in (tuple, Ids):
            with self._lock:
                kept_lists = self._by_identity.values()
                candidates = [kept for kept in kept_lists if len(kept.starts) > 1 and type(kept.ids) in (tuple, Ids)]
            ranges = _most_taken(candidates, n, lambda before: _reusable(ids, before)) or ranges
        starts: list[int] = []
        chunks: list[bytes] = []
        for lo, hi, chunk in ranges:
            if chunk is None:
                _encoded_afresh(ids, lo, hi, starts, chunks)
            else:
                starts.append(lo)
                chunks.append(chunk)
        return _Encoded(ids, starts, chunks, decoded=False)

    def _made_of_runs(self, ids: IdRuns) -> _Encoded:
        """A list in runs, encoded a chunk per run: a run encoded before (a kept list holds it) is
        taken as it is, without a look at its ids."""
        with self._lock:
            held = [self._runs_held.get(id(run)) for run in ids.runs]
        # (A run of Ids: str.join would copy the tuple's subclass into a list first.)
        chunks = [
            h.chunk if h is not None else "\n".join(run[:]).encode("utf-8")
            for run, h in zip(ids.runs, held, strict=True)
        ]
        return _Encoded(ids, _starts(ids.runs), chunks, decoded=False)

    def decoded(self, pieces: Sequence[Piece], count: int) -> SortedIds:
        """The `count` ids of a list read, from the pieces of the body its bytes are (`_Body`), in
        runs: a whole long part is a run with that part as its chunk, the run kept for that very
        part object if one is (a frame read before: `Snapshot`), else decoded; the lines between
        are decoded and cut into runs. The list kept with the same runs, or, read from one piece of
        bytes, with the same bytes, is given back as it is."""
        if count < _KEPT_FROM:  # (a short list is not kept: read afresh)
            return Ids(str(_joined(pieces), "utf-8").split("\n"))
        with self._lock:
            known = [self._run_of_chunk.get(id(part)) for part, _, _ in pieces]
        runs: list[Ids] = []
        chunks: list[bytes] = []
        taken = False  # whether a run was taken as it was kept
        try:
            for run, chunk, was_kept in _runs_read(pieces, known):
                taken = taken or was_kept
                # Two short neighbours made one: a list read change by change, each adding a few ids
                # in one place, would otherwise gain a run a change.
                if runs and len(runs[-1]) + len(run) <= _CHUNK and len(chunks[-1]) + len(chunk) < _WHOLE_PART_FROM:
                    runs[-1], chunks[-1] = Ids(chain(runs[-1], run)), chunks[-1] + _SEPARATOR + chunk
                else:
                    runs.append(run)
                    chunks.append(chunk)
        except _NotInLines:
            # (Parts that are not whole lines between line breaks: not a body `apart_parts` wrote.)
            runs, chunks, taken = [], [], False
            for run, chunk, _ in _text_runs([_joined(pieces)], after_run=False, before_run=False):
                runs.append(run)
                chunks.append(chunk)
        length = sum(hi - lo for _, lo, hi in pieces)
        with self._lock:
            candidates = [key for key in self._by_length.get(length, ()) if len(self._by_identity[key].ids) == count]
        data = None
        for key in candidates:
            kept = self._by_identity[key]
            if taken:
                same = _same_runs(kept.ids, runs)
            else:
                data = data if data is not None else _joined(pieces)
                same = kept.holds(data)
            if same:
                with self._lock:
                    if key in self._by_identity:
                        self._by_identity.move_to_end(key)
                ids = kept.ids
                return ids if type(ids) is Ids or type(ids) is IdRuns else Ids(ids)
        ids = IdRuns(runs)
        if len(ids) == count:  # (else the caller refuses the body)
            self._keep(_Encoded(ids, _starts(runs), chunks, decoded=True))
        return ids

    def _keep(self, made: _Encoded) -> None:
        key = id(made.ids)
        with self._lock:
            if key in self._by_identity:
                return
            self._by_identity[key] = made
            self._by_length.setdefault(made.length, set()).add(key)
            runs = made.ids.runs if type(made.ids) is IdRuns else None
            if runs is None:
                self.size += 8 * len(made.ids)  # the tuple's references
            for k, chunk in enumerate(made.chunks):
                users = self._chunk_users.get(id(chunk))
                if users is None:
                    self._chunk_users[id(chunk)] = [1, made.weight(k)]
                    self.size += made.weight(k)
                else:
                    users[0] += 1
            for run, chunk in zip(runs, made.chunks, strict=True) if runs is not None else ():
                self._run_of_chunk.setdefault(id(chunk), run)
                held = self._runs_held.get(id(run))
                if held is None:
                    self._runs_held[id(run)] = _HeldRun(chunk)
                    self.size += 8 * len(run)
                else:
                    held.users += 1
            while self.size > self.at_most:
                dropped, old = self._by_identity.popitem(last=False)
                self._by_length[old.length].discard(dropped)
                if not self._by_length[old.length]:
                    del self._by_length[old.length]
                runs = old.ids.runs if type(old.ids) is IdRuns else None
                if runs is None:
                    self.size -= 8 * len(old.ids)
                for chunk in old.chunks:
                    users = self._chunk_users[id(chunk)]
                    users[0] -= 1
                    if not users[0]:
                        del self._chunk_users[id(chunk)]
                        self._run_of_chunk.pop(id(chunk), None)
                        self.size -= users[1]
                for run in runs or ():
                    held = self._runs_held[id(run)]
                    held.users -= 1
                    if not held.users:
                        del self._runs_held[id(run)]
                        self.size -= 8 * len(run)


def _starts(runs: Sequence[Ids]) -> list[int]:
    """Where each run begins in the list they make."""
    return list(accumulate((len(run) for run in runs[:-1]), initial=0))


class _HeldRun:
    __slots__ = ("chunk", "users")

    def __init__(self, chunk: bytes) -> None:
        self.chunk, self.users = chunk, 1


_KEPT_FROM = 4096  # ids
_WHOLE_PART_FROM = 4096  # bytes: a part read that is lines, from this long, is a run of its own
_CANDIDATES = 8  # kept lists tried as the one a new list grew from
# (A million-event project's result and findings: about 80 MB, as encoded by rules or scoring.)
_KEPT_LISTS = _KeptLists(at_most=128 * 2**20)


def referenced(model: Kept) -> tuple[Kept, list[IdList]]:
    """The model with each long evidence list replaced by a reference to it, ("@k",), and the lists:
    each distinct one once, k its place."""
    lists = _Lists()
    update: dict[str, object] = {"findings": tuple(_finding(f, lists.reference) for f in model.findings)}
    if isinstance(model, EvaluationResult):
        update["indicators"] = _tree(model.indicators, lists.reference)
    elif model.measurements:
        update["measurements"] = {ref: _measurement_referenced(m, lists) for ref, m in model.measurements.items()}
    return model.model_copy(update=update), lists.distinct


def joined(body: bytes | Sequence[bytes], cls: type[Kept]) -> Kept:
    """The model kept in `body` (made by `apart`, or plain JSON; bytes, or the parts they are the
    concatenation of), its evidence lists in place."""
    return Apart(body).joined(cls)


class _Body:
    """A body as the parts it is the concatenation of (a snapshot read: its frames' contents),
    never joined whole: its head and skeleton are copied out, its lists read as pieces of parts."""

    __slots__ = ("parts", "size", "starts")

    def __init__(self, parts: Sequence[bytes]) -> None:
        self.parts = parts
        self.starts = list(accumulate(map(len, parts), initial=0))
        self.size = self.starts.pop()

    def pieces(self, start: int, end: int) -> list[Piece]:
        """body[start:end] as (part, lo, hi): part[lo:hi] of each part it spans, in order."""
        out: list[Piece] = []
        k = bisect_right(self.starts, start) - 1
        while start < end:
            part, at = self.parts[k], self.starts[k]
            hi = min(len(part), end - at)
            if hi > start - at:
                out.append((part, start - at, hi))
            start, k = at + hi, k + 1
        return out

    def bytes(self, start: int, end: int) -> bytes:
        data = _joined(self.pieces(start, end)) if end > start else b""
        return data if type(data) is bytes else bytes(data)


class Apart:
    """A kept body, read lazily: the skeleton at once, a list when it is asked for. A body without
    MAGIC (plain JSON, as bodies were kept before) is its own skeleton and refers to no list."""

    def __init__(self, body: bytes | Sequence[bytes]) -> None:
        self._read: dict[int, SortedIds] = {}
        self._body = _Body((body,) if isinstance(body, bytes) else body)
        size = self._body.size
        head = self._body.bytes(0, min(size, _HEAD_WITHIN))
        if not head.startswith(MAGIC):
            self.skeleton, self._spans, self._lists_at = self._body.bytes(0, size), [], size
            return
        head_end = head.index(b"\n", len(MAGIC))
        skeleton_length, index_length = map(int, head[len(MAGIC) : head_end].split())
        start = head_end + 1
        self.skeleton = self._body.bytes(start, start + skeleton_length)
        self._spans = orjson.loads(self._body.bytes(start + skeleton_length, start + skeleton_length + index_length))
        self._lists_at = start + skeleton_length + index_length

    def model(self, cls: type[Kept]) -> Kept:
        """The model with its long evidence lists as references (see `resolved` and `count`)."""
        return cls.model_validate_json(self.skeleton)

    def joined(self, cls: type[Kept]) -> Kept:
        model = self.model(cls)
        if not self._spans:
            return model
        update: dict[str, object] = {"findings": tuple(_finding(f, self.resolved) for f in model.findings)}
        if isinstance(model, EvaluationResult):
            update["indicators"] = self.tree(model.indicators)
        elif model.measurements:
            update["measurements"] = {ref: self.measurement(m) for ref, m in model.measurements.items()}
        return model.model_copy(update=update)

    def measurement(self, measurement: Measurement) -> Measurement:
        """A skeleton's measurement with its evidence list in place."""
        evidence = self.resolved(measurement.evidence)
        return measurement if evidence is measurement.evidence else replace(measurement, evidence=evidence)

    def tree(
        self, indicators: tuple[ScoredIndicator, ...], where: Callable[[ScoredIndicator], bool] | None = None
    ) -> tuple[ScoredIndicator, ...]:
        """A skeleton's indicators with every list in place, or the lists of those `where` selects."""
        return _tree(indicators, self.resolved, where)

    def resolved(self, evidence: IdList) -> IdList:
        """A skeleton's evidence with its reference, if it is one, replaced by the list."""
        k = reference(evidence)
        return evidence if k is None else self.ids(k)

    def count(self, evidence: IdList) -> int:
        """How many ids a skeleton's evidence stands for, without reading them."""
        k = reference(evidence)
        return len(evidence) if k is None else self._spans[k][2]

    def ids(self, k: int) -> SortedIds:
        kept = self._read.get(k)
        if kept is None:
            start, end, count = self._spans[k]
            kept = _KEPT_LISTS.decoded(self._body.pieces(self._lists_at + start, self._lists_at + end), count)
            if len(kept) != count:
                raise ValueError(f"evidence list {k} holds {len(kept)} ids, its index says {count}")
            self._read[k] = kept
        return kept


def reference(evidence: Sequence[str] | None) -> int | None:
    """The list a skeleton's evidence refers to, or None for ids kept in place."""
    if evidence is not None and len(evidence) == 1 and evidence[0].startswith(_REFERENCE):
        return int(evidence[0][1:])
    return None


class _Lists:
    """The long lists of a model, each distinct one once."""

    def __init__(self) -> None:
        self.distinct: list[IdList] = []
        self._by_identity: dict[int, tuple[IdList, str]] = {}
        self._by_shape: dict[tuple[int, str, str], list[tuple[IdList, str]]] = {}

    def reference(self, evidence: IdList) -> IdList:
        if len(evidence) < INLINE_BELOW:
            return evidence
        known = self._by_identity.get(id(evidence))
        if known is not None:
            return (known[1],)
        # Equal lists are often distinct tuples (two measures over one log): compared only when they
        # have the same length and ends, and equal ones hold the same strings, compared by identity.
        same_shape = self._by_shape.setdefault((len(evidence), evidence[0], evidence[-1]), [])
        for other, ref in same_shape:
            if other == evidence:
                self._by_identity[id(evidence)] = (evidence, ref)  # (kept alive: no other takes its id)
                return (ref,)
        ref = f"{_REFERENCE}{len(self.distinct)}"
        self.distinct.append(evidence)
        self._by_identity[id(evidence)] = (evidence, ref)
        same_shape.append((evidence, ref))
        return (ref,)


def _measurement_referenced(measurement: Measurement, lists: _Lists) -> Measurement:
    """A measurement with its evidence, if long, replaced by a reference: only `Ids` (known sorted and
    distinct), as a list is read back as one; another list stays in place and reads back as the tuple
    it was, so that whatever orders a measurement's evidence still does."""
    if type(measurement.evidence) is not Ids and type(measurement.evidence) is not IdRuns:
        return measurement
    evidence = lists.reference(measurement.evidence)
    return measurement if evidence is measurement.evidence else replace(measurement, evidence=evidence)


def _finding(finding: Finding, mapped: Callable[[IdList], IdList]) -> Finding:
    evidence = mapped(finding.evidence)
    return finding if evidence is finding.evidence else finding.model_copy(update={"evidence": evidence})


def _tree(
    nodes: tuple[ScoredIndicator, ...],
    mapped: Callable[[IdList], IdList],
    where: Callable[[ScoredIndicator], bool] | None = None,
) -> tuple[ScoredIndicator, ...]:
    """The indicators with each one's evidence mapped (of those `where` selects, if given); a node
    nothing changed in is kept as it is."""
    out = []
    for node in nodes:
        update: dict[str, object] = {}
        children = _tree(node.children, mapped, where) if node.children else node.children
        if children is not node.children:
            update["children"] = children
        if node.evidence is not None and (where is None or where(node)):
            evidence = mapped(node.evidence)
            if evidence is not node.evidence:
                update["evidence"] = evidence
        out.append(node.model_copy(update=update) if update else node)
    if all(new is old for new, old in zip(out, nodes, strict=True)):
        return nodes
    return tuple(out)
