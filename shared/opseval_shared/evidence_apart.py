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

from bisect import bisect_left
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

    def holds(self, data: memoryview) -> bool:
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


def _readable(raw: bytes, before: _Encoded) -> tuple[list[tuple[int, int, _Encoded | None, int]], int]:
    """`raw` (ids one per line) in byte ranges, each either chunk k of `before` (its very bytes, a
    memcmp) or lines to decode; and how many ids the chunks taken hold. The reading side of
    `_reusable`: a list the other service grew from the one read last differs from it in a few
    places, and the ids of the chunks in between are taken as they were read, not decoded again."""
    ranges: list[tuple[int, int, _Encoded | None, int]] = []
    taken = 0
    fresh = 0  # where the lines not yet taken begin
    at = 0  # where the next chunk is looked for
    missed = 0
    for k, chunk in enumerate(before.chunks):
        # The chunk where it would be if nothing changed since the last one taken, else where its
        # first line is, or would be, in order (the ids are sorted and distinct, as are the lines).
        if not _line_at(raw, at, chunk):
            first = chunk[: chunk.find(_SEPARATOR)] if _SEPARATOR in chunk else chunk
            place = _line_place(raw, first, at)
            if not _line_at(raw, place, chunk):
                missed += 1
                if missed > _MISSES_ALLOWED + 2 * len(ranges):  # (not the list this one grew from)
                    break
                continue
            at = place
        if at > fresh:
            ranges.append((fresh, at - 1, None, 0))
        ranges.append((at, at + len(chunk), before, k))
        start, end = before.span(k)
        taken += end - start
        at = fresh = at + len(chunk) + 1
    if fresh <= len(raw):  # (lines after the last chunk taken, or all)
        ranges.append((fresh, len(raw), None, 0))
    return ranges, taken


_MISSES_ALLOWED = 16  # chunks not found before a list read is taken not to have grown from a kept one


def _line_place(raw: bytes, line: bytes, lo: int) -> int:
    """Where `line` is, or would be, among the sorted lines of `raw` from byte `lo`, a line's start,
    on: a bisection over the bytes, each probe reading one line. (UTF-8 orders as the ids do.)"""
    hi = len(raw)
    while lo < hi:
        mid = (lo + hi) // 2
        start = raw.rfind(_SEPARATOR, lo, mid) + 1 or lo
        end = raw.find(_SEPARATOR, start)
        end = len(raw) if end < 0 else end
        if raw[start:end] < line:
            lo = end + 1
        else:
            hi = start
    return min(lo, len(raw))


def _line_at(raw: bytes, at: int, chunk: bytes) -> bool:
    """Whether `chunk`'s lines are whole lines of `raw` from `at`, a line's start, on."""
    end = at + len(chunk)
    return end <= len(raw) and raw.startswith(chunk, at) and (end == len(raw) or raw[end] == _SEPARATOR[0])


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


class _KeptLists:
    """The long lists the last dumps wrote and reads read, with their encoded ids, by the identity of
    the list (a tuple: immutable; kept alive here, so no other list takes its identity).

    A growing project's evaluations hand the same list objects again for what did not change (a
    log's sorted ids, a union kept by `merge_ids`), and the findings and the result cite many of the
    same: at a million events 40-70 % of a result's 2 million ids and all of the findings' half a
    million, each of which costs a cache miss to encode again. A read of a body gives back the list
    kept for the same bytes (compared whole), so the scoring service, which reads the rules'
    findings and writes them again in its result, neither decodes nor encodes them anew, and a page
    through one leaf's evidence decodes it once.

    A list in runs (`IdRuns`: a log's sorted ids, a union of such lists) is encoded a chunk per run,
    and a run a kept list holds is taken with its chunk, by identity: a log grown by a batch shares
    all runs but the ones the batch fell in. Another list that grew since is encoded in chunks, and
    the chunks of a kept list it holds unchanged are taken as they are (`_reusable`). Read, the
    chunks of a kept list the body holds unchanged are found by their bytes (`_readable`) and their
    runs taken as they are: the list read is in runs too, so the next write takes them again.

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

    def decoded(self, data: memoryview, count: int) -> SortedIds:
        with self._lock:
            for key in self._by_length.get(len(data), ()):
                kept = self._by_identity[key]
                if len(kept.ids) == count and kept.holds(data):
                    self._by_identity.move_to_end(key)
                    ids = kept.ids
                    return ids if type(ids) is Ids or type(ids) is IdRuns else Ids(ids)
        if count < _KEPT_FROM:
            return Ids(str(data, "utf-8").split("\n"))
        raw = bytes(data)
        with self._lock:
            candidates = [kept for kept in self._by_identity.values() if len(kept.starts) > 1]
        ranges = _most_taken(candidates, count, lambda before: _readable(raw, before))
        ranges = ranges or [(0, len(raw), None, 0)]
        # The ids in runs, a run per chunk: the runs of the chunks taken, as they are, and the decoded
        # lines cut into runs of their own (encoded again: to be found again, in chunks).
        runs: list[Ids] = []
        chunks: list[bytes] = []

        def add(run: Ids, chunk: bytes) -> None:
            # Two short neighbours made one: a list read change by change, each adding a few ids in
            # one place, would otherwise gain a run a change.
            if runs and len(runs[-1]) + len(run) <= _CHUNK:
                runs[-1], chunks[-1] = Ids(chain(runs[-1], run)), chunks[-1] + _SEPARATOR + chunk
            else:
                runs.append(run)
                chunks.append(chunk)

        for lo, hi, taken_from, k in ranges:
            if taken_from is None:
                lines = str(raw[lo:hi], "utf-8").split("\n")
                for a, b in _even_cuts(0, len(lines)):
                    add(Ids(lines[a:b]), "\n".join(lines[a:b]).encode("utf-8"))
            elif type(taken_from.ids) is IdRuns:
                add(taken_from.ids.runs[k], taken_from.chunks[k])
            else:
                start, end = taken_from.span(k)
                add(Ids(taken_from.ids[start:end]), taken_from.chunks[k])
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


def joined(body: bytes, cls: type[Kept]) -> Kept:
    """The model kept in `body` (made by `apart`, or plain JSON), its evidence lists in place."""
    return Apart(body).joined(cls)


class Apart:
    """A kept body, read lazily: the skeleton at once, a list when it is asked for. A body without
    MAGIC (plain JSON, as bodies were kept before) is its own skeleton and refers to no list."""

    def __init__(self, body: bytes) -> None:
        self._read: dict[int, SortedIds] = {}
        if not body.startswith(MAGIC):
            self.skeleton, self._spans, self._lists = body, [], memoryview(b"")
            return
        head_end = body.index(b"\n", len(MAGIC))
        skeleton_length, index_length = map(int, body[len(MAGIC) : head_end].split())
        start = head_end + 1
        self.skeleton = body[start : start + skeleton_length]
        self._spans = orjson.loads(body[start + skeleton_length : start + skeleton_length + index_length])
        self._lists = memoryview(body)[start + skeleton_length + index_length :]

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
            kept = _KEPT_LISTS.decoded(self._lists[start:end], count)
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
