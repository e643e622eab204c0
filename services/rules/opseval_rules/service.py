"""The rules service: consumes evidence and persists it (the one service that does), keeps each
project's findings current, publishes them — and so tells scoring how far the evidence is stored.

settings → broker → subscriber and publisher → app. The domain call is `find`, the same function
`opseval evaluate` runs.
"""

from __future__ import annotations

import asyncio

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
from opseval_infra.store.base import SnapshotInParts
from opseval_shared.evidence_apart import apart_parts
from opseval_shared.messaging import (
    RESULTS_STREAM,
    RULES_EVIDENCE_CONSUMER,
    FindingsChanged,
    findings_subject,
    without_evidence,
)
from opseval_shared.results import attach_findings

from .findings import find
from .settings import RulesSettings


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
    folded = await fleet.ledgers.refresh(project)
    if folded is None:  # evidence before its project was registered: evaluated once it is
        return
    ledger = folded.ledger
    findings = await asyncio.to_thread(lambda: find(folded.context()))
    findings = attach_findings(ledger.definition.indicators, findings)
    message = FindingsChanged(
        project=project, events_folded=folded.events_folded, as_of=ledger.as_of, findings=tuple(findings)
    )
    stored = await fleet.store.put_snapshot(
        "findings", SnapshotInParts(project, folded.events_folded, apart_parts(message))
    )
    if stored:
        assert fleet.results_out is not None
        await fleet.results_out.publish(
            without_evidence(message),
            subject=findings_subject(project),
            headers={"Nats-Msg-Id": f"findings:{project}:{folded.events_folded}:{ledger.as_of}"},
        )


def create_app(settings: RulesSettings | None = None) -> FastAPI:
    settings = settings or RulesSettings()
    fleet, _ = build(settings)
    app = fleet_app(fleet, "opseval rules", evaluate, start_evidence_consumer)
    app.state.fleet = fleet
    return app
