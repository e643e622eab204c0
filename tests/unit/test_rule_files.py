"""Rules files: the standard library as shipped, a bundle's additions, switches and overrides, and
every mistake located by file, line and field (read with the bundle reader's strict YAML)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from opseval_intake.bundle import read_yaml
from opseval_rules.compiler import match
from opseval_rules.definitions import matches_indicator
from opseval_rules.engine import RulesEngine
from opseval_rules.rulefiles import RuleDefinitionError, RuleSet, RuleSource, effective_rules, read_rule_file

LIBRARY_DIR = Path(__file__).resolve().parents[2] / "services" / "rules" / "opseval_rules" / "library"
ENGINE = RulesEngine()
NAMES = {"c1": "运维服务项目"}


def library() -> list[RuleSource]:
    return [RuleSource(str(p), *read_yaml(p)) for p in sorted(LIBRARY_DIR.glob("*.yaml"))]


def source(tmp_path: Path, text: str, name: str = "rules.yaml") -> RuleSource:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return RuleSource(str(path), *read_yaml(path))


def measure(mid: str, value: float, contract: str = "c1", subject: str = "", **extra: Any) -> dict[str, Any]:
    return {"t": "measure", "measure": mid, "contract": contract, "subject": subject, "value": value, **extra}


def term(name: str, value: Any, contract: str = "c1") -> dict[str, Any]:
    return {"t": "term", "term": name, "contract": contract, "value": value}


def ids(rules: RuleSet, facts: list[dict[str, Any]]) -> list[str]:
    return [m.rule for m in match(rules.rules, facts, engine=ENGINE, contract_names=NAMES)]


# The records behind a measure fact (measure, subject) that the rules' lists show.
LATE_WEEKS = [
    {"period": f"2023-0{m}-0{d}~2023-0{m}-0{d + 6}", "name": "运维周报", "due_at": f"2023-0{m}-1{d} 18:00"}
    for m, d in ((3, 1), (3, 2), (4, 1), (4, 2), (5, 1), (5, 2), (6, 1))
]
RECORDS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("incidents.sla_breached", ""): [
        {"ticket": "SC-02", "severity": "P1", "limit_name": "修复", "took": "用时 330 分钟", "limit": 240},
        {"ticket": "SC-04", "severity": "P2", "limit_name": "响应", "took": "截至评价日仍未完成", "limit": 30},
    ],
    ("budget.calculation_differences", "slip"): [
        {"name": "人月成本", "expression": "3.23×1.8405", "computed_text": "5.94", "stated_text": "5.82"}
    ],
    ("payment.band_figures", "full"): [
        {"effect": "供应商只需按 80% 的程度履约即可收到全款", "shown": "≥80 分全额支付"}
    ],
    ("assessment.capped_floor_share", "季度报告"): [{"item": "季度报告", "max_score": 40, "max_deduction": 10}],
    ("deliverables.periods_missing", "monthly_report"): [{"period": "2023年2月"}],
    ("deliverables.late_submissions", "weekly_report"): [
        {**week, "submitted_at": week["due_at"].replace("18:00", "18:30")} for week in LATE_WEEKS
    ],
    ("deliverables.targets_below", ""): [
        {"name": "月度报告", "target": "≥12", "target_due": "≥12", "delivered": 4},
        {"name": "季度报告", "target": "≥4", "target_due": "≥4", "delivered": 1},
    ],
    ("deliverables.targets_unprorated", ""): [{"name": "月度报告", "target": "≥12", "prorated": 6}],
    ("survey.levels_short", "ops-survey"): [
        {"level": "市", "required": True, "responses": 2, "short": False},
        {"level": "镇", "required": True, "responses": 0, "short": True},
        {"level": "村", "required": True, "responses": 0, "short": True},
    ],
    ("survey.levels_required", "ops-survey"): [{"level": "市"}, {"level": "镇"}, {"level": "村"}],
    ("inspections.late_by_kind", "daily"): [{"kind": "未及时登记", "count": 2}],
    ("documents.pair_similarity", "a~b"): [
        {
            "contract_a": "运营服务项目",
            "title_a": "运营季报",
            "contract_b": "运维服务项目",
            "title_b": "运维季报",
            "common": 2,
            "common_sections": "概述、工单处理情况",
        }
    ],
}


def records(fact: Any) -> list[dict[str, Any]]:
    return RECORDS.get((fact["measure"], fact["subject"]), [])


# ---------------------------------------------------------------- the standard library


def test_standard_library_loads_and_every_rule_compiles() -> None:
    rules = effective_rules(library())
    assert [r.id for r in rules.rules] == [
        "assessment.cap_too_low",
        "assessment.deduction_off_rule",
        "assessment.rater_divergence",
        "budget.adjustment_rate_high",
        "budget.arrival_rate_low",
        "budget.calculation_slip",
        "budget.execution_rate_low",
        "budget.unit_rate_above_ceiling",
        "deliverable.below_target",
        "deliverable.count_below_due",
        "deliverable.late",
        "documents.near_duplicate",
        "evidence.obligation_unproven",
        "evidence.unsupported_deduction",
        "fault.mtbf_below_target",
        "fault.sla_breach",
        "inspection.below_plan",
        "inspection.late",
        "payment.weak_rule",
        "score.contradicts_attendance",
        "score.contradicts_evidence",
        "self_eval.table_mismatch",
        "staff.late_arrivals",
        "staff.names_mismatch",
        "staff.onsite_period_incomplete",
        "staff.qualification_shortfall",
        "staff.required_role_absent",
        "staff.role_mix_deviation",
        "survey.coverage_gap",
        "survey.satisfaction_below_target",
        "targets.not_prorated",
        "training.below_duty",
    ]
    assert all(r.cause and r.advice and r.indicators for r in rules.rules)


ROUND = "2022 年 9 月考核“人员出勤率”"
QUALITY = "2022 年 9 月考核“质量事故”"

# One firing and one holding case per library rule, with the exact message where it fires.
LIBRARY_CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], str]] = {
    "budget.execution_rate_low": (
        [
            measure("budget.execution_of_base_rate", 0.8, numerator=80, denominator=100),
            measure("budget.approved", 100),
            measure("budget.adjusted", 100),
            measure("budget.arrived", 0),
            term("reporting.min_execution_rate", 1.0),
        ],
        [
            measure("budget.execution_of_base_rate", 1.0, numerator=100, denominator=100),
            measure("budget.approved", 100),
            measure("budget.adjusted", 100),
            measure("budget.arrived", 0),
            term("reporting.min_execution_rate", 1.0),
        ],
        "运维服务项目：调整后预算 100 万元，实际支出 80 万元，预算执行率 80.00%。",
    ),
    "budget.adjustment_rate_high": (
        [
            measure("budget.adjustment_rate", 0.7008, numerator=357, denominator=509.4),
            measure("budget.adjustment", -357),
            term("reporting.max_adjustment_rate", 0.1),
        ],
        [
            measure("budget.adjustment_rate", 0.1, numerator=50.94, denominator=509.4),
            measure("budget.adjustment", -50.94),
            term("reporting.max_adjustment_rate", 0.1),
        ],
        "运维服务项目：批复预算 509.4 万元，调整 -357 万元，预算调整率 70.08%，预算编制与实际实施周期不匹配。",
    ),
    "budget.arrival_rate_low": (
        [
            measure("budget.arrival_rate", 0.1835, numerator=400, denominator=2180),
            term("reporting.min_arrival_rate", 0.9),
        ],
        [
            measure("budget.arrival_rate", 0.9, numerator=1962, denominator=2180),
            term("reporting.min_arrival_rate", 0.9),
        ],
        "运维服务项目：全年预算 2180 万元，实际到位 400 万元，资金到位率 18.35%。",
    ),
    "budget.unit_rate_above_ceiling": (
        [
            measure("budget.unit_rates", 2.9, "", subject="-:数据库运维:高级:2.9", label="数据库运维"),
            term("reporting.unit_rate_ceiling", 2.7, ""),
        ],
        [
            measure("budget.unit_rates", 2.7, "", subject="-:数据库运维:高级:2.7", label="数据库运维"),
            term("reporting.unit_rate_ceiling", 2.7, ""),
        ],
        "“数据库运维”按 2.9 万元/人月测算，超出标准的最高人月费率 2.7 万元/人月。",
    ),
    "budget.calculation_slip": (
        [measure("budget.calculation_differences", 0.12, "", subject="slip")],
        [measure("budget.calculation_differences", 0, "", subject="slip")],
        "人月成本：3.23×1.8405 应为 5.94，文件中写作 5.82，存在计算错误。",
    ),
    "fault.sla_breach": (
        [measure("incidents.sla_breached", 2)],
        [measure("incidents.sla_breached", 0)],
        "运维服务项目：2 项故障处理超出 SLA 时限：SC-02（P1）修复用时 330 分钟，超过 240 分钟时限；"
        "SC-04（P2）响应截至评价日仍未完成，超过 30 分钟时限。",
    ),
    "fault.mtbf_below_target": (
        [
            measure("incidents.mtbf_hours", 240),
            measure("incidents.internal", 2),
            measure("incidents.count", 3),
            term("mtbf_hours_min", 1000),
        ],
        [
            measure("incidents.mtbf_hours", 240),
            measure("incidents.internal", 0),  # without an internal failure the MTBF is only a lower bound
            measure("incidents.count", 3),
            term("mtbf_hours_min", 1000),
        ],
        "运维服务项目：服务期内共记录故障 3 宗，其中内部原因 2 宗；按内部原因故障计，平均无故障时间约 240 小时，"
        "未达到 ≥1000h 的指标值。",
    ),
    "payment.weak_rule": (
        [measure("payment.band_figures", 80, subject="full", label="考核得分 ≥80 分即全额支付当期费用")],
        [measure("payment.band_figures", 90, subject="full", label="考核得分 ≥90 分即全额支付当期费用")],
        "运维服务项目：合同约定考核得分 ≥80 分即全额支付当期费用，供应商只需按 80% 的程度履约即可收到全款，"
        "付款标准过低。",
    ),
    "assessment.cap_too_low": (
        [measure("assessment.capped_floor_share", 0.75, subject="季度报告")],
        [measure("assessment.capped_floor_share", 0.4, subject="季度报告")],
        "运维服务项目：考核项“季度报告”分值 40 分，每期最多扣 10 分，即使完全未完成也可获得该项 75% 的得分，"
        "考核力度不足。",
    ),
    "score.contradicts_attendance": (
        [
            measure("assessment.full_attendance_marks", 3, subject="人员出勤率@2022-09-01", label=ROUND),
            measure("assessment.late_arrivals_in_period", 28, subject="人员出勤率@2022-09-01"),
            measure("assessment.late_staff_in_period", 4, subject="人员出勤率@2022-09-01"),
        ],
        [
            measure("assessment.full_attendance_marks", 3, subject="人员出勤率@2022-09-01", label=ROUND),
            measure("assessment.late_arrivals_in_period", 28, subject="人员出勤率@2022-10-01"),
            measure("assessment.late_staff_in_period", 4, subject="人员出勤率@2022-10-01"),
        ],
        "运维服务项目：2022 年 9 月考核“人员出勤率”给了满分，但当期打卡记录显示 4 名驻场人员共迟到 28 次，"
        "评分与佐证材料相矛盾。",
    ),
    "assessment.rater_divergence": (
        [
            measure("assessment.rater_spread", 0.5, subject="质量事故@2022-09-01", label=QUALITY),
            measure("assessment.raters", 3, subject="质量事故@2022-09-01"),
            measure("assessment.round_scores", 0, subject="质量事故@2022-09-01", actual="10 / 5 / 5"),
            measure("assessment.round_max_score", 10, subject="质量事故@2022-09-01"),
            term("reporting.max_rater_spread", 0.3),
        ],
        [
            measure("assessment.rater_spread", 0.29, subject="质量事故@2022-09-01", label=QUALITY),
            measure("assessment.raters", 3, subject="质量事故@2022-09-01"),
            measure("assessment.round_scores", 0, subject="质量事故@2022-09-01", actual="10 / 7.1 / 8"),
            measure("assessment.round_max_score", 10, subject="质量事故@2022-09-01"),
            term("reporting.max_rater_spread", 0.3),
        ],
        "运维服务项目：2022 年 9 月考核“质量事故”（满分 10 分），3 位评价者分别给出 10 / 5 / 5 分，"
        "差异较大且未说明打分依据。",
    ),
    "assessment.deduction_off_rule": (
        [
            measure(
                "assessment.off_rule_deductions", 1, subject="质量事故@2022-09-01", label=QUALITY, items="甲扣 3 分"
            ),
            measure("assessment.allowed_deductions", 0, subject="质量事故@2022-09-01", actual="0、2、5"),
        ],
        [
            measure("assessment.off_rule_deductions", 0, subject="质量事故@2022-09-01", label=QUALITY),
            measure("assessment.allowed_deductions", 0, subject="质量事故@2022-09-01", actual="0、2、5"),
        ],
        "运维服务项目：2022 年 9 月考核“质量事故”未按考核规则打分（甲扣 3 分），规则只允许扣 0、2、5 分。",
    ),
    "score.contradicts_evidence": (
        [
            measure("self_eval.claim_gap", 0.2, "", "self:c1:受众满意度", label="受众满意度"),
            measure("self_eval.claimed", 0.95, "", "self:c1:受众满意度"),
            measure("self_eval.evidenced", 0.75, "", "self:c1:受众满意度"),
            measure("self_eval.claim_detail", 0, "", "self:c1:受众满意度", actual="满意 3 份 ÷ 回收 4 份"),
        ],
        [  # within the tolerance; and a contract's own fact is no project fact
            measure("self_eval.claim_gap", 0.0001, "", "self:c1:受众满意度", label="受众满意度"),
            measure("self_eval.claimed", 0.7501, "", "self:c1:受众满意度"),
            measure("self_eval.evidenced", 0.75, "", "self:c1:受众满意度"),
            measure("self_eval.claim_detail", 0, "", "self:c1:受众满意度", actual="满意 3 份 ÷ 回收 4 份"),
            measure("self_eval.claim_gap", 0.2, "c1", "self:c1:受众满意度", label="受众满意度"),
        ],
        "自评表“受众满意度”填报 95.00%，但佐证材料显示仅为 75.00%（满意 3 份 ÷ 回收 4 份），自评结果与佐证材料不符。",
    ),
    "self_eval.table_mismatch": (
        [
            measure("self_eval.table_differences", 2),
            measure("self_eval.table_comparison", 0, actual="绩效目标表中的“年度报告”未在自评表中评价"),
            measure("self_eval.targets_unmet_in_table", 1, items="年度报告"),
        ],
        [
            measure("self_eval.table_differences", 0),
            measure("self_eval.table_comparison", 0, actual=""),
            measure("self_eval.targets_unmet_in_table", 0),
        ],
        "运维服务项目：绩效自评表与批复的绩效目标表不一致：绩效目标表中的“年度报告”未在自评表中评价。",
    ),
    "evidence.unsupported_deduction": (
        [measure("assessment.unsupported_deductions", 2, subject="质量事故@2022-09-01", label=QUALITY, items="甲、乙")],
        [measure("assessment.unsupported_deductions", 0, subject="质量事故@2022-09-01", label=QUALITY)],
        "运维服务项目：2022 年 9 月考核“质量事故”有扣分（甲、乙），但未提供任何佐证记录，扣分依据不足。",
    ),
    "staff.late_arrivals": (
        [measure("staff.late_arrivals", 1)],
        [measure("staff.late_arrivals", 0)],
        "运维服务项目：服务期内驻场人员迟到 1 次（允许 0 次），未按合同约定的工作时间到岗。",
    ),
    "staff.names_mismatch": (
        [
            measure("staff.committed_on_site_names", 2, items="吴刚、周敏"),
            measure("staff.on_site_headcount", 4),
            term("staffing.committed_count", 3),
        ],
        [
            measure("staff.committed_on_site_names", 3, items="吴刚、周敏、孙磊"),
            measure("staff.on_site_headcount", 4),
            term("staffing.committed_count", 3),
        ],
        "运维服务项目：投标文件承诺的 3 名驻场人员中仅 2 人实际驻场（吴刚、周敏），其余 1 人未到岗。",
    ),
    "staff.role_mix_deviation": (
        [
            measure("staff.unmet_checks", 1, subject="role_mix"),
            measure("staff.unmet_check_results", 0, subject="role_mix", actual="运维实施工程师 承诺 4 人、实际 2 人"),
        ],
        [measure("staff.unmet_checks", 1, subject="experience"), measure("staff.unmet_check_results", 0, subject="x")],
        "运维服务项目：实际驻场岗位结构与投标承诺不符：运维实施工程师 承诺 4 人、实际 2 人。",
    ),
    "staff.qualification_shortfall": (
        [
            measure("staff.unmet_checks", 1, subject="experience"),
            measure("staff.unmet_check_results", 0, subject="experience", actual="1 人工作年限不达要求"),
        ],
        [measure("staff.unmet_checks", 1, subject="role_mix"), measure("staff.unmet_check_results", 0, subject="x")],
        "运维服务项目：驻场人员资质缩水：1 人工作年限不达要求。",
    ),
    "training.below_duty": (
        [
            measure("training.duty_shortfall", 3),
            measure("training.duty_result", 0, actual="应开展 4 次，符合要求 1 次"),
            term("training.required_text", "每季度开展一次全市培训"),
        ],
        [
            measure("training.duty_shortfall", 0),
            measure("training.duty_result", 0, actual="应开展 4 次，符合要求 4 次"),
            term("training.required_text", "每季度开展一次全市培训"),
        ],
        "运维服务项目：培训未达合同要求（每季度开展一次全市培训）：应开展 4 次，符合要求 1 次。",
    ),
    "staff.required_role_absent": (
        [measure("staff.required_role_headcount", 0, subject="项目经理")],
        [measure("staff.required_role_headcount", 1, subject="项目经理")],
        "运维服务项目：招标文件要求实质响应的“项目经理”岗位，实际驻场人员中无人担任，岗位缺失。",
    ),
    "staff.onsite_period_incomplete": (
        [
            measure("staff.below_coverage", 1, items="张三出勤覆盖 80.0%，首次打卡 2024-01-08"),
            measure("staff.on_site_headcount", 5),
            term("staffing.min_coverage", 0.95),
            term("service_period.start", "2024-01-01"),
        ],
        [
            measure("staff.below_coverage", 0),
            measure("staff.on_site_headcount", 5),
            term("staffing.min_coverage", 0.95),
            term("service_period.start", "2024-01-01"),
        ],
        "运维服务项目：5 名驻场人员中有 1 名驻场时间不完整（张三出勤覆盖 80.0%，首次打卡 2024-01-08），"
        "未按合同在服务期（2024-01-01 起）全程驻场。",
    ),
    "survey.satisfaction_below_target": (
        [
            measure("survey.satisfaction", 0.8986, subject="使用单位", numerator=62, denominator=69),
            term("service_targets.min_satisfaction", 0.9),
        ],
        [
            measure("survey.satisfaction", 0.9, subject="使用单位", numerator=63, denominator=70),
            term("service_targets.min_satisfaction", 0.9),
        ],
        "运维服务项目：使用单位满意度 89.86%（满意 62 / 回收 69 份问卷），低于合同目标 90%。",
    ),
}


MONTHLY = {"subject": "monthly_report", "label": "运维月报"}
LIBRARY_CASES |= {
    "deliverable.count_below_due": (
        [
            measure("deliverables.units_short", 1, **MONTHLY),
            measure("deliverables.units_due", 3, **MONTHLY),
            measure("deliverables.units_delivered", 2, **MONTHLY),
            measure("deliverables.units_submitted", 2, **MONTHLY),
            measure("deliverables.periods_missing", 1, **MONTHLY),
        ],
        [
            measure("deliverables.units_short", 3, **MONTHLY),
            measure("deliverables.units_due", 3, **MONTHLY),
            measure("deliverables.units_delivered", 0, **MONTHLY),
            measure("deliverables.units_submitted", 0, **MONTHLY),  # nothing at all: obligation_unproven's
            measure("deliverables.periods_missing", 3, **MONTHLY),
        ],
        "运维服务项目：运维月报按合同周期应交 3 份，按期交付 2 份，缺 1 份（2023年2月）。",
    ),
    "evidence.obligation_unproven": (
        [measure("deliverables.units_due", 3, **MONTHLY), measure("deliverables.units_submitted", 0, **MONTHLY)],
        [measure("deliverables.units_due", 3, **MONTHLY), measure("deliverables.units_submitted", 1, **MONTHLY)],
        "运维服务项目：合同要求的“运维月报”（应完成 3 项/份）未见任何佐证材料，难以确认完成情况。",
    ),
    "deliverable.late": (
        [measure("deliverables.late_submissions", 7, subject="weekly_report", label="运维周报")],
        [measure("deliverables.late_submissions", 0, subject="weekly_report", label="运维周报")],
        "运维服务项目：运维周报未按时提交："
        + "；".join(
            f"{w['period']}的运维周报应于 {w['due_at']} 前提交，实际 {w['due_at'][:-5]}18:30 提交"
            for w in LATE_WEEKS[:6]
        )
        + "等 7 份。",
    ),
    "deliverable.below_target": (
        [measure("deliverables.targets_below", 2)],
        [measure("deliverables.targets_below", 0)],
        "运维服务项目：2 项数量指标未达到绩效目标表的指标值（月度报告≥12，实际 4；季度报告≥4，实际 1）。",
    ),
    "targets.not_prorated": (
        [measure("deliverables.targets_unprorated", 1), measure("deliverables.targets_service_share", 0.5041)],
        [measure("deliverables.targets_unprorated", 1), measure("deliverables.targets_service_share", 1)],
        "运维服务项目：当年服务期仅占评价期的 50.4%，绩效目标表中 1 项指标值仍按全年设置，"
        "未按实施周期折算：“月度报告≥12”（折算后约 6）。",
    ),
    "inspection.below_plan": (
        [
            measure("inspections.periods_missed_by_plan", 1, subject="daily", label="日常巡检"),
            measure("inspections.completion", 0.75, subject="daily", numerator=3, denominator=4),
        ],
        [
            measure("inspections.periods_missed_by_plan", 0, subject="daily", label="日常巡检"),
            measure("inspections.completion", 1, subject="daily", numerator=4, denominator=4),
        ],
        "运维服务项目：日常巡检计划 4 次，实际完成 3 次，1 个周期未按计划完成。",
    ),
    "inspection.late": (
        [
            measure("inspections.late", 2, subject="daily", label="日常巡检"),
            measure("inspections.late_by_kind", 2, subject="daily"),
        ],
        [
            measure("inspections.late", 0, subject="daily", label="日常巡检"),
            measure("inspections.late_by_kind", 0, subject="daily"),
        ],
        "运维服务项目：日常巡检中有 2 次未及时登记。",
    ),
    "survey.coverage_gap": (
        [
            measure("survey.levels_short", 2, subject="ops-survey"),
            measure("survey.levels_required", 3, subject="ops-survey"),
        ],
        [
            measure("survey.levels_short", 0, subject="ops-survey"),
            measure("survey.levels_required", 3, subject="ops-survey"),
        ],
        "运维服务项目：合同要求开展市、镇、村三级用户满意度调查，实际回收问卷为市级 2 份，"
        "未收集镇、村级用户的评价，调查覆盖面不足。",
    ),
    "documents.near_duplicate": (
        [measure("documents.pair_similarity", 0.5, "", subject="a~b"), term("reporting.duplicate_similarity", 0.5, "")],
        [
            measure("documents.pair_similarity", 0.4999, "", subject="a~b"),
            term("reporting.duplicate_similarity", 0.5, ""),
        ],
        "运营服务项目提交的《运营季报》与运维服务项目提交的《运维季报》框架和主要内容基本一致"
        "（相同章节 2 个：概述、工单处理情况），两个合同的成果物存在重叠，责任归属有待明确。",
    ),
}


def test_every_library_rule_has_a_firing_and_a_holding_case() -> None:
    assert sorted(LIBRARY_CASES) == [r.id for r in effective_rules(library()).rules]


@pytest.mark.parametrize("rule_id", sorted(LIBRARY_CASES))
def test_library_rule_fires_with_its_message_and_holds_at_the_boundary(rule_id: str) -> None:
    rules = effective_rules(library())
    firing, holding, message = LIBRARY_CASES[rule_id]
    matched = match(rules.rules, firing, engine=ENGINE, contract_names=NAMES, records=records)
    found = [m for m in matched if m.rule == rule_id]
    assert [m.message for m in found] == [message]
    assert rule_id not in ids(rules, holding)


# ---------------------------------------------------------------- a bundle's rules file


def test_override_changes_a_threshold_and_the_severity(tmp_path: Path) -> None:
    facts = [measure("staff.late_arrivals", 2)]
    standard = effective_rules(library())
    assert "staff.late_arrivals" in ids(standard, facts)
    bundle = source(tmp_path, "override:\n  staff.late_arrivals: {params: {max_late: 2}, severity: high}\n")
    changed = effective_rules(library(), bundle)
    assert "staff.late_arrivals" not in ids(changed, facts)
    assert "staff.late_arrivals" in ids(changed, [measure("staff.late_arrivals", 3)])
    assert changed.rule("staff.late_arrivals").severity == "high"
    assert changed.digest() != standard.digest()


def test_disable_switches_a_rule_off(tmp_path: Path) -> None:
    bundle = source(tmp_path, "disable: [staff.late_arrivals]\n")
    rules = effective_rules(library(), bundle)
    assert "staff.late_arrivals" not in [r.id for r in rules.rules]
    assert ids(rules, [measure("staff.late_arrivals", 5)]) == []


def test_a_bundle_adds_a_rule_of_its_own(tmp_path: Path) -> None:
    bundle = source(
        tmp_path,
        """
        rules:
          - id: fault.p1_recovery_slow
            name: P1 故障平均修复时间过长
            severity: high
            bind:
              recovery: {measure: fault.mean_recovery_minutes, subject: P1}
            when: recovery.value > params.max_minutes
            params: {max_minutes: 120}
            message: "{contract.name}：P1 故障平均修复 {recovery.value:.0f} 分钟，超过 {params.max_minutes:d} 分钟。"
        """,
    )
    rules = effective_rules(library(), bundle)
    facts = [
        measure("fault.mean_recovery_minutes", 150, subject="P1"),
        measure("fault.mean_recovery_minutes", 500, subject="P2"),
    ]
    (m,) = match(rules.rules, facts, engine=ENGINE, contract_names=NAMES)
    assert (m.rule, m.subject, m.message) == (
        "fault.p1_recovery_slow",
        "P1",
        "运维服务项目：P1 故障平均修复 150 分钟，超过 120 分钟。",
    )


def test_the_same_rule_set_digests_the_same_whatever_the_file_order() -> None:
    assert effective_rules(library()).digest() == effective_rules(list(reversed(library()))).digest()


# ---------------------------------------------------------------- mistakes, located


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (
            "override:\n  staff.late_arival: {params: {max_late: 2}}\n",
            2,
            "override.staff.late_arival",
            "unknown rule staff.late_arival (did you mean staff.late_arrivals?)",
        ),
        (
            "override:\n  staff.late_arrivals:\n    params:\n      max_lat: 2\n",
            4,
            "override.staff.late_arrivals.params.max_lat",
            "has no parameter 'max_lat' (its params: max_late)",
        ),
        (
            "override:\n  staff.late_arrivals:\n    params:\n      max_late: many\n",
            4,
            "override.staff.late_arrivals.params.max_late",
            "is a 数值 (number), not a 文本 (text)",
        ),
        (
            "override:\n  staff.late_arrivals:\n    severity: fatal\n",
            3,
            "override.staff.late_arrivals.severity",
            "Input should be 'high', 'medium' or 'low'",
        ),
        ("disable:\n  - staff.late_arrivals\n  - survey.nope\n", 3, "disable[1]", "unknown rule survey.nope"),
        (
            "rules:\n  - id: staff.late_arrivals\n    name: x\n    severity: low\n    bind: {a: {measure: m.a}}\n"
            "    when: a.value > 0\n    message: x\n",
            2,
            "rules[0].id",
            "is a standard rule",
        ),
        (
            "rules:\n  - id: my.rule\n    name: 规则\n    severity: low\n    bind: {a: {measure: m.a}}\n"
            "    when: a.value >> 0\n    message: x\n",
            6,
            "rules[0].when",
            "(column 10 of 'a.value >> 0')",
        ),
        (
            "rules:\n  - id: my.rule\n    name: 规则\n    severity: low\n    bind: {a: {measure: m.a}}\n"
            "    when: a.value > 0\n    message: '{a.valeu}'\n",
            7,
            "rules[0].message",
            "has no field 'valeu'",
        ),
        (
            "rules:\n  - id: my.rule\n    name: 规则\n    severity: low\n    bind:\n      a: {measure: m.a, join: x}\n"
            "    when: a.value > 0\n    message: x\n",
            6,
            "rules[0].bind.a.join",
            "Extra inputs are not permitted",
        ),
        (
            "override:\n  staff.late_arrivals:\n    params: {max_late: 0.00001}\n",
            3,
            "override.staff.late_arrivals.params",
            "cannot be read by durable_rules",
        ),
        ("overrides: {}\n", 1, "overrides", "Extra inputs are not permitted"),
        (
            "rules:\n  - id: my.rule\n    name: 规则\n    severity: low\n    bind: {a: {measure: m.a}}\n"
            "    when: a.value > 0\n    message: x\n    basis:\n"
            "      - {kind: obligation, term: training.source, document: 合同, text: 培训}\n"
            "      - {kind: obligation, item: deliverable}\n",
            10,
            "rules[0].basis[1].item",
            "unknown contract list 'deliverable' (known: deliverables, inspection_plans",
        ),
    ],
)
def test_a_mistake_in_a_bundle_rules_file_names_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, words: str
) -> None:
    bundle = source(tmp_path, text)
    with pytest.raises(RuleDefinitionError) as caught:
        effective_rules(library(), bundle)
    error = caught.value
    assert (error.path, error.line, error.field) == (bundle.path, line, field)
    assert words in error.message
    assert str(error).startswith(f"{bundle.path}:{line}: {field}: ")


def test_a_rule_bears_on_indicators_by_id_or_name_pattern() -> None:
    rule = effective_rules(library()).rule("staff.late_arrivals")
    assert matches_indicator(rule, "process.system.execution", "制度执行有效性")
    assert not matches_indicator(rule, "output.quantity", "产出数量")


def test_a_library_file_may_not_disable_or_override(tmp_path: Path) -> None:
    with pytest.raises(RuleDefinitionError, match="defines rules only"):
        read_rule_file(source(tmp_path, "disable: [a.b]\n"), library=True)


def test_a_rule_defined_twice_in_one_file_is_refused(tmp_path: Path) -> None:
    one = (
        "  - id: my.rule\n    name: 规则\n    severity: low\n"
        "    bind: {a: {measure: m.a}}\n    when: a.value > 0\n    message: x\n"
    )
    with pytest.raises(RuleDefinitionError) as caught:
        read_rule_file(source(tmp_path, "rules:\n" + one + one))
    assert (caught.value.line, caught.value.field) == (8, "rules[1].id")


def test_a_bundle_tolerates_some_late_reports_by_overriding_deliverable_late(tmp_path: Path) -> None:
    two = [measure("deliverables.late_submissions", 2, subject="weekly_report", label="运维周报")]
    assert "deliverable.late" in ids(effective_rules(library()), two)
    bundle = source(tmp_path, "override:\n  deliverable.late: {params: {max_late: 2}}\n")
    assert "deliverable.late" not in ids(effective_rules(library(), bundle), two)
    off = source(tmp_path, "disable: [deliverable.late, inspection.late]\n", "off.yaml")
    assert {r.id for r in effective_rules(library(), off).rules} & {"deliverable.late", "inspection.late"} == set()
