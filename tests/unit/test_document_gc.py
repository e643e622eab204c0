"""The office documents render without full garbage collections (their cost, not their garbage), and
the collector's thresholds are restored afterwards, also when renderings overlap."""

from __future__ import annotations

import gc
import threading

from opseval_reporting import output


def test_full_collections_are_held_while_rendering_and_restored_after() -> None:
    before = gc.get_threshold()
    with output._full_collections_held():
        held = gc.get_threshold()
        assert held[:2] == before[:2] and held[2] >= 1_000_000
        with output._full_collections_held():  # a second rendering at the same time
            assert gc.get_threshold() == held
        assert gc.get_threshold() == held  # still held: the first is not done
    assert gc.get_threshold() == before


def test_overlapping_renderings_in_threads_restore_the_threshold() -> None:
    before = gc.get_threshold()
    inside = threading.Barrier(4)

    def render() -> None:
        with output._full_collections_held():
            inside.wait(timeout=10)

    threads = [threading.Thread(target=render) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert gc.get_threshold() == before


def test_the_threshold_is_restored_when_a_rendering_fails() -> None:
    before = gc.get_threshold()
    try:
        with output._full_collections_held():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
