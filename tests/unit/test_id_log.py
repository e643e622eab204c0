"""A ledger's log of ids keeps its sorted form between reads: the few new ids are put in their places
(inserted, or the list built anew by slices when inserting would move too much), and what a read
gives is always what sorting the whole log afresh gives."""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opseval_shared import base
from opseval_shared.base import IdLog, Ids, unique_sorted

# Few letters and short ids: new ids often fall among, or on, the ones already there.
an_id = st.text(alphabet="abcxyz0123-", min_size=1, max_size=5)

# How the new ids are placed: each way the thresholds can choose, forced on every read.
WAYS = {
    "inserted": (10**9, 0),  # one by one, in place
    "built by slices": (-1, 0),  # inserting would move too much: a new list by slices
    "sorted again": (0, 10**9),  # many new ids: one sort of all
    "as tuned": (base._MOVES_PER_REBUILD, base._PLACED_ONE_IN),
}


@contextmanager
def placed(way: str) -> Iterator[None]:
    saved = base._MOVES_PER_REBUILD, base._PLACED_ONE_IN
    base._MOVES_PER_REBUILD, base._PLACED_ONE_IN = WAYS[way]
    try:
        yield
    finally:
        base._MOVES_PER_REBUILD, base._PLACED_ONE_IN = saved


def fresh(log: list[str]) -> Ids:
    """The sorted form of a log read once, as a ledger folded from scratch reads it."""
    return IdLog(list(log)).sorted_ids()


# A step: ids appended (a batch folded), the log read (an evaluation), or one id dropped (a retraction).
step = st.one_of(
    st.tuples(st.just("append"), st.lists(an_id, max_size=12)),
    st.tuples(st.just("read"), st.none()),
    st.tuples(st.just("drop"), st.integers(min_value=0)),
)


@pytest.mark.parametrize("way", list(WAYS))
@given(first=st.lists(an_id, max_size=60), steps=st.lists(step, max_size=25))
def test_a_log_kept_across_changes_reads_as_the_log_sorted_afresh(
    way: str, first: list[str], steps: list[tuple[str, object]]
) -> None:
    with placed(way):
        log = IdLog(first)
        for kind, arg in steps:
            if kind == "append":
                assert isinstance(arg, list)
                log += arg
            elif kind == "drop" and log:
                assert isinstance(arg, int)
                # (The ledger folds an id once: a retraction drops the one it folded.)
                once = [eid for eid in log if log.count(eid) == 1]
                if once:
                    eid = once[arg % len(once)]
                    log.drop(eid)
                    assert eid not in log
            kept = log.sorted_ids()
            assert type(kept) is Ids
            assert kept == tuple(sorted(set(log))) == fresh(log)
            assert log.sorted_ids() is kept and unique_sorted(log) is kept  # unchanged: the same object
            # Strings only, whichever way it was made: left out of the collector's passes.
            assert not gc.is_tracked(log) and not gc.is_tracked(log._order)


@pytest.mark.parametrize("way", list(WAYS))
def test_new_ids_go_before_between_after_and_on_the_sorted_ones(way: str) -> None:
    with placed(way):
        log = IdLog(["m", "c", "x"])
        assert log.sorted_ids() == ("c", "m", "x")
        # before the first, between, on one already there, repeated among the new, after the last
        log += ["a", "e", "m", "e", "z", "c", "y"]
        assert log.sorted_ids() == ("a", "c", "e", "m", "x", "y", "z") == fresh(log)


def test_a_read_after_only_a_drop_gives_a_new_sorted_form_without_it() -> None:
    log = IdLog(f"ins-{n:04d}" for n in range(100))
    before = log.sorted_ids()
    log.drop("ins-0042")
    after = log.sorted_ids()
    assert after is not before and "ins-0042" not in after
    assert after == before[:42] + before[43:] == fresh(log)


def test_an_id_appended_after_the_last_read_is_dropped_from_the_log_only() -> None:
    log = IdLog(["b", "a"])
    assert log.sorted_ids() == ("a", "b")
    log.append("c")
    log.drop("c")  # not yet in the sorted form
    assert log.sorted_ids() == ("a", "b")
    log.append("d")
    assert log.sorted_ids() == ("a", "b", "d")


def test_a_few_new_ids_among_many_are_inserted_and_many_are_merged_as_tuned() -> None:
    # The thresholds as they are: both ways of placing, on a log large enough to use them.
    log = IdLog(f"ins-{n:06d}" for n in range(0, 40_000, 2))
    log.sorted_ids()
    log += [f"ins-{n:06d}" for n in range(1, 40_000, 400)]  # 100 scattered: built by slices
    assert log.sorted_ids() == fresh(log)
    log += [f"ins-{n:06d}" for n in range(3, 40_000, 8_000)]  # 5: inserted
    assert log.sorted_ids() == fresh(log)
    log += [f"ins-{n:06d}" for n in range(5, 40_000, 4)]  # 10,000: sorted again
    assert log.sorted_ids() == fresh(log)


def test_evaluations_reading_one_log_in_threads_each_get_all_its_ids_once() -> None:
    # (The results API evaluates in threads: readers of one log must not both place its new ids.)
    log = IdLog(f"ins-{n:05d}" for n in range(0, 20_000, 2))
    rounds, readers = 20, 4
    barrier = threading.Barrier(readers + 1)
    wrong: list[str] = []

    def read() -> None:
        for _ in range(rounds):
            barrier.wait()  # the log has grown
            expected = tuple(sorted(set(log)))
            if log.sorted_ids() != expected:
                wrong.append(f"{len(log.sorted_ids())} ids, {len(expected)} expected")
            barrier.wait()

    threads = [threading.Thread(target=read) for _ in range(readers)]
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for r in range(rounds):
            log += [f"ins-{n:05d}" for n in range(2 * r + 1, 20_000, 997)]
            barrier.wait()
            barrier.wait()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(saved)
    assert not wrong
    assert log.sorted_ids() == tuple(sorted(set(log)))
