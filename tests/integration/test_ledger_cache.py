"""Rules and scoring keep only the projects taking evidence now in memory: an idle project is
dropped and, when evidence comes back, folded again from the store to the same state."""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from opseval_infra import projects
from opseval_infra.projects import LedgerCache, fold_kind
from opseval_infra.store.base import Snapshot, Store, StoredEvent, StoredProject
from opseval_infra.store.factory import opened_store
from opseval_intake.bundle import evidence_files, load_definition
from opseval_reporting.pipeline import evaluate_ledger
from opseval_shared.evidence import Evidence, parse_evidence_json
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


class CountingStore:
    """A store that counts the event rows read from it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rows_read = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def events_after(
        self, project_id: str, seq: int, limit: int = 10_000, upto: int | None = None
    ) -> list[StoredEvent]:
        rows = await self.store.events_after(project_id, seq, limit, upto)
        self.rows_read += len(rows)
        return rows

    async def get_events(self, project_id: str, ids: list[str]) -> list[StoredEvent]:
        rows = await self.store.get_events(project_id, ids)
        self.rows_read += len(rows)
        return rows


async def _store_example(store: Store, bundle: Path = DONGGUAN) -> tuple[str, list[Evidence]]:
    definition = load_definition(bundle)
    pid = definition.project.id
    await store.put_project(StoredProject(pid, "r1", definition.model_dump_json()))
    lines = [ln for f in evidence_files(bundle) for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
    events = {e.id: e for e in (parse_evidence_json(ln) for ln in lines)}
    await store.add_events([StoredEvent(e.id, pid, e.kind.value, e.model_dump_json()) for e in events.values()])
    return pid, list(events.values())


def test_a_move_of_the_date_reads_only_the_events_the_old_date_held_back(tmp_path: Path) -> None:
    """At midnight a project evaluated as of today moves to the new day: the events after yesterday
    are read again, the rest stays folded, and the result is the one a fresh fold gives."""

    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as raw:
            pid, _ = await _store_example(raw)
            store = CountingStore(raw)
            today = [date(2022, 11, 30)]
            cache = LedgerCache(store, today=lambda: today[0])  # type: ignore[arg-type]
            folded = await cache.refresh(pid)
            assert folded is not None
            total, held = store.rows_read, folded.ledger.after_as_of
            assert 0 < held < total
            ledger = folded.ledger
            for day in (date(2022, 12, 31), date(2023, 2, 28), date(2023, 5, 31)):
                today[0] = day
                store.rows_read = 0
                moved = await cache.refresh(pid)
                assert moved is not None and moved.ledger is ledger and moved.ledger.as_of == day
                assert store.rows_read == held  # the events held back, not the project's
                held = moved.ledger.after_as_of
                fresh = await LedgerCache(raw, today=lambda d=day: d).refresh(pid)  # type: ignore[misc]
                assert fresh is not None
                assert (moved.events_folded, moved.last_seq) == (fresh.events_folded, fresh.last_seq)
                assert (
                    evaluate_ledger(moved.ledger).model_dump_json() == evaluate_ledger(fresh.ledger).model_dump_json()
                )
            # Back in time (a definition's default date moved earlier, a clock set back): folded afresh.
            today[0] = date(2022, 10, 31)
            store.rows_read = 0
            back = await cache.refresh(pid)
            assert back is not None and back.ledger is not ledger and store.rows_read == total

    asyncio.run(scenario())


def test_a_correction_coming_into_force_with_the_date_takes_what_it_names_out_without_a_refold(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as raw:
            store = CountingStore(raw)
            pid, events = await _store_example(raw)
            # an inspection done and recorded well before the first as-of date: folded then
            victim = min(e.id for e in events if e.kind.value == "inspection_done" and e.recorded_at.year == 2022)
            retraction = parse_evidence_json(
                json.dumps(
                    {
                        "id": "retract-late",
                        "project": pid,
                        "kind": "retraction",
                        "occurred_at": "2022-12-15T09:00:00+08:00",
                        "recorded_at": "2022-12-15T09:00:00+08:00",
                        "source": "test",
                        "payload": {"event": victim, "reason": "误报"},
                    }
                )
            )
            await store.add_events([StoredEvent(retraction.id, pid, "retraction", retraction.model_dump_json())])
            today = [date(2022, 11, 30)]
            cache = LedgerCache(store, today=lambda: today[0])  # type: ignore[arg-type]
            before = await cache.refresh(pid)
            assert before is not None and victim not in before.ledger.left_out
            ledger, held = before.ledger, before.ledger.after_as_of
            today[0] = date(2022, 12, 31)
            store.rows_read = 0
            moved = await cache.refresh(pid)
            assert moved is not None and victim in moved.ledger.left_out and not moved.ledger.stale
            # the retraction named a folded event: taken out of the same ledger, only it read again
            assert moved.ledger is ledger and store.rows_read == held + 1
            fresh = await LedgerCache(raw, today=lambda: date(2022, 12, 31)).refresh(pid)
            assert fresh is not None
            assert evaluate_ledger(moved.ledger).model_dump_json() == evaluate_ledger(fresh.ledger).model_dump_json()

    asyncio.run(scenario())


def _row(pid: str, raw: dict[str, Any]) -> StoredEvent:
    raw = {"project": pid, "source": "test", **raw}
    return StoredEvent(raw["id"], pid, raw["kind"], json.dumps(raw, ensure_ascii=False))


def test_late_corrections_are_taken_in_without_folding_the_project_again(tmp_path: Path) -> None:
    """A batch bringing a correction of a fault event and a retraction of a clock-in folded batches
    ago: the held ledger is kept, the events they name (and the others of the same ticket and day)
    are read again, not the project's, and it evaluates as a fresh fold does."""

    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as raw:
            pid, events = await _store_example(raw)
            store = CountingStore(raw)
            day = date(2022, 12, 31)
            cache = LedgerCache(store, today=lambda: day)  # type: ignore[arg-type]
            folded = await cache.refresh(pid)
            assert folded is not None
            ledger, total = folded.ledger, store.rows_read
            fault = next(e for e in events if e.kind.value == "incident" and e.recorded_at.date() < day)
            clock_in = next(e for e in events if e.kind.value == "clock_in" and e.recorded_at.date() < day)
            fixed = {
                **orjson.loads(fault.model_dump_json()),
                "id": "fault-fixed",
                "recorded_at": "2022-12-20T09:00:00+08:00",
            }
            fixed["corrects"] = {"event": fault.id, "reason": "时间录错"}
            retraction = {
                "id": "clock-retracted",
                "kind": "retraction",
                "occurred_at": "2022-12-20T09:00:00+08:00",
                "recorded_at": "2022-12-20T09:00:00+08:00",
                "payload": {"event": clock_in.id, "reason": "误打卡"},
            }
            await raw.add_events([_row(pid, fixed), _row(pid, retraction)])
            store.rows_read = 0
            again = await cache.refresh(pid)
            assert again is not None and again.ledger is ledger and not ledger.stale
            assert {fault.id, clock_in.id} <= ledger.left_out and ledger.corrected == 2
            assert 4 <= store.rows_read < total // 10  # the batch, the two named and their rivals
            fresh = await LedgerCache(raw, today=lambda: day).refresh(pid)
            assert fresh is not None and fresh.ledger is not ledger
            assert evaluate_ledger(again.ledger).model_dump_json() == evaluate_ledger(fresh.ledger).model_dump_json()

    asyncio.run(scenario())


KIND = fold_kind("rules")


def _more(pid: str, n: int, day: int = 20) -> list[StoredEvent]:  # (ids unique per day)
    """Trainings held in November 2022 (the ops contract of dongguan-2022)."""
    rows = []
    for k in range(n):
        raw = {
            "id": f"more-{pid}-{day}-{k}",
            "project": pid,
            "contract": "ops",
            "kind": "training_held",
            "occurred_at": f"2022-11-{day:02d}T10:00:00+08:00",
            "recorded_at": f"2022-11-{day:02d}T10:00:00+08:00",
            "source": "test",
            "payload": {"topic": f"培训 {k}"},
        }
        rows.append(StoredEvent(raw["id"], pid, "training_held", json.dumps(raw, ensure_ascii=False)))
    return rows


async def _fresh_json(store: Store, pid: str, day: date, upto_seq: int | None = None) -> str:
    fresh = await LedgerCache(store, today=lambda: day).refresh(pid, upto_seq)
    assert fresh is not None
    return evaluate_ledger(fresh.ledger).model_dump_json()


def test_an_evicted_project_is_taken_up_from_its_kept_fold_state(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as raw:
            pid, _ = await _store_example(raw)
            store = CountingStore(raw)
            now = [0.0]
            day = date(2022, 11, 30)
            cache = LedgerCache(store, today=lambda: day, clock=lambda: now[0], snapshot_kind=KIND)  # type: ignore[arg-type]
            first = await cache.refresh(pid)
            assert first is not None and await raw.get_snapshot(KIND, pid) is None  # small: kept when evicted
            total = first.events_folded
            await raw.add_events(_more(pid, 5))
            now[0] = 100.0
            await cache.refresh("no-such-project")  # evicts the idle project, keeping its state
            kept = await raw.get_snapshot(KIND, pid)
            assert cache.held() == [] and kept is not None and kept.seq == total
            store.rows_read = 0
            again = await cache.refresh(pid)
            assert again is not None and again.ledger is not first.ledger
            assert store.rows_read == 5  # only the events stored after it was kept
            assert (again.events_folded, again.last_seq) == (total + 5, first.last_seq + 5)
            assert evaluate_ledger(again.ledger).model_dump_json() == await _fresh_json(raw, pid, day)

    asyncio.run(scenario())


def test_a_new_process_takes_up_the_state_kept_on_shutdown_even_a_day_later(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as raw:
            pid, _ = await _store_example(raw)
            cache = LedgerCache(raw, today=lambda: date(2022, 11, 30), snapshot_kind=KIND)
            before = await cache.refresh(pid)
            assert before is not None
            await cache.save_all()
            store = CountingStore(raw)
            restarted = LedgerCache(store, today=lambda: date(2022, 12, 1), snapshot_kind=KIND)  # type: ignore[arg-type]
            after = await restarted.refresh(pid)
            assert after is not None and after.ledger.as_of == date(2022, 12, 1)
            assert store.rows_read == before.ledger.after_as_of  # the held-back events, read again
            assert evaluate_ledger(after.ledger).model_dump_json() == await _fresh_json(raw, pid, date(2022, 12, 1))

    asyncio.run(scenario())


def test_a_kept_state_that_does_not_fit_is_ignored_and_the_project_folded_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as raw:
            pid, _ = await _store_example(raw)
            day = date(2022, 11, 30)
            cache = LedgerCache(raw, today=lambda: day, snapshot_kind=KIND)
            folded = await cache.refresh(pid)
            assert folded is not None
            await cache.save_all()
            good = await raw.get_snapshot(KIND, pid)
            assert good is not None
            expected = await _fresh_json(raw, pid, day)
            envelope = json.loads(good.body)
            later = {**envelope, "ledger": {**envelope["ledger"], "as_of": "2022-12-31"}}
            bodies = {
                "corrupt": good.body[: len(good.body) // 2],
                "pickle": "\x80\x04\x95pickle".encode(),
                "another revision": json.dumps({**envelope, "revision": "r0"}).encode(),
                "another project": json.dumps(
                    {**envelope, "ledger": {**envelope["ledger"], "project": "other"}}
                ).encode(),
                "a later date": json.dumps(later).encode(),
                "another format": json.dumps({**envelope, "format": 99}).encode(),
                "another version of the fold": json.dumps({**envelope, "code": "0" * 16}).encode(),
                "broken": json.dumps({**envelope, "ledger": {**envelope["ledger"], "seen_count": 3}}).encode(),
            }
            for seq, (why, body) in enumerate(bodies.items(), start=good.seq + 1):
                assert await raw.put_snapshot(KIND, Snapshot(pid, seq, body)), why
                store = CountingStore(raw)
                fresh = LedgerCache(store, today=lambda: day, snapshot_kind=KIND)  # type: ignore[arg-type]
                caplog.clear()
                again = await fresh.refresh(pid)
                assert again is not None and store.rows_read == folded.events_folded, why
                assert evaluate_ledger(again.ledger).model_dump_json() == expected, why
                assert "not used" in caplog.text, why

    with caplog.at_level(logging.WARNING, logger="opseval_infra.projects"):
        asyncio.run(scenario())


def test_of_two_replicas_the_state_of_more_events_folded_is_kept(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            pid, _ = await _store_example(store)
            day = date(2022, 11, 30)
            behind = LedgerCache(store, today=lambda: day, snapshot_kind=KIND)
            ahead = LedgerCache(store, today=lambda: day, snapshot_kind=KIND)
            first = await behind.refresh(pid)
            assert first is not None and await store.get_snapshot(KIND, pid) is None  # small: not kept yet
            await store.add_events(_more(pid, 7))
            newer = await ahead.refresh(pid)
            assert newer is not None and newer.events_folded == first.events_folded + 7
            await ahead.save_all()
            await behind.save_all()  # holds fewer events: does not replace the other's
            kept = await store.get_snapshot(KIND, pid)
            assert kept is not None and kept.seq == newer.events_folded

    asyncio.run(scenario())


def test_a_large_project_is_kept_as_it_runs_each_time_its_events_double(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projects, "SAVE_FROM_EVENTS", 1_000)

    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            pid, _ = await _store_example(store)
            cache = LedgerCache(store, today=lambda: date(2022, 11, 30), snapshot_kind=KIND)
            first = await cache.refresh(pid)
            assert first is not None
            n = first.events_folded
            kept = await store.get_snapshot(KIND, pid)
            assert kept is not None and kept.seq == n  # past SAVE_FROM_EVENTS: kept at once
            await store.add_events(_more(pid, 100))
            await cache.refresh(pid)
            kept = await store.get_snapshot(KIND, pid)
            assert kept is not None and kept.seq == n  # far from doubled: not kept again
            await store.add_events(_more(pid, n, day=21))
            again = await cache.refresh(pid)
            kept = await store.get_snapshot(KIND, pid)
            assert again is not None and kept is not None and kept.seq == again.events_folded

    asyncio.run(scenario())


# ---------------------------------------------------------------- folded up to a bound (the scoring service)


def test_a_bounded_refresh_folds_the_events_up_to_the_bound_and_never_folds_back(tmp_path: Path) -> None:
    """Scoring folds the events the rules' findings were computed from, no more; a fold already past
    the bound (kept from before) is not folded back, and says so by its own last_seq and count."""

    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            pid, _ = await _store_example(store)
            seqs = [e.seq for e in await store.events_after(pid, 0, limit=100_000)]
            day = date(2026, 12, 4)
            cache = LedgerCache(store, today=lambda: day)
            bounded = await cache.refresh(pid, upto_seq=seqs[999], events_upto=1000)
            assert bounded is not None and (bounded.last_seq, bounded.events_folded) == (seqs[999], 1000)
            assert evaluate_ledger(bounded.ledger).model_dump_json() == await _fresh_json(store, pid, day, seqs[999])
            further = await cache.refresh(pid, upto_seq=seqs[1999], events_upto=2000)
            assert further is not None and (further.last_seq, further.events_folded) == (seqs[1999], 2000)
            everything = await cache.refresh(pid)
            assert everything is not None and everything.events_folded == len(seqs)
            behind = await cache.refresh(pid, upto_seq=seqs[1999], events_upto=2000)
            assert behind is not None and (behind.last_seq, behind.events_folded) == (seqs[-1], len(seqs))

    asyncio.run(scenario())


class LateStore:
    """A store where one event is committed late, below sequence numbers already read (as MongoDB's
    concurrent writers can): hidden from `events_after` until `commit`."""

    def __init__(self, store: Store, late: str) -> None:
        self.store, self.late, self.committed = store, late, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def commit(self) -> None:
        self.committed = True

    async def events_after(
        self, project_id: str, seq: int, limit: int = 10_000, upto: int | None = None
    ) -> list[StoredEvent]:
        rows = await self.store.events_after(project_id, seq, limit, upto)
        return [r for r in rows if self.committed or r.id != self.late]


def test_a_bounded_fold_short_of_the_count_at_the_bound_folds_afresh(tmp_path: Path) -> None:
    """Bounded, the store's count goes past the bound: the count to hold is the one the rules folded
    up to it. An event committed below a sequence number this fold had read past, which the rules'
    fold met, makes it fewer: the project is folded afresh up to the bound, and has it."""

    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as raw:
            pid, _ = await _store_example(raw)
            rows = await raw.events_after(pid, 0, limit=100_000)
            seqs = [e.seq for e in rows]
            store = LateStore(raw, late=rows[500].id)
            day = date(2026, 12, 4)
            cache = LedgerCache(store, today=lambda: day)  # type: ignore[arg-type]
            first = await cache.refresh(pid, upto_seq=seqs[999], events_upto=999)  # neither saw it yet
            assert first is not None and first.events_folded == 999
            store.commit()
            again = await cache.refresh(pid, upto_seq=seqs[1999], events_upto=2000)
            assert again is not None and (again.last_seq, again.events_folded) == (seqs[1999], 2000)
            assert evaluate_ledger(again.ledger).model_dump_json() == await _fresh_json(raw, pid, day, seqs[1999])

    asyncio.run(scenario())
