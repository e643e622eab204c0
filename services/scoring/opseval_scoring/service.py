"""The scoring service: consumes the rules service's findings, keeps each project's score tree
current, publishes score changes, and stores each project's full evaluation result (snapshot kind
"result") for the results API to serve. The domain call is `evaluate_ledger`, the use case
`opseval evaluate` runs, given the rules service's findings.

It does not consume evidence: the rules service persists each event once, and its FindingsChanged
says that it has (the findings cover the events it folded). Scoring then folds from the store what
is new up to where the rules folded (events stored since wait for the rules' next findings) and
evaluates once per change of findings, not once per evidence batch and again per findings. Folded
alike, it takes the measurements the rules made with the findings instead of making them again
(most of its evaluation before); folded otherwise (another definition or day, an older rules
version), it makes them itself: the same result either way."""

from __future__ import annotations

from fastapi import FastAPI
from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from opseval_infra.consumer import FETCH_WAIT_S
from opseval_infra.fleet import Fleet, evaluate_known_projects, fleet_app, make_broker, subscribe_definitions
from opseval_infra.projects import RESULT_KIND, Folded, in_evaluation_thread, timed_step
from opseval_infra.store.base import Snapshot
from opseval_shared.evidence_apart import apart_parts, joined
from opseval_shared.messaging import (
    FINDINGS_SUBJECTS,
    RESULTS_STREAM,
    SCORING_FINDINGS_CONSUMER,
    FindingsChanged,
    ScoreChanged,
    result_seq,
    scores_subject,
    without_evidence,
)
from opseval_shared.values import Measurement

from .evaluation import evaluate_ledger
from .settings import ScoringSettings


def build(settings: ScoringSettings) -> tuple[Fleet, NatsBroker]:
    broker = make_broker(settings)
    fleet = Fleet(settings, broker)

    fleet.results_out = broker.publisher(
        "opseval.scores.{project}",
        stream=JStream(RESULTS_STREAM.name, declare=False),
        schema=ScoreChanged,
        title="score changed",
        description="A project's score tree, total and grade, recomputed after new evidence or findings.",
    )

    subscribe_definitions(fleet)

    @broker.subscriber(
        FINDINGS_SUBJECTS,
        stream=JStream(RESULTS_STREAM.name, declare=False),
        durable=SCORING_FINDINGS_CONSUMER,
        # One at a time: a pull for more waits, once a message came, for the rest until it expires
        # (consumer.FETCH_WAIT_S), and each project's findings come one message a round.
        pull_sub=PullSub(batch_size=1, timeout=FETCH_WAIT_S),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title="findings for scoring",
        description="The rules service has persisted and evaluated new evidence (or the date or the"
        " definition moved): the project's score is recomputed from the stored evidence and these findings.",
    )
    async def on_findings(changed: FindingsChanged) -> None:
        # The message is the signal; the findings with their evidence are in the rules' snapshot.
        assert fleet.dirty is not None
        fleet.dirty.mark({changed.project})

    return fleet, broker


async def evaluate(fleet: Fleet, project: str) -> None:
    assert fleet.ledgers is not None and fleet.store is not None
    service = fleet.settings.service_name
    with timed_step(service, "read"):
        snapshot = await fleet.store.get_snapshot("findings", project)
        findings = joined(snapshot.parts(), FindingsChanged) if snapshot else None
    # The events the rules folded, no more (events stored since are theirs to fold first): then the
    # measurements they made are this fold's. Findings without last_seq (an older rules version), or
    # none yet: every event stored.
    upto = findings.last_seq if findings else None
    with timed_step(service, "fold"):
        folded = await fleet.ledgers.refresh(project, upto, findings.events_folded if findings else None)
    if folded is None:
        return
    ledger = folded.ledger
    stored_findings = findings.findings if findings else ()
    measurements = shipped_measurements(findings, folded) if findings else {}
    years = findings.calendar_years if findings else ()
    # The use case `opseval evaluate` runs, with the rules service's findings instead of running the
    # rules, and their measurements instead of making them again when they are of this very fold.
    result = await in_evaluation_thread(
        service, lambda: evaluate_ledger(ledger, lambda ctx: stored_findings, folded.work, measurements, years)
    )
    message = ScoreChanged.of_result(result, folded.events_folded, findings.events_folded if findings else 0)
    seq = result_seq(folded.events_folded, message.findings_events_folded)
    published = without_evidence(message)
    # The full result is kept only when its findings are of the same day: after midnight the rules'
    # findings of yesterday would stand in today's result until the rules service evaluates again
    # (it does, and its FindingsChanged brings scoring back here). Stored before the scores, so that
    # a score once visible has its result readable too — and then the scores are stored as published,
    # without the leaves' evidence ids: the result holds them (the results API joins the two, see
    # `scores_with_evidence`), and the project list, the portfolio and the judging list read the
    # scores of every project without a million ids each. Without a result alongside, the scores
    # keep their evidence.
    with_result = findings is not None and findings.as_of == ledger.as_of
    with timed_step(service, "store"):
        if with_result:
            await fleet.store.put_snapshot(RESULT_KIND, Snapshot(project, seq, parts=apart_parts(result)))
        stored = published if with_result else message
        changed = await fleet.store.put_snapshot("scores", Snapshot(project, seq, stored.json_bytes()))
    if changed:
        assert fleet.results_out is not None
        with timed_step(service, "publish"):
            await fleet.results_out.publish(
                published,
                subject=scores_subject(project),
                headers={"Nats-Msg-Id": f"scores:{project}:{seq}:{ledger.as_of}"},
            )


def shipped_measurements(findings: FindingsChanged, folded: Folded) -> dict[str, Measurement]:
    """The rules' measurements when they were made over exactly this fold (the same definition
    revision, as-of date and events, nothing of it stale); else none: scoring measures for itself."""
    if folded.ledger.stale or folded.ledger.unfolds:
        return {}
    return findings.measurements_for(folded.revision, folded.ledger.as_of, folded.last_seq, folded.events_folded)


def create_app(settings: ScoringSettings | None = None) -> FastAPI:
    settings = settings or ScoringSettings()
    fleet, _ = build(settings)
    app = fleet_app(fleet, "opseval scoring", evaluate, evaluate_known_projects)
    app.state.fleet = fleet
    return app
