"""A ledger's log of ids keeps its sorted form, in runs, between reads: the few new ids are put in
their places (in the run each falls in, a run grown too long cut in two), and what a read gives is
always what sorting the whole log afresh gives."""

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
from opseval_shared.base import IdLog, IdRuns, unique_sorted

# Few letters and short ids: new ids often fall among, or on, the ones already there.
an_id = st.text(alphabet="abcxyz0123-", min_size=1, max_size=5)

# How the new ids are placed, and how long a run is: each way the thresholds can choose, forced on
# every read; runs of one or two ids are cut on nearly every insertion.
WAYS = {
    "placed one by one, runs of 1": (0, 1),
    "placed one by one, runs of 2": (0, 2),
    "placed one by one, runs of 3": (0, 3),
    "sorted again": (10**9, 3),  # as if the new ids were many: one sort of all, cut into runs anew
    "as tuned": (base._PLACED_ONE_IN, base.RUN_IDS),
}


@contextmanager
def placed(way: str) -> Iterator[None]:
    saved = base._PLACED_ONE_IN, base.RUN_IDS
    base._PLACED_ONE_IN, base.RUN_IDS = WAYS[way]
    try:
        yield
    finally:
        base._PLACED_ONE_IN, base.RUN_IDS = saved


def fresh(log: list[str]) -> IdRuns:
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
            assert type(kept) is IdRuns
            assert kept == tuple(sorted(set(log))) == fresh(log)
            assert tuple(kept) == tuple(sorted(set(log)))  # (the runs read one after the other)
            assert all(0 < len(run) <= 2 * base.RUN_IDS for run in kept.runs)
            assert log.sorted_ids() is kept and unique_sorted(log) is kept  # unchanged: the same object
            # Strings only, whichever way it was made: left out of the collector's passes.
            assert not gc.is_tracked(log) and not any(map(gc.is_tracked, log._runs))


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


def test_a_few_new_ids_make_again_only_the_runs_they_fall_in_and_many_are_sorted_again() -> None:
    log = IdLog(f"ins-{n:06d}" for n in range(0, 40_000, 2))  # 20,000 ids: runs of 1,024
    before = log.sorted_ids()
    assert len(before.runs) == 20
    log += ["ins-000001", "ins-039999"]  # in the first run and the last
    after = log.sorted_ids()
    assert after == fresh(log)
    kept = [b is a for b, a in zip(before.runs, after.runs, strict=True)]
    assert kept == [False] + [True] * 18 + [False]
    log += [f"ins-{n:06d}" for n in range(3, 2 * base.RUN_IDS, 2)]  # the first run filled: 2,048 ids
    assert log.sorted_ids() == fresh(log) and len(log.sorted_ids().runs[0]) == 2 * base.RUN_IDS
    log += ["ins-000000a"]  # one more: the run cut in two
    assert log.sorted_ids() == fresh(log)
    assert list(map(len, log.sorted_ids().runs[:2])) == [base.RUN_IDS, base.RUN_IDS + 1]
    log += [f"ins-{n:06d}" for n in range(5, 40_000, 4)]  # 10,000: sorted again
    assert log.sorted_ids() == fresh(log)
    assert not any(b is a for b in before.runs for a in log.sorted_ids().runs)


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
