"""The scaffold every NATS-consuming service shares: a FastStream broker, the store, the streams
checked at start-up, the evaluation loop and the health endpoints — opened in the lifespan,
never at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import FastAPI
from faststream import AckPolicy, Context
from faststream.nats import JStream, NatsBroker
from faststream.nats.message import NatsBatchMessage
from faststream.nats.publisher.usecase import LogicPublisher
from faststream.security import BaseSecurity, SASLPlaintext
from nats.aio.client import Client
from nats.js import JetStreamContext
from opseval_shared.evidence import Evidence
from opseval_shared.holidays import HolidayCalendar
from opseval_shared.ledger import EvidenceReferenceError
from opseval_shared.messaging import EVIDENCE_STREAM, EVIDENCE_SUBJECTS, PROJECT_SUBJECTS, ProjectRegistered

from .apidocs import serve_api_docs
from .collector import FrozenBetweenRounds, time_collector_pauses
from .consumer import (
    EVIDENCE_BATCH,
    EVIDENCE_CONSUMER,
    DeadLetterOffice,
    EvidenceBatch,
    EvidenceConsumer,
    undecoded,
)
from .http import health_router
from .nats import check_encrypted, check_server, convert_fetch_timeouts, ensure_streams, tls_context
from .projects import DirtyProjects, EvaluationHealth, LedgerCache, fold_kind
from .settings import ServiceSettings
from .store.base import Store, StoredEvent
from .store.factory import open_store

log = logging.getLogger(__name__)


def make_broker(settings: ServiceSettings) -> NatsBroker:
    """The service's broker: its NATS user, and TLS (tls_context) for a tls:// URL."""
    context = tls_context(settings)
    security: BaseSecurity | None = None
    if settings.nats_user:
        password = settings.nats_password.get_secret_value() if settings.nats_password else ""
        security = SASLPlaintext(username=settings.nats_user, password=password, ssl_context=context)
    elif context is not None:
        security = BaseSecurity(ssl_context=context)
    return NatsBroker(
        settings.nats_url,
        name=f"opseval-{settings.service_name}",
        security=security,
        graceful_timeout=10.0,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        log_level=logging.DEBUG,  # per-message INFO logging costs ~20% of throughput
    )


@dataclass
class Fleet:
    """What a running service holds; filled in by the lifespan."""

    settings: ServiceSettings
    broker: NatsBroker
    store: Store | None = None
    ledgers: LedgerCache | None = None
    dirty: DirtyProjects | None = None
    dead_letters: DeadLetterOffice | None = None  # rules: events it sets aside or gives up on
    consumer: EvidenceConsumer | None = None  # rules: persists each evidence batch
    results_out: LogicPublisher | None = None  # rules: findings; scoring: scores
    calendar: HolidayCalendar | None = None  # the installation's declared years, loaded by `opseval serve`
    health: EvaluationHealth | None = None  # the evaluating services' per-project status

    @property
    def nc(self) -> Client:
        conn: Client = self.broker.config.connection_state.connection
        return conn

    @property
    def js(self) -> JetStreamContext:
        stream: JetStreamContext = self.broker.config.connection_state.stream
        return stream

    async def nats_ready(self) -> bool:
        try:
            return bool(self.nc.is_connected)
        except Exception:
            return False

    async def store_ready(self) -> bool:
        return self.store is not None and await self.store.ping()


async def start_evidence_consumer(fleet: Fleet) -> None:
    """Wire the rules service's evidence consumer, and re-evaluate every known project."""
    assert fleet.store is not None and fleet.dirty is not None and fleet.ledgers is not None
    ledgers, dirty = fleet.ledgers, fleet.dirty

    def persisted(events: list[Evidence], behind: int) -> None:
        ledgers.remember(events)
        dirty.mark({e.project for e in events}, behind=behind)

    dead = fleet.dead_letters = DeadLetterOffice(fleet.settings.service_name, fleet.js, fleet.store)
    fleet.consumer = EvidenceConsumer(fleet.settings, fleet.store, dead, persisted)
    await evaluate_known_projects(fleet)


async def evaluate_known_projects(fleet: Fleet) -> None:
    """Re-evaluate every registered project: after a restart nothing waits for new input to be
    current again."""
    assert fleet.store is not None and fleet.dirty is not None
    fleet.dirty.mark({p.id for p in await fleet.store.list_projects()})


def subscribe_definitions(fleet: Fleet) -> None:
    """Hear each project registration (core NATS: every replica hears it) and evaluate the project
    again at once. The definitions watcher's poll of the store stays the fallback for a message
    missed while disconnected."""

    @fleet.broker.subscriber(
        PROJECT_SUBJECTS,
        no_reply=True,  # a registration is a broadcast; nothing waits for an answer
        title="project registered",
        description="A project's definition registered or replaced: the project is evaluated again under it.",
    )
    async def on_registered(registered: ProjectRegistered) -> None:
        if fleet.dirty is not None:
            fleet.dirty.mark({registered.project})


def subscribe_evidence(fleet: Fleet, durable: str, title: str) -> None:
    """Subscribe the rules service to every accepted evidence event: batches pulled by its durable
    consumer, handed to the EvidenceConsumer that `start_evidence_consumer` wires up. Evidence is
    persisted once, by the rules; scoring reads it from the store when the rules' findings say
    how far they got."""

    @fleet.broker.subscriber(
        EVIDENCE_SUBJECTS,
        stream=JStream(EVIDENCE_STREAM.name, declare=False),
        durable=durable,
        pull_sub=EVIDENCE_BATCH,
        config=EVIDENCE_CONSUMER,
        ack_policy=AckPolicy.MANUAL,
        decoder=undecoded,
        title=title,
        description="Every accepted evidence event; persisted (idempotently) before it is acknowledged.",
    )
    async def on_evidence(bodies: EvidenceBatch, msg: Annotated[NatsBatchMessage, Context("message")]) -> None:
        assert fleet.consumer is not None, "the evidence consumer is wired at start-up"
        await fleet.consumer.handle(msg.raw_message)


def fleet_app(
    fleet: Fleet,
    title: str,
    evaluate: Callable[[Fleet, str], Awaitable[None]] | None,
    on_started: Callable[[Fleet], Awaitable[None]] | None = None,
) -> FastAPI:
    settings = fleet.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        time_collector_pauses()
        store = open_store(settings.store_url)
        await store.open()
        fleet.store = store

        async def set_aside(row: StoredEvent, revision: str, exc: EvidenceReferenceError) -> None:
            if fleet.dead_letters is not None:
                await fleet.dead_letters.set_aside(row, revision, exc)

        fleet.ledgers = LedgerCache(
            store,
            idle_s=settings.ledger_idle_s,
            calendar=fleet.calendar,
            on_unresolved=set_aside,
            snapshot_kind=fold_kind(settings.service_name),
        )
        if evaluate is not None:
            fleet.health = EvaluationHealth(settings.service_name, store, fleet.ledgers)
            fleet.dirty = DirtyProjects(
                settings.service_name,
                settings.debounce_s,
                lambda p: evaluate(fleet, p),
                fleet.health,
                store,
                fleet.ledgers,
                FrozenBetweenRounds(settings.gc_thaw_s).after_round,
            )
        convert_fetch_timeouts()
        await fleet.broker.connect()
        check_encrypted(fleet.nc, settings)
        log.info("connected to nats-server %s", check_server(fleet.nc))
        await ensure_streams(fleet.js, settings.stream_replicas)
        if on_started is not None:
            await on_started(fleet)
        if fleet.dirty is not None:
            fleet.dirty.start()
        await fleet.broker.start()
        try:
            yield
        finally:
            if fleet.dirty is not None:
                await fleet.dirty.stop()
            try:  # the next process takes the projects held up from here instead of folding them again
                await fleet.ledgers.save_all()
            except Exception:
                log.warning("fold states not kept on shutdown", exc_info=True)
            try:
                await fleet.broker.stop()
            except Exception:  # NATS already gone: nothing left to drain
                log.warning("NATS connection could not be drained on shutdown", exc_info=True)
            await store.close()

    app = FastAPI(title=title, lifespan=lifespan, docs_url=None, redoc_url=None)
    serve_api_docs(app)  # Swagger UI and ReDoc from the service itself, not a CDN
    detail = (lambda: fleet.health.detail() if fleet.health else {"failing": {}}) if evaluate is not None else None
    app.include_router(health_router({"nats": fleet.nats_ready, "store": fleet.store_ready}, detail))
    return app
