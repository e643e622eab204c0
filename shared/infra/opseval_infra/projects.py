"""Each project's ledger, folded incrementally from the store and re-evaluated when dirty.

The store is the source of truth: a replica folds every event of the project that any replica
stored, in store order, so two replicas never hold half a project each.

No stored event can stop a project's evaluation: one whose references no longer resolve (its
project's definition changed after intake accepted it) is set aside — reported to `on_unresolved`,
which dead-letters it — and the project is evaluated without it. An evaluation that fails all the
same is reported (`EvaluationHealth`): on the project's API answers and in readiness detail.

A project is folded from scratch once: when the as-of date moves forward (midnight) the held ledger
moves with it (`Ledger.move_to`), and a project dropped from memory or held by a process that
stopped is taken up from its kept fold state (`fold_kind`, opseval_shared.fold_state).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import orjson
from opseval_shared import fold_state
from opseval_shared.base import CHINA_TZ
from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence import Evidence, parse_evidence_json
from opseval_shared.fold_state import FoldStateError
from opseval_shared.holidays import HolidayCalendar
from opseval_shared.ledger import EvidenceReferenceError, Ledger
from opseval_shared.metrics import MetricContext
from opseval_shared.project import ProjectDefinition
from prometheus_client.context_managers import Timer

from .http import DIRTY_PROJECTS, EVALUATION_CPU, EVALUATION_STEPS, EVALUATIONS, FAILING_PROJECTS
from .store.base import Snapshot, SnapshotTooLarge, Store, StoredEvent

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFINITION_POLL_S = 2.0  # how often rules and scoring look for re-registered definitions


def today_in_china() -> date:
    return datetime.now(CHINA_TZ).date()


@dataclass
class Folded:
    ledger: Ledger
    revision: str  # the definition's revision
    last_seq: int = 0
    events_folded: int = 0  # events read from the store (what the evaluation's results were computed from)
    used: float = 0.0  # when it was last refreshed (LedgerCache's clock), for eviction when idle
    work: WorkCalendar = field(default_factory=WorkCalendar)  # kept: its caches outlive an evaluation
    # events set aside because a reference does not resolve: id -> (field, reason)
    unresolved: dict[str, tuple[str, str]] = field(default_factory=dict)

    def context(self) -> MetricContext:
        return MetricContext(self.ledger, self.work)


class LedgerCache:
    """Folded projects kept in memory between evaluations. A project not evaluated for `idle_s` is
    dropped (its fold state kept in the store under `snapshot_kind`, taken up again if evidence
    comes back): memory follows the projects taking evidence now, not every project the process
    has ever seen."""

    def __init__(
        self,
        store: Store,
        today: Callable[[], date] = today_in_china,
        idle_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        calendar: HolidayCalendar | None = None,
        on_unresolved: Callable[[StoredEvent, str, EvidenceReferenceError], Awaitable[None]] | None = None,
        snapshot_kind: str | None = None,
    ) -> None:
        self.store = store
        # Where each project's fold state is kept (`fold_kind`), or None to keep none.
        self.snapshot_kind = snapshot_kind
        # project -> what its state kept last holds: (events folded, as-of date, definition revision)
        self._saved: dict[str, tuple[int, date, str]] = {}
        self.on_unresolved = on_unresolved  # (the event, the definition's revision, why)
        self.calendar = calendar  # the installation's declared years (OPSEVAL_CALENDAR_FILE)
        self.today = today
        self.idle_s = idle_s
        self.clock = clock
        self._folded: dict[str, Folded] = {}
        # The definition revision each project was last evaluated under (kept past eviction): what the
        # definitions watcher compares the stored one with.
        self.evaluated_under: dict[str, str] = {}
        # The as-of date each project was last evaluated at and the default it moves up to: when the
        # date moves, a project still evaluated as of today is evaluated again (`outdated`).
        self.evaluated_as_of: dict[str, tuple[date, date]] = {}
        # Events this process just consumed, already validated, per project: folding them needs no
        # second parse. Dropped with each refresh of the project: by then every stored event of it
        # is folded, so what is left was folded before this process consumed it (the other service,
        # or another replica, stored and this one folded it first) and would never be taken out.
        self._recent: dict[str, dict[str, Evidence]] = {}

    def remember(self, events: list[Evidence]) -> None:
        for event in events:
            self._recent.setdefault(event.project, {})[event.id] = event

    def remembered(self) -> int:
        return sum(len(events) for events in self._recent.values())

    def held(self) -> list[str]:
        """The projects folded in memory now."""
        return sorted(self._folded)

    async def _evict_idle(self, now: float) -> None:
        for project in [p for p, folded in self._folded.items() if now - folded.used > self.idle_s]:
            folded = self._folded.pop(project)
            await self.save(project, folded)  # taken up again from there, here or in another replica

    async def refresh(self, project: str, upto_seq: int | None = None, events_upto: int | None = None) -> Folded | None:
        """The project folded from the store, or None when it is not registered. `upto_seq`: only the
        events of store sequence up to it — those another service's results were computed from,
        `events_upto` of them by its count (the rules' findings and measurements: scoring folds the
        same events, no more). A fold held already past it is not folded back: it is then not the
        state those results were made over, which `Folded` says (last_seq, events_folded)."""
        now = self.clock()
        await self._evict_idle(now)
        stored = await self.store.get_project(project)
        if stored is None:
            self._recent.pop(project, None)
            self.evaluated_as_of.pop(project, None)
            return None
        current = self._folded.get(project)
        definition = current.ledger.definition if current and current.revision == stored.revision else None
        if definition is None:
            definition = ProjectDefinition.model_validate_json(stored.definition)
        # Continuous evaluation: as of today while the period runs, as of its default after.
        as_of = min(self.today(), definition.project.evaluation.default_as_of)
        restored = False
        if current is None:
            current = await self._restore(project, definition, stored.revision, as_of)
            restored = current is not None
        if current is None or current.revision != stored.revision or current.ledger.as_of > as_of:
            current = self._new(definition, as_of, stored.revision)
        elif current.ledger.as_of < as_of:  # the day moved on (midnight): no refold
            await self._move(project, current, as_of)
        self._folded[project] = current
        await self._fold_new(project, current, upto_seq)
        count = await self.store.count_events(project) if upto_seq is None or restored else None
        if restored and count is not None and count < current.events_folded:
            # Kept from a store that has lost events since (restored from a backup): not this one's fold.
            log.warning("the kept fold state of %s is ahead of the store: folded afresh", project)
            current = self._folded[project] = self._new(definition, as_of, stored.revision)
            await self._fold_new(project, current, upto_seq)
        if upto_seq is None:
            assert count is not None
            if count > current.events_folded:
                await self._fold_new(project, current)  # events committed since the first pass
                if count > current.events_folded:
                    # Still short of a count taken before this pass: an event was committed below a
                    # sequence number already folded (a backend whose sequence order is not commit
                    # order). Fold the project afresh.
                    current = self._folded[project] = self._new(definition, as_of, stored.revision)
                    await self._fold_new(project, current)
        elif events_upto is not None and current.events_folded < events_upto:
            # Bounded, the count to hold is the other service's at the bound (the store's count goes
            # past it). Fewer here: an event was committed below a sequence number this fold had
            # already read past (as above), which the other service's fold met. Fold afresh up to the bound.
            current = self._folded[project] = self._new(definition, as_of, stored.revision)
            await self._fold_new(project, current, upto_seq)
        if current.ledger.unfolds:
            # A correction named an event already folded: taken out again, with what it displaced.
            await self._unfold(project, current)
        if current.ledger.stale:
            # What the ledger cannot take out exactly: fold again with it left out from the start.
            left_out = current.ledger.left_out
            current = self._folded[project] = self._new(definition, as_of, stored.revision, left_out)
            await self._fold_new(project, current, upto_seq)
        # (Bounded, events this process consumed past the bound go too: parsed again when folded.)
        self._recent.pop(project, None)
        current.used = now
        self.evaluated_under[project] = stored.revision
        self.evaluated_as_of[project] = (as_of, definition.project.evaluation.default_as_of)
        if current.events_folded >= max(SAVE_FROM_EVENTS, 2 * self._saved.get(project, (0,))[0]):
            # Kept again each time the events double: a crash, which keeps nothing on the way out,
            # refolds at most half of them, for a cost of a few dumps over the project's life.
            await self.save(project, current)
        return current

    async def save(self, project: str, folded: Folded) -> None:
        """Keep a project's fold state in the store (snapshot kind `fold_kind`), to be taken up again
        by `refresh` when the project is not in memory. Of two replicas' states the one of more events
        folded is kept. A cache: a state not kept is logged, never an error."""
        kept = (folded.events_folded, folded.ledger.as_of, folded.revision)
        if self.snapshot_kind is None or folded.ledger.stale or self._saved.get(project) == kept:
            return  # (kept already: a project taken up and evicted again unchanged)
        try:
            body = await asyncio.to_thread(_fold_body, folded)
            await self.store.put_snapshot(self.snapshot_kind, Snapshot(project, folded.events_folded, body))
        except SnapshotTooLarge as exc:
            log.info("the fold state of %s is not kept: %s", project, exc)
        except Exception:
            log.warning("the fold state of %s is not kept", project, exc_info=True)
        self._saved[project] = kept

    async def save_all(self) -> None:
        """Keep the state of every project held (on shutdown: a new process takes them up from there)."""
        for project, folded in list(self._folded.items()):
            await self.save(project, folded)

    async def _restore(self, project: str, definition: ProjectDefinition, revision: str, as_of: date) -> Folded | None:
        """The project's kept fold state, when it was folded under this definition revision as of
        this date or an earlier one (then moved forward); None when there is none or it does not fit."""
        if self.snapshot_kind is None:
            return None
        try:
            kept = await self.store.get_snapshot(self.snapshot_kind, project)
        except Exception:
            log.warning("the fold state of %s was not read", project, exc_info=True)
            return None
        if kept is None:
            return None
        try:
            folded = await asyncio.to_thread(_read_fold_body, kept.body, definition, revision, as_of, self.calendar)
        except Exception as exc:  # whatever is wrong with it, a cache is only not used
            log.warning("the kept fold state of %s is not used: %s: %s", project, type(exc).__name__, exc)
            return None
        self._saved[project] = (folded.events_folded, folded.ledger.as_of, revision)
        return folded

    def outdated(self) -> set[str]:
        """The projects last evaluated as of another day than the one they are due at now (today,
        or the default as-of date once the period is over): a result as of yesterday is not today's."""
        today = self.today()
        return {p for p, (as_of, default) in self.evaluated_as_of.items() if min(today, default) != as_of}

    def _new(
        self, definition: ProjectDefinition, as_of: date, revision: str, left_out: frozenset[str] = frozenset()
    ) -> Folded:
        return Folded(Ledger(definition, as_of, left_out), revision, work=WorkCalendar(self.calendar))

    async def _fold_new(self, project: str, current: Folded, upto_seq: int | None = None) -> None:
        while batch := await self.store.events_after(project, current.last_seq, upto=upto_seq):
            recent = self._recent.get(project, {})
            for row in batch:
                event = recent.pop(row.id, None)
                try:
                    current.ledger.add(event if event is not None else parse_evidence_json(row.body))
                except EvidenceReferenceError as exc:
                    await self._set_aside(current, row, exc)
            current.last_seq = batch[-1].seq
            current.events_folded += len(batch)

    async def _move(self, project: str, current: Folded, as_of: date) -> None:
        """The held ledger moved to a later as-of date: only the events the old date held back are
        read again, in store order, as a fold of every event would meet them."""
        held = current.ledger.move_to(as_of)
        if not held:
            return
        rows = sorted(await self.store.get_events(project, held), key=lambda row: row.seq)
        for row in rows:
            try:
                current.ledger.add(parse_evidence_json(row.body))
            except EvidenceReferenceError as exc:
                await self._set_aside(current, row, exc)

    async def _unfold(self, project: str, current: Folded) -> None:
        """The events a late correction left out, and those of the records they were folded into, read
        again and handed to `Ledger.unfold` (in store order: the first of each id is the one folded)."""
        ledger = current.ledger
        rows = sorted(await self.store.get_events(project, ledger.to_unfold()), key=lambda row: row.seq)
        events = [parse_evidence_json(row.body) for row in rows]
        for eid in ledger.unfold(events):
            current.unresolved.pop(eid, None)  # left out, it is no longer set aside

    async def _set_aside(self, current: Folded, row: StoredEvent, exc: EvidenceReferenceError) -> None:
        current.unresolved[row.id] = (exc.field_path, str(exc))
        if self.on_unresolved is not None:
            await self.on_unresolved(row, current.revision, exc)

    def unresolved(self, project: str) -> dict[str, tuple[str, str]]:
        folded = self._folded.get(project)
        return dict(folded.unresolved) if folded is not None else {}

    def corrections(self, project: str) -> list[dict[str, Any]]:
        """The project's corrections as its held ledger has them (JSON-ready)."""
        folded = self._folded.get(project)
        if folded is None:
            return []
        ledger = folded.ledger
        return [
            {
                "event": n.target,
                "corrected_by": n.event_id,
                "action": "retracted" if n.retracts else "superseded",
                "reason": n.reason,
                "by": n.by,
                "source": n.source,
                "recorded_at": n.recorded_at.isoformat(),
                "in_force": ledger.in_force(n),
                "received": ledger.received(n.target),
            }
            for n in ledger.corrections()
        ]


SAVE_FROM_EVENTS = 10_000  # a smaller project folds in hundredths of a second: kept only when evicted or on shutdown
FOLD_STATE_FORMAT = 1  # of the envelope around fold_state's state
FOLD_MODULES = tuple(
    f"opseval_shared.{name}" for name in ("base", "calendar", "evidence", "ledger", "references", "fold_state")
)


def fold_kind(service: str) -> str:
    """The snapshot kind under which a service keeps its projects' fold states."""
    return f"fold.{service}"


@cache
def fold_code() -> str:
    """A fingerprint of the code a fold depends on (how events are parsed, checked and folded, and
    how the state is written): a state kept by another version, before a deploy, is not trusted."""
    digest = hashlib.sha256()
    for name in FOLD_MODULES:
        source = Path(importlib.import_module(name).__file__ or "")
        digest.update(source.read_bytes() if source.is_file() else name.encode())
    return digest.hexdigest()[:16]


def _fold_body(folded: Folded) -> bytes:
    state = fold_state.state_of(folded.ledger)
    envelope = {
        "format": FOLD_STATE_FORMAT,
        "code": fold_code(),
        "revision": folded.revision,
        "last_seq": folded.last_seq,
        "events_folded": folded.events_folded,
        "unresolved": folded.unresolved,
        "ledger": state,
    }
    return orjson.dumps(envelope)


def _read_fold_body(
    body: bytes, definition: ProjectDefinition, revision: str, as_of: date, calendar: HolidayCalendar | None
) -> Folded:
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FoldStateError(f"not JSON: {exc}") from exc
    if not isinstance(envelope, dict) or envelope.get("format") != FOLD_STATE_FORMAT:
        raise FoldStateError("not a fold state of this format")
    if envelope.get("code") != fold_code():
        raise FoldStateError("kept by another version of the fold")
    if envelope["revision"] != revision:
        raise FoldStateError(f"folded under definition revision {envelope['revision']}, not {revision}")
    kept_as_of = envelope["ledger"].get("as_of") if isinstance(envelope["ledger"], dict) else None
    if not isinstance(kept_as_of, str) or date.fromisoformat(kept_as_of) > as_of:
        raise FoldStateError(f"folded as of {kept_as_of}, after {as_of}")
    ledger = fold_state.restore(definition, envelope["ledger"])
    unresolved = {str(eid): (str(field_), str(reason)) for eid, (field_, reason) in envelope["unresolved"].items()}
    return Folded(
        ledger,
        revision,
        last_seq=int(envelope["last_seq"]),
        events_folded=int(envelope["events_folded"]),
        work=WorkCalendar(calendar),
        unresolved=unresolved,
    )


def definitions_changed(stored: dict[str, str], seen: dict[str, str] | None, evaluated: dict[str, str]) -> set[str]:
    """Projects to evaluate again, given each one's stored definition revision, the revisions the previous
    look saw (None before the first look) and those each was last evaluated under. Against the latter
    too: a definition registered and replaced again between two looks (A → B → A) while an evaluation
    ran under B would otherwise leave the project evaluated under B for good."""
    changed = {p for p, revision in stored.items() if evaluated.get(p, revision) != revision}
    if seen is not None:
        changed |= {p for p, revision in stored.items() if seen.get(p) != revision}
    return changed


STREAMING_FROM = 2_000  # events pending behind a batch: a push streams in (see DirtyProjects)
STREAMING_WAIT_MAX_S = 5.0  # the longest a mark of a push streaming in waits for more


class DirtyProjects:
    """Projects to re-evaluate, worked off in the background. A mark that more input is on its way
    (a full batch fetched, with more pending) is given up to `debounce_s` for the rest to arrive, so
    that one evaluation covers a push; a mark with nothing more behind it (the consumer caught up, a
    findings message, a definition) is evaluated at once: a small change waited the whole debounce
    on each service before, twice on its way to the score.

    While a push streams in (thousands of events pending, `STREAMING_FROM`), the wait is at least
    as long as the last round of evaluations took (at most `STREAMING_WAIT_MAX_S`): evaluating then
    takes at most about half the service's time, the rest consuming. (At a million events a round
    takes 0.4-0.8 s; evaluated every 0.2 s, the rules service spent two thirds of its time evaluating,
    and the faster the evaluation, the more rounds, each paying its fixed cost again.) A trickle
    of small batches, a few pending behind each, waits the debounce: its latency is what counts."""

    def __init__(
        self,
        service: str,
        debounce_s: float,
        evaluate: Callable[[str], Awaitable[None]],
        health: EvaluationHealth | None = None,
        store: Store | None = None,
        ledgers: LedgerCache | None = None,
        after_round: Callable[[], None] | None = None,
    ) -> None:
        """`after_round`: called when a round of evaluations is done (`FrozenBetweenRounds`)."""
        self.service, self.debounce_s, self.evaluate = service, debounce_s, evaluate
        self.after_round = after_round
        self.health = health
        self.store = store  # watched for re-registered definitions
        self.ledgers = ledgers  # what each project was last evaluated under
        self._watcher: asyncio.Task[None] | None = None
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()  # no mark since the last evaluation said more is coming
        self._task: asyncio.Task[None] | None = None
        self._failures: dict[str, int] = {}
        self._evaluating: str | None = None  # the project `_run` is evaluating now
        self._not_before: dict[str, float] = {}
        self._last_round_s = 0.0  # how long the last round of evaluations took
        self._streaming = False  # the last mark said a push streams in

    def mark(self, projects: set[str], *, behind: int = 0) -> None:
        """`behind`: how much more of the input that made them dirty is pending (a consumer's batch
        with more in the stream behind it); thousands: a push streams in."""
        self._dirty |= projects
        DIRTY_PROJECTS.labels(self.service).set(len(self._dirty))
        self._streaming = behind >= STREAMING_FROM
        if behind:
            self._settled.clear()
        else:
            self._settled.set()
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-evaluations")
        if self.store is not None:
            self._watcher = asyncio.create_task(self._watch_definitions(self.store), name=f"{self.service}-definitions")

    async def stop(self) -> None:
        for task in (self._task, self._watcher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _watch_definitions(self, store: Store) -> None:
        """A project registered again with another definition is evaluated again at once, not at its
        next evidence: events it no longer resolves are set aside, those it resolves again come back.
        So is a project evaluated as of today once the date moves (LedgerCache.outdated)."""
        known: dict[str, str] | None = None
        while True:
            await asyncio.sleep(DEFINITION_POLL_S)
            try:
                current = {p.id: p.revision for p in await store.list_projects()}
            except Exception:  # the store away for a moment: looked at again next time
                log.debug("project definitions not read", exc_info=True)
                continue
            under = self.ledgers.evaluated_under if self.ledgers is not None else {}
            changed = definitions_changed(current, known, under)
            if self.ledgers is not None:
                changed |= self.ledgers.outdated()  # the date moved: evaluated as of the new day
            # The project being evaluated records its date and definition when done; marking it now
            # would evaluate it again for nothing. What still differs then is seen at the next look.
            changed.discard(self._evaluating)
            if changed:
                self.mark(changed)
            known = current

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            wait = self.debounce_s
            if self._streaming:
                wait = max(wait, min(self._last_round_s, STREAMING_WAIT_MAX_S))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settled.wait(), wait)
            self._wake.clear()
            self._settled.clear()
            now = asyncio.get_running_loop().time()
            due = {p for p in self._dirty if self._not_before.get(p, 0.0) <= now}
            self._dirty -= due
            DIRTY_PROJECTS.labels(self.service).set(len(self._dirty))
            for project in sorted(due):
                self._evaluating = project
                try:
                    with EVALUATIONS.labels(self.service).time():
                        await self.evaluate(project)
                    self._failures.pop(project, None)
                    self._not_before.pop(project, None)
                    if self.health is not None:
                        await self._report(project, None, 0)
                except Exception as exc:
                    # It stays dirty, retried after a growing pause (not after every debounce), and
                    # the failure is reported: the project's answers and readiness detail show it.
                    n = self._failures[project] = self._failures.get(project, 0) + 1
                    pause = min(60.0, self.debounce_s * 2**n)
                    self._not_before[project] = asyncio.get_running_loop().time() + pause
                    if n == 1 or n % 10 == 0:
                        log.exception("evaluating %s failed (%d times); retrying in %.1f s", project, n, pause)
                    self._dirty.add(project)
                    if self.health is not None:
                        await self._report(project, exc, n)
                finally:
                    self._evaluating = None
            if self.after_round is not None:
                self.after_round()
            self._last_round_s = asyncio.get_running_loop().time() - now
            if self._dirty:
                # Projects still waiting on a pause: look again when the first one is due.
                soonest = min(self._not_before.get(p, 0.0) for p in self._dirty)
                delay = max(0.0, soonest - asyncio.get_running_loop().time())
                asyncio.get_running_loop().call_later(delay, self._wake.set)

    async def _report(self, project: str, error: BaseException | None, failures: int) -> None:
        assert self.health is not None
        try:
            await self.health.report(project, error, failures)
        except Exception:  # the store away: reported again after the next evaluation
            log.warning("evaluation status of %s not recorded", project, exc_info=True)


def timed_step(service: str, name: str) -> Timer:
    """Times one step of an evaluation (`opseval_evaluation_step_seconds`): where a round's time goes."""
    return EVALUATION_STEPS.labels(service, name).time()


async def in_evaluation_thread(service: str, work: Callable[[], T]) -> T:
    """`work` (the domain's evaluation) in a thread, timed as the step "evaluate" and by the CPU its
    thread spent (`opseval_evaluation_cpu_seconds`): the difference is what it waited for the GIL,
    held by the event loop consuming meanwhile, and for the cores."""

    def timed() -> T:
        start = time.thread_time()
        try:
            return work()
        finally:
            EVALUATION_CPU.labels(service).observe(time.thread_time() - start)

    with timed_step(service, "evaluate"):
        return await asyncio.to_thread(timed)


def evaluation_kind(service: str) -> str:
    """The snapshot kind under which a service records its projects' evaluation status."""
    return f"evaluation.{service}"


class EvaluationHealth:
    """Each project's evaluation status in this service — ok or failing with the error, the events
    set aside, the corrections in force — kept in memory for readiness and written to the store
    (a snapshot of kind `evaluation.<service>`) whenever it changes, for the results API."""

    def __init__(self, service: str, store: Store, ledgers: LedgerCache) -> None:
        self.service, self.store, self.ledgers = service, store, ledgers
        self.failing: dict[str, str] = {}  # project -> the error of its last evaluation
        self._written: dict[str, bytes] = {}  # project -> the status last recorded (without times)

    async def report(self, project: str, error: BaseException | None, failures: int) -> None:
        if error is None:
            self.failing.pop(project, None)
        else:
            self.failing[project] = f"{type(error).__name__}: {error}"[:2000]
        FAILING_PROJECTS.labels(self.service).set(len(self.failing))
        unresolved = self.ledgers.unresolved(project)
        status: dict[str, Any] = {
            "service": self.service,
            "state": "failing" if error is not None else "ok",
            "error": self.failing.get(project),
            "failures": failures,
            "set_aside": [
                {"event": eid, "field": fld, "reason": reason} for eid, (fld, reason) in sorted(unresolved.items())
            ],
            "corrections": self.ledgers.corrections(project),
        }
        content = orjson.dumps(status, option=orjson.OPT_SORT_KEYS)
        kind = evaluation_kind(self.service)
        if project not in self._written:
            stored = await self.store.get_snapshot(kind, project)
            if stored is not None:
                before = orjson.loads(stored.body)
                before.pop("at", None)
                self._written[project] = orjson.dumps(before, option=orjson.OPT_SORT_KEYS)
        if self._written.get(project) == content:
            return
        now = datetime.now(UTC)
        body = orjson.dumps({**status, "at": now.isoformat(timespec="milliseconds")})
        # The latest status wins: its seq is the time it was taken, in microseconds.
        await self.store.put_snapshot(kind, Snapshot(project, int(now.timestamp() * 1_000_000), body))
        self._written[project] = content

    def detail(self) -> dict[str, Any]:
        """For readiness: the projects whose last evaluation failed, with the error."""
        return {"failing": dict(sorted(self.failing.items()))}


# The snapshot kind under which the scoring service stores each project's full evaluation result
# (EvaluationResult as JSON, the seq that of its scores), which the results API serves.
RESULT_KIND = "result"
