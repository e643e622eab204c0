"""When a dirty project is evaluated: at once when nothing more is coming, after the rest of a push
when more is (at most the debounce later)."""

from __future__ import annotations

import asyncio

from opseval_infra.projects import DirtyProjects

LONG = 60.0  # s: a debounce no test waits out


async def evaluations_after(marks: list[tuple[set[str], bool]], debounce_s: float, settle_s: float) -> list[str]:
    evaluated: list[str] = []

    async def evaluate(project: str) -> None:
        evaluated.append(project)

    dirty = DirtyProjects("rules", debounce_s, evaluate)
    dirty.start()
    try:
        for projects, more_coming in marks:
            dirty.mark(projects, more_coming=more_coming)
            await asyncio.sleep(0)
        await asyncio.sleep(settle_s)
    finally:
        await dirty.stop()
    return evaluated


def test_a_mark_with_nothing_more_coming_is_evaluated_without_waiting_for_the_debounce() -> None:
    assert asyncio.run(evaluations_after([({"p1"}, False)], LONG, 1.0)) == ["p1"]


def test_a_push_still_arriving_waits_for_its_last_batch_and_is_evaluated_once() -> None:
    marks = [({"p1"}, True), ({"p1", "p2"}, True), ({"p2"}, False)]
    assert asyncio.run(evaluations_after(marks, LONG, 1.0)) == ["p1", "p2"]


def test_a_push_whose_rest_never_comes_is_evaluated_after_the_debounce() -> None:
    assert asyncio.run(evaluations_after([({"p1"}, True)], LONG, 0.5)) == []
    assert asyncio.run(evaluations_after([({"p1"}, True)], 0.2, 1.5)) == ["p1"]
