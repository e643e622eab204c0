"""The garbage collector in a service that holds large projects: its pauses timed per generation
(`opseval_gc_pause_seconds{generation}`), and what the projects hold kept out of its full collections
(`FrozenBetweenRounds`).

A full collection at a million events walks every container the process holds (170 ms in a process
of its own, 260 ms in the fleet on a busy machine); while it runs, no thread of the process runs
Python. Its pauses are in none of an evaluation's steps, yet every answer in flight waits for them.

The collector's callbacks only count (plain floats and ints under the GIL): they run wherever an
allocation triggered a collection, possibly inside prometheus_client holding its own lock, so they
must not call into it. The counts are read at scrape time by `PauseCollector`."""

from __future__ import annotations

import gc
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import REGISTRY, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

BOUNDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)  # seconds
GENERATIONS = (0, 1, 2)


class Pauses:
    """The collector's pauses of one process, counted per generation and bucket."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.buckets = {g: [0] * (len(BOUNDS) + 1) for g in GENERATIONS}
        self.seconds = dict.fromkeys(GENERATIONS, 0.0)
        self._started = 0.0  # a collection stops the world: one runs at a time

    def callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = self.clock()
            return
        took = self.clock() - self._started
        generation = info["generation"]
        self.buckets[generation][bisect_left(BOUNDS, took)] += 1
        self.seconds[generation] += took

    def count(self, generation: int) -> int:
        return sum(self.buckets[generation])


class PauseCollector(Collector):
    """The pauses as a histogram, and how many objects are frozen (`FrozenBetweenRounds`)."""

    def __init__(self, pauses: Pauses) -> None:
        self.pauses = pauses

    def collect(self) -> Iterator[HistogramMetricFamily | GaugeMetricFamily]:
        family = HistogramMetricFamily(
            "opseval_gc_pause_seconds",
            "pauses of the garbage collector, by generation (2: a full collection); no thread runs meanwhile",
            labels=["generation"],
        )
        for generation in GENERATIONS:
            counts = list(self.pauses.buckets[generation])
            cumulative, running = [], 0
            for bound, n in zip((*map(str, BOUNDS), "+Inf"), counts, strict=True):
                running += n
                cumulative.append((bound, running))
            family.add_metric([str(generation)], cumulative, self.pauses.seconds[generation])
        yield family
        yield GaugeMetricFamily(
            "opseval_gc_frozen_objects",
            "objects kept out of the collector's sight until the next thaw",
            gc.get_freeze_count(),
        )


class FrozenBetweenRounds:
    """After each round of evaluations, every object the process holds is moved out of the
    collector's sight (`gc.freeze`, a splice of its lists: no walk). A held project is a million
    events' records, kept facts and id lists that live for hours; in sight, the collector's full
    collections walk them every time (in the fleet, twice in 12 s at a million events, 260 ms each),
    and find nothing to collect: they are freed by their reference counts when replaced, frozen or
    not. What a round makes after the freeze is collected as before.

    Cycles among frozen objects are what the collector alone frees: they wait for the next thaw.
    Every `thaw_s` the frozen objects are handed back and collected in one full collection, at the
    end of a round, not in the middle of one. `thaw_s` 0 never freezes."""

    def __init__(self, thaw_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.thaw_s, self.clock = thaw_s, clock
        self._thawed = clock()

    def after_round(self) -> None:
        if not self.thaw_s:
            return
        now = self.clock()
        if now - self._thawed >= self.thaw_s:
            self._thawed = now
            gc.unfreeze()
            gc.collect()
        gc.freeze()


_installed: Pauses | None = None


def time_collector_pauses() -> Pauses:
    """Time this process's collections from now on (once; later calls return the same counts)."""
    global _installed
    if _installed is None:
        _installed = Pauses()
        gc.callbacks.append(_installed.callback)
        REGISTRY.register(PauseCollector(_installed))
    return _installed
