"""Rules and scoring keep only the projects taking evidence now in memory: an idle project is
dropped and, when evidence comes back, folded again from the store to the same state."""

from __future__ import annotations

import asyncio
import json
import weakref
from datetime import date
from pathlib import Path

import pytest
from opseval_infra.projects import LedgerCache
from opseval_infra.store.base import StoredEvent, StoredProject
from opseval_infra.store.factory import opened_store
from opseval_intake.bundle import evidence_files, load_definition
from opseval_shared.evidence import parse_evidence_json
from opseval_shared.holidays import HolidayCalendar

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
            assert first is not None and first.events_folded == 500
            now[0] = 30
            await cache.refresh("b")
            assert cache.held() == ["a", "b"]
            counts = (first.events_folded, first.last_seq, first.ledger.events, first.ledger.duplicates)
            dropped = weakref.ref(first.ledger)
            del first
            now[0] = 95  # a idle for 95 s, b for 65 s: both past the limit when a comes back
            again = await cache.refresh("a")
            assert cache.held() == ["a"]
            assert dropped() is None  # the evicted ledger is freed at once: it holds no cycle
            assert again is not None
            assert (again.events_folded, again.last_seq, again.ledger.events, again.ledger.duplicates) == counts

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
            assert folded is not None and folded.events_folded == 300
            cache.remember(events)  # then this service's consumer delivers them: already stored
            assert cache.remembered() == 300
            again = await cache.refresh(definition.project.id)
            assert again is not None and again.events_folded == 300
            assert cache.remembered() == 0

    asyncio.run(scenario())


# 2022 as the State Council gave it (国办发明电〔2021〕11号)
DECLARED_2022 = {
    "year": 2022,
    "holidays": [
        {"name": "元旦", "start": "2022-01-01", "end": "2022-01-03"},
        {"name": "春节", "start": "2022-01-31", "end": "2022-02-06"},
        {"name": "清明节", "start": "2022-04-03", "end": "2022-04-05"},
        {"name": "劳动节", "start": "2022-04-30", "end": "2022-05-04"},
        {"name": "端午节", "start": "2022-06-03", "end": "2022-06-05"},
        {"name": "中秋节", "start": "2022-09-10", "end": "2022-09-12"},
        {"name": "国庆节", "start": "2022-10-01", "end": "2022-10-07"},
    ],
    "workdays": ["2022-01-29", "2022-01-30", "2022-04-02", "2022-04-24", "2022-05-07", "2022-10-08", "2022-10-09"],
}


def test_a_folded_project_uses_its_registered_calendar_before_the_installations(tmp_path: Path) -> None:
    bundle_calendar = HolidayCalendar.model_validate({"years": [DECLARED_2022]})
    definition = load_definition(DONGGUAN).model_copy(update={"calendar": bundle_calendar})
    installation = HolidayCalendar.model_validate({"years": [{**DECLARED_2022, "basis": "安装方"}]})

    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            await store.put_project(StoredProject(definition.project.id, "r1", definition.model_dump_json()))
            cache = LedgerCache(store, today=lambda: date(2023, 9, 1), calendar=installation)
            folded = await cache.refresh(definition.project.id)
            assert folded is not None
            work = folded.context().work
            assert [(s.year, s.source) for s in work.sources([2022, 2031])] == [(2022, "bundle"), (2031, "fallback")]

            bare = definition.model_copy(update={"calendar": None})
            await store.put_project(StoredProject(bare.project.id, "r2", bare.model_dump_json()))
            folded = await cache.refresh(bare.project.id)
            assert folded is not None
            sources = folded.context().work.sources([2022])
            assert [(s.year, s.source, s.detail) for s in sources] == [
                (2022, "installation", "安装配置的节假日日历声明（安装方）")
            ]

    asyncio.run(scenario())


def test_opseval_serve_loads_the_installation_calendar_or_refuses_a_bad_one(tmp_path: Path) -> None:
    from opseval_intake.bundle import BundleError
    from opseval_rules.settings import RulesSettings

    from opseval.fleet import create_app

    path = tmp_path / "holidays.yaml"
    path.write_text(json.dumps({"years": [DECLARED_2022]}, ensure_ascii=False), encoding="utf-8")
    app = create_app("rules", RulesSettings(calendar_file=path))
    assert [y.year for y in app.state.fleet.calendar.years] == [2022]
    assert create_app("rules", RulesSettings()).state.fleet.calendar is None

    path.write_text(json.dumps({"years": [{**DECLARED_2022, "workdays": ["2022-10-01"]}]}), encoding="utf-8")
    with pytest.raises(BundleError, match=r"holidays.yaml:1: years\[0\].workdays\[0\]: 2022-10-01 is declared both"):
        create_app("rules", RulesSettings(calendar_file=path))
