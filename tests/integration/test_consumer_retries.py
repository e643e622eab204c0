"""A batch the store cannot take is handed back with growing delays, capped, for as long as the store
stays away — never dead-lettered: it is valid evidence intake accepted — against a real nats-server."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig
from opseval_infra.consumer import DeadLetterOffice, EvidenceConsumer
from opseval_infra.nats import ensure_streams
from opseval_infra.settings import ServiceSettings
from opseval_infra.store.base import DeadLetter, StoredEvent
from opseval_shared.evidence import Evidence
from opseval_shared.messaging import DEAD_LETTER_SUBJECTS, EVIDENCE_STREAM, EVIDENCE_SUBJECTS, evidence_subject

NATS = shutil.which("nats-server") or "/usr/sbin/nats-server"
EVENT = {
    "id": "e-1",
    "project": "p1",
    "kind": "clock_in",
    "occurred_at": "2023-03-01T08:55:00+08:00",
    "recorded_at": "2023-03-01T08:55:00+08:00",
    "source": "clock",
    "payload": {"staff": "张三"},
}


class FlakyStore:
    """Refuses the first `failures` writes, then stores."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts: list[float] = []
        self.events: dict[str, StoredEvent] = {}
        self.letters: list[DeadLetter] = []

    async def add_events(self, events: list[StoredEvent]) -> list[bool]:
        self.attempts.append(time.monotonic())
        if len(self.attempts) <= self.failures:
            raise ConnectionError("store unavailable")
        out = [e.id not in self.events for e in events]
        self.events.update((e.id, e) for e in events)
        return out

    async def add_dead_letter(self, letter: DeadLetter) -> bool:
        self.letters.append(letter)
        return True


@pytest.fixture
def server(tmp_path: Path) -> Any:
    if not Path(NATS).exists():
        pytest.skip("nats-server is not installed (apt-get install nats-server; .ci/run installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [NATS, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp_path / "js")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert time.monotonic() < deadline, "nats-server did not start"
        time.sleep(0.05)
    yield f"nats://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


async def run(
    url: str, failures: int, backoff_s: float = 0.1, backoff_max_s: float = 30.0
) -> tuple[FlakyStore, list[dict[str, Any]], list[str]]:
    settings = ServiceSettings(nats_url=url, retry_backoff_s=backoff_s, retry_backoff_max_s=backoff_max_s)
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_streams(js, 1)
    store = FlakyStore(failures)
    persisted: list[str] = []

    def mark(events: list[Evidence], behind: int) -> None:
        persisted.extend(e.id for e in events)

    consumer = EvidenceConsumer(settings, store, DeadLetterOffice("rules", js, store), mark)
    await js.publish(evidence_subject("p1", "clock_in"), json.dumps(EVENT).encode(), headers={"Nats-Msg-Id": "e-1"})
    sub = await js.pull_subscribe(
        EVIDENCE_SUBJECTS,
        durable="test",
        stream=EVIDENCE_STREAM.name,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30),
    )
    deadline = time.monotonic() + 20
    while not persisted and not store.letters and time.monotonic() < deadline:
        try:
            msgs = await sub.fetch(10, timeout=0.5)
        except TimeoutError:
            continue
        await consumer.handle(msgs)
    letters: list[dict[str, Any]] = []
    dlq = await js.pull_subscribe(DEAD_LETTER_SUBJECTS, durable="dlq-reader", stream="OPSEVAL_DLQ")
    try:
        for m in await dlq.fetch(10, timeout=1):
            letters.append(json.loads(m.data))
    except TimeoutError:
        pass
    await nc.close()
    return store, letters, persisted


def test_a_store_outage_is_ridden_out_with_growing_delays(server: str) -> None:
    store, letters, persisted = asyncio.run(run(server, failures=2))
    assert persisted == ["e-1"] and letters == []
    first_gap, second_gap = (b - a for a, b in zip(store.attempts, store.attempts[1:], strict=False))
    assert first_gap >= 0.1 and second_gap >= 0.2  # 0.1 s, then 0.2 s: back-off doubles


def test_a_long_store_outage_is_retried_with_capped_delays_and_never_dead_lettered(server: str) -> None:
    # Ten refused writes at 0.4 s capped: about 4 s. Doubling without the cap (0.4 s · (2¹⁰ − 1))
    # would take minutes and miss the 20 s the run allows; a delivery limit would dead-letter it.
    store, letters, persisted = asyncio.run(run(server, failures=10, backoff_s=0.4, backoff_max_s=0.4))
    assert persisted == ["e-1"] and letters == [] and store.letters == []
    assert len(store.attempts) == 11
    gaps = [b - a for a, b in zip(store.attempts, store.attempts[1:], strict=False)]
    assert min(gaps) >= 0.4


async def consume_until(sub: Any, consumer: EvidenceConsumer, done: Any) -> None:
    deadline = time.monotonic() + 20
    while not done() and time.monotonic() < deadline:
        try:
            msgs = await sub.fetch(10, timeout=0.5)
        except TimeoutError:
            continue
        await consumer.handle(msgs)


async def run_with_mismatches(url: str) -> tuple[FlakyStore, list[dict[str, Any]], list[str], Any]:
    settings = ServiceSettings(nats_url=url)
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_streams(js, 1)
    store = FlakyStore(0)
    persisted: list[str] = []

    def mark(events: list[Evidence], behind: int) -> None:
        persisted.extend(e.id for e in events)

    consumer = EvidenceConsumer(settings, store, DeadLetterOffice("rules", js, store), mark)
    sub = await js.pull_subscribe(
        EVIDENCE_SUBJECTS,
        durable="test",
        stream=EVIDENCE_STREAM.name,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30),
    )

    async def publish(subject: str, event: dict[str, Any]) -> None:
        await js.publish(subject, json.dumps(event).encode(), headers={"Nats-Msg-Id": event["id"]})

    # Credentials limited to p1's subjects, writing another project (or kind) into the body.
    await publish(evidence_subject("p1", "clock_in"), {**EVENT, "id": "into-p2", "project": "p2"})
    await publish(evidence_subject("p1", "incident"), {**EVENT, "id": "wrong-kind"})
    await publish(evidence_subject("p1", "clock_in"), {**EVENT, "id": "e-1"})
    await consume_until(sub, consumer, lambda: "e-1" in persisted and len(store.letters) == 2)
    # and what comes after is consumed as before
    await publish(evidence_subject("p1", "clock_in"), {**EVENT, "id": "e-2"})
    await consume_until(sub, consumer, lambda: "e-2" in persisted)
    await nc.flush()  # the acks are sent; give the server a moment to apply them
    info = await js.consumer_info(EVIDENCE_STREAM.name, "test")
    deadline = time.monotonic() + 5
    while info.num_ack_pending and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        info = await js.consumer_info(EVIDENCE_STREAM.name, "test")
    letters: list[dict[str, Any]] = []
    dlq = await js.pull_subscribe(DEAD_LETTER_SUBJECTS, durable="dlq-reader", stream="OPSEVAL_DLQ")
    try:
        for m in await dlq.fetch(10, timeout=1):
            letters.append(json.loads(m.data))
    except TimeoutError:
        pass
    await nc.close()
    return store, letters, persisted, info


def test_an_event_whose_body_disagrees_with_its_subject_is_dead_lettered_and_the_rest_flows(server: str) -> None:
    store, letters, persisted, info = asyncio.run(run_with_mismatches(server))
    assert persisted == ["e-1", "e-2"] and sorted(store.events) == ["e-1", "e-2"]
    by_id = {json.loads(letter["payload"])["id"]: letter for letter in letters}
    assert sorted(by_id) == ["into-p2", "wrong-kind"]
    assert by_id["into-p2"]["subject"] == "opseval.evidence.p1.clock_in"
    assert by_id["into-p2"]["error"] == (
        "subject does not match the event: it came on 'opseval.evidence.p1.clock_in', but project 'p2' and"
        " kind 'clock_in' belong on 'opseval.evidence.p2.clock_in'"
    )
    assert by_id["wrong-kind"]["error"].startswith(
        "subject does not match the event: it came on 'opseval.evidence.p1.incident'"
    )
    assert all(letter["deliveries"] == 1 for letter in letters), "refused at once, not retried"
    assert [json.loads(dl.body)["id"] for dl in store.letters] == [letter["id"] for letter in letters]
    # nothing left pending or waiting for an ack: the refused messages are terminated, not redelivered
    assert (info.num_pending, info.num_ack_pending, info.num_redelivered) == (0, 0, 0)


async def run_in_two_fetches(url: str) -> list[tuple[list[str], int]]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_streams(js, 1)
    heard: list[tuple[list[str], int]] = []

    def mark(events: list[Evidence], behind: int) -> None:
        heard.append(([e.id for e in events], behind))

    store = FlakyStore(0)
    consumer = EvidenceConsumer(ServiceSettings(nats_url=url), store, DeadLetterOffice("rules", js, store), mark)
    for n in range(1, 4):
        await js.publish(
            evidence_subject("p1", "clock_in"),
            json.dumps({**EVENT, "id": f"e-{n}"}).encode(),
            headers={"Nats-Msg-Id": f"e-{n}"},
        )
    sub = await js.pull_subscribe(
        EVIDENCE_SUBJECTS,
        durable="test",
        stream=EVIDENCE_STREAM.name,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30),
    )
    await consumer.handle(await sub.fetch(2, timeout=5))
    await consumer.handle(await sub.fetch(10, timeout=5))
    await nc.close()
    return heard


def test_the_consumer_says_how_much_evidence_is_pending_behind_a_batch(server: str) -> None:
    # The rules service waits for the rest of a push only when the stream holds more.
    assert asyncio.run(run_in_two_fetches(server)) == [(["e-1", "e-2"], 1), (["e-3"], 0)]
