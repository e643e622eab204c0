"""Rules as data in a bundle: the standard library's rules run on the project's measures, and a
bundle's rules.yaml adds rules, switches rules off and changes their parameters — every mistake in
it located by file, line and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from opseval_intake.bundle import BundleError

from opseval.cli import main
from opseval.embedded import evaluate_bundle

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "service-centre-2024"


def bundle_with_rules(tmp_path: Path, rules_yaml: str | None) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(EXAMPLE, bundle)
    if rules_yaml is not None:
        (bundle / "rules.yaml").write_text(rules_yaml, encoding="utf-8")
    return bundle


def by_rule(bundle: Path) -> dict[str, list[str]]:
    result, _ = evaluate_bundle(bundle)
    out: dict[str, list[str]] = {}
    for f in result.findings:
        out.setdefault(f.rule, []).append(f.message)
    return out


def test_the_standard_library_finds_late_arrivals_and_satisfaction_under_the_contracts_target() -> None:
    result, _ = evaluate_bundle(EXAMPLE)
    late = next(f for f in result.findings if f.rule == "staff.late_arrivals")
    assert (
        late.message
        == "市民服务中心信息化运维服务：服务期内驻场人员迟到 6 次（允许 0 次），未按合同约定的工作时间到岗。"
    )
    assert len(late.evidence) == 6 and all(e.startswith("sc-clk-") for e in late.evidence)
    assert late.advice.startswith("建议")
    low = next(f for f in result.findings if f.rule == "survey.satisfaction_below_target")
    assert low.message == (
        "市民服务中心信息化运维服务：办事群众满意度 85.00%（满意 170 / 回收 200 份问卷），低于合同目标 90%。"
    )
    assert len(low.evidence) == 200  # the citizens' questionnaires; the staff's (95%) met the target
    assert low.indicator == "satisfaction"


def test_a_bundle_changes_a_threshold_switches_rules_off_and_adds_its_own(tmp_path: Path) -> None:
    rules = """
rules:
  - id: centre.p1_repaired_late
    name: 紧急故障修复超时
    severity: high
    bind:
      late: {measure: centre.p1_late_repairs}
    when: late.value > 0
    message: "{contract.name}：紧急故障有 {late.value:d} 宗修复超时。"
    measured: 超时 {late.value:d} 宗
    required: 紧急故障在 4 小时内修复
    indicators: [p1_repairs]
    cause: 紧急故障处置预案未落实。
    advice: 建议演练紧急故障处置预案。
disable: [survey.satisfaction_below_target, fault.sla_breach]
override:
  staff.late_arrivals: {params: {max_late: 6}}
"""
    found = by_rule(bundle_with_rules(tmp_path, rules))
    assert found["centre.p1_repaired_late"] == ["市民服务中心信息化运维服务：紧急故障有 1 宗修复超时。"]
    assert "staff.late_arrivals" not in found  # 6 arrivals, 6 allowed
    assert "survey.satisfaction_below_target" not in found
    assert "fault.sla_breach" not in found  # still written in Python: switched off all the same
    assert "deliverable.late" in found  # the others stay


@pytest.mark.parametrize(
    ("rules", "line", "field", "words"),
    [
        (
            "disable: [survey.satisfaction_below_targt]\n",
            1,
            "disable[0]",
            "unknown rule survey.satisfaction_below_targt",
        ),
        (
            "override:\n  staff.late_arrivals: {params: {max_lat: 2}}\n",
            2,
            "override.staff.late_arrivals.params.max_lat",
            "has no parameter 'max_lat'",
        ),
        (
            "rules:\n  - id: my.rule\n    name: 规则\n    severity: low\n"
            "    bind: {x: {measure: centre.p1_late_repairs}}\n"
            "    when: x.value >> 0\n    message: m\n    measured: m\n    required: m\n",
            6,
            "rules[0].when",
            "unexpected '>': expected a value (column 10",
        ),
    ],
    ids=["unknown-rule", "unknown-param", "bad-condition"],
)
def test_a_mistake_in_rules_yaml_is_located(tmp_path: Path, rules: str, line: int, field: str, words: str) -> None:
    bundle = bundle_with_rules(tmp_path, rules)
    with pytest.raises(BundleError) as caught:
        evaluate_bundle(bundle)
    err = caught.value
    assert Path(err.path).name == "rules.yaml"
    assert err.line == line
    assert err.field is not None and err.field.startswith(field), err.field
    assert words in str(err)


HEAD = "rules:\n  - id: my.rule\n    name: 规则\n    severity: low\n"
WHEN = "    when: late.value > 0\n"
LATE = "    bind: {late: {measure: deliverables.late_submissions}}\n" + WHEN
TEXTS = "    message: m\n    measured: m\n    required: m\n"
RECORDS_LACK = "the records of deliverables.late_submissions (交付物提交记录) have no field"


@pytest.mark.parametrize(
    ("rules", "located"),
    [
        (
            HEAD + "    bind: {x: {measure: centre.unknown}}\n    when: x.value > 0\n" + TEXTS,
            "rules.yaml:5: rules[0].bind.x.measure: rule my.rule binds unknown measure 'centre.unknown'",
        ),
        (
            HEAD
            + LATE
            + "    lists: {late: {of: late, each: '{period}（{sent_on}）'}}\n"
            + "    message: '{lists.late}'\n    measured: m\n    required: m\n",
            f"rules.yaml:7: rules[0].lists.late: {RECORDS_LACK} 'sent_on'",
        ),
        (
            HEAD + LATE + TEXTS + "    basis:\n      - {kind: clause, item: deliverables, of: late, records: sent}\n",
            f"rules.yaml:11: rules[0].basis[0].records: {RECORDS_LACK} 'sent'",
        ),
        (
            HEAD + "    bind: {due: {measure: deliverables.units_due, subject: montly_report}}\n"
            "    when: due.value > 0\n" + TEXTS,
            "rules.yaml:5: rules[0].bind.due.subject: 'montly_report' is not a 交付物 any contract defines "
            "(合同交付物: monthly_report)",
        ),
        (
            HEAD + "    bind: {late: {measure: staff.late_arrivals, subject: 张三}}\n" + WHEN + TEXTS,
            "rules.yaml:5: rules[0].bind.late.subject: staff.late_arrivals is not grouped by a field (by:)",
        ),
    ],
    ids=["unknown-measure", "list-field", "basis-records-field", "unknown-subject", "subject-of-ungrouped"],
)
def test_a_rule_reading_what_the_projects_measures_lack_is_refused_with_exit_2_at_its_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rules: str, located: str
) -> None:
    bundle = bundle_with_rules(tmp_path, rules)
    out = tmp_path / "out"
    assert main(["evaluate", str(bundle), "--out", str(out), "--core-only"]) == 2
    assert located in capsys.readouterr().err
    assert not out.exists()
    assert not out.exists()
