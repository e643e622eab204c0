"""Consuming evidence from JetStream: persisted before acknowledged, retried with back-off for as
long as the store is away, dead-lettered only when no retry can fix it — and the rest keeps flowing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from faststream.nats import ConsumerConfig, PullSub
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from opseval_shared.evidence import Evidence, parse_evidence_json
from opseval_shared.ledger import EvidenceReferenceError
from opseval_shared.messaging import EVIDENCE_STREAM, DeadLettered, dead_letter_subject, evidence_subject
from pydantic import TypeAdapter, ValidationError, WithJsonSchema

from .http import DEAD_LETTERS, EVENTS_CONSUMED, EVENTS_REPLAYED, EVENTS_SET_ASIDE, REDELIVERIES
from .settings import ServiceSettings
from .store.base import DeadLetter, EventConflict, Store, StoredEvent

log = logging.getLogger(__name__)

# How long a pull waits for messages. nats-py's fetch takes what is there at once; on an idle consumer
# it leaves a pull request open, and once a message comes it waits for the batch to fill until the
# request expires: an event that finds the consumer idle is handed on that much late, on average half
# of it. At 0.5 s that was most of the fleet's latency (a rules round every 0.38 s, 0.13 s of them
# evaluating); an idle consumer asks twice per wait instead, which nats-server does not notice.
FETCH_WAIT_S = 0.05
# How rules pull evidence: batches of up to 500.
EVIDENCE_BATCH = PullSub(batch_size=500, timeout=FETCH_WAIT_S, batch=True)
# A delivery lost in flight (a pull request that expired as the server answered it) comes back
# after ack_wait: keep it short, but longer than the slowest batch takes to persist.
EVIDENCE_CONSUMER = ConsumerConfig(ack_wait=10)


def validation_reason(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"invalid evidence: {where + ': ' if where else ''}{err['msg']}"


def subject_mismatch(subject: str, event: Evidence) -> str | None:
    """Why an event may not be taken from the subject it came on, or None. NATS permissions limit
    a client to some projects' subjects; the body must say the same project (and kind), or
    credentials for one project could write evidence into another."""
    expected = evidence_subject(event.project, event.kind.value)
    if subject == expected:
        return None
    return (
        f"subject does not match the event: it came on {subject!r}, but project {event.project!r} and"
        f" kind {event.kind.value!r} belong on {expected!r}"
    )


class DeadLetterOffice:
    """Moves a message that cannot be handled to `opseval.dlq.<service>`, with the error."""

    def __init__(self, service: str, js: JetStreamContext, store: Store) -> None:
        self.service, self.js, self.store = service, js, store

    async def send(self, msg: Msg, error: str) -> None:
        meta = msg.metadata
        letter = DeadLettered(
            id=f"{self.service}:{meta.stream}:{meta.sequence.stream}",
            service=self.service,
            stream=meta.stream,
            subject=msg.subject,
            deliveries=meta.num_delivered,
            error=error[:2000],
            payload=msg.data.decode("utf-8", errors="replace")[:100_000],
            at=datetime.now(UTC),
        )
        body = letter.model_dump_json()
        await self.js.publish(dead_letter_subject(self.service), body.encode(), headers={"Nats-Msg-Id": letter.id})
        try:
            await self.store.add_dead_letter(DeadLetter(letter.id, self.service, body))
        except Exception:  # the subject holds it even when the store is down
            log.exception("dead letter %s not stored (it is on the subject)", letter.id)
        await msg.term()
        DEAD_LETTERS.labels(self.service).inc()
        log.warning("dead-lettered %s after %s deliveries: %s", letter.id, meta.num_delivered, error)

    async def set_aside(self, row: StoredEvent, revision: str, exc: EvidenceReferenceError) -> None:
        """A stored event left out of its project's evaluation because a reference no longer
        resolves (the definition, at `revision`, changed after intake accepted it): dead-lettered
        with the reason, once per definition revision. It stays stored: a definition that resolves
        it again, or a correction of it, brings it back or replaces it."""
        letter = DeadLettered(
            id=f"{self.service}:unresolved:{row.project}:{row.id}:{revision}",
            service=self.service,
            stream=EVIDENCE_STREAM.name,
            subject=evidence_subject(row.project, row.kind),
            deliveries=0,
            error=f"unresolved reference: {exc.field_path}: {exc}"[:2000],
            payload=row.body[:100_000],
            at=datetime.now(UTC),
        )
        body = letter.model_dump_json()
        if not await self.store.add_dead_letter(DeadLetter(letter.id, self.service, body)):
            return  # set aside before (another replica, or before a restart)
        try:
            await self.js.publish(dead_letter_subject(self.service), body.encode(), headers={"Nats-Msg-Id": letter.id})
        except Exception:  # the store holds it, and the evaluation goes on without the event all the same
            log.exception("dead letter %s not published (it is in the store)", letter.id)
        DEAD_LETTERS.labels(self.service).inc()
        EVENTS_SET_ASIDE.labels(self.service).inc()
        log.warning("set aside %s of project %s: %s", row.id, row.project, letter.error)


class EvidenceConsumer:
    """Persists a fetched batch of evidence in one store transaction, then acknowledges it."""

    def __init__(
        self,
        settings: ServiceSettings,
        store: Store,
        dead_letters: DeadLetterOffice,
        on_persisted: Callable[[list[Evidence], int], None],
    ) -> None:
        self.settings, self.store, self.dead_letters = settings, store, dead_letters
        self.on_persisted = on_persisted
        self.service = settings.service_name

    async def handle(self, msgs: list[Msg]) -> None:
        """`on_persisted` hears the events and how many more were pending behind the batch."""
        behind = msgs[-1].metadata.num_pending if msgs else 0
        pending: list[tuple[Msg, Evidence]] = []
        for msg in msgs:
            try:
                event = parse_evidence_json(msg.data)
            except ValidationError as exc:  # a poison message: no retry can fix it
                await self.dead_letters.send(msg, validation_reason(exc))
                continue
            mismatch = subject_mismatch(msg.subject, event)
            if mismatch is not None:
                await self.dead_letters.send(msg, mismatch)
                continue
            pending.append((msg, event))
        while pending:
            rows = [StoredEvent(e.id, e.project, e.kind.value, e.model_dump_json()) for _, e in pending]
            try:
                inserted = await self.store.add_events(rows)
            except EventConflict as conflict:
                for msg, event in pending:
                    if event.id == conflict.event_id:
                        await self.dead_letters.send(msg, str(conflict))
                pending = [(m, e) for m, e in pending if e.id != conflict.event_id]
                continue
            except Exception as exc:
                await self.retry([m for m, _ in pending], exc)
                return
            new = sum(inserted)
            EVENTS_CONSUMED.labels(self.service).inc(new)
            EVENTS_REPLAYED.labels(self.service).inc(len(inserted) - new)
            self.on_persisted([e for _, e in pending], behind)
            for msg, _ in pending:
                await msg.ack()
            return

    async def retry(self, msgs: list[Msg], exc: Exception) -> None:
        """Hand a batch the store could not take back for redelivery, with a back-off that doubles
        per delivery up to its cap. However long the store stays away, the batch is retried, never
        dead-lettered: it is valid evidence that intake accepted."""
        deliveries = max(m.metadata.num_delivered for m in msgs)
        delay = min(self.settings.retry_backoff_max_s, self.settings.retry_backoff_s * 2 ** (deliveries - 1))
        for msg in msgs:
            await msg.nak(delay=delay)
        REDELIVERIES.labels(self.service).inc(len(msgs))
        level = logging.ERROR if deliveries >= 10 else logging.WARNING
        log.log(
            level,
            "batch of %d not persisted after %d deliveries (%s): handed back for redelivery in %.1f s",
            len(msgs),
            deliveries,
            exc,
            delay,
        )


# A batch of evidence as a handler receives it: documented (AsyncAPI) as evidence events, but not
# validated by the framework — EvidenceConsumer validates each message, so one poison message is
# dead-lettered instead of failing the whole batch before the handler runs.
def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every `$ref` replaced by its definition (no `$defs` left to clash)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    inlined: dict[str, Any] = walk(schema)
    return inlined


EvidenceBatch = Annotated[Any, WithJsonSchema(_inlined(TypeAdapter(list[Evidence]).json_schema()))]


async def undecoded(msg: Any) -> None:
    """A decoder that leaves the bodies alone: EvidenceConsumer parses each message once itself."""
    return None
