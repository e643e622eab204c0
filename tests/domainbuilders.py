"""Small hand-built projects for domain tests: a contract, a definition, events, a scored tree."""

from __future__ import annotations

import contextlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

from opseval_intake.library import standard_measures
from opseval_scoring.scoring import score_tree
from opseval_shared.contract import Contract, ContractProfile
from opseval_shared.evidence import Evidence, parse_evidence_json
from opseval_shared.indicators import Indicator, IndicatorSystem
from opseval_shared.ledger import EvidenceReferenceError, Ledger
from opseval_shared.measures import MeasureDef
from opseval_shared.metrics import MetricContext
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import Finding, ScoredIndicator

PROJECT = "p1"
YEAR_2024 = {"start": "2024-01-01", "end": "2024-12-31"}


def contract(cid: str = "ops", **fields: Any) -> Contract:
    data: dict[str, Any] = {"id": cid, "name": f"合同 {cid}", "vendor": "服务商", "service_period": YEAR_2024}
    data.update(fields)
    return Contract.model_validate(data)


def definition(
    indicators: list[dict[str, Any]],
    contracts: list[Contract] | None = None,
    measures: list[dict[str, Any]] | None = None,
    as_of: str | None = None,
) -> ProjectDefinition:
    """One project with the standard measures (and `measures` of its own) and a tree of leaves."""
    tops = [Indicator.model_validate(i) for i in indicators]
    system = IndicatorSystem(
        id="sys",
        name="测试指标体系",
        form="third_party",
        total=sum((t.weight for t in tops), Decimal(0)),
        indicators=tuple(tops),
    )
    evaluation: dict[str, Any] = {"period": YEAR_2024}
    if as_of is not None:
        evaluation["as_of"] = as_of
    own = [MeasureDef.model_validate(m) for m in measures or []]
    return ProjectDefinition.model_validate(
        {
            "project": {"id": PROJECT, "name": "测试项目", "agency": "测试单位", "evaluation": evaluation},
            "contracts": ContractProfile(contracts=tuple(contracts or [contract()])),
            "indicators": system,
            "measures": standard_measures().merged(own),
        }
    )


def event(
    eid: str,
    kind: str,
    payload: dict[str, Any],
    *,
    at: str = "2024-06-03T10:00:00+08:00",
    recorded: str | None = None,
    contract: str | None = None,
    corrects: str | None = None,
) -> Evidence:
    raw: dict[str, Any] = {
        "id": eid,
        "project": PROJECT,
        "kind": kind,
        "occurred_at": at,
        "recorded_at": recorded or at,
        "source": "test",
        "payload": payload,
    }
    if contract is not None:
        raw["contract"] = contract
    if corrects is not None:
        raw["corrects"] = {"event": corrects, "reason": "录入有误"}
    return parse_evidence_json(json.dumps(raw, ensure_ascii=False))


def folded_afresh(
    defn: ProjectDefinition, events: list[Evidence], day: date, left_out: frozenset[str] = frozenset()
) -> Ledger:
    """Every event folded as of `day`, those whose references do not resolve left out, and folded again
    leaving out what corrections name when that made the ledger stale (as the services refold)."""
    while True:
        ledger = Ledger(defn, day, left_out)
        for e in events:
            with contextlib.suppress(EvidenceReferenceError):
                ledger.add(e)
        if not ledger.stale:
            return ledger
        left_out = ledger.left_out


def folded_state(ledger: Ledger) -> tuple[Any, ...]:
    """What a ledger folded, in an order that does not depend on the order of the events."""
    return (
        ledger.events,
        ledger.by_kind,
        ledger.duplicates,
        ledger.after_as_of,
        ledger.outside_period,
        ledger.outside_by_kind,
        ledger.outside_span,
        {
            key: (
                dict(log.per_day),
                sorted(log.ids),
                sorted(log.late_done),
                sorted(log.late_registered),
                dict(log.late_per_day),
            )
            for key, log in ledger.inspections.items()
        },
        {key: dict(days) for key, days in ledger.first_clock_in.items()},
        {key: rec.event_id for key, rec in ledger.roster.items()},
        sorted(rec.event_id for rec in ledger.trainings),
    )


def context(defn: ProjectDefinition, events: list[Evidence], as_of: date | None = None) -> MetricContext:
    ledger = Ledger(defn, as_of or defn.project.evaluation.default_as_of)
    for e in events:
        ledger.add(e)
    return MetricContext(ledger)


def scored(
    defn: ProjectDefinition, events: list[Evidence], findings: list[Finding] | None = None
) -> dict[str, ScoredIndicator]:
    top, _, _ = score_tree(defn.indicators, context(defn, events), findings or [])
    nodes: dict[str, ScoredIndicator] = {}

    def collect(n: ScoredIndicator) -> None:
        nodes[n.id] = n
        for c in n.children:
            collect(c)

    for t in top:
        collect(t)
    return nodes


def leaf(lid: str, weight: str, method: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": lid, "name": f"指标 {lid}", "weight": weight, "method": method, **fields}
