"""No stored event freezes a project: rules and scoring set aside an event whose references no
longer resolve (and hand it to the dead-letter office) and fold the rest; a late correction folds
the project again; an evaluation that fails all the same is recorded where the results API and
readiness show it."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from opseval_infra.projects import DirtyProjects, EvaluationHealth, LedgerCache, definitions_changed, evaluation_kind
from opseval_infra.store.base import Store, StoredEvent, StoredProject
from opseval_infra.store.factory import opened_store
from opseval_intake.bundle import evidence_files, load_definition
from opseval_shared.ledger import EvidenceReferenceError
from opseval_shared.project import ProjectDefinition

DONGGUAN = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"
PROJECT = "dongguan-2022"


def rows(n: int) -> list[dict[str, Any]]:
    lines = [ln for f in evidence_files(DONGGUAN) for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return [json.loads(ln) for ln in lines[:n]]


def stored(event: dict[str, Any]) -> StoredEvent:
    return StoredEvent(event["id"], event["project"], event["kind"], json.dumps(event, ensure_ascii=False))


def typo(base: dict[str, Any]) -> dict[str, Any]:
    """An inspection of a plan the definition does not have (accepted under another definition)."""
    return {
        **base,
        "id": "typo-1",
        "contract": "ops",
        "kind": "inspection_done",
        "payload": {"plan": "monthly_inspectoin", "items": 1},
    }


async def register(store: Store, definition: ProjectDefinition) -> None:
    await store.put_project(StoredProject(PROJECT, "r1", definition.model_dump_json()))


def test_an_unresolved_event_is_set_aside_and_a_retraction_of_it_folds_the_project_again(tmp_path: Path) -> None:
    definition = load_definition(DONGGUAN)
    events = rows(300)
    clean = [e for e in events if e["kind"] != "inspection_done"]
    bad = typo(clean[0])
    set_aside: list[tuple[str, str, str]] = []

    async def report(row: StoredEvent, revision: str, exc: EvidenceReferenceError) -> None:
        set_aside.append((row.id, revision, exc.field_path))

    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            await register(store, definition)
            await store.add_events([stored(e) for e in clean[:100]] + [stored(bad)] + [stored(e) for e in clean[100:]])
            cache = LedgerCache(store, today=lambda: date(2023, 9, 1), on_unresolved=report)
            folded = await cache.refresh(PROJECT)
            assert folded is not None and folded.events_folded == len(clean) + 1
            assert folded.ledger.events == len(clean)  # every other event folded
            assert set_aside == [("typo-1", "r1", "payload.plan")]
            assert list(cache.unresolved(PROJECT)) == ["typo-1"]

            retraction = {
                **bad,
                "id": "retract-typo-1",
                "kind": "retraction",
                "contract": None,
                "payload": {"event": "typo-1", "reason": "巡检计划编号录入错误"},
            }
            await store.add_events([stored(retraction)])
            again = await cache.refresh(PROJECT)
            assert again is not None and cache.unresolved(PROJECT) == {}
            assert again.ledger.corrected == 1 and again.ledger.events == len(clean)
            assert [c["event"] for c in cache.corrections(PROJECT)] == ["typo-1"]

    asyncio.run(scenario())


def test_a_correction_of_an_event_already_folded_gives_the_ledger_of_the_corrected_evidence(tmp_path: Path) -> None:
    definition = load_definition(DONGGUAN)
    events = [e for e in rows(400) if e["kind"] == "clock_in"][:50]
    moved = {**events[10], "id": "moved", "occurred_at": events[10]["occurred_at"].replace("T0", "T1", 1)}
    assert moved["occurred_at"] != events[10]["occurred_at"]

    async def scenario() -> None:
        async with (
            opened_store(f"sqlite:///{tmp_path / 'a.db'}") as a,
            opened_store(f"sqlite:///{tmp_path / 'b.db'}") as b,
        ):
            for store in (a, b):
                await register(store, definition)
            await a.add_events([stored(e) for e in events])
            cache_a = LedgerCache(a, today=lambda: date(2023, 9, 1))
            wrong = await cache_a.refresh(PROJECT)  # the wrong clock-in folded first
            assert wrong is not None
            before = {k: dict(v) for k, v in wrong.ledger.first_clock_in.items()}
            correction = {**moved, "corrects": {"event": events[10]["id"], "reason": "打卡时间导出错误"}}
            await a.add_events([stored(correction)])
            corrected = await cache_a.refresh(PROJECT)

            await b.add_events([stored(e) for e in events if e is not events[10]] + [stored(moved)])
            first = await LedgerCache(b, today=lambda: date(2023, 9, 1)).refresh(PROJECT)
            assert corrected is not None and first is not None
            assert dict(corrected.ledger.first_clock_in) == dict(first.ledger.first_clock_in) != before
            assert corrected.ledger.events == first.ledger.events and corrected.ledger.corrected == 1

    asyncio.run(scenario())


def test_a_failing_evaluation_is_recorded_for_the_results_api_and_readiness_and_cleared_when_it_passes(
    tmp_path: Path,
) -> None:
    definition = load_definition(DONGGUAN)
    broken = [True]

    async def evaluate(project: str) -> None:
        if broken[0]:
            raise RuntimeError("rule set cannot run")

    async def status(store: Store) -> dict[str, Any] | None:
        snap = await store.get_snapshot(evaluation_kind("rules"), PROJECT)
        return None if snap is None else orjson.loads(snap.body)

    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            await register(store, definition)
            health = EvaluationHealth("rules", store, LedgerCache(store))
            dirty = DirtyProjects("rules", 0.01, evaluate, health)
            dirty.start()
            try:
                dirty.mark({PROJECT})
                for _ in range(200):
                    await asyncio.sleep(0.02)
                    if (s := await status(store)) is not None:
                        break
                assert s is not None and s["state"] == "failing" and "rule set cannot run" in s["error"]
                assert health.detail() == {"failing": {PROJECT: "RuntimeError: rule set cannot run"}}
                broken[0] = False
                for _ in range(400):  # retried after its pause, then passes
                    await asyncio.sleep(0.02)
                    if (s := await status(store)) is not None and s["state"] == "ok":
                        break
                assert s is not None and s["state"] == "ok" and s["error"] is None
                assert health.detail() == {"failing": {}}
            finally:
                await dirty.stop()

    asyncio.run(scenario())


def test_a_project_evaluated_under_another_definition_than_the_stored_one_is_due_again() -> None:
    # A → B → A between two looks, evaluated under B: the look saw A both times
    assert definitions_changed({"p": "A"}, {"p": "A"}, {"p": "B"}) == {"p"}
    assert definitions_changed({"p": "A"}, {"p": "A"}, {"p": "A"}) == set()
    assert definitions_changed({"p": "B"}, {"p": "A"}, {}) == {"p"}  # registered again, never evaluated here
    assert definitions_changed({"p": "A", "q": "C"}, None, {"p": "A"}) == set()  # the first look: nothing to compare
    assert definitions_changed({"p": "A", "q": "C"}, {"p": "A"}, {"p": "A"}) == {"q"}  # a new project


def test_a_definition_replaced_and_restored_between_two_looks_gets_the_project_evaluated_again(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """A → B → A inside one poll: the project was evaluated under B, so the watcher must see that the
    stored A is not what it was evaluated under, although A is also what it saw at its last look."""
    monkeypatch.setattr("opseval_infra.projects.DEFINITION_POLL_S", 0.02)
    definition = load_definition(DONGGUAN)
    evaluated: list[str] = []

    async def evaluate(project: str) -> None:
        evaluated.append(project)
        await cache.refresh(project)

    async def scenario() -> None:
        nonlocal cache
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            await store.put_project(StoredProject(PROJECT, "A", definition.model_dump_json()))
            cache = LedgerCache(store, today=lambda: date(2023, 9, 1))
            dirty = DirtyProjects("rules", 0.01, evaluate, None, store, cache)
            dirty.start()
            try:
                await asyncio.sleep(0.1)  # the watcher has looked: A
                await store.put_project(StoredProject(PROJECT, "B", definition.model_dump_json()))
                await cache.refresh(PROJECT)  # evaluated under B (its evidence arrived)
                await store.put_project(StoredProject(PROJECT, "A", definition.model_dump_json()))
                for _ in range(200):  # until the evaluation the watcher asked for has finished
                    await asyncio.sleep(0.02)
                    if cache.evaluated_under.get(PROJECT) == "A":
                        break
                assert cache.evaluated_under[PROJECT] == "A"
                assert evaluated and set(evaluated) == {PROJECT}  # a look that saw B may add one more
            finally:
                await dirty.stop()

    cache: LedgerCache
    asyncio.run(scenario())
