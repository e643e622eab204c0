"""The collector's pauses are counted per generation and served as a Prometheus histogram."""

from __future__ import annotations

import gc
import weakref

from opseval_infra.collector import BOUNDS, FrozenBetweenRounds, PauseCollector, Pauses, time_collector_pauses
from prometheus_client import generate_latest


def test_each_collection_is_counted_in_its_generation_and_bucket() -> None:
    pauses = Pauses()
    gc.callbacks.append(pauses.callback)
    try:
        gc.collect(2)
        gc.collect(0)
    finally:
        gc.callbacks.remove(pauses.callback)
    assert pauses.count(2) == 1
    assert pauses.count(0) == 1
    assert pauses.count(1) == 0
    assert pauses.seconds[2] > 0


def test_a_pause_falls_in_the_first_bucket_it_is_within() -> None:
    times = iter((10.0, 10.03))
    pauses = Pauses(clock=lambda: next(times))
    pauses.callback("start", {"generation": 2})
    pauses.callback("stop", {"generation": 2})
    assert pauses.buckets[2][BOUNDS.index(0.05)] == 1
    assert abs(pauses.seconds[2] - 0.03) < 1e-9


def test_the_histogram_is_cumulative_with_the_sum_of_pauses() -> None:
    pauses = Pauses()
    pauses.buckets[2][0] = 2  # two pauses within 1 ms
    pauses.buckets[2][BOUNDS.index(0.25)] = 1  # one within 250 ms
    pauses.seconds[2] = 0.2
    samples = {
        (s.name, s.labels.get("generation"), s.labels.get("le")): s.value
        for family in PauseCollector(pauses).collect()
        for s in family.samples
    }
    assert samples[("opseval_gc_pause_seconds_bucket", "2", "0.001")] == 2
    assert samples[("opseval_gc_pause_seconds_bucket", "2", "0.1")] == 2
    assert samples[("opseval_gc_pause_seconds_bucket", "2", "0.25")] == 3
    assert samples[("opseval_gc_pause_seconds_bucket", "2", "+Inf")] == 3
    assert samples[("opseval_gc_pause_seconds_count", "2", None)] == 3
    assert samples[("opseval_gc_pause_seconds_sum", "2", None)] == 0.2


def test_installed_once_the_process_metrics_show_a_full_collection() -> None:
    pauses = time_collector_pauses()
    assert time_collector_pauses() is pauses
    before = pauses.count(2)
    gc.collect()
    assert pauses.count(2) == before + 1
    assert b'opseval_gc_pause_seconds_count{generation="2"}' in generate_latest()


class _Node:
    def __init__(self) -> None:
        self.me: _Node | None = None


def test_what_is_held_between_rounds_is_out_of_sight_until_the_thaw_collects_its_cycles() -> None:
    now = [0.0]
    frozen = FrozenBetweenRounds(600, clock=lambda: now[0])
    gc.disable()  # no collection but the test's own between its steps
    try:
        cycle = _Node()
        cycle.me = cycle
        alive = weakref.ref(cycle)
        del cycle
        frozen.after_round()
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert alive() is not None  # frozen: a full collection does not look at it
        now[0] = 599.0
        frozen.after_round()
        gc.collect()
        assert alive() is not None
        now[0] = 600.0
        frozen.after_round()  # the thaw: handed back and collected, the rest frozen again
        assert alive() is None
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_thaw_period_of_zero_never_freezes() -> None:
    # (Compared with before, not with 0: a service run in this process earlier may have frozen.)
    before = gc.get_freeze_count()
    made = _Node()  # an object made since, which a freeze would take
    FrozenBetweenRounds(0).after_round()
    assert gc.get_freeze_count() == before and made is not None
