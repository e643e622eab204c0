"""When a dirty project is evaluated: at once when nothing more is coming, after the rest of a push
when more is (at most the debounce later)."""

from __future__ import annotations

import asyncio

from opseval_infra.projects import STREAMING_FROM, DirtyProjects

LONG = 60.0  # s: a debounce no test waits out


async def evaluations_after(marks: list[tuple[set[str], int]], debounce_s: float, settle_s: float) -> list[str]:
    evaluated: list[str] = []

    async def evaluate(project: str) -> None:
        evaluated.append(project)

    dirty = DirtyProjects("rules", debounce_s, evaluate)
    dirty.start()
    try:
        for projects, behind in marks:
            dirty.mark(projects, behind=behind)
            await asyncio.sleep(0)
        await asyncio.sleep(settle_s)
    finally:
        await dirty.stop()
    return evaluated


def test_a_mark_with_nothing_more_coming_is_evaluated_without_waiting_for_the_debounce() -> None:
    assert asyncio.run(evaluations_after([({"p1"}, 0)], LONG, 1.0)) == ["p1"]


def test_a_push_still_arriving_waits_for_its_last_batch_and_is_evaluated_once() -> None:
    marks = [({"p1"}, 5), ({"p1", "p2"}, 3), ({"p2"}, 0)]
    assert asyncio.run(evaluations_after(marks, LONG, 1.0)) == ["p1", "p2"]


def test_a_push_whose_rest_never_comes_is_evaluated_after_the_debounce() -> None:
    assert asyncio.run(evaluations_after([({"p1"}, 5)], LONG, 0.5)) == []
    assert asyncio.run(evaluations_after([({"p1"}, 5)], 0.2, 1.5)) == ["p1"]


def test_while_a_push_streams_in_the_next_evaluation_waits_as_long_as_the_last_round_took() -> None:
    """Evaluations take at most about half the time while a push streams in; a trickle waits the
    debounce, and a mark with nothing more behind it is still evaluated at once."""

    async def run() -> tuple[float, float, float]:
        loop = asyncio.get_running_loop()
        ended: list[float] = []
        started: list[float] = []

        async def evaluate(project: str) -> None:
            started.append(loop.time())
            await asyncio.sleep(0.4)  # a round of evaluations that takes 0.4 s
            ended.append(loop.time())

        dirty = DirtyProjects("rules", 0.01, evaluate)
        dirty.start()
        try:
            dirty.mark({"p1"})
            while not ended:
                await asyncio.sleep(0.01)
            dirty.mark({"p1"}, behind=STREAMING_FROM)  # a push streaming in
            while len(ended) < 2:
                await asyncio.sleep(0.01)
            dirty.mark({"p1"}, behind=STREAMING_FROM - 1)  # a trickle: a little more behind a batch
            while len(ended) < 3:
                await asyncio.sleep(0.01)
            dirty.mark({"p1"})  # then all of it arrived
            while len(ended) < 4:
                await asyncio.sleep(0.01)
        finally:
            await dirty.stop()
        return started[1] - ended[0], started[2] - ended[1], started[3] - ended[2]

    streaming, trickle, settled = asyncio.run(run())
    assert streaming >= 0.39  # not the debounce's 0.01 s
    # The trickle waits the debounce (0.01 s), the last mark nothing: each well under half the wait
    # of the push (were the trickle's the push's, both would be ≥ 0.39 s).
    assert trickle < streaming / 2 and settled < streaming / 2


def test_after_each_round_of_evaluations_and_not_within_one_the_round_hook_runs() -> None:
    async def run() -> list[str]:
        seen: list[str] = []

        async def evaluate(project: str) -> None:
            seen.append(project)

        dirty = DirtyProjects("rules", 0.01, evaluate, after_round=lambda: seen.append("round done"))
        dirty.start()
        try:
            dirty.mark({"p1", "p2"})
            await asyncio.sleep(0.3)
            dirty.mark({"p1"})
            await asyncio.sleep(0.3)
        finally:
            await dirty.stop()
        return seen

    assert asyncio.run(run()) == ["p1", "p2", "round done", "p1", "round done"]
