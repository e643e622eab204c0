"""The rules service: consumes evidence and persists it (the one service that does), keeps each
project's findings current, publishes them — and so tells scoring how far the evidence is stored.
With the findings go the measurements the score tree asks for, made in the same pass (scoring takes
them when it has folded the same events, instead of making them again).

settings → broker → subscriber and publisher → app. The domain call is `find`, the same function
`opseval evaluate` runs.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from faststream.nats import JStream, NatsBroker
from opseval_infra.fleet import (
    Fleet,
    fleet_app,
    make_broker,
    start_evidence_consumer,
    subscribe_definitions,
    subscribe_evidence,
)
from opseval_infra.projects import in_evaluation_thread, timed_step
from opseval_infra.store.base import Snapshot
from opseval_scoring.scoring import measurements_asked
from opseval_shared.evidence_apart import apart_parts
from opseval_shared.messaging import (
    RESULTS_STREAM,
    RULES_EVIDENCE_CONSUMER,
    FindingsChanged,
    findings_subject,
    without_evidence,
)
from opseval_shared.metrics import Measurement, MetricContext
from opseval_shared.results import Finding, attach_findings

from .findings import find
from .settings import RulesSettings

log = logging.getLogger(__name__)


def build(settings: RulesSettings) -> tuple[Fleet, NatsBroker]:
    broker = make_broker(settings)
    fleet = Fleet(settings, broker)

    findings_out = broker.publisher(
        "opseval.findings.{project}",
        stream=JStream(RESULTS_STREAM.name, declare=False),
        schema=FindingsChanged,
        title="findings changed",
        description="A project's findings, recomputed from all its evidence so far.",
    )
    fleet.results_out = findings_out

    subscribe_evidence(fleet, RULES_EVIDENCE_CONSUMER, "evidence for the rules")
    subscribe_definitions(fleet)

    return fleet, broker


async def evaluate(fleet: Fleet, project: str) -> None:
    assert fleet.ledgers is not None and fleet.store is not None
    service = fleet.settings.service_name
    with timed_step(service, "fold"):
        folded = await fleet.ledgers.refresh(project)
    if folded is None:  # evidence before its project was registered: evaluated once it is
        return
    ledger = folded.ledger
    findings, measurements, years = await in_evaluation_thread(service, lambda: measured(folded.context()))
    message = FindingsChanged(
        project=project,
        events_folded=folded.events_folded,
        as_of=ledger.as_of,
        findings=tuple(findings),
        last_seq=folded.last_seq,
        definition_revision=folded.revision,
        measurements=measurements,
        calendar_years=years,
    )
    with timed_step(service, "store"):
        stored = await fleet.store.put_snapshot(
            "findings", Snapshot(project, folded.events_folded, parts=apart_parts(message))
        )
    if stored:
        assert fleet.results_out is not None
        # (The revision too: findings under a re-registered definition are another message, not a replay.)
        msg_id = f"findings:{project}:{folded.events_folded}:{ledger.as_of}:{folded.revision}"
        with timed_step(service, "publish"):
            await fleet.results_out.publish(
                without_evidence(message), subject=findings_subject(project), headers={"Nats-Msg-Id": msg_id}
            )


def measured(ctx: MetricContext) -> tuple[list[Finding], dict[str, Measurement], tuple[int, ...]]:
    """The findings, the measurements the score tree will ask for (made in the same context, which
    already holds what the rules measured: at a million events about 50 ms more here, where scoring
    spent 85 of its 90 ms per change making them in a context of its own) and the calendar years
    consulted for both."""
    indicators = ctx.ledger.definition.indicators
    findings = attach_findings(indicators, find(ctx))
    try:
        measurements = measurements_asked(indicators, ctx, findings)
    except Exception:
        # Not the rules' failure: scoring, left to measure for itself, meets it and reports it.
        log.warning("the measurements of %s are not shipped", ctx.ledger.definition.project.id, exc_info=True)
        measurements = {}
    return findings, measurements, ctx.work.consulted()


def create_app(settings: RulesSettings | None = None) -> FastAPI:
    settings = settings or RulesSettings()
    fleet, _ = build(settings)
    app = fleet_app(fleet, "opseval rules", evaluate, start_evidence_consumer)
    app.state.fleet = fleet
    return app
