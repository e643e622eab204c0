"""Evidence id lists: sorted once, merged by runs, never losing or duplicating an id."""

from __future__ import annotations

import gc
import pickle
import random
import sys
import threading
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opseval_shared import base
from opseval_shared.base import IdLog, IdRuns, Ids, fewer_collections, merge_ids, unique_sorted
from opseval_shared.results import Finding, ScoredIndicator
from pydantic import ValidationError

ids = st.lists(st.text(alphabet="abcxyz0123-", min_size=1, max_size=6), max_size=40)


def test_unique_sorted_returns_an_ids_list_unchanged() -> None:
    ready = unique_sorted(["b", "a", "b"])
    assert ready == ("a", "b") and type(ready) is Ids
    assert unique_sorted(ready) is ready


def test_disjoint_runs_are_laid_end_to_end() -> None:
    merged = merge_ids([Ids(("m1", "m2")), Ids(("a1", "a2")), Ids(()), Ids(("z1",))])
    assert merged == ("a1", "a2", "m1", "m2", "z1")


def test_interleaved_and_overlapping_runs_are_merged_without_duplicates() -> None:
    assert merge_ids([["a", "c", "e"], ["b", "c", "d"]]) == ("a", "b", "c", "d", "e")


@given(st.lists(ids, max_size=6))
def test_merge_equals_the_sorted_union(runs: list[list[str]]) -> None:
    expected = tuple(sorted(set().union(*runs))) if runs else ()
    assert merge_ids(runs) == expected
    shuffled = runs[:]
    random.Random(1).shuffle(shuffled)
    assert merge_ids(shuffled) == expected


@given(ids)
def test_unique_sorted_equals_the_sorted_set_with_or_without_repeats(listed: list[str]) -> None:
    for candidate in (listed, listed + listed[:3], list(reversed(listed))):
        result = unique_sorted(candidate)
        assert result == tuple(sorted(set(candidate))) and type(result) is Ids


def test_a_list_cited_by_many_records_is_merged_once_not_laid_end_to_end_again() -> None:
    # Each inspection period cites its plan's whole log: the union is that log itself.
    log = unique_sorted(f"ins-{n:06d}" for n in range(10_000))
    other = Ids(("a-1", "zz-9"))
    assert merge_ids([log] * 1_000) is log
    assert merge_ids([log, other, log, other]) == ("a-1", *log, "zz-9")


def test_two_lists_of_the_same_ids_are_merged_as_one() -> None:
    # The measures of a rate over one source each cite its whole log, as lists of their own.
    log = unique_sorted(f"ins-{n:06d}" for n in range(10_000))
    same = Ids(list(log))
    assert same is not log
    assert merge_ids([log, same]) is log
    assert merge_ids([same, log, Ids(("a-1",))]) == ("a-1", *log)


@given(st.lists(ids, max_size=4))
def test_merge_with_every_list_repeated_as_a_copy_equals_the_sorted_union(runs: list[list[str]]) -> None:
    expected = tuple(sorted(set().union(*runs))) if runs else ()
    copies = [unique_sorted(r) for r in runs] + [Ids(unique_sorted(r)) for r in reversed(runs)]
    assert merge_ids(copies) == expected


@given(st.lists(st.text(alphabet="abcxyz0123-", min_size=1, max_size=6), max_size=60), st.lists(ids, max_size=4))
def test_records_citing_one_event_each_merge_with_the_lists_into_the_sorted_union(
    singles: list[str], runs: list[list[str]]
) -> None:
    # Most records cite one event (a tuple or a list of one id): they are gathered and sorted together.
    cited = [(s,) if n % 2 else [s] for n, s in enumerate(singles)] + [Ids(unique_sorted(r)) for r in runs]
    random.Random(2).shuffle(cited)
    assert merge_ids(cited) == tuple(sorted(set(singles).union(*runs)))


@given(st.lists(ids, max_size=8))
def test_a_log_growing_between_reads_gives_the_sorted_distinct_ids_of_all_it_holds(appends: list[list[str]]) -> None:
    # A ledger's log is read by each evaluation while the project grows: each read sorts only what
    # arrived since the last, and is the same as sorting everything afresh.
    log = IdLog()
    for batch in appends:
        log.extend(batch)
        assert log.sorted_ids() == tuple(sorted(set(log))) and type(log.sorted_ids()) is IdRuns
        assert unique_sorted(log) is log.sorted_ids()
        assert merge_ids([log, ["zz-after"]]) == tuple(sorted({*log, "zz-after"}))


def test_a_log_absorbed_into_another_is_sorted_with_it() -> None:
    mine, theirs = IdLog(["b", "d"]), IdLog(["c", "a"])
    assert mine.sorted_ids() == ("b", "d")
    mine += theirs  # (Ledger.absorb)
    assert type(mine) is IdLog and mine.sorted_ids() == ("a", "b", "c", "d")


def test_a_large_union_asked_for_again_is_the_one_made_before_and_equal_to_a_fresh_one() -> None:
    a = Ids(f"a-{n:06d}" for n in range(8_000))
    b = Ids(f"b-{n:06d}" for n in range(8_000))
    first = merge_ids([a, b, a])
    assert merge_ids([b, a]) is first  # kept: the same lists give the same union
    assert first == tuple(sorted({*a, *b}))
    c = Ids(f"a-{n:06d}x" for n in range(0, 8_000, 2))  # interleaved with a: merged by the sort
    assert merge_ids([a, c]) == tuple(sorted({*a, *c})) and merge_ids([c, a]) is merge_ids([a, c])


def test_a_models_evidence_keeps_ids_as_they_are_and_validates_anything_else() -> None:
    ready = Ids(("e1", "e2"))
    kept = ScoredIndicator(id="I", name="n", weight=1, score=1, rate=1, evidence=ready)
    listed = ScoredIndicator(id="I", name="n", weight=1, score=1, rate=1, evidence=["e1", "e2"])
    assert kept.evidence is ready
    assert type(listed.evidence) is tuple
    # The same model, the same JSON, whichever it was made from.
    assert kept == listed and kept.json_bytes() == listed.json_bytes()
    assert Finding.model_validate_json(_finding(ready).json_bytes()) == _finding(ready)
    with pytest.raises(ValidationError):
        ScoredIndicator(id="I", name="n", weight=1, score=1, rate=1, evidence=[1])
    with pytest.raises(ValidationError):
        _finding(("e1", 2))  # type: ignore[arg-type]


def _finding(evidence: tuple[str, ...]) -> Finding:
    return Finding(id="F-1", rule="r", severity="high", message="m", measured="", required="", evidence=evidence)


def test_fewer_collections_raises_the_young_threshold_until_the_last_section_ends() -> None:
    before = gc.get_threshold()
    entered, release = threading.Event(), threading.Event()

    def evaluation() -> None:
        with fewer_collections():
            entered.set()
            release.wait(5)

    other = threading.Thread(target=evaluation)
    other.start()
    entered.wait(5)
    with fewer_collections():
        assert gc.get_threshold()[0] >= 20_000
    assert gc.get_threshold()[0] >= 20_000  # the other thread's evaluation still runs
    release.set()
    other.join(5)
    assert gc.get_threshold() == before


def test_fewer_collections_leaves_a_collector_turned_off_by_a_zero_threshold_off() -> None:
    before = gc.get_threshold()
    gc.set_threshold(0, *before[1:])
    try:
        with fewer_collections():
            assert gc.get_threshold()[0] == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_long_id_lists_and_logs_are_left_out_of_the_collectors_passes() -> None:
    long, short = Ids(f"E{n:05d}" for n in range(100)), Ids(["E1", "E2"])
    log = IdLog(["E2", "E1"])
    log.append("E3")
    assert not gc.is_tracked(long) and not gc.is_tracked(log)
    assert gc.is_tracked(short)  # (cheaper to examine than to untrack)
    assert type(long) is Ids and long == tuple(f"E{n:05d}" for n in range(100))
    assert log.sorted_ids() == ("E1", "E2", "E3")


def test_a_cycle_holding_an_untracked_id_list_is_still_collected() -> None:
    import weakref

    class Holder:
        pass

    holder = Holder()
    holder.ids = Ids(f"E{n:05d}" for n in range(100))  # type: ignore[attr-defined]
    holder.me = holder  # type: ignore[attr-defined]
    gone = weakref.ref(holder)
    del holder
    gc.collect()
    assert gone() is None


@pytest.mark.parametrize(
    "made_from",
    [list, iter, tuple, Ids, lambda items: (item for item in items)],
    ids=["list", "iterator", "tuple", "Ids", "generator"],
)
@pytest.mark.parametrize("length", [0, 1, base._MOVED_FROM - 1, base._MOVED_FROM, 5_000])
def test_ids_made_from_any_iterable_hold_its_items_and_take_one_reference_each(made_from, length: int) -> None:  # type: ignore[no-untyped-def]
    items = [f"E{i:06d}-{length}" for i in range(length)]  # (strings made here: counts only this test moves)
    expected = tuple(items)
    counts = [sys.getrefcount(item) for item in items]
    made = [Ids(made_from(items)) for _ in range(3)]
    assert [sys.getrefcount(item) for item in items] == [count + 3 for count in counts]
    for m in made:
        assert type(m) is Ids and m == expected and hash(m) == hash(expected)
    del made, m
    gc.collect()
    assert [sys.getrefcount(item) for item in items] == counts


def test_long_ids_are_made_by_moving_the_references_of_the_tuple_made_first() -> None:
    if base._move is None:
        pytest.skip("not CPython, or its tuple layout failed the check at import: Ids are copied as tuples are")
    moves = []
    taken = base._move

    def counted(cls, plain):  # type: ignore[no-untyped-def]
        moves.append(len(plain))
        return taken(cls, plain)

    base._move = counted
    try:
        Ids([f"E{i}" for i in range(base._MOVED_FROM)])
        Ids(["E1", "E2"])  # short: copied
        shared = tuple(f"E{i}" for i in range(base._MOVED_FROM))
        assert Ids(shared) == shared  # a tuple someone else holds is copied, never emptied
        assert shared[0] == "E0" and len(shared) == base._MOVED_FROM
    finally:
        base._move = taken
    assert moves == [base._MOVED_FROM]


sorted_ids = st.lists(st.text(alphabet="abcxyz0123-", min_size=1, max_size=6), unique=True, max_size=40).map(sorted)


@given(listed=sorted_ids, cuts=st.lists(st.integers(0, 40), max_size=6), data=st.data())
def test_ids_in_runs_read_compare_and_hash_as_the_tuple_of_their_ids(
    listed: list[str], cuts: list[int], data: st.DataObject
) -> None:
    places = sorted({0, len(listed), *(c for c in cuts if c <= len(listed))})
    runs = IdRuns(Ids(listed[a:b]) for a, b in pairwise(places))  # (empty runs are left out)
    plain = tuple(listed)
    assert all(runs.runs) and len(runs) == len(plain) and tuple(runs) == plain
    assert list(reversed(runs)) == list(reversed(plain))
    assert runs == plain and plain == runs and runs == list(plain) and hash(runs) == hash(plain)
    assert runs == IdRuns([Ids(plain)]) and runs != (*plain, "zzzzzzz") and runs != IdRuns([Ids(("~",))])
    for index in range(-len(plain), len(plain)):
        assert runs[index] == plain[index]
    for outside in (len(plain), -len(plain) - 1):
        with pytest.raises(IndexError):
            runs[outside]
    start = data.draw(st.integers(-45, 45) | st.none())
    stop = data.draw(st.integers(-45, 45) | st.none())
    step = data.draw(st.sampled_from([None, 1, 2, -1]))
    assert runs[start:stop:step] == plain[start:stop:step] and type(runs[start:stop:step]) is tuple
    for eid in {*plain, "", "~", "a", "b-", "zz"}:
        assert (eid in runs) == (eid in plain)
    assert pickle.loads(pickle.dumps(runs)) == runs and unique_sorted(runs) is runs


def test_a_models_evidence_keeps_ids_in_runs_as_they_are_and_writes_them_as_the_tuple() -> None:
    runs = IdRuns([Ids(("e1", "e2")), Ids(("e3",))])
    kept = ScoredIndicator(id="I", name="n", weight=1, score=1, rate=1, evidence=runs)
    listed = ScoredIndicator(id="I", name="n", weight=1, score=1, rate=1, evidence=["e1", "e2", "e3"])
    assert kept.evidence is runs
    assert kept == listed and kept.json_bytes() == listed.json_bytes()
    assert kept.model_dump() == listed.model_dump() and kept.model_dump()["evidence"] == ("e1", "e2", "e3")
    assert _finding(runs).json_bytes() == _finding(("e1", "e2", "e3")).json_bytes()


def test_a_large_union_is_its_lists_runs_cut_and_sorted_only_where_they_overlap() -> None:
    a, b = IdLog(f"a-{n:06d}" for n in range(8_000)), IdLog(f"b-{n:06d}" for n in range(8_000))
    union = merge_ids([b, a])
    assert type(union) is IdRuns and union == tuple(sorted({*a, *b}))
    assert union.runs == (*a.sorted_ids().runs, *b.sorted_ids().runs)  # the very runs: nothing copied
    # The log of `a` gains ids of another upstream system's prefix, which sort among b's: its last
    # run is cut around them, and every other run is taken as it is.
    a += ["b-000100x", "c-000001"]
    union = merge_ids([a, b])
    assert union == tuple(sorted({*a, *b}))
    taken = {id(run) for run in (*a.sorted_ids().runs, *b.sorted_ids().runs)}
    assert sum(id(run) not in taken for run in union.runs) <= 4
    # Interleaved throughout (every other id of a's, with a suffix): sorted together, all of it.
    c = Ids(f"a-{n:06d}x" for n in range(0, 8_000, 2))
    mixed = merge_ids([a, c])
    assert mixed == tuple(sorted({*a, *c})) and all(0 < len(run) <= 2 * base.RUN_IDS for run in mixed.runs)


@given(st.lists(st.tuples(sorted_ids, st.integers(1, 4)), min_size=1, max_size=5))
def test_a_union_in_runs_is_the_sorted_union_in_ordered_runs_whatever_the_parts_runs(
    parts: list[tuple[list[str], int]],
) -> None:
    lists = [IdRuns(Ids(listed[at : at + size]) for at in range(0, len(listed), size)) for listed, size in parts]
    lists = [listed for listed in lists if listed]
    if not lists:
        return
    union = base._union_in_runs(lists)  # type: ignore[arg-type]
    assert union == tuple(sorted(set().union(*lists)))
    assert all(union.runs) and all(a[-1] < b[0] for a, b in pairwise(union.runs))
