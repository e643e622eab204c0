"""Faults on the real fleet while evidence streams in: every service SIGKILLed and restarted (twice
round), nats-server SIGKILLed and restarted, the store refusing writes for longer than one attempt,
and a consumer far behind. Afterwards each accepted event is in the store exactly once, every
durable consumer has acknowledged everything, nothing was dead-lettered, and the served scores and
findings are those of `opseval evaluate` on the same evidence.

The evidence is pushed from a background thread, batch by batch, each batch retried until intake
takes it (conftest `Fleet.push`), as an upstream system does; the test releases the batches in
portions (`Streamer.allow`) so that each fault lands while evidence is in flight."""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import sqlite3
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import nats
import pytest
from nats.js.api import ConsumerInfo, StreamInfo
from opseval_infra.store.sqlite import BUSY_TIMEOUT_MS
from opseval_shared.messaging import (
    EVIDENCE_STREAM,
    RESULTS_STREAM,
    RULES_EVIDENCE_CONSUMER,
    SCORING_FINDINGS_CONSUMER,
)
from opseval_shared.results import EvaluationResult

from opseval.embedded import evaluate_bundle

from .conftest import SERVICES, Fleet, bundle_events, wait_for
from .test_fleet import DONGGUAN, assert_same_as_embedded

pytestmark = pytest.mark.slow

EVIDENCE_CONSUMERS = (RULES_EVIDENCE_CONSUMER,)  # the rules persist the evidence; scoring reads the store
PUSH_RETRY_S = 120  # how long the pusher keeps retrying one batch (a restart takes a few seconds)


@pytest.fixture(scope="module")
def expected() -> EvaluationResult:
    return evaluate_bundle(DONGGUAN)[0]


# ---------------------------------------------------------------- looking inside


def jetstream(fleet: Fleet, what: Any) -> Any:
    """`what(js)` on a short-lived connection of its own (the test's threads share no event loop)."""

    async def run() -> Any:
        nc = await nats.connect(fleet.nats.url, connect_timeout=2, allow_reconnect=False)
        try:
            return await what(nc.jetstream())
        finally:
            await nc.close()

    return asyncio.run(run())


def consumer(fleet: Fleet, durable: str, stream: str = EVIDENCE_STREAM.name) -> ConsumerInfo:
    info: ConsumerInfo = jetstream(fleet, lambda js: js.consumer_info(stream, durable))
    return info


def stream(fleet: Fleet, name: str = EVIDENCE_STREAM.name) -> StreamInfo:
    info: StreamInfo = jetstream(fleet, lambda js: js.stream_info(name))
    return info


def backlog(info: ConsumerInfo) -> int:
    """Messages the consumer has not acknowledged yet: never delivered, or delivered and unacked."""
    return (info.num_pending or 0) + (info.num_ack_pending or 0)


def metric(fleet: Fleet, service: str, name: str) -> float:
    text = fleet.http.get(fleet.url(service) + "/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


def stored_ids(fleet: Fleet, project: str) -> list[str]:
    """The event ids the store holds for the project, read from the SQLite file itself."""
    path = Path(fleet.workdir / "store.db")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM events WHERE project = ?", (project,))]


def assert_exactly_once_as_embedded(fleet: Fleet, project: str, accepted: set[str], expected: EvaluationResult) -> None:
    """Each accepted event stored once and folded once, every durable consumer done, nothing
    dead-lettered, and the scores and findings those of `opseval evaluate` on the same evidence."""
    assert_same_as_embedded(fleet, project, len(accepted), expected)  # waits for events_folded == len(accepted)
    # Deliveries to a killed consumer come back after ack_wait; let every one be handled, then look again.
    for durable in EVIDENCE_CONSUMERS:
        wait_for(lambda d=durable: backlog(consumer(fleet, d)) == 0, 90, f"{durable} to acknowledge everything")
    ids = stored_ids(fleet, project)
    assert len(ids) == len(set(ids)) == len(accepted)
    assert set(ids) == accepted
    scores = fleet.scores(project)
    assert scores is not None and (scores["events_folded"], scores["findings_events_folded"]) == (
        len(accepted),
        len(accepted),
    )
    listed = fleet.http.get(fleet.url("reporting") + "/v1/projects").json()
    assert [(p["id"], p["evidence"]) for p in listed] == [(project, len(accepted))]
    assert fleet.http.get(fleet.url("reporting") + "/v1/dead-letters").json() == []
    # JetStream itself holds each event once: intake's replays were recognised by their Nats-Msg-Id.
    assert stream(fleet).state.messages == len(accepted)


# ---------------------------------------------------------------- an upstream system


class Streamer:
    """Pushes the events in batches from a background thread, each batch until intake answers 200,
    and no further than the test has allowed (`allow`), so a fault lands while evidence flows."""

    def __init__(self, fleet: Fleet, events: list[dict[str, Any]], batch: int, pause: float = 0.05) -> None:
        self.fleet, self.pause = fleet, pause
        self.batches = [events[i : i + batch] for i in range(0, len(events), batch)]
        self.accepted: set[str] = set()
        self.pushed = 0  # batches answered
        self.duplicates = 0  # events answered "duplicate": published by an attempt whose answer was lost
        self.log: list[str] = []  # what happened when, printed by the tests (pytest -s, or on failure)
        self.error: BaseException | None = None
        self._allowed = 0
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="upstream-pusher", daemon=True)

    def __enter__(self) -> Streamer:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def batches_for(self, fraction: float) -> int:
        return min(len(self.batches), math.ceil(len(self.batches) * fraction))

    def allow(self, fraction: float) -> None:
        with self._cond:
            self._allowed = max(self._allowed, self.batches_for(fraction))
            self._cond.notify_all()

    def wait_pushed(self, fraction: float, timeout: float = 120) -> None:
        target = self.batches_for(fraction)
        wait_for(lambda: self.error is not None or self.pushed >= target, timeout, f"{target} batches pushed")
        if self.error is not None:
            raise self.error

    def finish(self, timeout: float = 180) -> set[str]:
        self.allow(1.0)
        self.wait_pushed(1.0, timeout)
        self._thread.join(10)
        return self.accepted

    def note(self, what: str) -> None:
        self.log.append(f"{what} after {self.pushed}/{len(self.batches)} batches")
        print(self.log[-1])

    def _run(self) -> None:
        try:
            for n, chunk in enumerate(self.batches):
                with self._cond:
                    while n >= self._allowed and not self._closed:
                        self._cond.wait()
                    if self._closed:
                        return
                result: dict[str, Any] = dict(self.fleet.push(chunk, retry_for=PUSH_RETRY_S))
                statuses = {r["id"]: r["status"] for r in result["results"]}
                # A batch sent again after a lost answer reports what the first attempt published as
                # duplicate: either way intake has it.
                assert statuses == {e["id"]: statuses[e["id"]] for e in chunk}, "an answer per event"
                assert set(statuses.values()) <= {"accepted", "duplicate"}, result
                self.accepted |= set(statuses)
                self.duplicates += sum(1 for status in statuses.values() if status == "duplicate")
                self.pushed = n + 1
                time.sleep(self.pause)
        except BaseException as exc:  # reported to the test by wait_pushed / finish
            self.error = exc


# ---------------------------------------------------------------- the faults


def test_every_service_sigkilled_and_restarted_twice_while_evidence_streams_in(
    fleet: Fleet, expected: EvaluationResult
) -> None:
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)
    victims = [*SERVICES, *SERVICES]
    portions = len(victims) + 1
    with Streamer(fleet, events, batch=40) as upstream:
        for n, victim in enumerate(victims):
            # Release the next portion and kill once half of it is in: the rest is pushed (and, for
            # intake, retried) while the victim is down and restarting.
            upstream.allow((n + 1) / portions)
            upstream.wait_pushed((n + 0.5) / portions)
            upstream.note(f"SIGKILL {victim}")
            fleet.kill(victim, signal.SIGKILL)
            fleet.start(victim)
            fleet.wait_ready(victim)
            upstream.note(f"{victim} ready again")
        accepted = upstream.finish()
        upstream.note(f"done, {upstream.duplicates} events answered duplicate")
    assert accepted == {e["id"] for e in events}
    assert_exactly_once_as_embedded(fleet, project, accepted, expected)


def test_nats_server_sigkilled_and_restarted_mid_stream(fleet: Fleet, expected: EvaluationResult) -> None:
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)
    with Streamer(fleet, events, batch=40) as upstream:
        for n in range(2):
            upstream.allow((n + 1) / 3)
            upstream.wait_pushed((n + 0.5) / 3)
            upstream.note("SIGKILL nats-server")
            fleet.nats.stop(signal.SIGKILL)  # no shutdown: whatever it had not written is gone
            time.sleep(1.0)  # intake answers 503 meanwhile; the pusher retries
            fleet.nats.start()  # same port, same JetStream directory
            for service in SERVICES:
                fleet.wait_ready(service)
            upstream.note("nats-server back, the services ready")
        accepted = upstream.finish()
        upstream.note(f"done, {upstream.duplicates} events answered duplicate")
    assert accepted == {e["id"] for e in events}
    assert_exactly_once_as_embedded(fleet, project, accepted, expected)


def test_store_refusing_writes_for_longer_than_one_attempt_is_ridden_out_by_redelivery(
    fleet: Fleet, expected: EvaluationResult
) -> None:
    """The store fails writes: a test connection holds SQLite's write lock (BEGIN EXCLUSIVE on the
    services' database file) for longer than the store's busy timeout, so the consumers' writes fail
    with "database is locked" after waiting it out; they hand the batch back for redelivery (nak with
    back-off) instead of acknowledging it. While the lock is held no acknowledgement may pass the
    events stored before it; after it the redelivered batches are stored, once."""
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)
    hold_s = BUSY_TIMEOUT_MS / 1000 + 6  # one failed attempt (the busy timeout), then a retry that waits
    with Streamer(fleet, events, batch=100) as upstream:
        upstream.allow(1 / 3)
        upstream.wait_pushed(1 / 3)
        first = len(upstream.accepted)
        # Idle before the outage: everything so far stored and evaluated, so the writes that meet
        # the lock are the consumers' (an evaluation's snapshot write would queue them behind it).
        fleet.wait_scored(project, first)
        for durable in EVIDENCE_CONSUMERS:
            wait_for(lambda d=durable: backlog(consumer(fleet, d)) == 0, 30, f"{durable} idle")
        before = {s: metric(fleet, s, "opseval_redeliveries_total") for s in ("rules",)}  # scoring writes no evidence

        with contextlib.closing(sqlite3.connect(fleet.workdir / "store.db", timeout=30, isolation_level=None)) as lock:
            lock.execute("BEGIN EXCLUSIVE")
            locked_at = time.monotonic()
            upstream.note("store locked")
            stored_before = lock.execute("SELECT COUNT(*) FROM events WHERE project = ?", (project,)).fetchone()[0]
            assert stored_before == first
            # More evidence meanwhile: intake publishes it to JetStream (its answer may wait for the
            # store: the audit entry of the request; the pusher then retries and hears "duplicate").
            upstream.allow(2 / 3)
            wait_for(lambda: stream(fleet).state.messages > stored_before, 30, "evidence during the outage")

            # Until the lock goes, no consumer may acknowledge an event past those stored before it
            # (the evidence stream holds this project's events, one message each, in order). It is
            # held until each consumer has had a write fail and handed its batch back — a consumer
            # whose batch arrived late would otherwise wait out the busy timeout and just succeed.
            def every_consumer_handed_back() -> bool:
                return all(metric(fleet, s, "opseval_redeliveries_total") > before[s] for s in before)

            deadline = locked_at + hold_s + 4 * BUSY_TIMEOUT_MS / 1000
            while time.monotonic() - locked_at < hold_s or not every_consumer_handed_back():
                assert time.monotonic() < deadline, "a consumer never had a write refused while the store was locked"
                for durable in EVIDENCE_CONSUMERS:
                    info = consumer(fleet, durable)
                    assert info.ack_floor is not None and info.ack_floor.stream_seq <= stored_before, durable
                time.sleep(1.0)
            for durable in EVIDENCE_CONSUMERS:
                assert backlog(consumer(fleet, durable)) > 0, f"{durable} should be holding unstored evidence"
            lock.execute("ROLLBACK")
        upstream.note(f"lock released after {time.monotonic() - locked_at:.0f} s")
        accepted = upstream.finish()
        upstream.note(f"done, {upstream.duplicates} events answered duplicate")

    assert accepted == {e["id"] for e in events}
    assert_exactly_once_as_embedded(fleet, project, accepted, expected)
    handed_back = metric(fleet, "rules", "opseval_redeliveries_total") - before["rules"]
    print(f"messages handed back for redelivery: {handed_back}")
    # The rules' failed attempt was handed back (nak with back-off), not acknowledged nor dead-lettered.
    assert handed_back > 0
    log = (fleet.workdir / "rules.log").read_text(errors="replace")
    assert "not persisted" in log and "database is locked" in log, log[-2000:]
    for service in ("rules", "scoring"):
        assert metric(fleet, service, "opseval_dead_letters_total") == 0, service


def test_a_consumer_far_behind_catches_up(fleet: Fleet, expected: EvaluationResult) -> None:
    """Scoring is stopped while all the evidence arrives: the rules keep up (they persist and evaluate
    everything), JetStream holds their FindingsChanged messages for scoring's durable consumer,
    reporting keeps serving the last score, and scoring, started again, works the backlog off to the
    same result."""
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)
    head, rest = events[:500], events[500:]
    assert fleet.push(head)["accepted"] == len(head)
    fleet.wait_scored(project, len(head))
    findings_consumer = (SCORING_FINDINGS_CONSUMER, RESULTS_STREAM.name)
    wait_for(lambda: backlog(consumer(fleet, *findings_consumer)) == 0, 30, "scoring idle")
    fleet.kill("scoring", signal.SIGTERM)

    with Streamer(fleet, rest, batch=500, pause=0) as upstream:
        accepted = set(upstream.finish()) | {e["id"] for e in head}
    assert accepted == {e["id"] for e in events}
    # The rules are not held back by scoring: they have stored and evaluated everything.
    wait_for(lambda: backlog(consumer(fleet, RULES_EVIDENCE_CONSUMER)) == 0, 60, "rules to keep up")
    findings = wait_for(
        lambda: (f := fleet.findings(project))["events_folded"] == len(events) and f, 60, "rules' findings"
    )
    assert findings["events_folded"] == len(events)
    waiting = consumer(fleet, *findings_consumer)
    assert backlog(waiting) >= 1  # the rules' FindingsChanged messages wait for scoring, none acknowledged
    stale = fleet.scores(project)
    assert stale is not None and stale["events_folded"] == len(head)  # reads go on, from the last score

    fleet.start("scoring")
    fleet.wait_ready("scoring")
    assert_exactly_once_as_embedded(fleet, project, accepted, expected)
    assert backlog(consumer(fleet, *findings_consumer)) == 0
