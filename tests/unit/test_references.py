"""Every reference is checked: the indicator tree's against the contract profile and the rules,
each event's against its project's definition, and evidence about a time outside the evaluation
period is counted, left out of scores and findings, and reported.

Definitions are checked with `unresolved_references` (every problem with its location in the
tree); events by folding them into a `Ledger`, which refuses a bad reference before it folds
anything, with the field that holds it.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from opseval_intake.library import standard_measures
from opseval_reporting.pipeline import evaluate_ledger
from opseval_shared.contract import ContractProfile
from opseval_shared.evidence import Evidence, parse_evidence_json
from opseval_shared.indicators import IndicatorSystem
from opseval_shared.ledger import EvidenceReferenceError, Ledger, Outcome
from opseval_shared.project import ProjectDefinition, unresolved_references
from pydantic import ValidationError

YEAR = {"start": "2021-01-01", "end": "2021-12-31"}
CONTRACT: dict[str, Any] = {
    "id": "ops",
    "name": "运维合同",
    "vendor": "服务商",
    "service_period": YEAR,
    "deliverables": [{"id": "weekly_report", "name": "运维周报", "frequency": "weekly"}],
    "inspections": [{"id": "daily_check", "name": "日常巡检", "frequency": "workday"}],
    "slas": [{"severity": "L1", "response_minutes": 5, "resolve_minutes": 25}],
    "assets": [{"asset_class": "server", "name": "服务器", "count": 10}],
    "surveys": [{"survey": "user-survey"}],
    "assessment_items": [{"item": "服务响应及时率", "max_score": 10}],
}
OTHER: dict[str, Any] = {"id": "operation", "name": "运营合同", "vendor": "运营商", "service_period": YEAR}
JUDGED_LEAVES: list[dict[str, Any]] = [
    {"id": "compliance", "name": "合规性", "weight": 10, "method": {"type": "judgment"}},
    {
        "id": "quality",
        "name": "质量",
        "weight": 5,
        "method": {
            "type": "checklist",
            "points": [{"id": "docs", "text": "文档齐全", "max": 2}, {"id": "process", "text": "流程规范", "max": 3}],
        },
    },
]


def leaf(lid: str, metric: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": lid, "name": lid, "weight": 10, "method": {"type": "ratio", "metric": metric}, **fields}


def system(*leaves: dict[str, Any]) -> IndicatorSystem:
    all_leaves = [*leaves, *JUDGED_LEAVES]
    weight = sum(Decimal(str(n["weight"])) for n in all_leaves)
    return IndicatorSystem.model_validate(
        {
            "id": "sys",
            "name": "指标体系",
            "form": "third_party",
            "total": weight,
            "indicators": [{"id": "top", "name": "一级", "weight": weight, "children": all_leaves}],
        }
    )


def profile(*contracts: dict[str, Any]) -> ContractProfile:
    return ContractProfile.model_validate({"contracts": list(contracts or [CONTRACT])})


def definition(
    *leaves: dict[str, Any], contracts: tuple[dict[str, Any], ...] = (), facts_until: str | None = None
) -> ProjectDefinition:
    evaluation: dict[str, Any] = {"period": YEAR, "as_of": "2022-03-31"}
    if facts_until:
        evaluation["facts_until"] = facts_until
    return ProjectDefinition(
        project={"id": "p1", "name": "项目", "agency": "单位", "evaluation": evaluation},  # type: ignore[arg-type]
        contracts=profile(*contracts),
        indicators=system(*leaves),
        measures=standard_measures(),
    )


def problems(*leaves: dict[str, Any], contracts: tuple[dict[str, Any], ...] = (), **kw: Any) -> list[tuple[str, str]]:
    """(field path below the first leaf, message) of each unresolved reference."""
    found = unresolved_references(profile(*contracts), system(*leaves), standard_measures(), **kw)
    return [(".".join(map(str, loc[4:])), message) for loc, message in found]


# ---------------------------------------------------------------- definitions


@pytest.mark.parametrize(
    ("metric", "field", "says"),
    [
        (
            {"name": "inspections.completion", "plan": "daliy_check"},
            "method.metric.plan",
            "contract 'ops' has no inspection plan 'daliy_check' (known: daily_check)",
        ),
        (
            {"name": "deliverables.count", "deliverable": "weekly_reprot"},
            "method.metric.deliverable",
            "contract 'ops' has no deliverable 'weekly_reprot' (known: weekly_report)",
        ),
        (
            {"name": "deliverables.on_time_rate", "deliverables": ["weekly_report", "monthly_report"]},
            "method.metric.deliverables.1",
            "has no deliverable 'monthly_report'",
        ),
        (
            {"name": "survey.satisfaction", "contract": "ops", "survey": "user-survy"},
            "method.metric.survey",
            "contract 'ops' has no survey duty for survey 'user-survy' (known: user-survey)",
        ),
        (
            {"name": "assets.count", "asset_class": "severs"},
            "method.metric.asset_class",
            "contract 'ops' has no assets of class 'severs' (known: server)",
        ),
        (
            {"name": "assets.coverage", "asset_classes": ["server", "storage"]},
            "method.metric.asset_classes.1",
            "has no assets of class 'storage'",
        ),
        (
            {"name": "assessment.score_rate", "items": ["服务响应率"]},
            "method.metric.items.0",
            "contract 'ops' has no assessment item '服务响应率'",
        ),
        ({"name": "budget.execution_rate", "contract": "opps"}, "method.metric.contract", "unknown contract 'opps'"),
        ({"name": "training.count"}, "method.metric.name", "contract 'ops' has no training duty"),
    ],
    ids=[
        "plan",
        "deliverable",
        "deliverables",
        "survey",
        "asset-class",
        "asset-classes",
        "assessment-item",
        "metric-contract",
        "training-duty",
    ],
)
def test_a_metric_reference_the_contract_does_not_define_is_named_with_its_field(
    metric: dict[str, Any], field: str, says: str
) -> None:
    found = problems(leaf("leaf", metric))
    assert len(found) == 1, found
    assert found[0][0] == field
    assert says in found[0][1]


def test_a_survey_no_contract_names_may_be_the_evaluators_own_when_the_metric_names_no_contract() -> None:
    assert problems(leaf("leaf", {"name": "survey.satisfaction", "survey": "eval-2023"})) == []


def test_a_one_contract_metric_in_a_project_of_several_must_name_its_contract() -> None:
    found = problems(leaf("leaf", {"name": "incidents.mtbf_hours"}), contracts=(CONTRACT, OTHER))
    assert found == [
        ("method.metric.contract", "the project has several contracts: incidents.mtbf_hours must name one")
    ]


def test_a_measure_without_a_slice_counts_every_contract_of_the_project() -> None:
    # measures of the library add up over the contracts: all deliverables, every asset class
    for name in ("deliverables.count", "assets.count", "staffing.compliance"):
        assert problems(leaf("leaf", {"name": name}), contracts=(CONTRACT, OTHER)) == []


def test_per_contract_shares_name_real_contracts_and_each_share_must_resolve_the_metric() -> None:
    tiered = {
        "id": "leaf",
        "name": "leaf",
        "weight": 10,
        "method": {
            "type": "tiered",
            "metric": {"name": "inspections.completion", "plan": "daily_check"},
            "bands": [{"min": 1, "fraction": 1}],
            "per_contract": [
                {"contract": "ops", "share": 5},
                {"contract": "operation", "share": 3},
                {"contract": "x", "share": 2},
            ],
        },
    }
    found = problems(tiered, contracts=(CONTRACT, OTHER))
    assert found == [
        ("method.per_contract.2.contract", "unknown contract 'x' (known: operation, ops)"),
        ("method.metric.plan", "contract 'operation' has no inspection plan 'daily_check' (none defined)"),
    ]


def test_a_fiscal_year_outside_the_period_and_the_service_is_refused() -> None:
    ok = leaf("ok", {"name": "budget.execution_rate", "fiscal_year": 2021})
    typo = leaf("typo", {"name": "budget.execution_rate", "fiscal_year": 2012})
    found = problems(typo, ok, period=definition().project.evaluation.period)
    assert found == [
        (
            "method.metric.fiscal_year",
            "fiscal year 2012 is outside the evaluation period and the contracts' service periods (2021–2021)",
        )
    ]


def test_a_rule_pattern_must_match_a_known_rule_when_the_rules_are_known() -> None:
    rules = ["fault.sla_breach", "inspection.late", "inspection.below_plan"]
    good = leaf("good", {"name": "incidents.response_rate"}, rules=["fault.*", "inspection.late"])
    typo = leaf("typo", {"name": "incidents.response_rate"}, rules=["inspection.*", "inspektion.*"])
    assert problems(good, typo) == []  # not checked without the catalogue
    found = unresolved_references(profile(), system(good, typo), standard_measures(), known_rules=rules)
    assert [(loc[-3:], message) for loc, message in found] == [
        (
            (1, "rules", 1),
            "rule pattern 'inspektion.*' matches no rule "
            "(known: fault.sla_breach, inspection.below_plan, inspection.late)",
        )
    ]


def test_every_problem_is_reported_not_only_the_first() -> None:
    found = problems(
        leaf("a", {"name": "inspections.completion", "plan": "nightly"}, contract="opps"),
        leaf("b", {"name": "assets.count", "asset_class": "severs"}),
    )
    assert [f for f, _ in found] == ["contract", "method.metric.plan", "method.metric.asset_class"]


def test_a_project_definition_with_unresolved_references_is_invalid_naming_each() -> None:
    with pytest.raises(ValidationError) as caught:
        definition(
            leaf("a", {"name": "inspections.completion", "plan": "nightly"}),
            leaf("b", {"name": "assets.count", "asset_class": "severs"}),
        )
    text = str(caught.value)
    assert "indicators[0].children[0].method.metric.plan: contract 'ops' has no inspection plan 'nightly'" in text
    assert "indicators[0].children[1].method.metric.asset_class: contract 'ops' has no assets of class" in text


# ---------------------------------------------------------------- evidence


def event(kind: str, payload: dict[str, Any], *, at: str = "2021-06-01T10:00:00+08:00", **envelope: Any) -> Evidence:
    raw = {
        "id": envelope.pop("id", f"e-{kind}"),
        "project": "p1",
        "kind": kind,
        "occurred_at": at,
        "recorded_at": at,
        "source": "test",
        "payload": payload,
        **envelope,
    }
    return parse_evidence_json(json.dumps(raw, ensure_ascii=False))


def ledger(*contracts: dict[str, Any], facts_until: str | None = None) -> Ledger:
    d = definition(leaf("rate", {"name": "incidents.response_rate"}), contracts=contracts, facts_until=facts_until)
    return Ledger(d, d.project.evaluation.default_as_of)


def judgment(indicator: str, awarded: float, point: str | None = None) -> Evidence:
    payload: dict[str, Any] = {"indicator": indicator, "awarded": awarded, "reason": "判定"}
    if point is not None:
        payload["point"] = point
    return event("judgment", payload, id=f"j-{indicator}-{point}")


INCIDENT = {"ticket": "T1", "severity": "L1"}


@pytest.mark.parametrize(
    ("bad", "field", "says"),
    [
        (judgment("complience", 5), "payload.indicator", "unknown indicator 'complience' (known: compliance, quality)"),
        (judgment("rate", 5), "payload.indicator", "indicator 'rate' is scored by the ratio method, not by judgment"),
        (judgment("top", 5), "payload.indicator", "indicator 'top' sums its children; judge one of its leaves"),
        (judgment("quality", 1), "payload.point", "indicator 'quality' is scored by checklist points: name one"),
        (judgment("quality", 1, "doc"), "payload.point", "has no checklist point 'doc' (known: docs, process)"),
        (judgment("compliance", 5, "docs"), "payload.point", "'compliance' is judged as a whole and has no point"),
        (
            judgment("quality", 2.5, "docs"),
            "payload.awarded",
            "awarded 2.5 is more than the maximum of point 'docs' (2)",
        ),
        (judgment("compliance", 12), "payload.awarded", "awarded 12 is more than the weight of indicator 'compliance'"),
        (event("incident", {**INCIDENT, "severity": "L9"}), "payload.severity", "defines no SLA severity 'L9'"),
        (event("asset_count", {"asset_class": "severs", "count": 3}), "payload.asset_class", "no assets of class"),
        (
            event("survey_response", {"survey": "user-survy", "group": "用户", "satisfied": True}, contract="ops"),
            "payload.survey",
            "no survey duty of contract 'ops' names survey 'user-survy' (known: user-survey)",
        ),
        (event("inspection_done", {"plan": "daliy_check"}), "payload.plan", "no inspection plan 'daliy_check'"),
        (
            event("deliverable_submitted", {"deliverable": "weekly", "title": "周报", "document_ref": "d1"}),
            "payload.deliverable",
            "contract 'ops' has no deliverable 'weekly' (known: weekly_report)",
        ),
        (event("incident", INCIDENT, contract="opps"), "contract", "unknown contract 'opps' (known: ops)"),
    ],
    ids=[
        "unknown-indicator",
        "not-a-judged-leaf",
        "a-parent",
        "checklist-without-point",
        "unknown-point",
        "point-on-a-judgment-leaf",
        "above-the-point-maximum",
        "above-the-leaf-weight",
        "severity",
        "asset-class",
        "survey",
        "plan",
        "deliverable",
        "contract",
    ],
)
def test_an_event_whose_reference_does_not_resolve_is_refused_with_its_field_and_folds_nothing(
    bad: Evidence, field: str, says: str
) -> None:
    led = ledger()
    with pytest.raises(EvidenceReferenceError) as caught:
        led.add(bad)
    assert caught.value.field_path == field
    assert says in str(caught.value)
    assert (led.events, led.by_kind, led.judgments, led.incidents, led.assets) == (0, {}, {}, {}, {})


def test_an_award_below_zero_is_refused_when_the_event_is_read() -> None:
    with pytest.raises(ValidationError) as caught:
        judgment("compliance", -1)
    assert caught.value.errors()[0]["loc"][-1] == "awarded"


def test_the_same_references_resolve_and_fold() -> None:
    led = ledger()
    good = [
        judgment("compliance", 10),
        judgment("quality", 2, "docs"),
        event("incident", INCIDENT),
        event("asset_count", {"asset_class": "server", "count": 3}),
        event("survey_response", {"survey": "user-survey", "group": "用户", "satisfied": True}, contract="ops"),
        # a survey naming no contract may be the evaluators' own questionnaire
        event("survey_response", {"survey": "eval-2021", "group": "用户", "satisfied": True}, id="eval-1"),
    ]
    assert [led.add(e) for e in good] == [Outcome.ADDED] * len(good)


def test_in_a_project_of_several_contracts_a_per_contract_event_must_name_one() -> None:
    led = ledger(CONTRACT, OTHER)
    with pytest.raises(EvidenceReferenceError) as caught:
        led.add(event("clock_in", {"staff": "张三"}))
    assert caught.value.field_path == "contract"
    assert "several contracts: name one (known: operation, ops)" in str(caught.value)


def test_a_reference_is_checked_also_on_an_event_after_the_as_of_day() -> None:
    with pytest.raises(EvidenceReferenceError):
        ledger().add(event("inspection_done", {"plan": "daliy_check"}, at="2023-01-05T10:00:00+08:00"))


# ---------------------------------------------------------------- the evaluation period


@pytest.mark.parametrize(
    ("bad", "day"),
    [
        (event("incident", INCIDENT, at="2020-12-31T23:30:00+08:00"), date(2020, 12, 31)),
        # 2022-01-01 01:00 in China, still 2021 in UTC: the day is China's
        (event("clock_in", {"staff": "张三"}, at="2021-12-31T17:00:00+00:00"), date(2022, 1, 1)),
        (event("inspection_done", {"plan": "daily_check"}, at="2022-01-04T09:00:00+08:00"), date(2022, 1, 4)),
        (event("training_held", {"topic": "培训"}, at="2020-11-01T09:00:00+08:00"), date(2020, 11, 1)),
        (
            event(
                "deliverable_submitted",
                {
                    "deliverable": "weekly_report",
                    "title": "周报",
                    "document_ref": "d1",
                    "period_start": "2020-12-21",
                    "period_end": "2020-12-27",
                },
                at="2021-01-04T10:00:00+08:00",
            ),
            date(2020, 12, 27),
        ),
        (
            event("acceptance_result", {"period_start": "2022-01-01", "period_end": "2022-03-31", "passed": True}),
            date(2022, 1, 1),
        ),
        (event("budget_figure", {"item": "spent", "amount": 5, "fiscal_year": 2020}), date(2020, 1, 1)),
        (
            event(
                "survey_response", {"survey": "s", "group": "用户", "satisfied": True}, at="2020-12-01T10:00:00+08:00"
            ),
            date(2020, 12, 1),
        ),
        (
            event("judgment", {"indicator": "compliance", "awarded": 5, "reason": "r"}, at="2020-12-01T10:00:00+08:00"),
            date(2020, 12, 1),
        ),
        (
            event("asset_count", {"asset_class": "server", "count": 3}, at="2022-01-10T10:00:00+08:00"),
            date(2022, 1, 10),
        ),
    ],
    ids=[
        "fault-before",
        "clock-in-after-in-china",
        "inspection-after",
        "training-before",
        "report-of-a-period-before",
        "acceptance-of-a-period-after",
        "budget-of-another-year",
        "survey-before",
        "judgment-before",
        "asset-count-after",
    ],
)
def test_evidence_about_a_time_outside_the_period_is_counted_and_not_folded(bad: Evidence, day: date) -> None:
    led = ledger()
    assert led.add(bad) is Outcome.OUTSIDE_PERIOD
    assert (led.events, led.by_kind, led.outside_period) == (0, {}, 1)
    assert led.outside_by_kind == {bad.kind.value: 1}
    assert led.outside_span == (day, day)


@pytest.mark.parametrize(
    "kept",
    [
        # a December report handed in in January is about December
        event(
            "deliverable_submitted",
            {
                "deliverable": "weekly_report",
                "title": "周报",
                "document_ref": "d1",
                "period_start": "2021-12-27",
                "period_end": "2022-01-02",
            },
            at="2022-01-04T10:00:00+08:00",
        ),
        # accounts of the period are written after it: judgments, self-evaluations, the year's survey
        event("judgment", {"indicator": "compliance", "awarded": 5, "reason": "r"}, at="2022-03-01T10:00:00+08:00"),
        event("self_evaluation_row", {"indicator": "预算执行率"}, at="2022-03-01T10:00:00+08:00"),
        event("survey_response", {"survey": "s", "group": "用户", "satisfied": True}, at="2022-01-10T10:00:00+08:00"),
        # states in force from before the period: an asset inventory, the roster
        event("asset_count", {"asset_class": "server", "count": 3}, at="2020-12-31T10:00:00+08:00"),
        event("roster_entry", {"name": "张三", "role": "工程师"}, at="2020-12-20T10:00:00+08:00"),
        # the budget's preparation comes before the period
        event("unit_rate", {"module": "运维", "rate": 2}, at="2020-10-01T10:00:00+08:00"),
        event("budget_figure", {"item": "approved", "amount": 5, "fiscal_year": 2021}, at="2020-12-01T10:00:00+08:00"),
    ],
    ids=lambda e: e.kind.value,
)
def test_evidence_about_the_period_is_kept_whenever_it_was_written(kept: Evidence) -> None:
    led = ledger()
    assert led.add(kept) is Outcome.ADDED
    assert led.outside_period == 0


def test_a_declared_facts_window_keeps_the_facts_the_evaluators_examined_after_the_period() -> None:
    late_fault = event("incident", INCIDENT, at="2022-02-01T10:00:00+08:00")
    assert ledger().add(late_fault) is Outcome.OUTSIDE_PERIOD
    assert ledger(facts_until="2022-03-31").add(late_fault) is Outcome.ADDED
    with pytest.raises(ValidationError, match="facts_until 2021-06-30 is before the evaluation period ends"):
        definition(facts_until="2021-06-30")


def test_a_fault_outside_the_period_raises_no_finding_scores_nothing_and_is_reported() -> None:
    sla_leaf = {
        "id": "sla",
        "name": "故障时限",
        "weight": 10,
        "method": {"type": "sla", "metric": {"name": "incidents.sla_breaches"}, "per_breach": 2},
        "rules": ["fault.*"],
    }
    d = definition(sla_leaf)
    breach = {**INCIDENT, "responded_at": "{day}T11:00:00+08:00", "resolved_at": "{day}T15:00:00+08:00"}

    def fault(eid: str, day: str) -> Evidence:
        payload = {k: v.format(day=day) for k, v in breach.items()}
        return event("incident", {**payload, "ticket": eid}, at=f"{day}T10:00:00+08:00", id=eid)

    def result(events: list[Evidence]) -> Any:
        led = Ledger(d, d.project.evaluation.default_as_of)
        for e in events:
            led.add(e)
        return evaluate_ledger(led)

    inside = result([fault("in-1", "2021-05-10")])
    both = result([fault("in-1", "2021-05-10"), fault("out-1", "2020-12-30"), fault("out-2", "2022-01-03")])

    assert [(f.rule, f.evidence) for f in inside.findings if f.rule.startswith("fault.")] == [
        ("fault.sla_breach", ("in-1",))
    ]
    assert both.findings == inside.findings
    assert both.indicators == inside.indicators
    assert both.total == inside.total
    assert both.evidence_stats.outside_period == 2
    assert both.evidence_stats.events == inside.evidence_stats.events == 1
    # the two judged leaves of this definition have no judgment yet: the pending warning stands in both
    unjudged = "截至评价基准日尚有 15 分的指标待评（尚未到期或评价组尚未判定：合规性、质量），"
    pending = unjudged + "总分只计已评部分，不代表最终得分"
    assert both.warnings == (
        "2 条佐证材料所涉时间在评价期（2021-01-01 至 2021-12-31）以外，未计入得分和问题："
        "故障工单 2 条；所涉时间 2020-12-30 至 2022-01-03",
        pending,
    )
    assert inside.warnings == (pending,)
