"""What `LedgerCache.refresh` costs after the as-of date moves and after the project was evicted,
folding every event again (as before fold states) and moving / restoring the fold (as now).

For each size it writes a synthetic bundle (`opseval synth`, seed 7; cached under bench/out/),
stores its events in a SQLite store and measures, in this process with `time.process_time` (CPU of
every thread: the SQLite store reads in a worker thread), each case twice, before and after in turn:

  date move   the project folded as of a day (30 days before the definition's as-of date), then
              refreshed as of the next day: before, folded afresh (a new ledger); after, the held
              ledger moved forward and only the events the old date held back read again (their
              number is printed; at a real midnight they are the few stamped after today)
  eviction    the project folded (as of that next day), dropped from memory after `idle_s`, then
              refreshed: before, folded afresh; after, restored from the fold state kept when it
              was evicted and only the events stored since folded (none here)

It prints each time, the ratio after ÷ before (of the sums) and the fold state's size (its JSON, and
compressed as both stores keep it) with the time to keep it. A benchmark, not a test: it
asserts nothing about time and exits 0 whatever it measures.

Run: `env -u PYTHONDONTWRITEBYTECODE uv run --frozen python bench/fold_state.py [--sizes 100k,1M]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path

from opseval_infra.projects import LedgerCache, fold_kind
from opseval_infra.store.base import Store, StoredEvent, StoredProject, compress
from opseval_infra.store.factory import opened_store
from opseval_intake.bundle import evidence_files, load_definition
from opseval_shared.evidence import parse_evidence_json

from opseval.synth import write_bundle

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
KIND = fold_kind("bench")
# The date move: from this many days before the definition's as-of date to the next day; evictions
# as of that next day. (As of the as-of date itself a correction in the synthetic bundle comes into
# force against an event folded before it in store order, so every fresh fold is two folds.)
BACK = 30


def _size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * scale)


def _bundle(events: int) -> Path:
    out = OUT / f"fold-state-synth-{events}-seed7"
    if not (out / "project.yaml").is_file():
        print(f"writing a synthetic bundle of {events:,} events to {out} …", flush=True)
        write_bundle(out, events, seed=7)
    return out


async def _load(store: Store, bundle: Path) -> tuple[str, date]:
    definition = load_definition(bundle)
    pid = definition.project.id
    await store.put_project(StoredProject(pid, "r1", definition.model_dump_json()))
    seen: set[str] = set()
    batch: list[StoredEvent] = []
    for path in evidence_files(bundle):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    continue
                e = parse_evidence_json(line)
                if e.id in seen:  # a replay in the bundle: the store keeps the first
                    continue
                seen.add(e.id)
                batch.append(StoredEvent(e.id, pid, e.kind.value, e.model_dump_json()))
                if len(batch) == 10_000:
                    await store.add_events(batch)
                    batch = []
    if batch:
        await store.add_events(batch)
    return pid, definition.project.evaluation.default_as_of


async def _timed(work: Callable[[], Awaitable[object]]) -> float:
    start = time.process_time()
    await work()
    return time.process_time() - start


async def date_move(store: Store, pid: str, day: date, after: bool) -> tuple[float, int]:
    today = [day]
    cache = LedgerCache(store, today=lambda: today[0])
    folded = await cache.refresh(pid)
    assert folded is not None
    held = folded.ledger.after_as_of
    today[0] = day + timedelta(days=1)
    if not after:
        cache._folded.pop(pid)  # as before: a new ledger as of the new date, every event folded again
    return await _timed(lambda: cache.refresh(pid)), held


async def eviction(store: Store, pid: str, as_of: date, after: bool) -> tuple[float, float]:
    now = [0.0]
    cache = LedgerCache(store, today=lambda: as_of, clock=lambda: now[0], snapshot_kind=KIND if after else None)
    await cache.refresh(pid)
    now[0] = 1_000.0
    kept = await _timed(lambda: cache.refresh("bench-no-such-project"))  # evicts (and keeps) the project
    assert cache.held() == []
    return await _timed(lambda: cache.refresh(pid)), kept


async def measure(events: int) -> None:
    bundle = _bundle(events)
    with tempfile.TemporaryDirectory(prefix="fold-state-bench-") as tmp:
        async with opened_store(f"sqlite:///{Path(tmp) / 'store.db'}") as store:
            start = time.perf_counter()
            pid, as_of = await _load(store, bundle)
            stored = await store.count_events(pid)
            print(f"\n{stored:,} events stored in {time.perf_counter() - start:.1f} s (bundle {bundle.name})")
            times: dict[tuple[str, bool], list[float]] = {}
            held = 0
            kept_s: list[float] = []
            for _ in range(2):
                for after in (False, True):
                    t, held = await date_move(store, pid, as_of - timedelta(days=BACK), after)
                    times.setdefault(("date move", after), []).append(t)
                for after in (False, True):
                    t, kept = await eviction(store, pid, as_of - timedelta(days=BACK - 1), after)
                    times.setdefault(("eviction", after), []).append(t)
                    if after:
                        kept_s.append(kept)
            snapshot = await store.get_snapshot(KIND, pid)
            assert snapshot is not None
            body = snapshot.body
            moved = as_of - timedelta(days=BACK)
            print(f"date move: as of {moved} → {moved + timedelta(days=1)}, {held:,} events held back, read again")
            print(f"{'case':<10} {'before s':>16} {'after s':>16} {'after/before':>13}")
            for case in ("date move", "eviction"):
                before, after_ = times[(case, False)], times[(case, True)]
                runs = lambda ts: " ".join(f"{t:7.3f}" for t in ts)  # noqa: E731
                print(f"{case:<10} {runs(before):>16} {runs(after_):>16} {sum(after_) / sum(before):>13.3f}")
            print(
                f"fold state: {len(body) / 2**20:.1f} MiB of JSON, {len(compress(body)) / 2**20:.1f} MiB"
                f" compressed; kept on eviction in {' '.join(f'{t:.3f}' for t in kept_s)} s CPU"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k", help="comma-separated event counts, e.g. 100k,1M")
    args = parser.parse_args()
    for events in (_size(s) for s in args.sizes.split(",")):
        asyncio.run(measure(events))


if __name__ == "__main__":
    main()
