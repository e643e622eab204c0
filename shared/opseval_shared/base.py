"""Base model and small value types shared by every contract in opseval."""

from __future__ import annotations

import gc
import sys
from bisect import bisect_left, bisect_right
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import accumulate, chain, compress, islice, pairwise
from operator import eq, is_, itemgetter, ne
from threading import Lock
from typing import TYPE_CHECKING, Annotated, TypeAlias, overload

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

# China has kept one offset (UTC+8) without daylight saving since 1991; a fixed offset keeps the
# domain free of tz database reads.
CHINA_OFFSET = timedelta(hours=8)
CHINA_TZ = timezone(CHINA_OFFSET, "Asia/Shanghai")


class Frozen(BaseModel):
    """Immutable, strict-shaped model: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def json_bytes(self) -> bytes:
        """`model_dump_json` as the UTF-8 bytes pydantic-core makes, not decoded into a str: what a
        store compresses or a broker sends is bytes (at a million events a result is 78 MB)."""
        return self.__pydantic_serializer__.to_json(self)


def _decimal_to_json(value: Decimal) -> float | int:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


# Decimal in the domain (exact arithmetic for money and scores), a plain JSON number on the wire.
Num = Annotated[Decimal, PlainSerializer(_decimal_to_json, when_used="json")]
NonNegNum = Annotated[Decimal, Field(ge=0), PlainSerializer(_decimal_to_json, when_used="json")]


class DateRange(Frozen):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def intersect(self, other: DateRange) -> DateRange | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return DateRange(start=start, end=end) if start <= end else None


def _untracked() -> Callable[[object], None]:
    """CPython's PyObject_GC_UnTrack: the object is no longer examined by the cyclic collector.

    For containers of strings only (id lists): they cannot take part in a reference cycle, and
    reference counting frees them as before. A tuple of strings is untracked by the collector itself,
    but only as it examines it, and never a subclass such as `Ids`; a list never. At a million events
    an evaluation makes lists of up to 600,000 ids that every young pass walked element by element,
    each a cache miss: 50-100 ms of CPU per change of a million-event project, and a ledger's id logs
    walked again by every full pass. (Examining an untracked container's referents is safe either
    way: what it refers to counts as referenced from outside.)"""
    try:
        import ctypes

        untrack = ctypes.pythonapi.PyObject_GC_UnTrack
    except (ImportError, AttributeError):  # not CPython: collected as any container
        return lambda _: None
    untrack.argtypes = [ctypes.py_object]
    untrack.restype = None
    return untrack


_untrack = _untracked()
_UNTRACKED_FROM = 32  # ids: a shorter tuple costs the collector less than the call


def _moving() -> Callable[[type[Ids], tuple[str, ...]], Ids] | None:
    """`moved(cls, made)`: a new `cls` (a subclass of tuple) holding the references of `made`, a plain
    tuple nobody else holds, which is left holding none (NULLs, which its deallocation skips).

    CPython makes a tuple subclass from an iterable in three passes over its items: a plain tuple
    first, the subclass's copy of it, then the plain one freed, each touching every item's reference
    count. At a million events that is a cache miss per id and pass: the lists of the inspection
    logs and their unions (2.5 million ids per change) cost 80-170 ms of the rules' 250-300 ms.
    Moving the references (a memmove of the array) leaves one pass, the plain tuple's. The moves
    run holding the GIL (PyDLL), so no collection sees an item referenced twice. CPython only; None
    elsewhere, or if a check of the layout, the reference counts or the hash fails."""
    try:
        import ctypes

        api, libc = ctypes.pythonapi, ctypes.PyDLL(None)
        alloc, memmove, memset = api.PyType_GenericAlloc, libc.memmove, libc.memset
    except (ImportError, OSError, AttributeError):
        return None
    alloc.argtypes = [ctypes.py_object, ctypes.c_ssize_t]
    alloc.restype = ctypes.py_object  # (a new reference: ctypes takes it as such)
    memmove.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    memmove.restype = memset.restype = ctypes.c_void_p
    at, width = tuple.__basicsize__, tuple.__itemsize__
    if width != ctypes.sizeof(ctypes.c_void_p):
        return None

    def moved(cls: type[Ids], made: tuple[str, ...]) -> Ids:
        n = len(made)
        into: Ids = alloc(cls, n)
        memmove(id(into) + at, id(made) + at, width * n)
        memset(id(made) + at, 0, width * n)
        return into

    items = [f"probe-{i}" for i in range(_MOVED_FROM)]
    counts = [sys.getrefcount(item) for item in items]
    made = tuple(items)
    into = moved(Ids, made)
    del made  # (freed holding no reference: the counts below prove none was taken or lost)
    if type(into) is not Ids or into != tuple(items) or hash(into) != hash(tuple(items)):
        return None
    if [sys.getrefcount(item) for item in items] != [count + 1 for count in counts]:
        return None
    return moved


class Ids(tuple[str, ...]):
    """Event ids known to be sorted and distinct (so they are never sorted again). Strings only: a
    long one is left out of the cyclic collector's passes (see `_untracked`)."""

    __slots__ = ()

    def __new__(cls, ids: Iterable[str] = ()) -> Ids:
        if _move is not None and type(ids) is not tuple:
            plain = tuple(ids)
            # (A tuple of the iterable's items this call made: nobody else holds it, which the
            # count checks, the local name and the argument being the two.)
            if len(plain) >= _MOVED_FROM and sys.getrefcount(plain) == 2:
                made = _move(cls, plain)
                _untrack(made)
                return made
            ids = plain
        made = super().__new__(cls, ids)
        if len(made) >= _UNTRACKED_FROM:
            _untrack(made)
        return made


_MOVED_FROM = 256  # ids: a shorter list costs less than the calls
_move = _moving()


class IdRuns(Sequence[str]):
    """Sorted, distinct event ids held as runs (`Ids`), each run wholly before the next: a long log's
    sorted form and a large union of such lists. A log grown by a batch shares with its form before
    every run the batch did not touch, and a union is made of its lists' runs, so making either is
    a step per run, not per id: as one tuple, at a million events 2.5 million ids a change were
    copied, a cache miss each, about a third of the rules' evaluation. The store encodes a run it
    encoded before as it did (`evidence_apart`). Compares, hashes and serializes as the tuple of its
    ids (`flat`), which it makes only when asked, and does not keep (it would double what a kept
    list holds)."""

    __slots__ = ("_ends", "_firsts", "runs")

    def __init__(self, runs: Iterable[Ids]) -> None:
        self.runs: tuple[Ids, ...] = tuple(run for run in runs if run)
        self._ends = list(accumulate(map(len, self.runs)))
        self._firsts: list[str] | None = None

    def flat(self) -> Ids:
        """The ids as one tuple (a pass over every id)."""
        return Ids(chain.from_iterable(self.runs))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __iter__(self) -> Iterator[str]:
        return chain.from_iterable(self.runs)

    def __reversed__(self) -> Iterator[str]:
        return chain.from_iterable(map(reversed, reversed(self.runs)))

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        n = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            if step != 1:
                return self.flat()[index]
            if start >= stop:
                return ()
            pieces = []
            k = bisect_right(self._ends, start)
            while k < len(self.runs) and start < stop:
                run_start = self._ends[k] - len(self.runs[k])
                pieces.append(self.runs[k][start - run_start : stop - run_start])
                start = self._ends[k]
                k += 1
            # (A slice of a tuple is a plain tuple, as a slice of Ids is.)
            return pieces[0] if len(pieces) == 1 else tuple(chain.from_iterable(pieces))
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("IdRuns index out of range")
        k = bisect_right(self._ends, index)
        return self.runs[k][index - (self._ends[k] - len(self.runs[k]))]

    def __contains__(self, eid: object) -> bool:
        if not isinstance(eid, str) or not self.runs:
            return False
        if self._firsts is None:
            self._firsts = [run[0] for run in self.runs]
        k = bisect_right(self._firsts, eid) - 1
        if k < 0:
            return False
        run = self.runs[k]
        at = bisect_left(run, eid)
        return at < len(run) and run[at] == eid

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IdRuns):
            if len(other) != len(self) or (self.runs and (self[0] != other[0] or self[-1] != other[-1])):
                return False
            if len(other.runs) == len(self.runs) and all(map(is_, other.runs, self.runs)):
                return True
            return all(map(eq, self, other))  # (no tuple of either made: a million references each)
        if isinstance(other, tuple | list):
            return len(other) == len(self) and all(map(eq, self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.flat())

    def __reduce__(self) -> tuple[type[IdRuns], tuple[tuple[Ids, ...]]]:
        return (IdRuns, (self.runs,))

    def __repr__(self) -> str:
        return f"IdRuns({self.flat()!r})"


# Sorted, distinct ids in either form.
SortedIds = Ids | IdRuns


class IdLog(list[str]):
    """Event ids in the order they arrived, only ever appended to (a ledger's log of one inspection
    plan or survey): its sorted, distinct form is kept in runs, and the ids appended since are put
    in their places, so each evaluation of a growing project places the few new ids and makes again
    only the runs they fell in, not the whole log (in the fleet, where ids arrive in no useful order,
    that was a sort of up to a million strings per evaluation and service)."""

    __slots__ = ("_made", "_runs", "_sorted", "_upto")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        super().__init__(ids)
        _untrack(self)  # (strings only, see `_untracked`)
        # The sorted, distinct ids in runs of `RUN_IDS` to 2 × `RUN_IDS`, lists changed in place, and the
        # `Ids` of each (None since its run changed). Strings only: untracked too.
        self._runs: list[list[str]] = []
        self._made: list[Ids | None] = []
        self._sorted: IdRuns | None = IdRuns(())  # None until asked for after a change
        self._upto = 0  # how many of the log's ids the runs cover

    def sorted_ids(self) -> IdRuns:
        upto, kept = self._upto, self._sorted
        if kept is not None and upto == len(self):
            return kept
        with _order_lock:  # (two evaluations reading one log must not both place its new ids)
            if self._upto != len(self):
                # The sorted form cleared first and the count moved last: a read without the lock
                # (above, the count first) sees the new form or none, never the old one as new.
                self._sorted = None
                self._place(self[self._upto :])
                self._upto = len(self)
            if self._sorted is None:
                made = self._made
                for k, run in enumerate(self._runs):
                    if made[k] is None:
                        made[k] = Ids(run)
                self._sorted = IdRuns(made)  # type: ignore[arg-type]  # (none is None any more)
            return self._sorted

    def _place(self, new: list[str]) -> None:
        new.sort()
        runs = self._runs
        held = sum(map(len, runs))
        if not runs or len(new) * _PLACED_ONE_IN > held:
            # Many new ids (a log's first read): one sort merges the two, cut into runs anew.
            ordered = _without_repeats(sorted(chain(chain.from_iterable(runs), new)))
            self._runs = _in_runs(ordered)
            self._made = [None] * len(self._runs)
            return
        firsts = [run[0] for run in runs]
        last = None
        for eid in new:
            if eid == last:
                continue
            last = eid
            k = max(bisect_right(firsts, eid) - 1, 0)
            run = runs[k]
            at = bisect_left(run, eid)
            if at < len(run) and run[at] == eid:
                continue
            run.insert(at, eid)
            firsts[k] = run[0]
            self._made[k] = None
            _cut_if_long(runs, firsts, self._made, k)

    def drop(self, eid: str) -> None:
        """The first `eid` out of the log, and out of its sorted form, which stays sorted."""
        index = self.index(eid)
        del self[index]
        if index < self._upto:
            with _order_lock:
                self._sorted = None  # (made again when asked for: a retraction may drop many)
                k = max(bisect_right([run[0] for run in self._runs], eid) - 1, 0)
                run = self._runs[k]
                del run[bisect_left(run, eid)]
                if run:
                    self._made[k] = None
                else:
                    del self._runs[k], self._made[k]
                self._upto -= 1


def _in_runs(ordered: list[str]) -> list[list[str]]:
    """Sorted ids cut into runs of `RUN_IDS`."""
    return [_untracked_list(ordered[at : at + RUN_IDS]) for at in range(0, len(ordered), RUN_IDS)]


def _cut_if_long(runs: list[list[str]], firsts: list[str], made: list[Ids | None], k: int) -> None:
    """Run k of sorted runs (an `IdLog`'s, an `IdUnion`'s) cut in two once it holds more than twice
    `RUN_IDS`: a run stays cheap to make again."""
    run = runs[k]
    if len(run) > 2 * RUN_IDS:
        runs[k : k + 1] = [_untracked_list(run[:RUN_IDS]), _untracked_list(run[RUN_IDS:])]
        firsts[k : k + 1] = [runs[k][0], runs[k + 1][0]]
        made[k : k + 1] = [None, None]


def _untracked_list(ids: list[str]) -> list[str]:
    _untrack(ids)
    return ids


_order_lock = Lock()

# Ids per run of a log's sorted form (a run holds up to twice as many before it is cut in two).
RUN_IDS = 1024
# New ids are placed one by one (bisect) while at most one in this many of the sorted ones.
_PLACED_ONE_IN = 16


def _ids_as_they_are(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    # Ids are made only of strings the evaluation checked (`merge_ids`, `unique_sorted`): taken as
    # they are, where validating them made a new tuple string by string (a million ids per leaf or
    # finding of a large project) and lost the mark that spares them a sort.
    return value if type(value) is Ids or type(value) is IdRuns else handler(value)


def _ids_as_a_tuple(value: Sequence[str]) -> tuple[str, ...]:
    if type(value) is IdRuns:
        return value.flat()
    # (A dataclass made in code, not validated, may hold a list: written as the tuple it stands for.)
    return value if isinstance(value, tuple) else tuple(value)


# A model's field of evidence ids: any sequence of strings, validated, or `Ids` and `IdRuns` kept as
# they are (the same JSON and equality: an `Ids` is a tuple, an `IdRuns` is written as one).
if TYPE_CHECKING:  # (what a field holds: its schema below is a tuple's)
    EvidenceIds: TypeAlias = tuple[str, ...] | IdRuns
else:
    EvidenceIds = Annotated[
        tuple[str, ...],
        WrapValidator(_ids_as_they_are),
        PlainSerializer(_ids_as_a_tuple, return_type=tuple[str, ...]),
    ]


def unique_sorted(ids: Iterable[str]) -> SortedIds:
    """Distinct ids in order. Cheap on the usual input (concatenated sorted runs, which the sort
    merges run by run), where `sorted(set(...))` would throw the order away and pay a full sort of
    every large list again."""
    if type(ids) is Ids or type(ids) is IdRuns:
        return ids
    if type(ids) is IdLog:
        return ids.sorted_ids()
    return _distinct_in_order(sorted(ids))


def _distinct_in_order(ordered: list[str]) -> Ids:
    """A sorted list without its repeats, as Ids."""
    return Ids(_without_repeats(ordered))


def _without_repeats(ordered: list[str]) -> list[str]:
    """A sorted list without its repeats: the list itself when it has none. Neighbours are compared
    in C, and the repeats (rare: the ledger folds an id once) are dropped the same way, without
    hashing a million ids into a dict."""
    if not any(map(eq, ordered, islice(ordered, 1, None))):
        return ordered
    return list(compress(ordered, chain((True,), map(ne, islice(ordered, 1, None), ordered))))


def numbered(keys: Iterable[str]) -> list[str]:
    """Keys of items in the contract's order; a key repeated is numbered (ID#2 …)."""
    seen: dict[str, int] = {}
    out = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        out.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return out


def merge_ids(runs: Iterable[Iterable[str]]) -> SortedIds:
    """The union of several id lists. Runs from different sources rarely interleave (different id
    prefixes): then the sorted runs are simply laid end to end, without hashing or sorting anew."""
    # A list many records cite (each inspection period cites its plan's whole log) counts once: laid
    # end to end a thousand times, it would be sorted a thousand times over. (Identity is safe: every
    # list in `distinct` stays alive until the end.)
    distinct: dict[int, SortedIds] = {}
    # Most records cite one event: their ids are gathered and sorted once, not one by one.
    single: list[str] = []
    for run in runs:
        # (By type first, in the order they are most common: this runs once per record of a measure.)
        kind = type(run)
        if kind is Ids or kind is IdRuns:
            if run:
                distinct.setdefault(id(run), run)  # type: ignore[arg-type]
        elif (kind is tuple or kind is list) and len(run) < 2:  # type: ignore[arg-type]
            single += run
        elif ids := unique_sorted(run):
            distinct.setdefault(id(ids), ids)
    if single:
        ids = unique_sorted(single)
        distinct[id(ids)] = ids
    parts = sorted(distinct.values(), key=lambda p: p[0])
    if not parts:
        return Ids()
    if len(parts) > 1:
        # The same ids in two lists (the measures of a rate over one source cite its whole log each):
        # counted once. Two lists that differ mostly differ in length or first id, which ends the
        # comparison at once; equal ones hold the same strings, compared by identity.
        parts = [p for p, before in zip(parts, [(), *parts[:-1]], strict=True) if p != before]
    if len(parts) == 1:
        return parts[0]
    if sum(map(len, parts)) < _KEPT_FROM:
        return _merged(parts)
    # A large union is asked for again and again within an evaluation (every measure over a plan's
    # periods cites the logs of all its plans): made once, it is kept for the same lists. It is in
    # runs, its lists' own but where they overlap (`_union_in_runs`), and the one object cited again
    # is the store's to encode once.
    key = tuple(map(id, parts))
    with _kept_lock:
        kept = _KEPT.get(key)
        if kept is not None:
            _KEPT.move_to_end(key)
            return kept[1]
    merged = _union_in_runs(parts)
    with _kept_lock:
        # The lists are kept with their union, so no other list can take their identity meanwhile.
        _KEPT[key] = (tuple(parts), merged)
        while len(_KEPT) > _KEPT_AT_MOST:
            _KEPT.popitem(last=False)
    return merged


def _merged(parts: list[SortedIds]) -> SortedIds:
    if all(a[-1] < b[0] for a, b in pairwise(parts)):
        return Ids(chain.from_iterable(parts))
    # Interleaved (a rate's numerator among its denominator's ids): the sort merges the sorted runs.
    return _distinct_in_order(sorted(chain.from_iterable(parts)))


def _union_in_runs(parts: list[SortedIds]) -> IdRuns:
    """A large union in runs: each run of the parts taken as it is, but where another run's first
    id falls inside it. There it is cut, and only pieces that still overlap (ids of two runs
    between the same two firsts) are sorted together. Lists of one prefix each are laid end to end
    untouched; a log that gained ids of another prefix (a second upstream system) costs the cuts
    around those ids, where sorting the union again cost every id of it, each time it grew."""
    runs = [run for part in parts for run in (part.runs if isinstance(part, IdRuns) else (part,))]
    firsts = sorted({run[0] for run in runs})
    pieces: list[Ids] = []
    for run in runs:
        inside = firsts[bisect_right(firsts, run[0]) : bisect_right(firsts, run[-1])]
        if not inside:
            pieces.append(run)
            continue
        start = 0
        for first in inside:
            at = bisect_left(run, first, start)
            if at > start:
                pieces.append(Ids(run[start:at]))
                start = at
        pieces.append(Ids(run[start:]))
    pieces.sort(key=itemgetter(0))
    out: list[Ids] = []
    overlapping = [pieces[0]]
    last = pieces[0][-1]
    for piece in islice(pieces, 1, None):
        if piece[0] > last:
            out += _sorted_together(overlapping)
            overlapping = [piece]
        else:
            overlapping.append(piece)
        last = max(last, piece[-1])
    out += _sorted_together(overlapping)
    return IdRuns(out)


def _sorted_together(pieces: list[Ids]) -> list[Ids]:
    """Pieces whose ranges overlap as runs of their sorted, distinct ids (one piece as it is)."""
    if len(pieces) == 1:
        return pieces
    ordered = _without_repeats(sorted(chain.from_iterable(pieces)))
    return [Ids(ordered[at : at + RUN_IDS]) for at in range(0, len(ordered), RUN_IDS)]


class IdUnion:
    """The union of many sorted id lists (a measure's records' evidence, block by block), kept
    between evaluations and brought up to date by the lists that came and went since, each known by
    its identity: a few hundred ids placed or taken out, where merging the lists again sorted every id
    (31,000 per measure of the clock-ins at a million events, every change). The ids of all lists are
    held sorted in runs, an id once for each list that holds it, so an id leaves the union with the
    last list citing it; the runs a change did not touch give the same `Ids` as before, which the store
    encodes as it did (`evidence_apart`). Thread-safe: the results API evaluates in threads."""

    __slots__ = ("_held", "_lists", "_lock", "_made", "_runs", "_union")

    def __init__(self) -> None:
        self._lists: dict[int, Sequence[str]] = {}  # (holding each list: no other takes its identity)
        self._runs: list[list[str]] = []  # every list's ids, sorted, with repeats
        self._made: list[Ids | None] = []  # each run's distinct ids, None since the run changed
        self._held = 0
        self._union: SortedIds = Ids()
        self._lock = Lock()

    def of(self, lists: Iterable[Sequence[str]]) -> SortedIds:
        """The sorted, distinct ids of `lists` (each sorted and distinct), as `merge_ids` gives them.
        A few lists are merged as they are (`merge_ids` keeps a large union of the same lists for
        every measure asking)."""
        now = {id(ids): ids for ids in lists if ids}
        if len(now) <= _UNITED_FROM_LISTS:
            with self._lock:
                self._lists, self._runs, self._made, self._held = {}, [], [], 0
            return merge_ids(now.values())
        return self._of(now)

    def _of(self, now: dict[int, Sequence[str]]) -> SortedIds:
        with self._lock:
            was = self._lists
            gone: list[Sequence[str]] = [ids for key, ids in was.items() if key not in now]
            came: list[Sequence[str]] = [ids for key, ids in now.items() if key not in was]
            if not gone and not came:
                return self._union
            moved = sum(map(len, gone)) + sum(map(len, came))
            if gone and came and 2 * moved <= self._held:
                # A block made again holds mostly the ids it held (a person's year of clock-ins and
                # one day more): only the difference is moved. (Counting what most lists hold
                # costs more than sorting them all again.)
                before, after = Counter(chain.from_iterable(gone)), Counter(chain.from_iterable(came))
                gone, came = [sorted((before - after).elements())], [sorted((after - before).elements())]
                moved = len(gone[0]) + len(came[0])
            if moved * _UNION_PLACED_ONE_IN > self._held or not self._take_out(gone):
                self._sort_anew(now.values())  # (many moved: one sort of all costs less)
            else:
                self._place(came)
            self._lists = now
            self._union = self._distinct()
            return self._union

    def _sort_anew(self, lists: Iterable[Sequence[str]]) -> None:
        ordered = sorted(chain.from_iterable(lists))
        self._runs = _in_runs(ordered)
        self._made = [None] * len(self._runs)
        self._held = len(ordered)

    def _take_out(self, lists: Sequence[Sequence[str]]) -> bool:
        """Each id of `lists` out of the runs once; False if one is missing (then nothing is trusted)."""
        runs, made = self._runs, self._made
        firsts = [run[0] for run in runs]
        for eid in chain.from_iterable(lists):
            k = bisect_right(firsts, eid) - 1
            if k < 0:
                return False
            run = runs[k]
            at = bisect_left(run, eid)
            if at == len(run) or run[at] != eid:
                return False
            del run[at]
            self._held -= 1
            made[k] = None
            if not run:
                del runs[k], made[k], firsts[k]
            else:
                firsts[k] = run[0]
        return True

    def _place(self, lists: Sequence[Sequence[str]]) -> None:
        runs, made = self._runs, self._made
        if not runs:
            self._sort_anew(lists)
            return
        firsts = [run[0] for run in runs]
        for eid in chain.from_iterable(lists):
            k = max(bisect_right(firsts, eid) - 1, 0)
            run = runs[k]
            run.insert(bisect_right(run, eid), eid)
            self._held += 1
            firsts[k] = run[0]
            made[k] = None
            _cut_if_long(runs, firsts, made, k)

    def _distinct(self) -> SortedIds:
        made = self._made
        for k, run in enumerate(self._runs):
            if made[k] is None:
                made[k] = Ids(_without_repeats(run))
        out: list[Ids] = []
        last = None
        for ids in made:
            assert ids is not None
            if ids[0] == last:  # (an id cited by several lists may end one run and begin the next)
                ids = Ids(ids[1:])
            if ids:
                out.append(ids)
                last = ids[-1]
        if len(out) < 2:
            return out[0] if out else Ids()
        return IdRuns(out)


_UNITED_FROM_LISTS = 16  # lists: fewer are merged as they are
_UNION_PLACED_ONE_IN = 16  # ids moved one by one while at most one in this many of those held


def singles_and_lists(runs: Iterable[Sequence[str]]) -> tuple[SortedIds, tuple[Sequence[str], ...]]:
    """The union of the plain id tuples of `runs` (most records cite one event), and apart from it
    the lists they cite, each once: sorted ones (`Ids`, `IdRuns`), known by their identity to
    `merge_ids`, which makes the union of the same lists once for every measure citing them; and logs
    (`IdLog`: an inspection plan's, which each of its periods cites), the same object while they grow,
    whose sorted ids are taken when a union is made (`logs_now`)."""
    lists: dict[int, Sequence[str]] = {}
    singles: list[Sequence[str]] = []
    for run in runs:
        if type(run) is Ids or type(run) is IdRuns or type(run) is IdLog:
            if run:
                lists.setdefault(id(run), run)
        else:
            singles.append(run)
    return merge_ids(singles), tuple(lists.values())


def logs_now(lists: Iterable[Sequence[str]]) -> tuple[IdRuns, ...]:
    """The sorted ids of the logs among `lists` as they are now: what was made of a log's citations
    stays true while these are the same objects (a log grown since gives another)."""
    return tuple(ids.sorted_ids() for ids in lists if type(ids) is IdLog)


# The last large unions made, by the identity of the sorted lists they were made of (the lists are
# immutable). Bounded: at a million events one union is a few MB of references.
_KEPT: OrderedDict[tuple[int, ...], tuple[tuple[SortedIds, ...], SortedIds]] = OrderedDict()
_KEPT_AT_MOST = 8
_KEPT_FROM = 10_000  # ids: a smaller union costs less than keeping it
_kept_lock = Lock()  # the results API evaluates in threads


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The collector's youngest generation examined every 20,000 new objects rather than every 700
    while an evaluation runs. An evaluation of a large project makes lists and tuples of up to a
    million records or ids that live only until the next measure; each young pass traverses those
    still alive, element by element (one pass at a million events: 10-60 ms, about a third of a
    change's rules and scoring). Most die before the rarer passes. Cycles are still collected; the
    older generations keep their thresholds. Thread-safe and nestable: the threshold is raised by the
    first evaluation to begin and restored by the last to end (the results API evaluates in threads)."""
    global _calm_depth, _calm_saved
    with _calm_lock:
        if _calm_depth == 0:
            _calm_saved = gc.get_threshold()[0]
            if _calm_saved:  # (a threshold of 0 turns the collector off: left so)
                gc.set_threshold(max(_calm_saved, _YOUNG_THRESHOLD), *gc.get_threshold()[1:])
        _calm_depth += 1
    try:
        yield
    finally:
        with _calm_lock:
            _calm_depth -= 1
            if _calm_depth == 0:
                # Only the youngest threshold: another section (the reports') may hold the oldest raised.
                gc.set_threshold(_calm_saved, *gc.get_threshold()[1:])


_YOUNG_THRESHOLD = 20_000
_calm_lock = Lock()
_calm_depth = 0
_calm_saved = 700


def end_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=CHINA_TZ)


def field_path(loc: Iterable[int | str]) -> str:
    """A validation error's location as people write it: ("contracts", 0, "id") → "contracts[0].id"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
