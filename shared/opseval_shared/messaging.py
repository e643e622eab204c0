"""Message contracts of the fleet: streams, subjects, durable consumers and message models.

Defined once here; every service and the generated AsyncAPI documents take them from this module.
Events are named in the past tense. Subjects carry the project so a consumer (or an upstream
system's credentials) can be limited to some projects' subjects.

Glossary — how far a result got, one name per concept (messages, store, results API, dashboard):

- revision: a project definition's revision, the content hash intake gives the definition it registers
  (`ProjectRegistered.revision`, the store's `StoredProject.revision`, a finalised version's
  `definition_revision`). "Revision" means this and nothing else.
- events_folded: how many of a project's stored evidence events a result was computed from
  (`FindingsChanged.events_folded`, `ScoreChanged.events_folded`); `findings_events_folded` is the
  events_folded of the findings a score used. Messages stored before the rename spelled these
  `revision` and `findings_revision`; both are still read.
- last_seq: the store sequence number of the last evidence event a result folded
  (`FindingsChanged.last_seq`): with events_folded, which events the rules' measurements were made
  over; the scoring service folds the events up to it, no more (`LedgerCache.refresh(upto_seq=…)`).
- seq: a stored snapshot's ordering number (`opseval_infra.store.Snapshot.seq`, stored in the column
  or field still named `revision`): a snapshot never replaces one of a higher seq. For findings it is
  events_folded, for scores and full results `result_seq`, for an
  evaluation status the microsecond it was taken.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime

from pydantic import AliasChoices, AwareDatetime, Field

from .base import Frozen, Num
from .evidence import Slug
from .project import ProjectDefinition
from .results import EvaluationResult, Finding, ScoredIndicator
from .values import Measurement

PREFIX = "opseval"


def message_id(event_id: str, body: bytes) -> str:
    """The `Nats-Msg-Id` of an evidence event: its id and a hash of its canonical JSON, so JetStream
    drops a replay but lets the same id with other content through, to be refused (dead-lettered)
    instead of silently taken for a replay."""
    return f"{event_id}#{hashlib.sha256(body).hexdigest()[:16]}"


def evidence_subject(project: str, kind: str) -> str:
    return f"{PREFIX}.evidence.{project}.{kind}"


def project_subject(project: str) -> str:
    return f"{PREFIX}.projects.{project}"


def findings_subject(project: str) -> str:
    return f"{PREFIX}.findings.{project}"


def scores_subject(project: str) -> str:
    return f"{PREFIX}.scores.{project}"


def dead_letter_subject(service: str) -> str:
    return f"{PREFIX}.dlq.{service}"


EVIDENCE_SUBJECTS = f"{PREFIX}.evidence.>"
PROJECT_SUBJECTS = f"{PREFIX}.projects.>"
FINDINGS_SUBJECTS = f"{PREFIX}.findings.>"
SCORES_SUBJECTS = f"{PREFIX}.scores.>"
DEAD_LETTER_SUBJECTS = f"{PREFIX}.dlq.>"


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    description: str
    duplicate_window_s: float = 120.0


EVIDENCE_STREAM = StreamSpec("OPSEVAL_EVIDENCE", (EVIDENCE_SUBJECTS,), "accepted evidence events, one per id")
PROJECTS_STREAM = StreamSpec("OPSEVAL_PROJECTS", (PROJECT_SUBJECTS,), "project definitions as registered")
RESULTS_STREAM = StreamSpec(
    "OPSEVAL_RESULTS", (FINDINGS_SUBJECTS, SCORES_SUBJECTS), "findings and score trees as they change"
)
DEAD_LETTER_STREAM = StreamSpec("OPSEVAL_DLQ", (DEAD_LETTER_SUBJECTS,), "messages no consumer could handle")
STREAMS = (EVIDENCE_STREAM, PROJECTS_STREAM, RESULTS_STREAM, DEAD_LETTER_STREAM)

# Durable consumers: one per (service, stream); replicas of a service share it (work queue).
# Evidence is persisted once, by the rules service; scoring reads it from the store when the rules'
# findings say how far they got. (Installations from before 2026-12 hold an idle durable consumer
# `scoring-evidence` on OPSEVAL_EVIDENCE: deploy/README.md says how to remove it.)
RULES_EVIDENCE_CONSUMER = "rules-evidence"
SCORING_FINDINGS_CONSUMER = "scoring-findings"


class ProjectRegistered(Frozen):
    project: Slug
    revision: str = Field(description="content hash of the definition")
    definition: ProjectDefinition


class FindingsChanged(Frozen):
    """A project's findings, and the measurements the score tree asks for, made in the same pass over
    the same folded evidence. On the wire without their evidence ids (a year of evidence would not
    fit a message); the store and the results API keep them.

    The measurements hold for one state only: the definition revision, the as-of date and the events
    folded (`last_seq`, `events_folded`). The scoring service uses them when it has folded exactly
    that state (`measurements_for`), and measures for itself otherwise — the same result either way.
    Findings kept by a rules service from before the measurements carry none of these fields."""

    project: Slug
    events_folded: int = Field(
        ge=0,
        validation_alias=AliasChoices("events_folded", "revision"),
        description="number of evidence events the findings were computed from",
    )
    as_of: date
    findings: tuple[Finding, ...]
    last_seq: int | None = Field(
        default=None,
        ge=0,
        description="store sequence number of the last evidence event the findings were computed from",
    )
    definition_revision: str | None = Field(
        default=None, description="revision of the project definition the findings were computed under"
    )
    measurements: dict[str, Measurement] = Field(
        default_factory=dict,
        description="the measurements the score tree asks for, by the canonical JSON of their metric reference",
    )
    calendar_years: tuple[int, ...] = Field(
        default=(),
        description="the years the working-day calendar was consulted about for the findings and measurements",
    )

    def measurements_for(self, revision: str, as_of: date, last_seq: int, events_folded: int) -> dict[str, Measurement]:
        """The measurements, when they were made over this state: the same definition revision and
        as-of date, and the same events (up to the same store sequence number, as many); else none."""
        made_over = (self.definition_revision, self.as_of, self.last_seq, self.events_folded)
        return self.measurements if made_over == (revision, as_of, last_seq, events_folded) else {}


class ScoreChanged(Frozen):
    """A project's score tree. On the wire without the leaves' evidence ids; the store and the
    results API keep them. Scoring folds the events the findings were computed from, so
    events_folded equals findings_events_folded (and the rules' measurements were taken) unless its
    fold was already past them or the findings do not say how far they got (an older rules version)."""

    project: Slug
    events_folded: int = Field(
        ge=0,
        validation_alias=AliasChoices("events_folded", "revision"),
        description="number of evidence events the score was computed from",
    )
    findings_events_folded: int = Field(
        ge=0,
        validation_alias=AliasChoices("findings_events_folded", "findings_revision"),
        description="number of evidence events the findings this score used were computed from",
    )
    as_of: date
    total: Num
    grade: str
    assessable: Num | None = Field(default=None, description="weight assessable at the as-of date")
    pending: Num | None = Field(default=None, description="weight not yet assessable")
    indicators: tuple[ScoredIndicator, ...]
    evidence_accepted_at: AwareDatetime | None = Field(
        default=None, description="when the newest of the events folded was accepted (for latency)"
    )
    evidence_counts: dict[str, int] | None = Field(
        default=None,
        description="without the leaves' evidence ids: how many evidence events each leaf cites, by its id",
    )

    @classmethod
    def of_result(cls, result: EvaluationResult, events_folded: int, findings_events_folded: int) -> ScoreChanged:
        """The scores of a full result computed from `events_folded` events and findings of `findings_events_folded`."""
        return cls(
            project=result.project,
            events_folded=events_folded,
            findings_events_folded=findings_events_folded,
            as_of=result.as_of,
            total=result.total,
            grade=result.grade,
            assessable=result.assessable,
            pending=result.pending,
            indicators=result.indicators,
        )


_FINDINGS_SPAN = 10**9  # result_seq: events_folded above, findings_events_folded below


def result_seq(events_folded: int, findings_events_folded: int) -> int:
    """The seq of a stored score and full result: ordered first by the events folded, then by the
    events the findings it used were computed from."""
    return events_folded * _FINDINGS_SPAN + findings_events_folded


def result_seq_parts(seq: int) -> tuple[int, int]:
    """`result_seq`'s (events_folded, findings_events_folded)."""
    return divmod(seq, _FINDINGS_SPAN)


def without_evidence(message: FindingsChanged | ScoreChanged) -> FindingsChanged | ScoreChanged:
    """The message as published: the same results, the evidence ids left to the results API (a
    score says how many each leaf cites)."""
    if isinstance(message, FindingsChanged):
        return message.model_copy(
            update={
                "findings": tuple(f.model_copy(update={"evidence": ()}) for f in message.findings),
                "measurements": {ref: replace(m, evidence=()) for ref, m in message.measurements.items()},
            }
        )
    return message.model_copy(
        update={
            "indicators": indicators_without_evidence(message.indicators),
            "evidence_counts": evidence_counts(message.indicators),
        }
    )


def indicators_without_evidence(indicators: tuple[ScoredIndicator, ...]) -> tuple[ScoredIndicator, ...]:
    """The score tree with every leaf's evidence ids left out (an empty list where there were some)."""

    def strip(node: ScoredIndicator) -> ScoredIndicator:
        update = {"children": tuple(strip(c) for c in node.children)}
        if node.evidence is not None:
            update["evidence"] = ()
        return node.model_copy(update=update)

    return tuple(strip(i) for i in indicators)


def evidence_counts(indicators: tuple[ScoredIndicator, ...]) -> dict[str, int]:
    """How many evidence events each leaf that cites evidence cites, by its id."""
    return {n.id: len(n.evidence) for top in indicators for n in top.walk() if n.evidence is not None}


class DeadLettered(Frozen):
    id: str = Field(description="service, stream and sequence of the original message")
    service: str
    stream: str
    subject: str
    deliveries: int
    error: str
    payload: str = Field(description="the message body as received (UTF-8, replaced where invalid)")
    at: datetime
