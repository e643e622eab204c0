"""A rule's `basis:`: the contract clause or obligation a finding stands on, cited from the contract profile."""

from __future__ import annotations

from typing import Any

import pytest
from domainbuilders import context, contract, definition, event, leaf
from opseval_rules.definitions import RuleDefinition, RuleProblem, check_rule
from opseval_rules.engine import RulesEngine
from opseval_rules.findings import find_by_rule_set
from opseval_rules.rulefiles import RuleSet
from opseval_shared.contract import Contract
from opseval_shared.duties import CONTRACT_ITEMS
from opseval_shared.evidence import Evidence
from opseval_shared.results import Basis, Finding

ENGINE = RulesEngine()
LATE = {"late": {"measure": "staff.late_arrivals_committed"}}
STAFFING = {"committed": [{"name": "张三", "role": "工程师"}], "shift_start": "09:00"}


def rule(**fields: Any) -> RuleDefinition:
    base: dict[str, Any] = {
        "id": "test.rule",
        "name": "测试规则",
        "severity": "medium",
        "bind": LATE,
        "when": "late.value > 0",
        "message": "{contract.name}：迟到 {late.value:d} 次",
    }
    return RuleDefinition.model_validate({**base, **fields})


def findings(r: RuleDefinition, contracts: list[Contract], events: list[Evidence]) -> list[Finding]:
    defn = definition([leaf("x", "1", {"type": "judgment"})], contracts=contracts, as_of="2024-03-31")
    return find_by_rule_set(context(defn, events), RuleSet(rules=(r,)), ENGINE)


def late_clock_in(eid: str, cid: str) -> Evidence:
    return event(eid, "clock_in", {"staff": "张三"}, at="2024-01-03T09:10:00+08:00", contract=cid)


COMMITTED = {
    "kind": "obligation",
    "term": "staffing.sources.committed",
    "document": "投标文件",
    "text": "{contract.name}拟投入驻场人员，迟到 {late.value:d} 次",
}


def test_a_term_entry_cites_the_contracts_source_or_else_its_document_with_the_rendered_text() -> None:
    sourced = contract(
        "ops", staffing={**STAFFING, "sources": {"committed": {"document": "投标文件", "clause": "商务部分 9.2 节"}}}
    )
    worded = contract(
        "dev", staffing={**STAFFING, "sources": {"committed": {"document": "投标书", "text": "驻场 1 名工程师"}}}
    )
    bare = contract("bare", staffing=STAFFING)
    events = [late_clock_in("c1", "ops"), late_clock_in("c2", "dev"), late_clock_in("c3", "bare")]
    got = {f.contract: f.basis for f in findings(rule(basis=[COMMITTED]), [sourced, worded, bare], events)}
    assert got == {
        "ops": (
            Basis(
                kind="obligation",
                document="投标文件",
                clause="商务部分 9.2 节",
                text="合同 ops拟投入驻场人员，迟到 1 次",
            ),
        ),
        "dev": (Basis(kind="obligation", document="投标书", text="驻场 1 名工程师"),),
        "bare": (Basis(kind="obligation", document="投标文件", text="合同 bare拟投入驻场人员，迟到 1 次"),),
    }


def test_an_entry_whose_text_names_a_term_the_contract_lacks_is_left_out() -> None:
    promised = {
        "kind": "obligation",
        "term": "staffing.sources.committed",
        "document": "投标文件",
        "text": "平均工作年限 {terms.staffing.promised_avg_years} 年",
    }
    r = rule(basis=[promised, COMMITTED])
    with_years = contract("ops", staffing={**STAFFING, "promised_avg_years": 14.67})
    without = contract("dev", staffing=STAFFING)
    got = {
        f.contract: [b.text for b in f.basis]
        for f in findings(r, [with_years, without], [late_clock_in("c1", "ops"), late_clock_in("c2", "dev")])
    }
    assert got == {
        "ops": ["平均工作年限 14.67 年", "合同 ops拟投入驻场人员，迟到 1 次"],
        "dev": ["合同 dev拟投入驻场人员，迟到 1 次"],
    }


DELIVERABLES = [
    {
        "id": "monthly",
        "name": "运维月报",
        "frequency": "monthly",
        "source": {"document": "工作计划", "clause": "第12项"},
    },
    {"id": "weekly", "name": "运维周报", "frequency": "weekly"},
]


def test_an_item_entry_cites_the_item_the_facts_subject_names_with_its_source_or_standard_wording() -> None:
    r = rule(
        bind={"rate": {"measure": "deliverables.on_time_rate"}},
        when="rate.value < 1",
        message="{rate.subject}按时提交率 {rate.value:.0%}",
        basis=[{"kind": "obligation", "item": "deliverables", "of": "rate"}],
    )
    # one report of each, delivered late: an on-time rate of 0 of 1 (0 of nothing delivered is no fact)
    late = [
        event(
            f"d-{d}",
            "deliverable_submitted",
            {
                "deliverable": d,
                "title": "报告",
                "document_ref": f"R-{d}",
                "period_start": "2024-01-01",
                "period_end": end,
            },
            at="2024-03-20T10:00:00+08:00",
            contract="ops",
        )
        for d, end in (("monthly", "2024-01-31"), ("weekly", "2024-01-07"))
    ]
    got = {f.message: f.basis for f in findings(r, [contract(deliverables=DELIVERABLES)], late)}
    assert got == {
        "monthly按时提交率 0%": (
            Basis(kind="obligation", document="工作计划", clause="第12项", text="每月提交运维月报"),
        ),
        "weekly按时提交率 0%": (Basis(kind="obligation", document="合同", text="每周提交运维周报"),),
    }


def test_an_item_entry_without_of_cites_every_item_of_the_list() -> None:
    targets = [
        {"name": "月度报告", "target": "≥12", "source": {"document": "绩效目标表", "clause": "产出指标"}},
        {"name": "年度报告", "target": "≥1"},
    ]
    r = rule(basis=[{"kind": "clause", "item": "targets"}])
    staffed = contract(staffing=STAFFING, performance_targets=targets)
    [found] = findings(r, [staffed], [late_clock_in("c1", "ops")])
    assert found.basis == (
        Basis(kind="clause", document="绩效目标表", clause="产出指标", text="月度报告：≥12"),
        Basis(kind="clause", document="绩效目标表", text="年度报告：≥1"),
    )


JAN = "2024-01-10T10:00:00+08:00"


def test_an_item_entry_with_records_cites_the_items_the_facts_selected_records_name_in_their_order() -> None:
    targets = [
        {"name": "月度报告", "target": "≥12"},
        {"name": "年度报告", "target": "≥1"},
        {"name": "季度报告", "target": "≥4"},
    ]
    rows = [
        event("s1", "self_evaluation_row", {"indicator": "月度报告", "target": "≥12"}, at=JAN, contract="ops"),
        event("s2", "self_evaluation_row", {"indicator": "季度报告", "target": "≥3"}, at=JAN, contract="ops"),
    ]
    r = rule(
        bind={"unmet": {"measure": "self_eval.targets_unmet_in_table"}},
        when="unmet.value > 0",
        message="{unmet.items}",
        basis=[{"kind": "obligation", "item": "targets", "of": "unmet", "records": "name"}],
    )
    [found] = findings(r, [contract(performance_targets=targets)], rows)
    assert found.message == "季度报告、年度报告"  # 年度报告 not assessed, 季度报告 changed: by name
    assert [b.text for b in found.basis] == ["季度报告：≥4", "年度报告：≥1"]


def test_a_subject_per_item_and_period_names_its_item() -> None:
    items = [{"item": "考勤", "max_score": 10, "attendance": True}, {"item": "考勤管理", "max_score": 5}]
    staffed = contract(staffing=STAFFING, assessment_items=items)
    cited = CONTRACT_ITEMS["assessment_items"].cite(staffed, "obligation", "考勤@2024-01-01")
    assert cited == (Basis(kind="obligation", document="考核指标", text="“考勤”满分 10 分，按迟到和缺勤次数扣分"),)


@pytest.mark.parametrize(
    ("entry", "loc", "words"),
    [
        (
            {**COMMITTED, "term": "staffing.sources.comitted"},
            ("basis", 0, "term"),
            "staffing.sources has no 'comitted'",
        ),
        ({**COMMITTED, "term": "staffing.min_coverage"}, ("basis", 0, "term"), "is not a source"),
        ({**COMMITTED, "term": "deliverables.source"}, ("basis", 0, "term"), "deliverables is not a section"),
        ({"kind": "obligation", "item": "deliverable"}, ("basis", 0, "item"), "unknown contract list 'deliverable'"),
        ({"kind": "obligation", "item": "deliverables", "of": "rate"}, ("basis", 0, "of"), "rate is not a bound fact"),
        ({**COMMITTED, "text": "{late.valeu}"}, ("basis", 0, "text"), "has no field 'valeu'"),
        ({**COMMITTED, "text": "{terms.staffing.years}"}, ("basis", 0, "text"), "staffing has no 'years'"),
    ],
)
def test_a_bad_basis_entry_is_refused_at_load_with_its_location(
    entry: dict[str, Any], loc: tuple[Any, ...], words: str
) -> None:
    with pytest.raises(RuleProblem) as caught:
        check_rule(rule(basis=[entry]))
    assert caught.value.loc == loc
    assert words in caught.value.message


def test_a_basis_entry_of_a_term_is_refused() -> None:
    r = rule(
        bind={**LATE, "cov": {"term": "staffing.min_coverage"}},
        when="late.value > cov.value",
        basis=[{"kind": "obligation", "item": "deliverables", "of": "cov"}],
    )
    with pytest.raises(RuleProblem, match="cov is a term"):
        check_rule(r)


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"kind": "obligation", "term": "training.source", "item": "deliverables"}, "at most one of term"),
        ({"kind": "obligation", "document": "合同"}, "or gives both document and text"),
        ({"kind": "obligation", "term": "training.source", "document": "合同"}, "gives text"),
        ({"kind": "obligation", "item": "deliverables", "text": "x"}, "no document or text"),
        ({"kind": "duty", "item": "deliverables"}, "'clause' or 'obligation'"),
    ],
)
def test_a_basis_entry_of_the_wrong_shape_is_refused(entry: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        rule(basis=[entry])


def test_a_basis_entry_may_cite_a_document_the_rule_names_itself() -> None:
    r = rule(
        bind={"rate": {"measure": "budget.unit_rates"}},
        when="rate.value > 1",
        message="按 {rate.value} 万元/人月测算",
        terms={"reporting.unit_rate_standard": "text"},
        basis=[
            {
                "kind": "obligation",
                "document": "{terms.reporting.unit_rate_standard}",
                "text": "人月费率不超过 {terms.reporting.unit_rate_ceiling:.4} 万元/人月",
            }
        ],
    )
    checked = check_rule(r)
    named = [p.ref.name for p in checked.basis_documents[0] if not isinstance(p, str)]
    assert named == ["reporting.unit_rate_standard"]
    bad = r.model_copy(update={"basis": (r.basis[0].model_copy(update={"document": "{terms.reporting.nothing}"}),)})
    with pytest.raises(RuleProblem, match="nothing"):
        check_rule(bad)
