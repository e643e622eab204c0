"""The measure language: definitions checked against their sources, values computed from the
facts with their evidence and a Chinese explanation, and leaves and checklist points scored by them."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from domainbuilders import context, contract, definition, event, leaf, scored
from hypothesis import given, settings
from hypothesis import strategies as st
from opseval_intake.library import standard_measures
from opseval_shared.evidence import Evidence
from opseval_shared.indicators import MetricRef
from opseval_shared.measures import MeasureDef, MeasureLibrary
from opseval_shared.results import Finding
from pydantic import ValidationError

D = Decimal

STAFFED = contract(
    staffing={
        "committed": [
            {"name": "张三", "role": "工程师"},
            {"name": "李四", "role": "工程师"},
            {"name": "王五", "role": "项目经理"},
        ],
        "shift_start": "09:00",
    },
    slas=[{"severity": "P1", "response_minutes": 30}, {"severity": "P2", "response_minutes": 60}],
)


def roster(eid: str, name: str, role: str = "工程师") -> Evidence:
    return event(eid, "roster_entry", {"name": name, "role": role}, at="2024-01-02T09:00:00+08:00")


def clock_in(eid: str, staff: str, at: str) -> Evidence:
    return event(eid, "clock_in", {"staff": staff}, at=at)


def training(eid: str, day: str) -> Evidence:
    return event(eid, "training_held", {"topic": "安全培训"}, at=f"{day}T14:00:00+08:00")


def incident(eid: str, ticket: str, severity: str, responded_after_minutes: int) -> Evidence:
    return event(
        eid,
        "incident",
        {
            "ticket": ticket,
            "severity": severity,
            "responded_at": f"2024-07-01T10:{responded_after_minutes:02d}:00+08:00",
        },
        at="2024-07-01T10:00:00+08:00",
    )


EVENTS = [
    roster("r-zhang", "张三"),
    roster("r-li", "李四"),
    roster("r-zhao", "赵六"),  # a substitute nobody committed
    clock_in("c-zhang-0603", "张三", "2024-06-03T09:10:00+08:00"),  # Monday: late
    clock_in("c-zhao-0603", "赵六", "2024-06-03T09:20:00+08:00"),  # late, but not committed
    clock_in("c-li-0603", "李四", "2024-06-03T08:50:00+08:00"),
    clock_in("c-zhang-0610", "张三", "2024-06-10T09:30:00+08:00"),  # 端午节: no working day, not late
    training("t-q1a", "2024-01-15"),
    training("t-q1b", "2024-03-10"),  # a second Q1 training must not hide the empty Q3
    training("t-q2", "2024-05-20"),
    training("t-q4", "2024-11-11"),
    incident("i-1", "T1", "P1", 40),
    incident("i-2", "T2", "P2", 50),
    incident("i-3", "T3", "P1", 10),
]


def measure(name: str, events: list[Evidence] = EVENTS, **ref: Any) -> Any:
    defn = definition([leaf("x", "1", {"type": "judgment"})], contracts=[STAFFED])
    return context(defn, events).measure(MetricRef(name=name, **ref))


# ---------------------------------------------------------------- values


def test_late_arrivals_of_committed_staff_leave_out_substitutes_and_days_off() -> None:
    m = measure("staff.late_arrivals_committed")
    assert m.value == 1
    assert m.evidence == ("c-zhang-0603",)
    assert "「迟到」为是、「人员」属于投标承诺人员的记录数 = 1 次" in m.detail


def test_all_late_arrivals_count_the_substitute() -> None:
    m = measure("staff.late_arrivals")
    assert m.value == 2
    assert m.evidence == ("c-zhang-0603", "c-zhao-0603")


def test_committed_staff_on_site_over_committed() -> None:
    m = measure("staff.committed_on_site_rate")
    assert (m.numerator, m.denominator) == (2, 3)
    assert m.actual == "2/3 = 66.67%"
    assert {"r-zhang", "r-li", "c-zhang-0603", "c-li-0603"} <= set(m.evidence)
    assert "r-zhao" not in m.evidence


def test_quarters_covered_count_periods_not_sessions() -> None:
    m = measure("training.quarters_covered")
    assert (m.value, m.numerator, m.denominator) == (3, 3, 4)
    assert "2024-07-01~2024-09-30" in m.detail  # the empty Q3 is named
    assert m.evidence == ("t-q1a", "t-q1b", "t-q2", "t-q4")


def test_training_count_counts_the_trainings_that_meet_the_contracts_duty_and_cites_all_held() -> None:
    duty = contract(training={"frequency": "quarterly", "scope": "city"})
    defn = definition([leaf("x", "1", {"type": "judgment"})], contracts=[duty])
    city = event("t-city", "training_held", {"topic": "系统培训", "scope": "city"}, at="2024-02-01T14:00:00+08:00")
    events = [city, training("t-q2", "2024-05-20")]  # scope 其他: held, but not what the duty asks
    ctx = context(defn, events)
    count = ctx.measure(MetricRef(name="training.count"))
    assert count.value == 1
    assert count.evidence == ("t-city", "t-q2")
    shortfall = ctx.measure(MetricRef(name="training.duty_shortfall"))
    assert shortfall.value == 3  # four quarters due by the end of 2024
    result = ctx.measure(MetricRef(name="training.duty_result"))
    assert result.actual == "应开展 4 次（每季度1 次，全市范围），实际开展 2 次、参训 0 人，符合要求 1 次"
    # no duty, no record: nothing is due and nothing counts
    assert (
        context(definition([leaf("x", "1", {"type": "judgment"})]), events)
        .measure(MetricRef(name="training.count"))
        .evidence
        == ()
    )


def test_quarters_due_follow_the_as_of_date() -> None:
    defn = definition([leaf("x", "1", {"type": "judgment"})], contracts=[STAFFED], as_of="2024-07-15")
    m = context(defn, EVENTS).measure(MetricRef(name="training.quarters_covered"))
    assert (m.numerator, m.denominator) == (2, 2)


def test_a_leaf_slices_a_measure_by_severity() -> None:
    assert measure("incidents.breached").value == 1
    assert measure("incidents.breached", where={"severity": "P1"}).value == 1
    assert measure("incidents.breached", where={"severity": "P2"}).value == 0
    share = measure("incidents.response_in_time_rate", where={"severity": ["P1"]})
    assert (share.numerator, share.denominator) == (1, 2)
    assert "「故障级别」为 P1" in share.detail


def test_subject_values_per_staff() -> None:
    defn = definition([leaf("x", "1", {"type": "judgment"})], contracts=[STAFFED])
    value = context(defn, EVENTS).measure_value(MetricRef(name="staff.late_arrivals_by_staff"))
    assert {k: v.value for k, v in value.subjects.items()} == {"张三": 1, "赵六": 1}


def test_an_aggregate_of_nothing_has_no_data() -> None:
    m = measure("incidents.mean_resolve_minutes", events=[])
    assert not m.has_data
    assert m.actual == "无数据"


def test_a_bundle_measure_is_evaluated_like_a_standard_one() -> None:
    own = {
        "id": "staff.late_committed_over_10",
        "name": "承诺人员迟到超过10分钟次数",
        "unit": "次",
        "source": "clock_in",
        "where": {"late": True, "staff": {"in": "committed_staff"}, "minutes_late": {">": 5}},
    }
    defn = definition([leaf("x", "1", {"type": "judgment"})], contracts=[STAFFED], measures=[own])
    m = context(defn, EVENTS).measure(MetricRef(name="staff.late_committed_over_10"))
    assert m.value == 1
    assert "「迟到分钟数」 > 5" in m.detail


# ---------------------------------------------------------------- scoring


def test_leaves_score_from_defined_measures() -> None:
    defn = definition(
        [
            leaf(
                "late",
                "2",
                {"type": "deduction", "metric": {"name": "staff.late_arrivals_committed"}, "per_occurrence": "0.5"},
            ),
            leaf("onsite", "3", {"type": "ratio", "metric": {"name": "staff.committed_on_site_rate"}}, precision=2),
            leaf("train", "2", {"type": "ratio", "metric": {"name": "training.quarters_covered"}}),
            leaf(
                "p1",
                "2",
                {
                    "type": "threshold",
                    "metric": {"name": "incidents.breached", "where": {"severity": "P1"}},
                    "op": "<=",
                    "target": "0",
                },
            ),
        ],
        contracts=[STAFFED],
    )
    nodes = scored(defn, EVENTS)
    assert nodes["late"].score == D("1.5")
    assert nodes["onsite"].score == D("2.00")
    assert nodes["train"].score == D("1.5")
    assert nodes["p1"].score == 0
    assert nodes["late"].evidence == ("c-zhang-0603",)


def checklist_definition() -> Any:
    points = [
        {
            "id": "roster",
            "text": "驻场人员与投标承诺一致",
            "max": "1",
            "when": {"metric": {"name": "staff.committed_on_site_rate"}, "op": ">=", "target": "1"},
        },
        {
            "id": "timely",
            "text": "故障响应及时",
            "max": "2",
            "when": {"metric": {"name": "incidents.response_in_time_rate"}, "award": "proportional"},
        },
        {"id": "clean", "text": "人员管理无问题", "max": "1", "when": {"no_findings": ["staff.*"]}},
    ]
    return definition([leaf("mgmt", "4", {"type": "checklist", "points": points})], contracts=[STAFFED])


def test_checklist_points_are_computed_from_facts_and_findings() -> None:
    finding = Finding(
        id="F-1", rule="staff.late", contract="ops", severity="medium", message="迟到", measured="1", required="0"
    )
    node = scored(checklist_definition(), EVENTS, [finding])["mgmt"]
    # roster 0 (2 of 3 on site) + timely 2 × 2/3 + clean 0 (a staff finding stands)
    assert node.score == D(2) * D(2) / D(3)
    assert "按事实计算得 0/1 分" in (node.explanation or "")
    assert "存在问题 1 项" in (node.explanation or "")


def test_a_checklist_point_listing_only_some_of_its_findings_says_how_many_it_lists() -> None:
    findings = [
        Finding(
            id=f"F-{i}",
            rule="staff.late",
            contract="ops",
            severity="medium",
            message=f"迟到{i}次。",
            measured="1",
            required="0",
        )
        for i in range(1, 5)
    ]
    explanation = scored(checklist_definition(), EVENTS, findings)["mgmt"].explanation or ""
    assert "存在问题 4 项（以下列出 3 项）：迟到1次；迟到2次；迟到3次" in explanation
    assert "迟到4次" not in explanation
    one = scored(checklist_definition(), EVENTS, findings[:1])["mgmt"].explanation or ""
    assert "存在问题 1 项：迟到1次" in one


def test_a_judgment_overrides_a_computed_point_and_both_are_shown() -> None:
    override = event(
        "j-roster",
        "judgment",
        {"indicator": "mgmt", "point": "roster", "awarded": "0.5", "reason": "王五经采购人书面同意更换"},
    )
    node = scored(checklist_definition(), [*EVENTS, override])["mgmt"]
    assert node.score == D("0.5") + D(2) * D(2) / D(3) + D(1)
    text = node.explanation or ""
    assert "按事实计算得 0 分" in text and "评价组改判为 0.5/1 分，理由：王五经采购人书面同意更换" in text
    assert "j-roster" in (node.evidence or ())


# ---------------------------------------------------------------- definitions are checked


@pytest.mark.parametrize(
    ("definition_fields", "message"),
    [
        ({"source": "clockin"}, "unknown source 'clockin'"),
        ({"where": {"lateness": True}}, "has no field 'lateness'"),
        ({"where": {"late": "yes"}}, "'yes' is not a bool value"),
        ({"where": {"staff": {">": "张三"}}}, "compares numbers or dates"),
        ({"where": {"staff": 3}}, "3 is not a text value"),
        ({"source": "incident", "where": {"cause": "internl"}}, "'internl' is not one of internal"),
        ({"where": {"staff": {"in": "committed_people"}}}, "unknown contract list 'committed_people'"),
        ({"where": {"late": {"~": True}}}, "unknown operator '~'"),
        ({"aggregate": {"sum": "staff"}}, "sum needs a number field"),
        ({"aggregate": {"mean": "nothing"}}, "has no field 'nothing'"),
        ({"by": "person"}, "by: source clock_in has no field 'person'"),
        ({"per": "monthly"}, "per and covered go together"),
        ({"source": "survey", "per": "monthly", "covered": {">=": 1}}, "carry no date"),
        ({"ratio": {"of": "a.b", "to": "c.d"}}, "one of: a source, a ratio of two measures, a calc"),
        ({"source": None, "calc": "budget.spent ** 2"}, "'budget.spent \\*\\* 2' is not allowed in a calculation"),
        ({"source": None, "calc": "spent / 2"}, "'spent' is not a measure id"),
        ({"source": None, "calc": "budget.spent /"}, "cannot read"),
        ({"source": "incident", "aggregate": {"mean_gap": "ticket"}}, "mean_gap reads moments, ticket is text"),
        ({"source": "incident", "where": {"opened_at": "2024-01-01"}}, "is not a moment value"),
        ({"aggregate": {"sum": "minutes_late", "each": "staff"}}, "each goes with latest"),
        ({"source": "incident", "aggregate": {"uncovered_share": {"from": "opened_at"}}}, "uncovered_share needs"),
    ],
)
def test_a_measure_that_does_not_fit_its_source_is_refused(definition_fields: dict[str, Any], message: str) -> None:
    raw = {"id": "my.measure", "name": "测试", "source": "clock_in", **definition_fields}
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        MeasureDef.model_validate(raw)


def test_a_ratio_of_unknown_or_circular_measures_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"ratio names unknown measure 'x\.missing'"):
        MeasureLibrary(measures=(MeasureDef(id="x.r", name="比", ratio={"of": "x.missing", "to": "x.missing"}),))
    with pytest.raises(ValidationError, match="cycle"):
        MeasureLibrary(
            measures=(
                MeasureDef(id="x.a", name="甲", ratio={"of": "x.b", "to": "x.b"}),
                MeasureDef(id="x.b", name="乙", ratio={"of": "x.a", "to": "x.a"}),
            )
        )


def test_a_bundle_replaces_a_standard_measure_only_by_saying_so() -> None:
    mine = MeasureDef(id="staff.late_arrivals", name="迟到次数（含非工作日）", source="clock_in", where={"late": True})
    with pytest.raises(ValueError, match="already defined in the standard library"):
        standard_measures().merged([mine])
    replaced = standard_measures().merged([mine.model_copy(update={"replaces": True})])
    assert replaced.get("staff.late_arrivals") == mine.model_copy(update={"replaces": True})
    with pytest.raises(ValueError, match="replaces nothing"):
        standard_measures().merged([MeasureDef(id="x.new", name="新", source="roster", replaces=True)])


def test_leaves_naming_unknown_measures_or_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"unknown measure 'staff\.late_arrival'"):
        definition(
            [leaf("x", "1", {"type": "deduction", "metric": {"name": "staff.late_arrival"}, "per_occurrence": 1})]
        )
    with pytest.raises(ValidationError, match="has no field 'level'"):
        definition(
            [
                leaf(
                    "x",
                    "1",
                    {
                        "type": "threshold",
                        "metric": {"name": "incidents.breached", "where": {"level": "P1"}},
                        "op": "<=",
                        "target": 0,
                    },
                )
            ]
        )
    with pytest.raises(ValidationError, match=r"method\.metric\.plan: .*source clock_in .* has no field 'plan'"):
        definition([leaf("x", "1", {"type": "ratio", "metric": {"name": "staff.late_arrivals", "plan": "daily"}})])


# ---------------------------------------------------------------- pure function of the evidence


def _renamed(events: list[Evidence], mapping: dict[str, str]) -> list[Evidence]:
    return [e.model_copy(update={"id": mapping[e.id]}) for e in events]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_values_do_not_depend_on_event_ids_or_order(seed: int) -> None:
    rng = random.Random(seed)
    ids = [e.id for e in EVENTS]
    fresh = [f"e{rng.randrange(10**9):09d}-{i}" for i in range(len(ids))]
    mapping = dict(zip(ids, fresh, strict=True))
    shuffled = _renamed(EVENTS, mapping)
    rng.shuffle(shuffled)
    for name in (
        "staff.late_arrivals_committed",
        "staff.committed_on_site_rate",
        "training.quarters_covered",
        "incidents.response_in_time_rate",
        "staff.late_arrivals",
    ):
        before, after = measure(name), measure(name, events=shuffled)
        assert (before.value, before.numerator, before.denominator) == (after.value, after.numerator, after.denominator)
        assert sorted(mapping[i] for i in before.evidence) == list(after.evidence)


# ---------------------------------------------------------------- funds: latest figures and calculations


def budget(eid: str, item: str, amount: str, at: str, contract: str | None = "ops") -> Evidence:
    payload = {"item": item, "amount": amount, "fiscal_year": 2024}
    return event(eid, "budget_figure", payload, at=f"{at}T10:00:00+08:00", contract=contract)


TWO = [contract("ops"), contract("dev")]
FUNDS = [
    budget("b-ops-1", "approved", "100", "2024-01-05"),
    budget("b-ops-2", "approved", "120", "2024-03-05"),  # restated: the latest figure counts, once
    budget("b-dev-1", "approved", "50", "2024-02-01", "dev"),
    budget("b-adj", "adjustment", "-20", "2024-06-01"),
    budget("b-arr", "arrived", "60", "2024-04-01"),
    budget("b-spent-1", "spent", "40", "2024-05-01"),
    budget("b-spent-2", "spent", "50", "2024-09-01"),
]


def funds(name: str, events: list[Evidence] = FUNDS, **ref: Any) -> Any:
    defn = definition([leaf("x", "1", {"type": "judgment"})], contracts=TWO)
    return context(defn, events).measure(MetricRef(name=name, **ref))


def test_the_approved_budget_is_the_latest_figure_of_each_contract_summed() -> None:
    ops = funds("budget.approved", contract="ops")
    assert (ops.value, ops.evidence) == (120, ("b-ops-2",))
    project = funds("budget.approved")
    assert (project.value, project.evidence) == (170, ("b-dev-1", "b-ops-2"))
    assert "各「合同」最新「金额（万元）」之和" in project.detail


def test_the_same_latest_figure_sent_twice_is_cited_by_both_whatever_their_order() -> None:
    twice = [budget("b-dup-1", "approved", "80", "2024-02-01"), budget("b-dup-2", "approved", "80", "2024-02-01")]
    for events in (twice, twice[::-1]):
        for ref in ({"contract": "ops"}, {}):
            approved = funds("budget.approved", events, **ref)
            assert (approved.value, approved.evidence) == (80, ("b-dup-1", "b-dup-2"))


def test_budget_rates_are_calculated_from_the_budget_measures() -> None:
    adjusted = funds("budget.adjusted", contract="ops")
    assert adjusted.value == 100
    assert "批复预算 + 预算调整" in adjusted.detail
    execution = funds("budget.execution_rate", contract="ops")
    assert (execution.numerator, execution.denominator, execution.value) == (90, 100, D("0.9"))
    adjustment = funds("budget.adjustment_rate", contract="ops")
    assert (adjustment.numerator, adjustment.denominator) == (20, 120)
    assert adjustment.actual == "20/120 = 16.67%"
    assert "预算调整的绝对值 ÷ 批复预算" in adjustment.detail
    assert set(adjustment.evidence) == {"b-adj", "b-ops-2"}
    assert funds("budget.arrival_rate", contract="ops").actual == "60/120 = 50.00%"
    assert funds("budget.cost_control_rate", contract="ops").value == 1  # 90 spent of 100


def test_cost_control_is_the_budget_over_the_spending_once_it_is_overspent() -> None:
    over = [*FUNDS, budget("b-spent-3", "spent", "35", "2024-10-01")]
    m = funds("budget.cost_control_rate", over, contract="ops")
    assert m.value == D(100) / D(125)
    assert m.actual == "80.00%"


def test_a_calculation_dividing_by_zero_has_no_data() -> None:
    m = funds("budget.arrival_rate", contract="dev")  # nothing arrived, but a budget: 0 of 50
    assert (m.value, m.has_data) == (0, True)
    m = funds("budget.execution_rate", [], contract="dev")  # no budget at all
    assert (m.value, m.has_data) == (0, False)
    assert "/0" in m.actual


def test_a_fiscal_year_slices_every_part_of_a_calculation() -> None:
    assert funds("budget.execution_rate", contract="ops", fiscal_year=2024).value == D("0.9")
    none = funds("budget.execution_rate", contract="ops", fiscal_year=2023)
    assert (none.value, none.has_data, none.evidence) == (0, False, ())


def test_a_calculation_naming_an_unknown_measure_is_refused() -> None:
    bad = MeasureDef.model_validate({"id": "my.rate", "name": "测试", "calc": "budget.spent / my.nothing"})
    with pytest.raises(ValidationError, match=r"calc names unknown measure 'my\.nothing'"):
        standard_measures().merged([bad])


# ---------------------------------------------------------------- time arithmetic: MTBF and availability


def fault(eid: str, ticket: str, at: str, cause: str, resolved: str | None = None) -> Evidence:
    payload: dict[str, Any] = {"ticket": ticket, "severity": "P1", "cause": cause}
    if resolved is not None:
        payload["resolved_at"] = resolved
    return event(eid, "incident", payload, at=at)


FAULTS = [
    fault("f-ext", "E1", "2024-02-01T00:00:00+08:00", "external", "2024-02-01T12:00:00+08:00"),
    fault("f-int-1", "I1", "2024-01-11T00:00:00+08:00", "internal", "2024-01-11T06:00:00+08:00"),
    fault("f-int-2", "I2", "2024-01-31T00:00:00+08:00", "internal", "2024-01-31T03:00:00+08:00"),
    # overlaps the external fault by 6 hours: counted once
    fault("f-int-3", "I3", "2024-02-01T06:00:00+08:00", "internal", "2024-02-01T18:00:00+08:00"),
]


def test_mtbf_averages_the_gaps_from_the_service_start_between_selected_failures() -> None:
    m = measure("incidents.mtbf_hours", FAULTS)
    # from 2024-01-01 00:00 to the third internal failure: 31 days and 6 hours, over 3 gaps
    assert m.value == (D(31 * 24 + 6)) / 3
    assert m.actual == "约 250 h"
    assert m.evidence == ("f-ext", "f-int-1", "f-int-2", "f-int-3")  # every fault examined
    assert "「故障原因」为内部原因的记录各「发生时间」的平均间隔" in m.detail


def test_without_a_selected_failure_mtbf_is_the_observed_span_as_a_lower_bound() -> None:
    m = measure("incidents.mtbf_hours", FAULTS[:1])
    assert round(m.value) == 366 * 24  # 2024 is a leap year, observed to the end of the as-of day
    assert m.actual == "≥8784 h"


def test_availability_counts_overlapping_downtime_once() -> None:
    m = measure("incidents.availability", FAULTS)
    total = 366 * 24 * 60
    down = (6 + 3 + 18) * 60  # 6 h, 3 h, and 00:00–18:00 on 1 February once
    assert (m.numerator, m.denominator) == (total - down, total)
    assert m.is_rate and m.evidence == ("f-ext", "f-int-1", "f-int-2", "f-int-3")


def test_an_open_fault_is_down_until_the_end_of_the_observed_span() -> None:
    defn = definition([leaf("x", "1", {"type": "judgment"})], contracts=[STAFFED], as_of="2024-01-10")
    events = [fault("f-open", "O1", "2024-01-10T12:00:00+08:00", "internal")]
    m = context(defn, events).measure(MetricRef(name="incidents.availability"))
    assert (m.numerator, m.denominator) == (9 * 24 * 60 + 12 * 60, 10 * 24 * 60)


# ---------------------------------------------------------------- inspections.on_time_rate (a built-in metric before)

DAILY_CHECK = {"id": "daily", "name": "日常巡检", "frequency": "daily", "done_by": "09:30", "register_by": "12:00"}
WEEKLY_CHECK = {"id": "weekly", "name": "周检", "frequency": "weekly"}


def inspected(eid: str, plan: str, at: str, recorded: str | None = None) -> Evidence:
    return event(eid, "inspection_done", {"plan": plan}, at=at, recorded=recorded)


def test_inspection_on_time_rate_counts_each_late_inspection_once_against_the_inspections_counted() -> None:
    c = contract(service_period={"start": "2024-06-03", "end": "2024-06-05"}, inspections=[DAILY_CHECK])
    defn = definition([leaf("x", "1", {"type": "judgment"})], contracts=[c], as_of="2024-06-30")
    events = [
        inspected("i-1", "daily", "2024-06-03T09:31:00+08:00", "2024-06-03T12:01:00+08:00"),  # late twice: once
        inspected("i-2", "daily", "2024-06-04T09:00:00+08:00", "2024-06-04T12:01:00+08:00"),  # registered late
        inspected("i-3", "daily", "2024-06-05T09:30:00+08:00", "2024-06-05T12:00:00+08:00"),  # on time, exactly
        inspected("i-4", "daily", "2024-06-05T09:10:00+08:00"),  # a second one that day: not counted
    ]
    m = context(defn, events).measure(MetricRef(name="inspections.on_time_rate"))
    assert (m.numerator, m.denominator, m.value) == (D(1), D(3), D(1) / D(3))
    assert m.evidence == ("i-1", "i-2", "i-3", "i-4")


def test_an_inspection_done_late_and_registered_in_time_is_not_on_time() -> None:
    """Late one way is late: the plan's registration deadline met does not make up for its time of
    day missed (it did, in the period's count, while the list of late inspections named it)."""
    c = contract(service_period={"start": "2024-06-03", "end": "2024-06-04"}, inspections=[DAILY_CHECK])
    defn = definition([leaf("x", "1", {"type": "judgment"})], contracts=[c], as_of="2024-06-30")
    events = [
        inspected("i-1", "daily", "2024-06-03T09:45:00+08:00", "2024-06-03T10:00:00+08:00"),  # done late only
        inspected("i-2", "daily", "2024-06-04T09:00:00+08:00", "2024-06-04T10:00:00+08:00"),  # on time
    ]
    ctx = context(defn, events)
    m = ctx.measure(MetricRef(name="inspections.on_time_rate"))
    assert (m.numerator, m.denominator) == (D(1), D(2))
    assert ctx.measure(MetricRef(name="inspections.late")).value == 1


def test_inspection_on_time_rate_is_sliced_by_plan_and_has_no_data_without_inspections() -> None:
    c = contract(inspections=[DAILY_CHECK, WEEKLY_CHECK])
    defn = definition([leaf("x", "1", {"type": "judgment"})], contracts=[c], as_of="2024-06-09")
    ctx = context(defn, [inspected("w-1", "weekly", "2024-06-04T15:00:00+08:00")])
    weekly = ctx.measure(MetricRef(name="inspections.on_time_rate", plan="weekly"))
    assert (weekly.numerator, weekly.denominator) == (D(1), D(1))
    daily = ctx.measure(MetricRef(name="inspections.on_time_rate", plan="daily"))
    assert (daily.numerator, daily.denominator, daily.has_data) == (D(0), D(0), False)
