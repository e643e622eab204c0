"""Rules and scoring keep only the projects taking evidence now in memory: an idle project is
dropped and, when evidence comes back, folded again from the store to the same state."""

from __future__ import annotations

import asyncio
import json
import weakref
from datetime import date
from pathlib import Path

from opseval_infra.projects import LedgerCache
from opseval_infra.store.base import StoredEvent, StoredProject
from opseval_infra.store.factory import opened_store
from opseval_intake.bundle import evidence_files, load_definition
from opseval_shared.evidence import parse_evidence_json

DONGGUAN = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"


def test_an_idle_project_is_dropped_from_memory_and_folded_again_to_the_same_state(tmp_path: Path) -> None:
    definition = load_definition(DONGGUAN)
    lines = [ln for f in evidence_files(DONGGUAN) for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
    rows = [json.loads(ln) for ln in lines[:500]]

    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            for pid in ("a", "b"):
                renamed = definition.model_copy(update={"project": definition.project.model_copy(update={"id": pid})})
                await store.put_project(StoredProject(pid, "r1", renamed.model_dump_json()))
                await store.add_events(
                    [
                        StoredEvent(
                            f"{pid}-{r['id']}",
                            pid,
                            r["kind"],
                            json.dumps({**r, "id": f"{pid}-{r['id']}", "project": pid}),
                        )
                        for r in rows
                    ]
                )
            now = [0.0]
            cache = LedgerCache(store, today=lambda: date(2023, 9, 1), idle_s=60, clock=lambda: now[0])
            first = await cache.refresh("a")
            assert first is not None and first.folded == 500
            now[0] = 30
            await cache.refresh("b")
            assert cache.held() == ["a", "b"]
            counts = (first.folded, first.last_seq, first.ledger.events, first.ledger.duplicates)
            dropped = weakref.ref(first.ledger)
            del first
            now[0] = 95  # a idle for 95 s, b for 65 s: both past the limit when a comes back
            again = await cache.refresh("a")
            assert cache.held() == ["a"]
            assert dropped() is None  # the evicted ledger is freed at once: it holds no cycle
            assert again is not None
            assert (again.folded, again.last_seq, again.ledger.events, again.ledger.duplicates) == counts

    asyncio.run(scenario())


def test_events_remembered_after_their_project_was_folded_from_the_store_are_not_kept(tmp_path: Path) -> None:
    """Rules and scoring both store every event: the one that folds an event from the store before
    its own consumer delivers it must not keep that delivery in memory for ever."""
    definition = load_definition(DONGGUAN)
    lines = [ln for f in evidence_files(DONGGUAN) for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]

    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            await store.put_project(StoredProject(definition.project.id, "r1", definition.model_dump_json()))
            events = [parse_evidence_json(ln) for ln in lines[:300]]
            await store.add_events([StoredEvent(e.id, e.project, e.kind.value, e.model_dump_json()) for e in events])
            cache = LedgerCache(store, today=lambda: date(2023, 9, 1))
            folded = await cache.refresh(definition.project.id)  # the other service stored them first
            assert folded is not None and folded.folded == 300
            cache.remember(events)  # then this service's consumer delivers them: already stored
            assert cache.remembered() == 300
            again = await cache.refresh(definition.project.id)
            assert again is not None and again.folded == 300
            assert cache.remembered() == 0

    asyncio.run(scenario())
