"""Each scoring method of the indicator tree, scored on a small hand-built project.

Every test builds a `ProjectDefinition` in Python, folds a handful of evidence events into a
`Ledger`, scores the tree with `score_tree` and checks the exact Decimal score, the `actual`
text, the arithmetic in the explanation and the ids of exactly the events the score used.
The field's seed figures (2.14, 0.71, 0.37, 5.925, 1.5 of 2 …) are reproduced as written.
"""

from __future__ import annotations

import calendar
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from opseval_intake.library import standard_measures
from opseval_scoring.scoring import score_tree
from opseval_shared.contract import Contract, ContractProfile
from opseval_shared.evidence import Evidence, parse_evidence_json
from opseval_shared.indicators import Indicator, IndicatorSystem
from opseval_shared.ledger import Ledger
from opseval_shared.metrics import MetricContext
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import Finding, ScoredIndicator, attach_findings

D = Decimal
PROJECT = "p1"
YEAR_2021 = {"start": "2021-01-01", "end": "2021-12-31"}


# ---------------------------------------------------------------- builders


def make_contract(cid: str = "ops", **fields: Any) -> Contract:
    data: dict[str, Any] = {"id": cid, "name": f"合同 {cid}", "vendor": "服务商", "service_period": YEAR_2021}
    data.update(fields)
    return Contract.model_validate(data)


def make_definition(
    indicators: list[dict[str, Any]],
    contracts: list[Contract] | None = None,
    period: dict[str, str] | None = None,
    as_of: str | None = None,
) -> ProjectDefinition:
    """One project, its contracts (one by default) and a tree whose level-1 weights set the total."""
    tops = [Indicator.model_validate(i) for i in indicators]
    system = IndicatorSystem(
        id="sys",
        name="测试指标体系",
        form="third_party",
        total=sum((t.weight for t in tops), D(0)),
        indicators=tuple(tops),
    )
    evaluation: dict[str, Any] = {"period": period or YEAR_2021}
    if as_of is not None:
        evaluation["as_of"] = as_of
    return ProjectDefinition.model_validate(
        {
            "project": {"id": PROJECT, "name": "测试项目", "agency": "测试单位", "evaluation": evaluation},
            "contracts": ContractProfile(contracts=tuple(contracts or [make_contract()])),
            "indicators": system,
            "measures": standard_measures(),
        }
    )


def event(
    eid: str,
    kind: str,
    payload: dict[str, Any],
    *,
    at: str = "2021-06-01T10:00:00+08:00",
    recorded: str | None = None,
    contract: str | None = None,
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
    return parse_evidence_json(json.dumps(raw, ensure_ascii=False))


def survey(eid: str, satisfied: bool, group: str = "服务对象", survey_id: str = "s2021") -> Evidence:
    return event(eid, "survey_response", {"survey": survey_id, "group": group, "satisfied": satisfied})


def surveys(prefix: str, satisfied: int, total: int) -> list[Evidence]:
    return [survey(f"{prefix}-{i:03d}", i < satisfied) for i in range(total)]


def budget(eid: str, item: str, amount: str, *, recorded: str = "2021-12-31T17:00:00+08:00") -> Evidence:
    return event(eid, "budget_figure", {"item": item, "amount": amount, "fiscal_year": 2021}, recorded=recorded)


def judgment(
    eid: str, indicator: str, awarded: str, reason: str = "评价组判定", point: str | None = None, **kw: Any
) -> Evidence:
    payload: dict[str, Any] = {"indicator": indicator, "awarded": awarded, "reason": reason}
    if point is not None:
        payload["point"] = point
    return event(eid, "judgment", payload, **kw)


def leaf(lid: str, weight: str, method: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": lid, "name": f"指标 {lid}", "weight": weight, "method": method, **fields}


def score(
    definition: ProjectDefinition,
    events: list[Evidence],
    findings: list[Finding] | None = None,
    as_of: date | None = None,
) -> tuple[dict[str, ScoredIndicator], Decimal, str]:
    ledger = Ledger(definition, as_of or definition.project.evaluation.default_as_of)
    for e in events:
        ledger.add(e)
    top, total, grade = score_tree(definition.indicators, MetricContext(ledger), findings or [])
    nodes: dict[str, ScoredIndicator] = {}

    def collect(n: ScoredIndicator) -> None:
        nodes[n.id] = n
        for c in n.children:
            collect(c)

    for t in top:
        collect(t)
    return nodes, total, grade


def ids(events: list[Evidence]) -> tuple[str, ...]:
    return tuple(sorted(e.id for e in events))


def assert_exact(value: Decimal, expected: str) -> None:
    """Equal and written with the same digits (5.925 stays 5.925, 2.14 is not 2.140000…)."""
    assert value == D(expected), (value, expected)
    assert str(value) == expected, (str(value), expected)


# ---------------------------------------------------------------- ratio


@pytest.mark.parametrize(("weight", "expected"), [("3", "2.14"), ("1", "0.71")])
def test_ratio_rate_metric_rounds_per_leaf_to_two_decimals(weight: str, expected: str) -> None:
    """Seed: 5 of 7 satisfied → 3 × 5/7 = 2.142857… → 2.14; 1 × 5/7 → 0.71."""
    d = make_definition(
        [leaf("sat", weight, {"type": "ratio", "metric": {"name": "survey.satisfaction"}}, precision=2)]
    )
    evs = surveys("sv", 5, 7)
    nodes, total, _ = score(d, evs)
    s = nodes["sat"]
    assert_exact(s.score, expected)
    assert total == D(expected)
    assert s.actual == "5/7 = 71.43%"
    assert f"{weight} × min(5/7 = 71.43%, 1)" in s.explanation
    assert f"得分保留 2 位小数：{expected}" in s.explanation
    assert s.explanation.startswith("【比率法】")
    assert s.evidence == ids(evs)
    assert s.method == "ratio"


def test_ratio_leaves_round_before_the_parent_sums() -> None:
    """2.14 + 0.71 = 2.85 (not round(4 × 5/7) = 2.86): rounding is per leaf, parents sum exactly."""
    d = make_definition(
        [
            {
                "id": "benefit",
                "name": "效益",
                "weight": 4,
                "children": [
                    leaf("a", "3", {"type": "ratio", "metric": {"name": "survey.satisfaction"}}, precision=2),
                    leaf("b", "1", {"type": "ratio", "metric": {"name": "survey.satisfaction"}}, precision=2),
                ],
            }
        ]
    )
    nodes, total, _ = score(d, surveys("sv", 5, 7))
    assert_exact(nodes["benefit"].score, "2.85")
    assert total == D("2.85")
    assert nodes["benefit"].rate == D("0.7125")


def test_ratio_budget_arrival_rate_seed() -> None:
    """Seed: approved 2180, arrived 400 → 2 × 400/2180 = 0.36697… → 0.37; spending is not used."""
    d = make_definition(
        [leaf("arrival", "2", {"type": "ratio", "metric": {"name": "budget.arrival_rate"}}, precision=2)]
    )
    used = [budget("b-approved", "approved", "2180"), budget("b-arrived", "arrived", "400")]
    unused = [budget("b-spent", "spent", "390")]
    nodes, _, _ = score(d, used + unused)
    s = nodes["arrival"]
    assert_exact(s.score, "0.37")
    assert s.actual == "400/2180 = 18.35%"
    assert "2 × min(400/2180 = 18.35%, 1) = 0.367" in s.explanation
    assert "实际到位资金 400 万元 ÷ 批复预算 2180 万元" in s.explanation
    assert s.evidence == ("b-approved", "b-arrived")


def test_ratio_budget_latest_approved_figure_wins() -> None:
    """A re-issued approval supersedes the first one (latest recorded_at); only it is evidence."""
    d = make_definition(
        [leaf("arrival", "2", {"type": "ratio", "metric": {"name": "budget.arrival_rate"}}, precision=2)]
    )
    evs = [
        budget("b-approved-old", "approved", "1000", recorded="2021-03-01T10:00:00+08:00"),
        budget("b-approved-new", "approved", "2180", recorded="2021-06-01T10:00:00+08:00"),
        budget("b-arrived-1", "arrived", "300"),
        budget("b-arrived-2", "arrived", "100"),
    ]
    nodes, _, _ = score(d, evs)
    assert_exact(nodes["arrival"].score, "0.37")
    assert nodes["arrival"].evidence == ("b-approved-new", "b-arrived-1", "b-arrived-2")


def test_ratio_with_target_caps_at_full_weight() -> None:
    """8/10 = 80% against a 90% target → 10 × 0.8/0.9 = 8.888… → 8.89; 10/10 stays at 10."""
    method = {"type": "ratio", "metric": {"name": "survey.satisfaction"}, "target": "0.9"}
    d = make_definition([leaf("sat", "10", method, precision=2)])
    evs = surveys("sv", 8, 10)
    nodes, _, _ = score(d, evs)
    s = nodes["sat"]
    assert_exact(s.score, "8.89")
    assert s.actual == "8/10 = 80.00%"
    assert "10 × min(80.00% ÷ 90.00%, 1) = 8.8889" in s.explanation
    assert s.evidence == ids(evs)

    nodes, _, _ = score(d, surveys("sv", 10, 10))
    assert_exact(nodes["sat"].score, "10.00")


def test_ratio_without_samples_scores_zero() -> None:
    d = make_definition([leaf("sat", "5", {"type": "ratio", "metric": {"name": "survey.satisfaction"}}, precision=2)])
    nodes, _, _ = score(d, [])
    assert nodes["sat"].score == 0
    assert nodes["sat"].evidence == ()
    assert "0/0（无应计项）" in nodes["sat"].explanation


def _monthly_report_contract(start: str) -> Contract:
    return make_contract(
        service_period={"start": start, "end": "2021-12-31"},
        deliverables=[{"id": "monthly", "name": "运维月报", "frequency": "monthly", "due": {"day_of_month": 5}}],
    )


def _monthly_reports(months: list[int]) -> list[Evidence]:
    out = []
    for m in months:
        start = date(2021, m, 1)
        end = date(2021, m, calendar.monthrange(2021, m)[1])
        out.append(
            event(
                f"mr-2021-{m:02d}",
                "deliverable_submitted",
                {
                    "deliverable": "monthly",
                    "title": f"{m}月运维月报",
                    "document_ref": f"OA-{m}",
                    "period_start": start.isoformat(),
                    "period_end": end.isoformat(),
                },
                at=f"{2021 + (m == 12)}-{(m % 12) + 1:02d}-03T10:00:00+08:00",
            )
        )
    return out


def test_ratio_prorate_scales_an_annual_target_to_the_service_period() -> None:
    """Target 12 monthly reports; service Sep–Dec of a one-year period (122/365 = 33.4%) → target 4.

    3 of the 4 due reports delivered → 4 × 3/4 = 3; the unprorated target would give 4 × 3/12 = 1.
    """
    method = {
        "type": "ratio",
        "metric": {"name": "deliverables.count", "deliverable": "monthly"},
        "target": "12",
    }
    contract = _monthly_report_contract("2021-09-01")
    d = make_definition(
        [
            leaf("reports", "4", method, precision=2, prorate=True),
            leaf("reports_flat", "4", method, precision=2),
        ],
        contracts=[contract],
        as_of="2022-01-31",
    )
    evs = _monthly_reports([9, 10, 11])
    nodes, _, _ = score(d, evs)
    s = nodes["reports"]
    assert_exact(s.score, "3.00")
    assert s.actual == "3 份"
    assert "4 × min(3份 ÷ 4份, 1)（目标 12 按服务期占比 33.4% 折算为 4） = 3" in s.explanation
    assert "已交付份数（按期次，不超过应交份数）" in s.explanation
    assert s.evidence == ids(evs)

    flat = nodes["reports_flat"]
    assert_exact(flat.score, "1.00")
    assert "4 × min(3份 ÷ 12份, 1) = 1" in flat.explanation


def test_ratio_prorate_never_scales_a_target_below_one_step() -> None:
    """A one-week service in a year prorates 12 to 0.23 → kept at the minimum step 1."""
    method = {
        "type": "ratio",
        "metric": {"name": "deliverables.count", "deliverable": "monthly"},
        "target": "12",
    }
    d = make_definition(
        [leaf("reports", "4", method, precision=2, prorate=True)],
        contracts=[_monthly_report_contract("2021-12-25")],
    )
    nodes, _, _ = score(d, [])
    assert "折算为 1）" in nodes["reports"].explanation
    assert nodes["reports"].score == 0


def test_ratio_count_metric_is_shown_as_a_count_when_nothing_was_delivered() -> None:
    method = {
        "type": "ratio",
        "metric": {"name": "deliverables.count", "deliverable": "monthly"},
        "target": "12",
    }
    d = make_definition(
        [leaf("reports", "4", method, precision=2, prorate=True)],
        contracts=[_monthly_report_contract("2021-09-01")],
        as_of="2022-01-31",
    )
    nodes, _, _ = score(d, [])
    assert nodes["reports"].score == 0
    assert "0份 ÷ 4份" in nodes["reports"].explanation


# ---------------------------------------------------------------- checklist and judgment


CHECKLIST = {
    "type": "checklist",
    "points": [
        {"id": "docs", "text": "文档齐全", "max": "2"},
        {"id": "process", "text": "流程规范", "max": "3"},
    ],
}


def test_checklist_missing_judgment_leaves_that_point_pending_not_zero() -> None:
    d = make_definition([leaf("quality", "5", CHECKLIST), leaf("other_leaf", "5", {"type": "judgment"})])
    used = [judgment("j-docs", "quality", "1.5", "周报缺两期", point="docs")]
    other = [judgment("j-elsewhere", "other_leaf", "5", "不相关")]
    nodes, total, _ = score(d, used + other)
    s = nodes["quality"]
    assert_exact(s.score, "1.5")
    assert total == D("6.5")
    assert s.actual == "1.5 分"
    assert "文档齐全：得 1.5/2 分，周报缺两期" in s.explanation
    assert "流程规范：尚无评价记录，待评（满分 3）" in s.explanation
    assert (s.status, s.assessable) == ("partial", D("2"))  # 1.5 earned of the 2 judged; 3 pending
    assert s.explanation.startswith("【要点评分法】")
    assert s.evidence == ("j-docs",)


def test_checklist_latest_judgment_of_a_point_wins() -> None:
    # (an award above a point's maximum is refused at the fold: tests/unit/test_references.py)
    d = make_definition([leaf("quality", "5", CHECKLIST)])
    evs = [
        judgment("j-docs-1", "quality", "0.5", "初评", point="docs", recorded="2021-06-01T10:00:00+08:00"),
        judgment("j-docs-2", "quality", "2", "复评", point="docs", recorded="2021-07-01T10:00:00+08:00"),
        judgment("j-process", "quality", "2.25", "部分规范", point="process"),
    ]
    nodes, _, _ = score(d, evs)
    s = nodes["quality"]
    assert_exact(s.score, "4.25")
    assert "文档齐全：得 2/2 分，复评" in s.explanation
    assert "流程规范：得 2.25/3 分，部分规范" in s.explanation
    assert s.evidence == ("j-docs-2", "j-process")


def test_judgment_leaf() -> None:
    d = make_definition(
        [
            leaf("ok", "10", {"type": "judgment"}),
            leaf("over", "10", {"type": "judgment"}),
            leaf("none", "10", {"type": "judgment"}),
        ]
    )
    evs = [judgment("j-ok", "ok", "8.5", "基本合规"), judgment("j-over", "over", "10", "表现突出")]
    nodes, total, _ = score(d, evs)
    assert_exact(nodes["ok"].score, "8.5")
    assert nodes["ok"].actual == "8.5 分"
    assert nodes["ok"].explanation == "【评价组判定】基本合规"
    assert nodes["ok"].evidence == ("j-ok",)
    assert nodes["over"].score == D(10)  # the whole weight (more is refused at the fold)
    assert nodes["over"].evidence == ("j-over",)
    assert nodes["none"].score == 0
    assert nodes["none"].actual == "待评"  # a judgment not made yet is pending, not a 0 among the scores
    assert (nodes["none"].status, nodes["none"].assessable) == ("pending", 0)
    assert "尚无判定记录" in nodes["none"].explanation
    assert nodes["none"].evidence == ()
    assert total == D("18.5")


# ---------------------------------------------------------------- incidents: sla and deduction

SLAS = [
    {"severity": "L1", "response_minutes": 5, "resolve_minutes": 25},
    {"severity": "L2", "response_minutes": 15, "resolve_minutes": 130},
]


def incident(eid: str, ticket: str, severity: str, opened: str, recorded: str | None = None, **times: str) -> Evidence:
    payload: dict[str, Any] = {"ticket": ticket, "severity": severity, **times}
    return event(eid, "incident", payload, at=opened, recorded=recorded or opened)


def incident_events() -> tuple[list[Evidence], list[Evidence]]:
    """(used, unused): 4 breaches among the used tickets."""
    used = [
        # on time
        incident(
            "inc-1",
            "T1",
            "L1",
            "2021-03-01T10:00:00+08:00",
            responded_at="2021-03-01T10:03:00+08:00",
            resolved_at="2021-03-01T10:20:00+08:00",
        ),
        # response 10 min > 5, resolve 40 min > 25: two breaches
        incident(
            "inc-2",
            "T2",
            "L1",
            "2021-04-01T10:00:00+08:00",
            responded_at="2021-04-01T10:10:00+08:00",
            resolved_at="2021-04-01T10:40:00+08:00",
        ),
        # the closed version of T3 (60 min, within 130)
        incident(
            "inc-3-closed",
            "T3",
            "L2",
            "2021-05-01T10:00:00+08:00",
            recorded="2021-05-01T11:05:00+08:00",
            responded_at="2021-05-01T10:05:00+08:00",
            resolved_at="2021-05-01T11:00:00+08:00",
        ),
        # still open at as-of, far past both limits: two breaches
        incident("inc-5-open", "T5", "L2", "2021-12-01T10:00:00+08:00"),
    ]
    unused = [
        # superseded: the opening version of T3
        incident("inc-3-open", "T3", "L2", "2021-05-01T10:00:00+08:00", recorded="2021-05-01T10:01:00+08:00"),
        # (a severity the contract does not bind is refused at the fold: tests/unit/test_references.py)
        # after the as-of day: not folded
        incident("inc-6-late", "T6", "L1", "2022-01-05T10:00:00+08:00"),
    ]
    return used, unused


def test_sla_breaches_deduct_per_breach() -> None:
    metric = {"name": "incidents.sla_breaches"}
    d = make_definition(
        [
            leaf("sla_all", "10", {"type": "sla", "metric": metric, "per_breach": "1.5"}),
            leaf(
                "sla_resolve",
                "10",
                {"type": "sla", "metric": {**metric, "measures": ["resolve"]}, "per_breach": "1"},
            ),
            leaf("sla_floor", "10", {"type": "sla", "metric": metric, "per_breach": "3"}),
        ],
        contracts=[make_contract(slas=SLAS)],
    )
    used, unused = incident_events()
    nodes, _, _ = score(d, used + unused)

    s = nodes["sla_all"]
    assert_exact(s.score, "4.0")
    assert s.actual == "超时 4 次"
    assert "10 − 超时 4 次 × 1.5 = 4" in s.explanation
    assert "（共 8 项，其中 4 项：" in s.explanation  # 4 faults, each with 2 time limits
    assert "T2（L1）响应用时 10 分钟，限时 5 分钟" in s.explanation
    assert "T5（L2）修复用时 截至评价日未完成" in s.explanation
    assert s.explanation.startswith("【分级时限扣分法】")
    assert s.evidence == ids(used)

    r = nodes["sla_resolve"]
    assert_exact(r.score, "8")
    assert r.actual == "超时 2 次"
    assert "10 − 超时 2 次 × 1 = 8" in r.explanation

    f = nodes["sla_floor"]
    assert f.score == 0  # 10 − 4 × 3 floors at 0
    assert "10 − 超时 4 次 × 3 = 0" in f.explanation


def test_deduction_floors_at_zero_and_keeps_exact_digits() -> None:
    metric = {"name": "incidents.sla_breaches"}
    d = make_definition(
        [
            leaf(
                "exact",
                "6",
                {
                    "type": "deduction",
                    "metric": {**metric, "measures": ["response", "resolve"]},
                    "per_occurrence": "0.025",
                },
            ),
            leaf("floor", "5", {"type": "deduction", "metric": metric, "per_occurrence": "2"}),
        ],
        contracts=[make_contract(slas=SLAS)],
    )
    used, unused = incident_events()
    # T5 answered in time but still open at as-of: 3 breaches count (T2 response + resolve, T5 resolve)
    used = [e for e in used if e.id != "inc-5-open"] + [
        incident("inc-5-open", "T5", "L2", "2021-12-01T10:00:00+08:00", responded_at="2021-12-01T10:05:00+08:00"),
    ]
    nodes, _, _ = score(d, used + unused)

    e = nodes["exact"]
    assert_exact(e.score, "5.925")  # 6 − 3 × 2.5%
    assert e.actual == "超时 3 次"
    assert "= 5.925。" in e.explanation and "扣完为止" not in e.explanation  # floored only when it hits 0
    assert "（共 8 项，其中 3 项：" in e.explanation
    assert e.explanation.startswith("【扣分法】")
    assert e.evidence == ids(used)

    f = nodes["floor"]
    assert f.score == 0  # 5 − 3 × 2 = −1 → 0, 扣完为止
    assert "（扣完为止）" in f.explanation


def test_deduction_explanation_keeps_the_per_occurrence_digits() -> None:
    d = make_definition(
        [
            leaf(
                "exact",
                "6",
                {
                    "type": "deduction",
                    "metric": {"name": "incidents.sla_breaches", "measures": ["resolve"]},
                    "per_occurrence": "0.025",
                },
            )
        ],
        contracts=[make_contract(slas=SLAS)],
    )
    used, _ = incident_events()
    used.append(
        incident(
            "inc-7",
            "T7",
            "L1",
            "2021-08-01T10:00:00+08:00",
            responded_at="2021-08-01T10:01:00+08:00",
            resolved_at="2021-08-01T11:00:00+08:00",
        )
    )
    nodes, _, _ = score(d, used)
    assert_exact(nodes["exact"].score, "5.925")
    assert "6 − 3 × 0.025 = 5.925" in nodes["exact"].explanation


def capped_deduction() -> ProjectDefinition:
    """5 points, 2 off per SLA breach, at most 3 off in all."""
    return make_definition(
        [
            leaf(
                "capped",
                "5",
                {
                    "type": "deduction",
                    "metric": {"name": "incidents.sla_breaches"},
                    "per_occurrence": "2",
                    "cap": "3",
                },
            )
        ],
        contracts=[make_contract(slas=SLAS)],
    )


def test_deduction_cap_limits_the_total_deduction() -> None:
    d = capped_deduction()
    used, unused = incident_events()
    nodes, _, _ = score(d, used + unused)
    assert_exact(nodes["capped"].score, "2")  # 5 − min(4 × 2, 3)
    assert nodes["capped"].evidence == ids(used)


def test_deduction_cap_is_explained() -> None:
    d = capped_deduction()
    used, _ = incident_events()
    nodes, _, _ = score(d, used)
    assert "5 − 4 × 2，封顶扣 3 = 2" in nodes["capped"].explanation
    assert "5 − 4 × 2 = 2" not in nodes["capped"].explanation


# ---------------------------------------------------------------- tiered and rate


SEED_BANDS = [{"min": "0.9", "fraction": "1"}, {"min": "0.8", "fraction": "0.75"}]


@pytest.mark.parametrize(
    ("satisfied", "total", "expected", "actual", "arith"),
    [
        (62, 69, "1.50", "62/69 = 89.86%", "2 × 75.00% = 1.5"),
        (141, 145, "2", "141/145 = 97.24%", "2 × 100.00% = 2"),
        (55, 69, "0", "55/69 = 79.71%", "2 × 0.00% = 0"),
    ],
)
def test_rate_bands_seed(satisfied: int, total: int, expected: str, actual: str, arith: str) -> None:
    """Seed: 62/69 = 89.86% falls in the ≥80% band → 1.5 of 2; 141/145 → 2 of 2; below 80% → 0."""
    d = make_definition(
        [leaf("sat", "2", {"type": "rate", "metric": {"name": "survey.satisfaction"}, "bands": SEED_BANDS})]
    )
    evs = surveys("sv", satisfied, total)
    nodes, _, _ = score(d, evs)
    s = nodes["sat"]
    assert_exact(s.score, expected)
    assert s.actual == actual
    assert "按分档（≥90% 得 100%；≥80% 得 75%；其余不得分）" in s.explanation
    assert arith in s.explanation
    assert s.explanation.startswith("【满意率分档法】")
    assert s.evidence == ids(evs)


def test_rate_band_edge_is_inclusive() -> None:
    d = make_definition(
        [leaf("sat", "2", {"type": "rate", "metric": {"name": "survey.satisfaction"}, "bands": SEED_BANDS})]
    )
    nodes, _, _ = score(d, surveys("sv", 9, 10))
    assert_exact(nodes["sat"].score, "2")
    nodes, _, _ = score(d, surveys("sv", 8, 10))
    assert_exact(nodes["sat"].score, "1.50")


def _two_contracts() -> list[Contract]:
    return [make_contract("ops-a", slas=SLAS), make_contract("ops-b", slas=SLAS)]


def _per_contract_incidents() -> list[Evidence]:
    def inc(eid: str, contract: str, day: int, response_minutes: int) -> Evidence:
        opened = f"2021-03-{day:02d}T10:00:00+08:00"
        return event(
            eid,
            "incident",
            {
                "ticket": eid.upper(),
                "severity": "L1",
                "responded_at": f"2021-03-{day:02d}T10:{response_minutes:02d}:00+08:00",
                "resolved_at": f"2021-03-{day:02d}T10:20:00+08:00",
            },
            at=opened,
            contract=contract,
        )

    return [
        inc("a-1", "ops-a", 1, 2),
        inc("a-2", "ops-a", 2, 3),
        inc("b-1", "ops-b", 3, 1),
        inc("b-2", "ops-b", 4, 9),
    ]


def test_tiered_per_contract_seed_5_925() -> None:
    """Seed: two contracts, 3 points each; one loses 2.5% of its share → 3 + 2.925 = 5.925 exactly."""
    method = {
        "type": "tiered",
        "metric": {"name": "incidents.response_rate"},
        "bands": [{"min": "1", "fraction": "1"}, {"min": "0.5", "fraction": "0.975"}],
        "per_contract": [{"contract": "ops-a", "share": "3"}, {"contract": "ops-b", "share": "3"}],
    }
    d = make_definition([leaf("response", "6", method)], contracts=_two_contracts())
    evs = _per_contract_incidents()
    nodes, total, _ = score(d, evs)
    s = nodes["response"]
    assert_exact(s.score, "5.925")
    assert_exact(total, "5.925")
    assert s.actual == "ops-a：2/2 = 100.00%；ops-b：1/2 = 50.00%"
    assert "ops-a：2/2 = 100.00%，得 3 × 100.00% = 3" in s.explanation
    assert "ops-b：1/2 = 50.00%，得 3 × 97.50% = 2.925" in s.explanation
    assert "分档：≥100% 得 100%；≥50% 得" in s.explanation
    assert s.explanation.startswith("【分档计分法】")
    assert s.evidence == ids(evs)


def test_tiered_band_text_keeps_the_fraction_digits() -> None:
    method = {
        "type": "tiered",
        "metric": {"name": "incidents.response_rate"},
        "bands": [{"min": "1", "fraction": "1"}, {"min": "0.5", "fraction": "0.975"}],
        "per_contract": [{"contract": "ops-a", "share": "3"}, {"contract": "ops-b", "share": "3"}],
    }
    d = make_definition([leaf("response", "6", method)], contracts=_two_contracts())
    nodes, _, _ = score(d, _per_contract_incidents())
    assert "≥50% 得 97.5%" in nodes["response"].explanation


def test_tiered_single_rate_and_below_all_bands() -> None:
    bands = [{"min": "1", "fraction": "1"}, {"min": "0.8", "fraction": "0.5"}]
    d = make_definition(
        [
            leaf(
                "a",
                "4",
                {
                    "type": "tiered",
                    "metric": {"name": "incidents.response_rate", "contract": "ops-a"},
                    "bands": bands,
                },
            ),
            leaf(
                "b",
                "4",
                {
                    "type": "tiered",
                    "metric": {"name": "incidents.response_rate", "contract": "ops-b"},
                    "bands": bands,
                },
            ),
        ],
        contracts=_two_contracts(),
    )
    evs = _per_contract_incidents()
    nodes, _, _ = score(d, evs)
    assert_exact(nodes["a"].score, "4")
    assert nodes["a"].evidence == ("a-1", "a-2")
    assert nodes["b"].score == 0
    assert "4 × 0.00% = 0" in nodes["b"].explanation
    assert nodes["b"].evidence == ("b-1", "b-2")


# ---------------------------------------------------------------- threshold


def test_threshold_count_met_and_missed() -> None:
    contract = make_contract(assets=[{"asset_class": "core", "name": "核心系统", "count": 12}])

    def build(count: int) -> tuple[dict[str, ScoredIndicator], list[Evidence]]:
        d = make_definition(
            [
                leaf(
                    "assets",
                    "5",
                    {
                        "type": "threshold",
                        "metric": {"name": "assets.count", "asset_class": "core"},
                        "op": ">=",
                        "target": "12",
                        "else_fraction": "0.5",
                    },
                )
            ],
            contracts=[contract],
        )
        evs = [
            event(
                "asset-old",
                "asset_count",
                {"asset_class": "core", "count": 3},
                recorded="2021-02-01T10:00:00+08:00",
            ),
            event(
                "asset-new",
                "asset_count",
                {"asset_class": "core", "count": count},
                recorded="2021-11-01T10:00:00+08:00",
            ),
        ]
        return score(d, evs)[0], evs

    nodes, _ = build(12)
    s = nodes["assets"]
    assert_exact(s.score, "5")
    assert s.actual == "12 台"
    assert "实际 12台，目标 >=12台，达标，得满分 = 5" in s.explanation
    assert s.explanation.startswith("【达标法】")
    assert s.evidence == ("asset-new",)

    nodes, _ = build(10)
    s = nodes["assets"]
    assert_exact(s.score, "2.5")
    assert "实际 10台，目标 >=12台，未达标，得 50% = 2.5" in s.explanation
    assert s.evidence == ("asset-new",)


def test_threshold_count_of_zero_is_shown_as_a_count() -> None:
    contract = make_contract(assets=[{"asset_class": "core", "name": "核心系统", "count": 12}])
    d = make_definition(
        [
            leaf(
                "assets",
                "5",
                {
                    "type": "threshold",
                    "metric": {"name": "assets.count", "asset_class": "core"},
                    "op": ">=",
                    "target": "12",
                },
            )
        ],
        contracts=[contract],
    )
    nodes, _, _ = score(d, [event("asset", "asset_count", {"asset_class": "core", "count": 0})])
    assert nodes["assets"].score == 0
    assert "实际 0台，目标 >=12台" in nodes["assets"].explanation


def test_threshold_on_a_rate_and_strict_operators() -> None:
    """Execution 348/348 = 100% against ≥ 95% is met; `>` 100% is not met by exactly 100%."""
    metric = {"name": "budget.execution_rate"}
    d = make_definition(
        [
            leaf("exec_ge", "5", {"type": "threshold", "metric": metric, "op": ">=", "target": "0.95"}),
            leaf(
                "exec_gt",
                "5",
                {"type": "threshold", "metric": metric, "op": ">", "target": "1", "else_fraction": "0.2"},
            ),
        ]
    )
    used = [
        budget("b-approved", "approved", "350"),
        budget("b-adjust", "adjustment", "-2"),
        budget("b-spent", "spent", "348"),
    ]
    unused = [budget("b-arrived", "arrived", "340")]
    nodes, _, _ = score(d, used + unused)
    ge, gt = nodes["exec_ge"], nodes["exec_gt"]
    assert_exact(ge.score, "5")
    assert ge.actual == "348/348 = 100.00%"
    assert "实际 100.00%，目标 >=95.00%，达标，得满分 = 5" in ge.explanation
    assert ge.evidence == ids(used)
    assert_exact(gt.score, "1.0")
    assert "未达标，得 20% = 1" in gt.explanation


# ---------------------------------------------------------------- tree, grades, findings


def test_leaf_score_never_exceeds_weight_and_parents_sum_exactly() -> None:
    d = make_definition(
        [
            {
                "id": "output",
                "name": "产出",
                "weight": "30.5",
                "children": [
                    {
                        "id": "quality",
                        "name": "质量",
                        "weight": "20.25",
                        "children": [
                            leaf("q1", "10.25", {"type": "judgment"}),
                            leaf("q2", "10", {"type": "judgment"}),
                        ],
                    },
                    leaf("q3", "10.25", {"type": "judgment"}),
                ],
            },
            leaf("other", "69.5", {"type": "judgment"}),
        ]
    )
    evs = [
        judgment("j1", "q1", "10.25"),
        judgment("j2", "q2", "7.33"),
        judgment("j3", "q3", "0.01"),
        judgment("j4", "other", "60"),
    ]
    nodes, total, grade = score(d, evs)
    assert nodes["q1"].score == D("10.25")
    assert_exact(nodes["quality"].score, "17.58")
    assert_exact(nodes["output"].score, "17.59")
    assert_exact(total, "77.59")
    assert grade == "中"
    assert nodes["output"].method is None and nodes["output"].evidence is None


def test_precision_rounding_keeps_a_leaf_within_its_weight() -> None:
    d = make_definition(
        [leaf("a", "2.25", {"type": "judgment"}, precision=1), leaf("b", "97.75", {"type": "judgment"})]
    )
    nodes, _, _ = score(d, [judgment("j", "a", "2.25")])
    assert nodes["a"].score <= nodes["a"].weight


@pytest.mark.parametrize(
    ("awarded", "grade"),
    [
        ("100", "优"),
        ("90", "优"),
        ("89.999", "良"),
        ("80", "良"),
        ("79.99", "中"),
        ("60", "中"),
        ("59.99", "差"),
        ("0", "差"),
    ],
)
def test_grade_boundaries(awarded: str, grade: str) -> None:
    d = make_definition([leaf("all", "100", {"type": "judgment"})])
    _, total, got = score(d, [judgment("j", "all", awarded)])
    assert total == D(awarded)
    assert got == grade
    assert d.indicators.grade(D(awarded)) == grade


def finding(fid: str, rule: str, contract: str | None) -> Finding:
    return Finding(
        id=fid,
        rule=rule,
        contract=contract,
        severity="medium",
        message="问题",
        measured="实际",
        required="要求",
    )


def test_attach_findings_matches_patterns_and_contracts() -> None:
    d = make_definition(
        [
            leaf("staff_a", "10", {"type": "judgment"}, rules=["staff.*"], contract="ops-a"),
            leaf("staff_any", "10", {"type": "judgment"}, rules=["staff.*", "roster.headcount"]),
            leaf("budget", "10", {"type": "judgment"}, rules=["budget.*"]),
            leaf("plain", "70", {"type": "judgment"}),
        ],
        contracts=_two_contracts(),
    )
    findings = [
        finding("f1", "staff.headcount", "ops-a"),
        finding("f2", "staff.headcount", "ops-b"),
        finding("f3", "staff.experience", None),
        finding("f4", "roster.headcount", "ops-a"),
        finding("f5", "staffing", "ops-a"),  # `staff.*` needs the dot
        finding("f6", "budget.arrival_low", None),
        finding("f7", "STAFF.headcount", "ops-a"),  # matching is case-sensitive
    ]
    attached = {f.id: f.indicator for f in attach_findings(d.indicators, findings)}
    assert attached == {
        "f1": "staff_a",
        "f2": "staff_any",  # staff_a only takes findings of ops-a (or of no contract)
        "f3": "staff_a",
        "f4": "staff_any",
        "f5": None,
        "f6": "budget",
        "f7": None,
    }

    nodes, _, _ = score(d, [], findings=attach_findings(d.indicators, findings))
    assert nodes["staff_a"].findings == ("f1", "f3")
    assert nodes["staff_any"].findings == ("f1", "f2", "f3", "f4")
    assert nodes["budget"].findings == ("f6",)
    assert nodes["plain"].findings == ()


def test_attach_findings_keeps_the_finding_otherwise_unchanged() -> None:
    d = make_definition([leaf("staff", "100", {"type": "judgment"}, rules=["staff.*"])])
    f = finding("f1", "staff.headcount", "ops")
    (out,) = attach_findings(d.indicators, [f])
    assert out.indicator == "staff"
    assert out.model_dump(exclude={"indicator"}) == f.model_dump(exclude={"indicator"})
